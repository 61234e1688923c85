//! Every decoder over arbitrary bytes: the frame splitter, request and
//! response bodies for every opcode, connect records, headers, notifications.
//! No panic, no hang, and no single allocation beyond a small multiple of the
//! input (a bogus length or count must never be allocated for).
#![no_main]

mod alloc_guard;

use bytes::{Bytes, BytesMut};
use libfuzzer_sys::fuzz_target;
use zk_proto::*;

#[global_allocator]
static GUARD: alloc_guard::Guard = alloc_guard::Guard;

fuzz_target!(|data: &[u8]| {
    // Decoded values hold owned Strings/Vecs; their in-memory size per wire
    // byte is bounded by a small constant (a 24-byte String per 4-byte length).
    let limit = 64 * data.len() + 4096;
    alloc_guard::check_allocations(limit, || {
        let bytes = Bytes::copy_from_slice(data);

        // Stream framing with a small maximum, as a server or client reads it.
        let mut buf = BytesMut::from(data);
        let dec = FrameDecoder::new(data.len().max(16));
        while let Ok(Some(frame)) = dec.decode(&mut buf) {
            if let Ok((_, req)) = decode_request(frame.clone()) {
                // Whatever decodes must re-encode and decode to the same value.
                let mut out = BytesMut::new();
                if encode_request(&mut out, usize::MAX >> 1, 1, &req).is_ok() {
                    let again = FrameDecoder::new(usize::MAX >> 1).decode(&mut out);
                    let (_, back) = decode_request(again.unwrap().unwrap()).unwrap();
                    assert_eq!(back, req);
                }
            }
            let mut r = Reader::new(frame);
            if let Ok(h) = ReplyHeader::decode(&mut r) {
                if h.xid == xid::NOTIFICATION {
                    let _ = WatcherEvent::decode(&mut r);
                }
            }
        }

        for &op in OpCode::ALL {
            let _ = Request::decode(op, &mut Reader::new(bytes.clone()));
            let _ = Response::decode(op, &mut Reader::new(bytes.clone()));
        }
        let _ = ConnectRequest::from_bytes(bytes.clone());
        let _ = ConnectResponse::from_bytes(bytes.clone());
        let _ = MultiResponse::from_bytes(bytes.clone());
        if let Ok(s) = std::str::from_utf8(data) {
            let _ = validate_path(s);
            let _ = validate_create_path(s, true);
        }
    });
});
