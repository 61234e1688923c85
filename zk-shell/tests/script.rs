//! One scripted zk-shell session against the simulator and against real
//! ZooKeeper 3.8: the same transcript (stdout and stderr as one stream),
//! after normalising only what must differ, and equal to the committed
//! expected transcript.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use zk_server_sim::real::RealEnsemble;
use zk_server_sim::Ensemble;

/// The script every backend runs (`$HOST` is the connect string).
const SCRIPT: &str = include_str!("session.txt");
/// What it prints, normalised (`ZK_SHELL_BLESS=1` rewrites it from the simulator's run).
const EXPECTED: &str = include_str!("session.expected");

/// A developer without ZooKeeper installed gets a skip that says so; CI
/// installs it, so there a missing one is a failure.
fn skip(why: &str) {
    assert!(
        std::env::var_os("CI").is_none(),
        "{why}: CI must have it (.ci/install-deps.sh installs it)"
    );
    eprintln!("skipped: {why}");
}

/// Runs zk-shell with `args` and `stdin`, stderr into the same pipe as
/// stdout so the transcript keeps their order.
fn shell(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(r#"exec "$0" "$@" 2>&1"#)
        .arg(env!("CARGO_BIN_EXE_zk-shell"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin.as_bytes()).unwrap();
    drop(input);
    child.wait_with_output().unwrap()
}

fn transcript(hosts: &str) -> (String, Option<i32>) {
    let out = shell(&["-server", hosts], &SCRIPT.replace("$HOST", hosts));
    let text = String::from_utf8(out.stdout).unwrap();
    (normalise(&text, hosts), out.status.code())
}

/// Replaces what differs between servers and runs: the connect string,
/// zxids, times and session ids (ephemeralOwner of ephemeral nodes; a TTL
/// node's owner field, 0xff..., is kept).
fn normalise(text: &str, hosts: &str) -> String {
    text.replace(hosts, "HOST")
        .lines()
        .map(|line| {
            let Some((name, value)) = line.split_once(" = ") else {
                return line.to_owned();
            };
            match name {
                "cZxid" | "mZxid" | "pZxid" => format!("{name} = ZXID"),
                "ctime" | "mtime" => format!("{name} = TIME"),
                "ephemeralOwner" if value != "0x0" && !value.starts_with("0xff") => {
                    format!("{name} = SESSION")
                }
                _ => line.to_owned(),
            }
        })
        .map(|l| l + "\n")
        .collect()
}

fn assert_transcript(backend: &str, (text, code): (String, Option<i32>)) {
    if std::env::var_os("ZK_SHELL_BLESS").is_some() && backend == "simulator" {
        // Rewrites the expected transcript (review the diff before committing).
        std::fs::write(
            concat!(env!("CARGO_MANIFEST_DIR"), "/tests/session.expected"),
            &text,
        )
        .unwrap();
        return;
    }
    if text != EXPECTED {
        let diff: Vec<String> = text
            .lines()
            .zip(EXPECTED.lines().chain(std::iter::repeat("<end>")))
            .enumerate()
            .filter(|(_, (a, b))| a != b)
            .take(10)
            .map(|(i, (a, b))| format!("line {}: got {a:?}, expected {b:?}", i + 1))
            .collect();
        panic!(
            "{backend}: transcript differs\n{}\n--- full:\n{text}",
            diff.join("\n")
        );
    }
    // Commands of the script fail on purpose, so the status says failure.
    assert_eq!(code, Some(1), "{backend}: exit status");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scripted_session_is_the_same_on_the_simulator_and_real_zookeeper() {
    let ens = Ensemble::builder()
        .nodes(3)
        .extended_types(true)
        .build()
        .await
        .unwrap();
    let hosts = ens.connect_string();
    let on_sim = tokio::task::spawn_blocking(move || transcript(&hosts))
        .await
        .unwrap();
    assert_transcript("simulator", on_sim.clone());

    if !Path::new("/usr/share/java/zookeeper.jar").exists() {
        skip("ZooKeeper is not installed");
        return;
    }
    let on_real = tokio::task::spawn_blocking(|| {
        let real = RealEnsemble::builder()
            .nodes(1)
            .extended_types(true)
            .start()
            .unwrap();
        transcript(&real.connect_string())
    })
    .await
    .unwrap();
    assert_transcript("real ZooKeeper", on_real.clone());
    assert_eq!(on_sim, on_real);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exit_status_tells_success_from_failure() {
    let ens = Ensemble::builder().nodes(1).build().await.unwrap();
    let hosts = ens.connect_string();
    tokio::task::spawn_blocking(move || {
        let run = |args: &[&str]| {
            let mut all = vec!["-server", hosts.as_str()];
            all.extend_from_slice(args);
            let out = shell(&all, "");
            (out.status.code(), String::from_utf8(out.stdout).unwrap())
        };
        // A command on the command line, as zkCli takes it.
        let (code, text) = run(&["create", "/x", "two words"]);
        assert_eq!(code, Some(0), "{text}");
        assert!(text.ends_with("Created /x\n"), "{text}");
        let (code, text) = run(&["get", "/x"]);
        assert_eq!((code, text.lines().last()), (Some(0), Some("two words")));
        let (code, text) = run(&["get", "/nope"]);
        assert_eq!(code, Some(1));
        assert!(text.ends_with("Node does not exist: /nope\n"), "{text}");
        // -c scripts: one failing line fails the run.
        assert_eq!(run(&["-c", "ls /\nsync /"]).0, Some(0));
        assert_eq!(run(&["-c", "ls /\nls /nope\nls /"]).0, Some(1));
        assert_eq!(run(&["-nope"]).0, Some(2));
        // printwatches: events are still taken, and printed only when on.
        let (code, text) = run(&[
            "-c",
            "printwatches\nget -w /x\nprintwatches off\nset /x 1\nprintwatches\n\
             printwatches on\nget -w /x\nset /x 2",
        ]);
        assert_eq!(code, Some(0), "{text}");
        let events: Vec<&str> = text
            .lines()
            .filter(|l| l.starts_with("WatchedEvent"))
            .collect();
        assert_eq!(
            events,
            [
                "WatchedEvent state:SyncConnected type:None path:null",
                "WatchedEvent state:SyncConnected type:NodeDataChanged path:/x"
            ],
            "{text}"
        );
        assert!(text.contains("printwatches is on\n"), "{text}");
        assert!(text.contains("printwatches is off\n"), "{text}");
    })
    .await
    .unwrap();
}

/// Lines zkCli prints that zk-shell does not: its banners and the logging
/// set-up notes of its JVM.
fn zkcli_only(line: &str) -> bool {
    line == "Welcome to ZooKeeper!"
        || line.starts_with("JLine support is")
        || line.starts_with("SLF4J")
        || line.starts_with("log4j")
        || line.contains(" INFO ")
        || line.contains(" WARN ")
}

/// What must differ between zkCli and zk-shell, taken out of both: the
/// usage lists (zkCli has commands zk-shell lacks: quotas, reconfig, redo,
/// version) and the `Closed` state events, which zkCli's event thread
/// prints some time after `close` returns (racing the next command's
/// output) while zk-shell prints them before the next command.
fn zkcli_comparable(text: &str) -> String {
    let mut out = String::new();
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        if line.starts_with('\t') {
            continue;
        }
        if line.is_empty() && lines.peek() == Some(&"WATCHER::") {
            let block: Vec<&str> = lines.clone().take(3).collect();
            if block.get(2).is_some_and(|l| l.contains("state:Closed")) {
                lines.nth(2);
                continue;
            }
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// zkCli's transcript without the lines only zkCli prints. (With stdin a
/// pipe, zkCli runs without JLine: no prompts, no echo.)
fn without_zkcli_only(text: &str) -> String {
    text.lines()
        .filter(|l| !zkcli_only(l))
        .map(|l| format!("{l}\n"))
        .collect()
}

/// The same script through Debian's zkCli.sh (a JVM: slow, so opt-in:
/// `cargo test -p zk-shell --test script -- --ignored`), against one real
/// server, compared with zk-shell's transcript on that server. zkCli's raw
/// output is kept in target/zkcli-session.raw for inspection.
#[test]
#[ignore = "runs zkCli.sh (a JVM) once; opt-in"]
fn transcript_matches_real_zkcli() {
    let zkcli = Path::new("/usr/share/zookeeper/bin/zkCli.sh");
    if !zkcli.exists() {
        skip("zkCli.sh is not installed");
        return;
    }
    let real = RealEnsemble::builder()
        .nodes(1)
        .extended_types(true)
        .start()
        .unwrap();
    let hosts = real.connect_string();
    let (ours, _) = transcript(&hosts);
    // A fresh server for zkCli, so that sequence numbers match.
    drop(real);
    let real = RealEnsemble::builder()
        .nodes(1)
        .extended_types(true)
        .start()
        .unwrap();
    let hosts = real.connect_string();
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(r#"exec "$0" -server "$1" 2>&1"#)
        .arg(zkcli)
        .arg(&hosts)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    input
        .write_all(SCRIPT.replace("$HOST", &hosts).as_bytes())
        .unwrap();
    drop(input);
    let out = child.wait_with_output().unwrap();
    let raw = String::from_utf8_lossy(&out.stdout).into_owned();
    std::fs::write(
        concat!(env!("CARGO_MANIFEST_DIR"), "/../target/zkcli-session.raw"),
        &raw,
    )
    .unwrap();
    let theirs = zkcli_comparable(&normalise(&without_zkcli_only(&raw), &hosts));
    let ours = zkcli_comparable(&ours);
    if ours != theirs {
        let diff: Vec<String> = ours
            .lines()
            .zip(theirs.lines().chain(std::iter::repeat("<end>")))
            .enumerate()
            .filter(|(_, (a, b))| a != b)
            .take(20)
            .map(|(i, (a, b))| format!("line {}: zk-shell {a:?}, zkCli {b:?}", i + 1))
            .collect();
        panic!(
            "zk-shell and zkCli differ\n{}\n--- zkCli:\n{theirs}",
            diff.join("\n")
        );
    }
}
