//! The standalone `zk-server-sim` binary and its admin line protocol.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod ensemble_support;

use std::net::SocketAddr;
use std::process::Stdio;

use ensemble_support::*;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::process::{Child, Command};
use zk_proto::{CreateMode, ErrorCode};

struct Sim {
    child: Child,
    nodes: Vec<SocketAddr>,
    admin: BufReader<TcpStream>,
}

impl Sim {
    async fn start(extra: &[&str]) -> Sim {
        let mut child = Command::new(env!("CARGO_BIN_EXE_zk-server-sim"))
            .args([
                "--nodes",
                "3",
                "--port",
                "0",
                "--tick-time",
                "20",
                "--seed",
                "7",
            ])
            .args(extra)
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let mut out = BufReader::new(child.stdout.take().unwrap()).lines();
        let ready = out.next_line().await.unwrap().unwrap();
        assert!(ready.starts_with("ready connect="), "{ready}");
        let field = |k: &str| {
            ready
                .split_whitespace()
                .find_map(|w| w.strip_prefix(k))
                .unwrap()
                .to_string()
        };
        let nodes = field("connect=")
            .split(',')
            .map(|a| a.parse().unwrap())
            .collect();
        let admin = TcpStream::connect(field("admin=")).await.unwrap();
        assert_eq!(field("seed="), "7");
        Sim {
            child,
            nodes,
            admin: BufReader::new(admin),
        }
    }

    async fn cmd(&mut self, line: &str) -> String {
        self.admin
            .get_mut()
            .write_all(format!("{line}\n").as_bytes())
            .await
            .unwrap();
        let mut answer = String::new();
        self.admin.read_line(&mut answer).await.unwrap();
        answer.trim_end().to_string()
    }
}

impl Sim {
    /// The `status` line's comma-separated field `key=`.
    async fn status_field(&mut self, key: &str) -> Vec<String> {
        let status = self.cmd("status").await;
        status
            .split_whitespace()
            .find_map(|w| w.strip_prefix(key))
            .unwrap_or_else(|| panic!("no {key} in {status}"))
            .split(',')
            .map(str::to_string)
            .collect()
    }

    async fn leader(&mut self) -> Option<usize> {
        self.cmd("leader").await.strip_prefix("ok ")?.parse().ok()
    }

    async fn roles(&mut self) -> Vec<String> {
        self.status_field("roles=").await
    }
}

/// Every admin command is checked by its effect on the ensemble, as the
/// `status` line and real clients see it, not only by its "ok".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_serves_clients_and_takes_fault_commands() {
    let mut sim = Sim::start(&["--record-history"]).await;
    assert_eq!(sim.nodes.len(), 3);
    let status = sim.cmd("status").await;
    assert!(status.starts_with("ok leader="), "{status}");
    let leader = sim.leader().await.unwrap();
    let mut c = connect(sim.nodes[(leader + 1) % 3]).await;
    assert_eq!(
        c.call(create("/eph", b"", CreateMode::Ephemeral))
            .await
            .err(),
        ErrorCode::Ok
    );

    assert_eq!(
        c.call(create("/durable", b"", CreateMode::Persistent))
            .await
            .err(),
        ErrorCode::Ok
    );

    // kill: the node is down and another leads.
    assert_eq!(sim.cmd(&format!("kill {leader}")).await, "ok");
    let now = sim.leader().await.expect("a new leader");
    assert_ne!(now, leader);
    assert_eq!(sim.roles().await[leader], "down");
    // restart: it serves again, following.
    assert_eq!(sim.cmd(&format!("restart {leader}")).await, "ok");
    assert_eq!(sim.roles().await[leader], "following");
    let mut back = connect(sim.nodes[leader]).await;
    back.call(sync("/")).await;
    assert_eq!(
        back.call(exists("/durable", false)).await.err(),
        ErrorCode::Ok
    );
    let leader = now;

    // partition: a lone follower stops serving (looking); heal: it follows.
    let f = (leader + 1) % 3;
    assert_eq!(sim.cmd(&format!("partition {f}")).await, "ok");
    assert_eq!(sim.roles().await[f], "looking");
    assert_eq!(sim.leader().await, Some(leader));
    assert_eq!(sim.cmd("heal").await, "ok");
    until_async(&mut sim, |roles| roles[f] == "following").await;

    // hold: a follower stops hearing of commits (stale reads); release: it
    // catches up.
    let mut lead_c = connect(sim.nodes[leader]).await;
    let mut f_c = connect(sim.nodes[f]).await;
    assert_eq!(sim.cmd(&format!("hold {leader} {f}")).await, "ok");
    assert_eq!(
        lead_c
            .call(create("/held", b"", CreateMode::Persistent))
            .await
            .err(),
        ErrorCode::Ok
    );
    assert_eq!(
        f_c.call(exists("/held", false)).await.err(),
        ErrorCode::NoNode
    );
    assert_eq!(sim.cmd(&format!("release {leader} {f}")).await, "ok");
    f_c.call(sync("/")).await;
    assert_eq!(f_c.call(exists("/held", false)).await.err(), ErrorCode::Ok);
    assert_eq!(sim.cmd(&format!("hold {leader} {f}")).await, "ok");
    assert_eq!(sim.cmd("release").await, "ok");
    f_c.call(sync("/")).await;

    // delay: a long delay on one node holds its reply while another node
    // answers at once (an ordering, not a timing, check); delay 0 lets it go.
    assert_eq!(sim.cmd(&format!("delay {f} 600000")).await, "ok");
    let slow = f_c.send(&exists("/held", false)).await;
    assert_eq!(
        lead_c.call(exists("/held", false)).await.err(),
        ErrorCode::Ok
    );
    let early = tokio::time::timeout(std::time::Duration::from_millis(200), f_c.recv()).await;
    assert!(early.is_err(), "the delayed node answered: {early:?}");
    assert_eq!(sim.cmd(&format!("delay {f} 0")).await, "ok");
    drop(f_c);
    let _ = slow;

    // apply_then_drop: the write is applied, the connection dropped unanswered.
    let mut atd = connect(sim.nodes[f]).await;
    assert_eq!(sim.cmd(&format!("apply_then_drop {f}")).await, "ok");
    let xid = atd
        .send(&create("/applied", b"", CreateMode::Persistent))
        .await;
    assert!(atd.try_reply_to(xid).await.is_none(), "no reply comes back");
    lead_c.call(sync("/")).await;
    assert_eq!(
        lead_c.call(exists("/applied", false)).await.err(),
        ErrorCode::Ok
    );

    // force_election: a new epoch (zxids of later writes show it).
    let epoch: u64 = sim.status_field("epoch=").await[0].parse().unwrap();
    assert_eq!(sim.cmd("force_election").await, "ok");
    let after: u64 = sim.status_field("epoch=").await[0].parse().unwrap();
    assert!(after > epoch, "epoch {epoch} -> {after}");
    let leader = sim.leader().await.expect("a leader after the election");
    let mut w = connect(sim.nodes[leader]).await;
    let r = w.call(create("/epoch", b"", CreateMode::Persistent)).await;
    assert_eq!(r.err(), ErrorCode::Ok);
    assert_eq!((r.header.zxid >> 32) as u64, after);

    // pause: a paused node answers nothing (its reply waits for resume).
    let p = (leader + 1) % 3;
    let mut pc = connect(sim.nodes[p]).await;
    assert_eq!(sim.cmd(&format!("pause {p}")).await, "ok");
    let xid = pc.send(&exists("/epoch", false)).await;
    assert_eq!(w.call(exists("/epoch", false)).await.err(), ErrorCode::Ok);
    // (A pause the peers notice may close the connection: no answer either.)
    let early = tokio::time::timeout(std::time::Duration::from_millis(20), pc.recv()).await;
    assert!(
        !matches!(early, Ok(Some(_))),
        "the paused node answered: {early:?}"
    );
    assert_eq!(sim.cmd(&format!("resume {p}")).await, "ok");
    let _ = xid;
    until_async(&mut sim, |roles| {
        roles[p] != "down" && roles[p] != "looking"
    })
    .await;

    // sessions and expire: the session is listed, then gone with its
    // ephemeral, and its connection closed.
    drop(c);
    let mut c = connect(sim.nodes[leader]).await;
    assert_eq!(
        c.call(create("/eph2", b"", CreateMode::Ephemeral))
            .await
            .err(),
        ErrorCode::Ok
    );
    let sessions = sim.cmd("sessions").await;
    assert!(
        sessions.contains(&format!("{:#x}", c.session_id)),
        "{sessions}"
    );
    assert_eq!(sim.cmd(&format!("expire {:x}", c.session_id)).await, "ok");
    assert!(!sim
        .cmd("sessions")
        .await
        .contains(&format!("{:#x}", c.session_id)));
    assert!(c.closed().await);
    w.call(sync("/")).await;
    assert_eq!(
        w.call(exists("/eph2", false)).await.err(),
        ErrorCode::NoNode
    );
    assert_eq!(
        sim.cmd(&format!("expire {:x}", c.session_id)).await,
        "err unknown session"
    );
    assert!(sim.cmd("kill 9").await.starts_with("err"));
    assert!(sim.cmd("frobnicate").await.starts_with("err"));
    assert_eq!(sim.cmd("check_history").await, "ok");
    assert_eq!(four(sim.nodes[0], "ruok").await, "imok");
    assert_eq!(sim.cmd("shutdown").await, "ok");
    let status = sim.child.wait().await.unwrap();
    assert!(status.success());
}

/// Polls `status` until the roles satisfy `ok` (no timing assertion).
async fn until_async(sim: &mut Sim, ok: impl Fn(&[String]) -> bool) {
    for _ in 0..5_000 {
        if ok(&sim.roles().await) {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }
    panic!("roles never became as expected: {:?}", sim.roles().await);
}

/// `--min-session-timeout` and `--max-session-timeout` bound the timeout a
/// client is given, as zoo.cfg's do: a request below the minimum gets the
/// minimum, one above the maximum the maximum (tick 20 ms: the defaults
/// would be 40 and 400 ms).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_session_timeout_flags_bound_the_negotiated_timeout() {
    let sim = Sim::start(&[
        "--min-session-timeout",
        "3000",
        "--max-session-timeout",
        "5000",
    ])
    .await;
    let mut negotiated = Vec::new();
    for asked in [1_000, 4_000, 60_000] {
        let hello = Hello {
            timeout: asked,
            ..Hello::default()
        };
        match handshake(sim.nodes[0], &hello).await {
            (_, Handshake::Connected(r)) => negotiated.push(r.timeout),
            (_, other) => panic!("{other:?}"),
        }
    }
    assert_eq!(negotiated, [3_000, 4_000, 5_000]);
}

/// With min above max the binary refuses to start, as ZooKeeper does
/// (`minSessionTimeout must not be larger than maxSessionTimeout`): exit
/// status 2 and one clear line, instead of quietly raising the max.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inverted_session_timeout_bounds_stop_the_binary() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_zk-server-sim"))
        .args([
            "--nodes",
            "1",
            "--port",
            "0",
            "--min-session-timeout",
            "6000",
            "--max-session-timeout",
            "5000",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    // A binary that starts anyway says "ready" (and would never exit).
    let mut out = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = out.next_line().await.unwrap();
    assert_eq!(first, None, "the binary started with min > max");
    let status = child.wait().await.unwrap();
    let mut stderr = String::new();
    tokio::io::AsyncReadExt::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr)
        .await
        .unwrap();
    assert_eq!(status.code(), Some(2), "stderr: {stderr}");
    assert!(
        stderr.contains(
            "minSessionTimeout (6000 ms) must not be larger than maxSessionTimeout (5000 ms)"
        ),
        "{stderr}"
    );
    // The builder says the same with a typed error.
    let built = zk_server_sim::Ensemble::builder()
        .nodes(1)
        .min_session_timeout(std::time::Duration::from_secs(6))
        .max_session_timeout(std::time::Duration::from_secs(5))
        .build()
        .await;
    match built {
        Err(zk_server_sim::BuildError::SessionTimeoutBounds {
            min_ms: 6000,
            max_ms: 5000,
        }) => {}
        Err(other) => panic!("wrong error: {other:?}"),
        Ok(_) => panic!("inverted bounds built an ensemble"),
    }
}

/// `--container-check-interval` is how often empty containers are reaped:
/// at 100 ms, a container whose last child went is deleted while the test
/// waits (the default, 60 s, would outlast `recv`'s 20 s hang bound).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_container_check_interval_flag_sets_how_soon_containers_go() {
    // (A long session: the raw client does not ping.)
    let sim = Sim::start(&[
        "--container-check-interval",
        "100",
        "--max-session-timeout",
        "30000",
    ])
    .await;
    let mut c = connect(sim.nodes[0]).await;
    let zk_proto::Request::Create(mut req) = create("/box", b"", CreateMode::Container) else {
        unreachable!()
    };
    req.flags = CreateMode::Container.code();
    assert_eq!(
        c.call(zk_proto::Request::CreateContainer(req)).await.err(),
        ErrorCode::Ok
    );
    assert_eq!(
        c.call(create("/box/x", b"", CreateMode::Persistent))
            .await
            .err(),
        ErrorCode::Ok
    );
    let del = zk_proto::Request::Delete(zk_proto::DeleteRequest {
        path: "/box/x".into(),
        version: -1,
    });
    assert_eq!(c.call(del).await.err(), ErrorCode::Ok);
    assert_eq!(c.call(exists("/box", true)).await.err(), ErrorCode::Ok);
    // The reaper's delete fires the exists watch.
    match c.recv().await {
        Some(Frame::Event(e)) => {
            assert_eq!((e.path.as_str(), e.event_type), ("/box", 2), "{e:?}")
        }
        other => panic!("expected the container's NodeDeleted, got {other:?}"),
    }
}

/// `--4lw-whitelist` limits the four-letter words: one outside the list
/// gets real ZooKeeper's refusal text; one inside answers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_4lw_whitelist_flag_refuses_words_outside_it() {
    let sim = Sim::start(&["--4lw-whitelist", "ruok, conf"]).await;
    assert_eq!(
        four(sim.nodes[0], "stat").await,
        "stat is not executed because it is not in the whitelist.\n"
    );
    assert_eq!(
        four(sim.nodes[0], "dump").await,
        "dump is not executed because it is not in the whitelist.\n"
    );
    assert_eq!(four(sim.nodes[0], "ruok").await, "imok");
}
