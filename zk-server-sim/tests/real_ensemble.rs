//! Tests of the real-ZooKeeper harness (`zk_server_sim::real`) against Debian's
//! ZooKeeper 3.8. They need `bash .ci/install-deps.sh` (or `apt-get install -y
//! zookeeper`) and fail with that advice when it is missing.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use zk_server_sim::real::{four_letter_word, parse_mntr, RealEnsemble, RealZkError, ServerMode};

fn modes(ensemble: &RealEnsemble) -> Vec<ServerMode> {
    (0..ensemble.node_count())
        .map(|i| ensemble.mode(i).unwrap())
        .collect()
}

#[test]
fn three_nodes_elect_fail_over_and_rejoin() {
    let began = Instant::now();
    let mut ensemble = RealEnsemble::builder().nodes(3).start().unwrap();
    eprintln!(
        "3-node ensemble serving after {:?} ({:?} including the builder)",
        ensemble.startup_time(),
        began.elapsed()
    );

    // Exactly one leader, two followers.
    let leader = ensemble.wait_for_leader().unwrap();
    let roles = modes(&ensemble);
    assert_eq!(
        roles.iter().filter(|m| **m == ServerMode::Leader).count(),
        1,
        "{roles:?}"
    );
    assert_eq!(
        roles.iter().filter(|m| **m == ServerMode::Follower).count(),
        2,
        "{roles:?}"
    );
    assert_eq!(roles.get(leader), Some(&ServerMode::Leader));
    assert_eq!(ensemble.leader(), Some(leader));

    let connect = ensemble.connect_string();
    assert_eq!(connect.split(',').count(), 3);
    for i in 0..3 {
        let addr = ensemble.node_addr(i).unwrap();
        assert!(addr.ip().is_loopback());
        assert!(connect.contains(&addr.to_string()));
        assert_eq!(ensemble.myid(i).unwrap(), u32::try_from(i + 1).unwrap());
    }
    let mntr = parse_mntr(&ensemble.four_letter_word(leader, "mntr").unwrap());
    assert_eq!(
        mntr.get("zk_server_state").map(String::as_str),
        Some("leader")
    );
    assert_eq!(
        mntr.get("zk_synced_followers").map(String::as_str),
        Some("2")
    );

    // Crash the leader: one of the other two takes over.
    ensemble.kill(leader).unwrap();
    assert!(!ensemble.is_running(leader));
    assert!(matches!(
        ensemble.mode(leader),
        Err(RealZkError::NodeNotRunning { .. })
    ));
    let failover = Instant::now();
    let new_leader = ensemble.wait_for_leader().unwrap();
    eprintln!("new leader after {:?}", failover.elapsed());
    assert_ne!(new_leader, leader);
    assert_eq!(ensemble.mode(new_leader).unwrap(), ServerMode::Leader);
    assert_eq!(ensemble.running_nodes().len(), 2);

    // The old leader comes back on the same ports and data as a follower.
    let old_addr = ensemble.node_addr(leader).unwrap();
    ensemble.restart(leader).unwrap();
    assert!(ensemble.is_running(leader));
    assert_eq!(ensemble.node_addr(leader).unwrap(), old_addr);
    assert_eq!(ensemble.mode(leader).unwrap(), ServerMode::Follower);
    assert_eq!(ensemble.wait_for_leader().unwrap(), new_leader);

    // A graceful stop of a follower leaves the quorum serving.
    let follower = (0..3).find(|&i| i != new_leader).unwrap();
    ensemble.stop(follower).unwrap();
    assert!(!ensemble.is_running(follower));
    ensemble.stop(follower).unwrap(); // idempotent
    assert_eq!(ensemble.wait_for_leader().unwrap(), new_leader);
    ensemble.restart(follower).unwrap();
    assert_eq!(ensemble.mode(follower).unwrap(), ServerMode::Follower);
}

#[test]
fn standalone_answers_ruok() {
    let ensemble = RealEnsemble::builder()
        .tick_time(Duration::from_millis(500))
        .min_session_timeout(Duration::from_secs(1))
        .max_session_timeout(Duration::from_secs(8))
        .cfg_line("maxClientCnxns=100")
        .start()
        .unwrap();
    eprintln!("standalone serving after {:?}", ensemble.startup_time());
    assert_eq!(ensemble.node_count(), 1);
    let addr = ensemble.node_addr(0).unwrap();
    assert_eq!(ensemble.connect_string(), addr.to_string());
    assert_eq!(
        four_letter_word(addr, "ruok", Duration::from_secs(5)).unwrap(),
        "imok"
    );
    assert_eq!(ensemble.four_letter_word(0, "ruok").unwrap(), "imok");
    assert_eq!(ensemble.mode(0).unwrap(), ServerMode::Standalone);
    assert_eq!(ensemble.leader(), Some(0));
    assert_eq!(ensemble.wait_for_leader().unwrap(), 0);

    let info = ensemble.srvr(0).unwrap();
    assert_eq!(info.node_count, Some(5), "{info:?}");
    assert!(
        info.version.as_deref().unwrap_or("").starts_with("3.8"),
        "{info:?}"
    );

    // The settings reached the server.
    let conf = ensemble.four_letter_word(0, "conf").unwrap();
    for expected in [
        "tickTime=500",
        "minSessionTimeout=1000",
        "maxSessionTimeout=8000",
    ] {
        assert!(
            conf.contains(expected),
            "{expected} missing from conf:\n{conf}"
        );
    }
    assert!(matches!(
        ensemble.mode(7),
        Err(RealZkError::NoSuchNode { index: 7, len: 1 })
    ));
}

#[test]
fn pause_freezes_a_node_until_resumed() {
    let mut ensemble = RealEnsemble::start(1).unwrap();
    ensemble.pause(0).unwrap();
    assert!(ensemble.is_running(0));
    let addr = ensemble.node_addr(0).unwrap();
    let err = four_letter_word(addr, "ruok", Duration::from_millis(300)).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::TimedOut, "{err}");
    ensemble.resume(0).unwrap();
    assert_eq!(ensemble.wait_serving(0).unwrap(), ServerMode::Standalone);
}

#[test]
fn shared_ensemble_is_started_once_and_hands_out_chroots() {
    let a = RealEnsemble::shared_standalone().unwrap();
    let b = RealEnsemble::shared(1).unwrap();
    assert!(std::ptr::eq(a, b));
    assert_eq!(a.mode(0).unwrap(), ServerMode::Standalone);

    let conf = a.four_letter_word(0, "conf").unwrap();
    assert!(conf.contains("tickTime=500"), "{conf}");
    let envi = a.four_letter_word(0, "envi").unwrap();
    assert!(envi.contains("java.version=17"), "{envi}");

    let first = a.chroot("shared::test one");
    let second = a.chroot("shared::test one");
    assert_ne!(first.path, second.path);
    assert!(
        first.path.starts_with("/it/shared__test_one-"),
        "{}",
        first.path
    );
    assert_eq!(first.base_connect_string, a.connect_string());
    assert_eq!(
        first.connect_string,
        format!("{}{}", a.connect_string(), first.path)
    );
}

#[test]
fn missing_zookeeper_says_how_to_install_it() {
    let err = RealEnsemble::builder()
        .classpath(["/nonexistent/zookeeper.jar"])
        .start()
        .unwrap_err();
    assert!(err.is_not_installed(), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains("apt-get install -y zookeeper"), "{msg}");
    assert!(msg.contains("bash .ci/install-deps.sh"), "{msg}");

    let err = RealEnsemble::builder()
        .java("/nonexistent/bin/java")
        .start()
        .unwrap_err();
    assert!(matches!(err, RealZkError::JavaNotFound { .. }), "{err:?}");
}

#[test]
fn invalid_settings_are_rejected_before_anything_starts() {
    for builder in [
        RealEnsemble::builder().nodes(0),
        RealEnsemble::builder().tick_time(Duration::ZERO),
        RealEnsemble::builder()
            .min_session_timeout(Duration::from_secs(10))
            .max_session_timeout(Duration::from_secs(1)),
        RealEnsemble::builder().cfg_line("a=1\nb=2"),
    ] {
        let err = builder.start().unwrap_err();
        assert!(matches!(err, RealZkError::InvalidConfig(_)), "{err:?}");
    }
}

#[test]
fn a_node_that_cannot_start_reports_its_log() {
    let err = RealEnsemble::builder()
        .cfg_line("tickTime=not-a-number")
        .start()
        .unwrap_err();
    match err {
        RealZkError::NodeExited { log_tail, .. } => {
            assert!(log_tail.contains("not-a-number"), "{log_tail}");
        }
        other => panic!("expected NodeExited, got {other:?}"),
    }
}

#[test]
fn a_port_taken_by_another_process_is_detected() {
    // Force every attempt onto a port that is taken; the harness retries on fresh
    // ports (which cannot help here, the override wins) and then reports it.
    let busy = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = busy.local_addr().unwrap().port();
    let err = RealEnsemble::builder()
        .cfg_line(format!("clientPort={port}"))
        .start_attempts(2)
        .start()
        .unwrap_err();
    match err {
        RealZkError::PortInUse { log_tail, .. } => {
            assert!(log_tail.contains("Address already in use"), "{log_tail}");
        }
        other => panic!("expected PortInUse, got {other:?}"),
    }
}

#[test]
fn startup_timeout_describes_every_node() {
    let err = RealEnsemble::builder()
        .nodes(3)
        .startup_timeout(Duration::from_millis(1))
        .start()
        .unwrap_err();
    match err {
        RealZkError::Timeout { what, details, .. } => {
            assert!(what.contains("all 3 nodes"), "{what}");
            for myid in 1..=3 {
                assert!(details.contains(&format!("myid {myid}")), "{details}");
            }
        }
        other => panic!("expected Timeout, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------------
// No JVM may outlive the test process, however it ends. The test below runs this test
// binary again as a child with `ZK_REAL_ORPHAN_HELPER` set, so that the ignored helper
// starts ensembles, prints their JVM pids and directories, and then dies.

const HELPER_ENV: &str = "ZK_REAL_ORPHAN_HELPER";

#[test]
#[ignore = "helper process for jvms_die_with_the_test_process"]
fn orphan_helper() {
    let Ok(how) = std::env::var(HELPER_ENV) else {
        return;
    };
    // One never-dropped shared ensemble and one owned ensemble.
    let shared = RealEnsemble::shared_standalone().unwrap();
    let owned = RealEnsemble::start(1).unwrap();
    for ensemble in [shared, &owned] {
        println!(
            "NODE {} {}",
            ensemble.pid(0).unwrap(),
            ensemble.dir().display()
        );
    }
    println!("READY");
    // Wait for the parent to look at the JVMs before ending.
    let mut go = String::new();
    std::io::stdin().read_line(&mut go).unwrap();
    match how.as_str() {
        "exit" => std::process::exit(0),
        "panic" => panic!("helper panics on purpose"),
        _ => std::thread::sleep(Duration::from_secs(300)),
    }
}

fn is_zookeeper_jvm(pid: u32) -> bool {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|cmd| String::from_utf8_lossy(&cmd).contains("QuorumPeerMain"))
        .unwrap_or(false)
}

fn run_helper_and_end_it(how: &str) {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "orphan_helper", "--ignored", "--nocapture"])
        .env(HELPER_ENV, how)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut nodes = Vec::new();
    for line in BufReader::new(stdout).lines() {
        let line = line.unwrap();
        if line == "READY" {
            break;
        }
        if let Some(rest) = line.strip_prefix("NODE ") {
            let (pid, dir) = rest.split_once(' ').unwrap();
            nodes.push((pid.parse::<u32>().unwrap(), dir.to_owned()));
        }
    }
    assert_eq!(nodes.len(), 2, "helper ({how}) did not report its nodes");
    for (pid, _) in &nodes {
        assert!(is_zookeeper_jvm(*pid), "pid {pid} is not a ZooKeeper JVM");
    }
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(b"go\n").unwrap();
    if how == "kill" {
        child.kill().unwrap(); // SIGKILL: no destructor, no atexit
    }
    child.wait().unwrap();

    let deadline = Instant::now() + Duration::from_secs(15);
    for (pid, dir) in &nodes {
        while (is_zookeeper_jvm(*pid) || Path::new(dir).exists()) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        assert!(
            !is_zookeeper_jvm(*pid),
            "JVM {pid} outlived the {how} test process"
        );
        assert!(
            !Path::new(dir).exists(),
            "{dir} outlived the {how} test process"
        );
    }
}

#[test]
fn jvms_die_with_the_test_process() {
    for how in ["kill", "exit", "panic"] {
        run_helper_and_end_it(how);
    }
}
