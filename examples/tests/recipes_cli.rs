//! The `config_watch` and `discovery` examples' command lines and output
//! lines, run as processes against an in-process simulator.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;
use zk_client::{Client, CreateOptions};
use zk_server_sim::Ensemble;

/// Splits `<micros> rest`, checking the timestamp is a plausible Unix time in µs.
fn rest(line: &str) -> &str {
    let (ts, rest) = line.split_once(' ').expect("a timestamp and a message");
    let ts: u128 = ts.parse().expect("numeric timestamp");
    assert!(ts > 1_600_000_000_000_000, "micros since the epoch: {ts}");
    rest
}

struct Lines(tokio::io::Lines<BufReader<tokio::process::ChildStdout>>);

impl Lines {
    async fn next(&mut self) -> String {
        tokio::time::timeout(Duration::from_secs(30), self.0.next_line())
            .await
            .expect("a line in time")
            .unwrap()
            .expect("more output")
    }
}

fn spawn(bin: &str, args: &[&str]) -> (tokio::process::Child, Lines) {
    let mut child = Command::new(bin)
        .args(args)
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let out = BufReader::new(child.stdout.take().unwrap()).lines();
    (child, Lines(out))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_watch_prints_each_value_as_compact_json() {
    let ens = Ensemble::builder().nodes(1).build().await.unwrap();
    let hosts = ens.connect_string();
    let c = Client::connect(hosts.as_str()).await.unwrap();
    c.create("/app", b"", &CreateOptions::default())
        .await
        .unwrap();
    c.create(
        "/app/config",
        br#"{ "a": 1, "b": [1, 2] }"#,
        &CreateOptions::default(),
    )
    .await
    .unwrap();
    let (mut child, mut out) = spawn(
        env!("CARGO_BIN_EXE_config_watch"),
        &[
            "--connect",
            &hosts,
            "--path",
            "/app/config",
            "--for-ms",
            "20000",
        ],
    );
    assert_eq!(rest(&out.next().await), r#"config {"a":1,"b":[1,2]}"#);
    c.set_data("/app/config", b"not json", None).await.unwrap();
    assert!(rest(&out.next().await).starts_with("invalid "));
    c.set_data("/app/config", br#"{"a": 2}"#, None)
        .await
        .unwrap();
    assert_eq!(rest(&out.next().await), r#"config {"a":2}"#);
    child.kill().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discovery_prints_the_sorted_instance_set_on_each_change() {
    let ens = Ensemble::builder().nodes(1).build().await.unwrap();
    let hosts = ens.connect_string();
    let bin = env!("CARGO_BIN_EXE_discovery");
    let base = [
        "--connect",
        hosts.as_str(),
        "--base",
        "/services",
        "--service",
        "web",
    ];
    let watch_args: Vec<&str> = base.iter().copied().chain(["--for-ms", "30000"]).collect();
    let (_watcher, mut seen) = spawn(bin, &watch_args);
    assert_eq!(rest(&seen.next().await), "instances ");
    let a_args: Vec<&str> = base
        .iter()
        .copied()
        .chain(["--register", "10.0.0.5:8080", "--for-ms", "30000"])
        .collect();
    let (mut a, mut a_out) = spawn(bin, &a_args);
    assert_eq!(rest(&a_out.next().await), "instances 10.0.0.5:8080");
    assert_eq!(rest(&seen.next().await), "instances 10.0.0.5:8080");
    let b_args: Vec<&str> = base
        .iter()
        .copied()
        .chain(["--register", "10.0.0.4:8081", "--for-ms", "1000"])
        .collect();
    let (mut b, _b_out) = spawn(bin, &b_args);
    assert_eq!(
        rest(&seen.next().await),
        "instances 10.0.0.4:8081,10.0.0.5:8080"
    );
    // b exits after its --for-ms, unregistering.
    assert!(b.wait().await.unwrap().success());
    assert_eq!(rest(&seen.next().await), "instances 10.0.0.5:8080");
    a.kill().await.unwrap();
}
