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
    // tickTime as the real harness's (2 s): session timeouts in [4 s, 40 s].
    Ensemble::builder()
        .nodes(1)
        .tick_time(Duration::from_millis(2000))
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
                // The server closes an earlier probe's sockets asynchronously;
                // until it has, they count against maxClientCnxns.
                std::thread::sleep(Duration::from_millis(300));
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
    connect_request_with(10_000)
}

fn connect_request_with(timeout_ms: i32) -> Vec<u8> {
    let mut b = BytesMut::new();
    b.put_i32(0); // protocol version
    b.put_i64(0); // last zxid seen
    b.put_i32(timeout_ms);
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
    session_with(addr, 10_000)
}

fn session_with(addr: SocketAddr, timeout_ms: i32) -> TcpStream {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_nodelay(true).unwrap();
    s.write_all(&connect_request_with(timeout_ms)).unwrap();
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

/// A unique znode path on the long-lived real server.
fn unique(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("/{prefix}-{t}-{}", N.fetch_add(1, Ordering::Relaxed))
}

fn create(s: &mut TcpStream, xid: i32, path: &str, data: &[u8]) -> String {
    let mut b = header(xid, 1);
    string(&mut b, Some(path));
    b.put_i32(data.len() as i32);
    b.put_slice(data);
    b.put_i32(1); // one ACL: world:anyone, ALL
    b.put_i32(31);
    string(&mut b, Some("world"));
    string(&mut b, Some("anyone"));
    b.put_i32(0); // persistent
    s.write_all(&frame(&b)).unwrap();
    reply(s)
}

fn get_data(xid: i32, path: &str) -> Vec<u8> {
    let mut b = header(xid, 4);
    string(&mut b, Some(path));
    b.put_u8(0);
    frame(&b)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_over_jute_maxbuffer_is_sent() {
    // The request fits 1,048,575 bytes; the reply (data + Stat + header)
    // does not, and real ZooKeeper sends it anyway.
    same_as_real(
        "create: xid=1 err=0; getData: xid=2 err=0 body=1048572",
        |addr| {
            let mut s = session(addr);
            let path = unique("big");
            let created = create(&mut s, 1, &path, &vec![7u8; 1_048_500]);
            s.write_all(&get_data(2, &path)).unwrap();
            let got = reply(&mut s);
            let mut b = header(3, 2);
            string(&mut b, Some(&path));
            b.put_i32(-1);
            let _ = s.write_all(&frame(&b));
            format!(
                "create: {}; getData: {got}",
                created.split(" body").next().unwrap_or("")
            )
        },
    )
    .await;
}

/// Floods a session with large replies it does not read while it keeps
/// pinging for two session timeouts, then reads: what arrived.
fn flood_without_reading(addr: SocketAddr, keep_pinging: bool) -> String {
    const TIMEOUT_MS: i32 = 4000;
    const REPLIES: i32 = 40;
    let mut s = session_with(addr, TIMEOUT_MS);
    let path = unique("flood");
    let created = create(&mut s, 1, &path, &vec![1u8; 500_000]);
    assert!(created.starts_with("xid=1 err=0"), "{created}");
    // 20 MB of replies: far more than the socket buffers hold.
    for xid in 2..2 + REPLIES {
        s.write_all(&get_data(xid, &path)).unwrap();
    }
    let began = Instant::now();
    while began.elapsed() < Duration::from_millis(2 * TIMEOUT_MS as u64) {
        std::thread::sleep(Duration::from_millis(TIMEOUT_MS as u64 / 4));
        if keep_pinging && s.write_all(&frame(&header(-2, 11))).is_err() {
            break;
        }
    }
    let mut data_replies = 0;
    let ended = loop {
        match read_frame(&mut s, Duration::from_secs(5)) {
            Ok(f) if f.len() >= 16 => {
                let xid = i32::from_be_bytes(f[0..4].try_into().unwrap());
                if xid >= 2 {
                    data_replies += 1;
                }
                if xid == 1 + REPLIES && keep_pinging {
                    // Everything sent came back; is the session alive?
                    s.write_all(&get_data(100, &path)).unwrap();
                    break loop {
                        let r = reply(&mut s);
                        if !r.starts_with("xid=-2 ") {
                            break r;
                        }
                    };
                }
            }
            Ok(_) => break "short frame".to_string(),
            Err(e) => break e.to_string(),
        }
    };
    if keep_pinging {
        format!(
            "{data_replies} of {REPLIES} replies; then {}",
            ended.split(" body").next().unwrap_or("")
        )
    } else {
        format!(
            "expired: {ended}, queued replies dropped: {}",
            data_replies < REPLIES
        )
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_stops_reading_but_pings_keeps_its_session() {
    same_as_real("40 of 40 replies; then xid=100 err=0", |addr| {
        flood_without_reading(addr, true)
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_session_is_closed_at_once_even_with_output_queued() {
    same_as_real("expired: closed, queued replies dropped: true", |addr| {
        flood_without_reading(addr, false)
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_optional_output_cap_closes_a_hopeless_consumer() {
    let ens = Ensemble::builder()
        .nodes(1)
        .tick_time(Duration::from_millis(2000))
        .max_output_queue(Some(2_000_000))
        .seed(13)
        .build()
        .await
        .unwrap();
    let addr = ens.addr(0);
    let got = tokio::task::spawn_blocking(move || flood_without_reading(addr, true))
        .await
        .unwrap();
    // Closed long before the client read everything; not all 40 came.
    assert!(
        got.ends_with("closed") && !got.starts_with("40 of"),
        "{got}"
    );
}

fn four_letter(addr: SocketAddr, bytes: &[u8]) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    s.write_all(bytes).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_whitelist_star_gtmk_stmk_and_dump_answer_as_real() {
    same_as_real(
        "gtmk=306 stmk=16 gtmk=16 stmk-without-mask='' restored=306 \
         dump=[SessionTracker dump:|ephemeral nodes dump:|Connections dump:]",
        |addr| {
            let gtmk = four_letter(addr, b"gtmk");
            let mut stmk = b"stmk".to_vec();
            stmk.extend_from_slice(&16i64.to_be_bytes());
            let set = four_letter(addr, &stmk);
            let after = four_letter(addr, b"gtmk");
            let bare = four_letter(addr, b"stmk");
            let mut restore = b"stmk".to_vec();
            restore.extend_from_slice(&306i64.to_be_bytes());
            let restored = four_letter(addr, &restore);
            let dump = four_letter(addr, b"dump");
            let sections: Vec<&str> = dump.lines().filter(|l| l.ends_with("dump:")).collect();
            format!(
                "gtmk={gtmk} stmk={set} gtmk={after} stmk-without-mask={bare:?} restored={restored} \
                 dump=[{}]",
                sections.join("|")
            )
            .replace('"', "'")
        },
    )
    .await;
}

/// Sends `body`; the reply's `err`, and for a getData reply the data's
/// length field (−1: null) and the Stat's dataLength.
fn data_call(s: &mut TcpStream, body: &BytesMut) -> String {
    s.write_all(&frame(body)).unwrap();
    let f = loop {
        let f = read_frame(s, Duration::from_secs(10)).unwrap();
        if f[0..4] != (-1i32).to_be_bytes() {
            break f;
        }
    };
    let err = i32::from_be_bytes(f[12..16].try_into().unwrap());
    // Only a getData request (opcode 4 at body[4..8]) has data to show.
    if err != 0 || body[4..8] != 4i32.to_be_bytes() {
        return format!("err={err}");
    }
    let len = i32::from_be_bytes(f[16..20].try_into().unwrap());
    let stat = 20 + len.max(0) as usize;
    let data_length = i32::from_be_bytes(f[stat + 52..stat + 56].try_into().unwrap());
    format!("len={len} dataLength={data_length}")
}

/// A create (opcode 1) or setData (5) body whose data has length `len`
/// (−1: null) followed by `len` bytes of 7.
fn data_request(xid: i32, op: i32, path: &str, len: i32) -> BytesMut {
    let mut b = header(xid, op);
    string(&mut b, Some(path));
    b.put_i32(len);
    for _ in 0..len.max(0) {
        b.put_u8(7);
    }
    if op == 1 {
        b.put_i32(1); // one ACL: world:anyone, ALL
        b.put_i32(31);
        string(&mut b, Some("world"));
        string(&mut b, Some("anyone"));
        b.put_i32(0); // persistent
    } else {
        b.put_i32(-1); // any version
    }
    b
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn null_data_stays_null_through_create_set_data_and_get_data() {
    same_as_real(
        "create null: err=0; get: len=-1 dataLength=0; set 2 bytes: err=0; \
         get: len=2 dataLength=2; set null: err=0; get: len=-1 dataLength=0; \
         set empty: err=0; get: len=0 dataLength=0; multi get: len=-1",
        |addr| {
            let mut s = session(addr);
            let path = unique("null");
            let get = |xid| {
                let mut b = header(xid, 4);
                string(&mut b, Some(&path));
                b.put_u8(0);
                b
            };
            let mut t = Vec::new();
            t.push(format!(
                "create null: {}",
                data_call(&mut s, &data_request(1, 1, &path, -1))
            ));
            t.push(format!("get: {}", data_call(&mut s, &get(2))));
            t.push(format!(
                "set 2 bytes: {}",
                data_call(&mut s, &data_request(3, 5, &path, 2))
            ));
            t.push(format!("get: {}", data_call(&mut s, &get(4))));
            t.push(format!(
                "set null: {}",
                data_call(&mut s, &data_request(5, 5, &path, -1))
            ));
            t.push(format!("get: {}", data_call(&mut s, &get(6))));
            t.push(format!(
                "set empty: {}",
                data_call(&mut s, &data_request(7, 5, &path, 0))
            ));
            t.push(format!("get: {}", data_call(&mut s, &get(8))));
            // Null again, read back inside a read-only multi (opcode 22):
            // the GetData result's data length.
            data_call(&mut s, &data_request(9, 5, &path, -1));
            let mut m = header(10, 22);
            m.put_i32(4); // MultiHeader: getData, not done, err -1
            m.put_u8(0);
            m.put_i32(-1);
            string(&mut m, Some(&path));
            m.put_u8(0); // no watch
            m.put_i32(-1); // end marker
            m.put_u8(1);
            m.put_i32(-1);
            s.write_all(&frame(&m)).unwrap();
            let f = read_frame(&mut s, Duration::from_secs(10)).unwrap();
            // header(16) + MultiHeader(type 4, done 0, err -1: 9) + data length
            let Some(len) = f.get(25..29) else {
                return format!("{}; multi get: short reply {f:?}", t.join("; "));
            };
            let len = i32::from_be_bytes(len.try_into().unwrap());
            t.push(format!("multi get: len={len}"));
            t.join("; ")
        },
    )
    .await;
}

/// The zxid in the reply header of the next reply.
fn reply_zxid(s: &mut TcpStream) -> i64 {
    let f = read_frame(s, Duration::from_secs(10)).unwrap();
    assert_eq!(&f[12..16], &[0; 4], "request failed");
    i64::from_be_bytes(f[4..12].try_into().unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hash_lists_a_digest_after_every_128th_zxid_as_real() {
    // Writes until two more multiples of 128 have been crossed; `hash`
    // then lists one `<zxid hex>: <decimal digest>` line for each multiple
    // in (first write, last write] (other clients' writes in between take
    // zxids too, and get their lines: every zxid is a txn). The digests
    // themselves include node times, so they differ between servers.
    same_as_real(
        "first hash: ok; new lines: every multiple of 128 crossed (2), well-formed: true",
        |addr| {
            let first = four_letter(addr, b"hash");
            let first_ok = first.lines().all(|l| {
                l.split_once(": ").is_some_and(|(z, d)| {
                    i64::from_str_radix(z, 16).is_ok_and(|z| z % 128 == 0)
                        && d.parse::<i64>().is_ok()
                })
            });
            let mut s = session(addr);
            let path = unique("hash");
            let mut b = header(1, 1);
            string(&mut b, Some(&path));
            b.put_i32(0);
            b.put_i32(1);
            b.put_i32(31);
            string(&mut b, Some("world"));
            string(&mut b, Some("anyone"));
            b.put_i32(0);
            s.write_all(&frame(&b)).unwrap();
            let start = reply_zxid(&mut s);
            let target = (start / 128 + 2) * 128;
            let mut end = start;
            let mut xid = 2;
            while end < target {
                let mut b = header(xid, 5);
                string(&mut b, Some(&path));
                b.put_i32(1);
                b.put_u8(7);
                b.put_i32(-1);
                s.write_all(&frame(&b)).unwrap();
                end = reply_zxid(&mut s);
                xid += 1;
            }
            let hash = four_letter(addr, b"hash");
            let mut fresh = Vec::new();
            let mut well_formed = true;
            for line in hash.lines() {
                match line
                    .split_once(": ")
                    .map(|(z, d)| (i64::from_str_radix(z, 16), d.parse::<i64>()))
                {
                    Some((Ok(z), Ok(_))) => {
                        if z > start && z <= end {
                            fresh.push(z);
                        }
                    }
                    _ => well_formed = false,
                }
            }
            let expected: Vec<i64> = (start / 128 + 1..=end / 128).map(|k| k * 128).collect();
            let fresh_text = if fresh == expected {
                format!("every multiple of 128 crossed ({})", expected.len())
            } else {
                format!("{fresh:x?}, expected {expected:x?}")
            };
            format!(
                "first hash: {}; new lines: {fresh_text}, well-formed: {well_formed}",
                if first_ok { "ok" } else { first.as_str() }
            )
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_word_outside_the_whitelist_is_refused_and_srvr_always_answers() {
    let ens = Ensemble::builder()
        .nodes(1)
        .four_letter_whitelist("ruok, conf")
        .seed(13)
        .build()
        .await
        .unwrap();
    let addr = ens.addr(0);
    let (stat, srvr, ruok) = tokio::task::spawn_blocking(move || {
        (
            four_letter(addr, b"stat"),
            four_letter(addr, b"srvr"),
            four_letter(addr, b"ruok"),
        )
    })
    .await
    .unwrap();
    assert_eq!(
        stat,
        "stat is not executed because it is not in the whitelist.\n"
    );
    assert!(srvr.contains("Mode: "), "{srvr}");
    assert_eq!(ruok, "imok");
}
