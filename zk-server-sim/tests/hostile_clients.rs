//! Hostile and careless clients (issue 13): silent connections, too many
//! connections from one address, unknown opcodes, undecodable bodies, null
//! paths, oversized replies, clients that stop reading. Each probe runs
//! against the simulator and, where ZooKeeper is installed, against a real
//! 3.8 standalone server configured the same way; the transcripts must be
//! equal, and the simulator's must also equal the pinned expectation (so the
//! test still checks something on a machine without Java).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use bytes::{BufMut, BytesMut};
use zk_server_sim::real::RealEnsemble;
use zk_server_sim::Ensemble;

/// Per-address connection limit both servers run with.
const MAX_CNXNS: usize = 4;
/// `zookeeper.nio.sessionlessCnxnTimeout` both servers run with.
const SESSIONLESS_MS: u64 = 1000;

fn skip(why: &str) {
    assert!(
        std::env::var_os("CI").is_none(),
        "{why}: CI must have it (.ci/install-deps.sh installs it)"
    );
    eprintln!("skipped: {why}");
}

/// One real standalone server for the whole file (its JVM dies with the
/// process, as `RealEnsemble::shared`'s do).
fn real() -> Option<SocketAddr> {
    static REAL: OnceLock<Option<RealEnsemble>> = OnceLock::new();
    REAL.get_or_init(|| {
        if !Path::new("/usr/share/java/zookeeper.jar").exists() {
            return None;
        }
        let ens = RealEnsemble::builder()
            .nodes(1)
            .cfg_line(format!("maxClientCnxns={MAX_CNXNS}"))
            .system_property(
                "zookeeper.nio.sessionlessCnxnTimeout",
                SESSIONLESS_MS.to_string(),
            )
            .start()
            .unwrap();
        Some(ens)
    })
    .as_ref()
    .map(|e| e.node_addr(0).unwrap())
}

async fn sim() -> Ensemble {
    Ensemble::builder()
        .nodes(1)
        .tick_time(Duration::from_millis(50))
        .max_client_cnxns(MAX_CNXNS)
        .sessionless_connection_timeout(Duration::from_millis(SESSIONLESS_MS))
        .seed(13)
        .build()
        .await
        .unwrap()
}

/// Runs the blocking `probe` against the simulator and real ZooKeeper;
/// asserts both transcripts equal `expected`.
async fn same_as_real(expected: &str, probe: fn(SocketAddr) -> String) {
    let ens = sim().await;
    let addr = ens.addr(0);
    let on_sim = tokio::task::spawn_blocking(move || probe(addr))
        .await
        .unwrap();
    assert_eq!(on_sim, expected, "simulator transcript");
    match tokio::task::spawn_blocking(real).await.unwrap() {
        None => skip("ZooKeeper is not installed"),
        Some(real) => {
            // One probe at a time: they share the real server's per-address
            // connection limit.
            static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());
            let on_real = tokio::task::spawn_blocking(move || {
                let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
                probe(real)
            })
            .await
            .unwrap();
            assert_eq!(on_real, expected, "real ZooKeeper transcript");
        }
    }
}

// ---- a tiny blocking wire client --------------------------------------

fn frame(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() + 4);
    out.extend_from_slice(&(body.len() as i32).to_be_bytes());
    out.extend_from_slice(body);
    out
}

fn connect_request() -> Vec<u8> {
    let mut b = BytesMut::new();
    b.put_i32(0); // protocol version
    b.put_i64(0); // last zxid seen
    b.put_i32(10_000); // timeout
    b.put_i64(0); // session id
    b.put_i32(16); // password
    b.put_slice(&[0; 16]);
    frame(&b)
}

fn header(xid: i32, op: i32) -> BytesMut {
    let mut b = BytesMut::new();
    b.put_i32(xid);
    b.put_i32(op);
    b
}

fn string(b: &mut BytesMut, s: Option<&str>) {
    match s {
        Some(s) => {
            b.put_i32(s.len() as i32);
            b.put_slice(s.as_bytes());
        }
        None => b.put_i32(-1),
    }
}

/// Reads one frame; `None` on EOF, reset or `wait` without one.
fn read_frame(s: &mut TcpStream, wait: Duration) -> Result<Vec<u8>, &'static str> {
    s.set_read_timeout(Some(wait)).unwrap();
    let mut len = [0u8; 4];
    match s.read_exact(&mut len) {
        Ok(()) => {}
        Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
            return Err("silent")
        }
        Err(_) => return Err("closed"),
    }
    let mut body = vec![0u8; i32::from_be_bytes(len).max(0) as usize];
    s.read_exact(&mut body).map_err(|_| "closed")?;
    Ok(body)
}

/// A connection with an established session.
fn session(addr: SocketAddr) -> TcpStream {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_nodelay(true).unwrap();
    s.write_all(&connect_request()).unwrap();
    read_frame(&mut s, Duration::from_secs(10)).expect("a ConnectResponse");
    s
}

/// `xid=<xid> err=<code>` for the next reply (notifications skipped), or
/// how the connection ended.
fn reply(s: &mut TcpStream) -> String {
    loop {
        match read_frame(s, Duration::from_secs(3)) {
            Ok(f) if f.len() >= 16 => {
                let xid = i32::from_be_bytes(f[0..4].try_into().unwrap());
                let err = i32::from_be_bytes(f[12..16].try_into().unwrap());
                if xid == -1 {
                    continue;
                }
                return format!("xid={xid} err={err} body={}", f.len() - 16);
            }
            Ok(f) => return format!("short frame {f:?}"),
            Err(e) => return e.to_string(),
        }
    }
}

/// Sends `body` as a request frame, then a ping: what came back for each.
fn request_then_ping(addr: SocketAddr, body: &[u8]) -> String {
    let mut s = session(addr);
    s.write_all(&frame(body)).unwrap();
    let first = reply(&mut s);
    if first == "closed" {
        return "closed".into();
    }
    let _ = s.write_all(&frame(&header(-2, 11)));
    let ping = reply(&mut s);
    format!("{first}; ping: {ping}")
}

// ---- probes -------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_opcode_is_answered_unimplemented_then_closed() {
    same_as_real("xid=1 err=-6 body=0; ping: closed", |addr| {
        request_then_ping(addr, &header(1, 999))
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_undecodable_body_is_answered_marshalling_error_and_kept() {
    same_as_real("xid=1 err=-5 body=0; ping: xid=-2 err=0 body=0", |addr| {
        // getData whose path length runs past the frame.
        let mut b = header(1, 4);
        b.put_i32(100);
        b.put_slice(b"/x");
        request_then_ping(addr, &b)
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_null_path_is_not_read_as_the_empty_path() {
    same_as_real("xid=1 err=-5 body=0; ping: xid=-2 err=0 body=0", |addr| {
        let mut b = header(1, 4);
        string(&mut b, None);
        b.put_u8(0);
        request_then_ping(addr, &b)
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_get_data_inside_a_write_multi_is_a_marshalling_error() {
    same_as_real("xid=1 err=-5 body=0; ping: xid=-2 err=0 body=0", |addr| {
        let mut b = header(1, 14);
        // op 1: getData("/") — only allowed in multiRead.
        b.put_i32(4);
        b.put_u8(0);
        b.put_i32(-1);
        string(&mut b, Some("/"));
        b.put_u8(0);
        // done
        b.put_i32(-1);
        b.put_u8(1);
        b.put_i32(-1);
        request_then_ping(addr, &b)
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_that_never_sends_a_byte_is_closed() {
    same_as_real("closed after the sessionless timeout", |addr| {
        let mut s = TcpStream::connect(addr).unwrap();
        let began = Instant::now();
        let outcome = read_frame(&mut s, Duration::from_millis(SESSIONLESS_MS * 6));
        let waited = began.elapsed();
        match outcome {
            // The real server's expiry queue rounds up to the next
            // interval: closed between one and two timeouts later.
            Err("closed")
                if waited >= Duration::from_millis(SESSIONLESS_MS * 9 / 10)
                    && waited <= Duration::from_millis(SESSIONLESS_MS * 4) =>
            {
                "closed after the sessionless timeout".into()
            }
            other => format!("{other:?} after {waited:?}"),
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_beyond_max_client_cnxns_from_one_address_are_refused() {
    same_as_real(
        "4 sessions; 5th: closed; after one closes: session",
        |addr| {
            // Earlier probes' sockets may still be closing.
            std::thread::sleep(Duration::from_millis(300));
            let mut open: Vec<TcpStream> = (0..MAX_CNXNS).map(|_| session(addr)).collect();
            let mut extra = TcpStream::connect(addr).unwrap();
            let _ = extra.write_all(&connect_request());
            let fifth = match read_frame(&mut extra, Duration::from_secs(3)) {
                Ok(_) => "session",
                Err(e) => e,
            };
            drop(open.pop());
            // The server notices the close asynchronously.
            std::thread::sleep(Duration::from_millis(300));
            let mut again = TcpStream::connect(addr).unwrap();
            let _ = again.write_all(&connect_request());
            let after = match read_frame(&mut again, Duration::from_secs(3)) {
                Ok(_) => "session",
                Err(e) => e,
            };
            format!(
                "{} sessions; 5th: {fifth}; after one closes: {after}",
                open.len() + 1
            )
        },
    )
    .await;
}
