//! With its file descriptors exhausted, the `zk-server-sim` binary neither
//! spins nor dies: failed accepts back off (CPU under 10% of a core while
//! clients keep knocking) and it serves again once descriptors free up. That
//! descriptors really ran out is observed, not assumed: no knock made during
//! the measured window is served.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// utime + stime of `pid`, in seconds.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // Fields after the parenthesised command name; utime and stime are the
    // 14th and 15th fields of the whole line.
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap();
    let hz: f64 = String::from_utf8(
        Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap()
    .trim()
    .parse()
    .unwrap();
    ticks / hz
}

fn ruok(addr: SocketAddr) -> String {
    let Ok(mut s) = TcpStream::connect(addr) else {
        return "refused".into();
    };
    s.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    let _ = s.write_all(b"ruok");
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out
}

/// One knock during exhaustion: connect, ask ruok, wait briefly for an
/// answer (none comes while the server cannot accept).
fn knock(addr: SocketAddr) -> String {
    let Ok(mut s) = TcpStream::connect_timeout(&addr, Duration::from_millis(500)) else {
        return "refused".into();
    };
    s.set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let _ = s.write_all(b"ruok");
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out
}

/// Kills the child even when an assertion fails.
struct Killed(std::process::Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn exhausted_descriptors_make_accept_back_off_not_spin() {
    let mut child = Killed(
        Command::new("bash")
            .args([
                "-c",
                r#"ulimit -n 48 && exec "$0" "$@""#,
                env!("CARGO_BIN_EXE_zk-server-sim"),
                "--nodes",
                "1",
                "--port",
                "0",
                "--tick-time",
                "50",
                "--max-client-cnxns",
                "0",
                // The flood's accepted connections must hold their
                // descriptors for the whole test.
                "--sessionless-cnxn-timeout",
                "600000",
                "--seed",
                "1",
            ])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut ready = String::new();
    BufReader::new(child.0.stdout.take().unwrap())
        .read_line(&mut ready)
        .unwrap();
    let addr: SocketAddr = ready
        .split_whitespace()
        .find_map(|w| w.strip_prefix("connect="))
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(ruok(addr), "imok");

    // Far more connections than the child has descriptors: the rest wait in
    // its accept backlog, so every accept attempt fails with EMFILE.
    let flood: Vec<TcpStream> = (0..120)
        .filter_map(|_| TcpStream::connect(addr).ok())
        .collect();
    assert!(
        flood.len() > 60,
        "only {} connections got through",
        flood.len()
    );
    // Clients keep knocking through the measured window (each a new
    // connection asking ruok), so the listener keeps being woken.
    let stop = Arc::new(AtomicBool::new(false));
    let knocker = {
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || {
            let (mut knocks, mut answered) = (0u32, 0u32);
            while !stop.load(Ordering::Relaxed) {
                knocks += 1;
                if knock(addr) == "imok" {
                    answered += 1;
                }
            }
            (knocks, answered)
        })
    };
    let pid = child.0.id();
    let before = cpu_seconds(pid);
    let window = Duration::from_secs(2);
    std::thread::sleep(window);
    let used = cpu_seconds(pid) - before;
    stop.store(true, Ordering::Relaxed);
    let (knocks, answered) = knocker.join().unwrap();
    let share = used / window.as_secs_f64();
    eprintln!(
        "simulator CPU with descriptors exhausted: {:.1}% of a core ({knocks} knocks, {answered} answered)",
        share * 100.0
    );
    // Descriptors really ran out: no knock was accepted and served (each
    // waits in the backlog behind the flood), though clients kept knocking.
    assert!(knocks >= 2, "clients did not keep knocking: {knocks}");
    assert_eq!(
        answered, 0,
        "a knock was served: descriptors were not exhausted"
    );
    assert!(
        share < 0.10,
        "accept loop spins: {:.1}% of a core",
        share * 100.0
    );

    // Once the flood is gone the server answers again.
    drop(flood);
    let mut answer = String::new();
    for _ in 0..50 {
        answer = ruok(addr);
        if answer == "imok" {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(answer, "imok");
}
