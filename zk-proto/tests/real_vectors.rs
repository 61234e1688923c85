//! Frames captured from a real ZooKeeper 3.8.0 server (see `tests/vectors/README.md`
//! for how they were made) decode, and re-encode to exactly the same bytes.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use bytes::{Bytes, BytesMut};
use zk_proto::*;

#[derive(Default)]
struct Tally {
    requests: HashMap<OpCode, usize>,
    replies: HashMap<OpCode, usize>,
    error_codes: BTreeMap<i32, usize>,
    notifications: usize,
    frames: usize,
}

fn parse_hex(s: &str) -> Vec<u8> {
    assert!(s.len() % 2 == 0, "odd hex length");
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// Splits a captured frame (with its length prefix) with the real frame decoder.
fn unframe(raw: &[u8]) -> Bytes {
    let mut buf = BytesMut::from(raw);
    let frame = FrameDecoder::default()
        .decode(&mut buf)
        .unwrap()
        .expect("a whole frame");
    assert!(buf.is_empty(), "bytes after the frame");
    frame
}

fn check_file(path: &Path, tally: &mut Tally) {
    let text = std::fs::read_to_string(path).unwrap();
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    let mut ops_by_xid: HashMap<i32, OpCode> = HashMap::new();
    let (mut seen_connect_req, mut seen_connect_resp) = (false, false);

    for (lineno, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (dir, hex) = line.split_once(' ').unwrap();
        let raw = parse_hex(hex.trim());
        let frame = unframe(&raw);
        let at = format!("{name}:{}", lineno + 1);
        tally.frames += 1;
        let mut out = BytesMut::new();

        match dir {
            "C" if !seen_connect_req => {
                seen_connect_req = true;
                let req = ConnectRequest::from_bytes(frame).unwrap();
                encode_record_frame(&mut out, DEFAULT_MAX_FRAME, &req).unwrap();
            }
            "C" => {
                let (h, req) = decode_request(frame).unwrap_or_else(|e| panic!("{at}: {e}"));
                let op = h.op_code().unwrap();
                *tally.requests.entry(op).or_default() += 1;
                ops_by_xid.insert(h.xid, op);
                encode_request(&mut out, DEFAULT_MAX_FRAME, h.xid, &req).unwrap();
            }
            "S" if !seen_connect_resp => {
                seen_connect_resp = true;
                let resp = ConnectResponse::from_bytes(frame).unwrap();
                encode_record_frame(&mut out, DEFAULT_MAX_FRAME, &resp).unwrap();
            }
            "S" => {
                let mut r = Reader::new(frame);
                let h = ReplyHeader::decode(&mut r).unwrap();
                if h.xid == xid::NOTIFICATION {
                    let ev = WatcherEvent::decode(&mut r).unwrap();
                    ev.event_type().unwrap_or_else(|e| panic!("{at}: {e}"));
                    assert!(r.is_empty(), "{at}: bytes after the event");
                    tally.notifications += 1;
                    encode_notification(&mut out, DEFAULT_MAX_FRAME, h.zxid, &ev).unwrap();
                } else {
                    let op = *ops_by_xid
                        .get(&h.xid)
                        .unwrap_or_else(|| panic!("{at}: reply to unknown xid {}", h.xid));
                    *tally.replies.entry(op).or_default() += 1;
                    *tally.error_codes.entry(h.err.code()).or_default() += 1;
                    let resp = if h.err.is_ok() {
                        Response::decode(op, &mut r).unwrap_or_else(|e| panic!("{at} ({op}): {e}"))
                    } else {
                        Response::Empty
                    };
                    assert!(
                        r.is_empty(),
                        "{at} ({op}): {} bytes left over",
                        r.remaining()
                    );
                    encode_reply(&mut out, DEFAULT_MAX_FRAME, &h, &resp).unwrap();
                }
            }
            other => panic!("{at}: unknown direction {other:?}"),
        }
        assert_eq!(&out[..], &raw[..], "{at}: re-encoding differs");
    }
}

#[test]
fn real_server_vectors_decode_and_reencode_exactly() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "txt"))
        .collect();
    files.sort();
    assert!(
        files.len() >= 10,
        "vector files missing from {}",
        dir.display()
    );

    let mut tally = Tally::default();
    for f in &files {
        check_file(f, &mut tally);
    }

    // Every client opcode except sasl (needs Kerberos/JAAS) and the
    // server-internal deleteContainer has a request and a reply captured.
    use OpCode::*;
    for op in [
        Create,
        Delete,
        Exists,
        GetData,
        SetData,
        GetAcl,
        SetAcl,
        GetChildren,
        Sync,
        Ping,
        GetChildren2,
        Check,
        Multi,
        Create2,
        Reconfig,
        CheckWatches,
        RemoveWatches,
        CreateContainer,
        CreateTtl,
        MultiRead,
        Auth,
        SetWatches,
        GetEphemerals,
        GetAllChildrenNumber,
        SetWatches2,
        AddWatch,
        WhoAmI,
        CloseSession,
    ] {
        assert!(tally.requests.contains_key(&op), "no captured {op} request");
        assert!(tally.replies.contains_key(&op), "no captured {op} reply");
    }
    for code in [-101, -102, -103, -110, -111, -121, -8, -115] {
        assert!(
            tally.error_codes.contains_key(&code),
            "no captured reply with error {code}"
        );
    }
    assert!(tally.notifications > 10);
    println!(
        "{} files, {} frames, {} notifications, requests {:?}",
        files.len(),
        tally.frames,
        tally.notifications,
        tally.requests
    );
}
