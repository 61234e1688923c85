//! The `lock` (and `leader`) example binaries, run as processes against a
//! simulated ensemble; their printed events are checked.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::process::Stdio;

use tokio::process::Command;
use zk_server_sim::Ensemble;

/// `(micros, event, rest)` of every line.
fn events(out: &str) -> Vec<(u64, String, String)> {
    out.lines()
        .map(|l| {
            let mut parts = l.splitn(3, ' ');
            let ts = parts.next().unwrap().parse().unwrap();
            let what = parts.next().unwrap().to_string();
            (ts, what, parts.next().unwrap_or("").to_string())
        })
        .collect()
}

async fn run(bin: &str, args: &[&str]) -> String {
    let out = Command::new(bin)
        .args(args)
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        out.status.success(),
        "{bin} {args:?}: {}\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// Three `lock` processes, three cycles each, on one path: every process
/// prints `acquired <token>` / `released` pairs; the holds never overlap and
/// the fencing tokens grow from one hold to the next.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lock_processes_take_turns_with_growing_fencing_tokens() {
    let ens = Ensemble::builder().nodes(3).build().await.unwrap();
    let cs = ens.connect_string();
    let bin = env!("CARGO_BIN_EXE_lock");
    let args = [
        "--connect",
        cs.as_str(),
        "--path",
        "/demo/lock",
        "--hold-ms",
        "30",
        "--count",
        "3",
    ];
    let (a, b, c) = tokio::join!(run(bin, &args), run(bin, &args), run(bin, &args));
    let mut holds = Vec::new();
    for out in [a, b, c] {
        let ev = events(&out);
        assert_eq!(ev.len(), 6, "{out}");
        for pair in ev.chunks(2) {
            assert_eq!(pair[0].1, "acquired", "{out}");
            assert_eq!(pair[1].1, "released", "{out}");
            let token: i64 = pair[0].2.parse().unwrap();
            holds.push((pair[0].0, pair[1].0, token));
        }
    }
    holds.sort();
    for w in holds.windows(2) {
        assert!(w[1].0 >= w[0].1, "holds overlap: {holds:?}");
        assert!(w[1].2 > w[0].2, "fencing tokens must grow: {holds:?}");
    }
    ens.check_history().unwrap();
}

/// A holder whose lock node is deleted behind its back prints `lost` (and
/// goes on to exit after its one cycle) instead of holding on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lock_process_reports_a_lost_lock() {
    use tokio::io::{AsyncBufReadExt, BufReader};
    let ens = Ensemble::builder().nodes(3).build().await.unwrap();
    let cs = ens.connect_string();
    let mut child = Command::new(env!("CARGO_BIN_EXE_lock"))
        .args([
            "--connect",
            &cs,
            "--path",
            "/demo/lost",
            "--hold-ms",
            "600000",
        ])
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next_line().await.unwrap().unwrap();
    assert_eq!(events(&first)[0].1, "acquired", "{first}");
    let admin = zk_client::Client::connect(cs.as_str()).await.unwrap();
    for node in admin.get_children("/demo/lost").await.unwrap() {
        admin
            .delete(&format!("/demo/lost/{node}"), None)
            .await
            .unwrap();
    }
    let next = tokio::time::timeout(std::time::Duration::from_secs(60), lines.next_line())
        .await
        .expect("no `lost` line")
        .unwrap()
        .unwrap();
    assert_eq!(events(&next)[0].1, "lost", "{next}");
    let status = tokio::time::timeout(std::time::Duration::from_secs(60), child.wait())
        .await
        .expect("did not exit")
        .unwrap();
    assert!(status.success());
    admin.close().await.unwrap();
}
