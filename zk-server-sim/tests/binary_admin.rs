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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_serves_clients_and_takes_fault_commands() {
    let mut sim = Sim::start(&["--record-history"]).await;
    assert_eq!(sim.nodes.len(), 3);
    let status = sim.cmd("status").await;
    assert!(status.starts_with("ok leader="), "{status}");
    let leader: usize = sim
        .cmd("leader")
        .await
        .strip_prefix("ok ")
        .unwrap()
        .parse()
        .unwrap();
    let mut c = connect(sim.nodes[(leader + 1) % 3]).await;
    assert_eq!(
        c.call(create("/eph", b"", CreateMode::Ephemeral))
            .await
            .err(),
        ErrorCode::Ok
    );
    assert_eq!(sim.cmd(&format!("kill {leader}")).await, "ok");
    let now: String = sim.cmd("leader").await;
    assert_ne!(now, format!("ok {leader}"));
    assert_ne!(now, "ok none");
    assert!(sim.cmd("status").await.contains("down"));
    assert_eq!(sim.cmd(&format!("restart {leader}")).await, "ok");
    assert_eq!(sim.cmd("partition 0").await, "ok");
    assert_eq!(sim.cmd("heal").await, "ok");
    assert_eq!(sim.cmd("hold 0 1").await, "ok");
    assert_eq!(sim.cmd("release 0 1").await, "ok");
    assert_eq!(sim.cmd("release").await, "ok");
    assert_eq!(sim.cmd("delay 1 0").await, "ok");
    assert_eq!(sim.cmd("apply_then_drop 1").await, "ok");
    assert_eq!(sim.cmd("force_election").await, "ok");
    assert_eq!(sim.cmd("pause 2").await, "ok");
    assert_eq!(sim.cmd("resume 2").await, "ok");
    let sessions = sim.cmd("sessions").await;
    assert!(
        sessions.contains(&format!("{:#x}", c.session_id)),
        "{sessions}"
    );
    assert_eq!(sim.cmd(&format!("expire {:x}", c.session_id)).await, "ok");
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
