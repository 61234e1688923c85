//! Structured fuzzing: any request or response the fuzzer builds survives
//! framing, encoding and decoding unchanged.
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use zk_proto::*;

#[derive(Debug, arbitrary::Arbitrary)]
enum Input {
    Request(Request),
    Response(Response),
    Connect(ConnectRequest),
    Event(WatcherEvent),
}

fuzz_target!(|input: Input| {
    let max = usize::MAX >> 1;
    let mut buf = BytesMut::new();
    match input {
        Input::Request(req) => {
            encode_request(&mut buf, max, 5, &req).unwrap();
            let frame = FrameDecoder::new(max).decode(&mut buf).unwrap().unwrap();
            let (h, back) = decode_request(frame).unwrap();
            assert_eq!(h.xid, 5);
            assert_eq!(back, req);
        }
        Input::Response(resp) => {
            let h = ReplyHeader { xid: 5, zxid: 1, err: ErrorCode::Ok };
            encode_reply(&mut buf, max, &h, &resp).unwrap();
            let frame = FrameDecoder::new(max).decode(&mut buf).unwrap().unwrap();
            let mut r = Reader::new(frame);
            assert_eq!(ReplyHeader::decode(&mut r).unwrap(), h);
            // The response's variant fixes which opcodes may have produced it;
            // decoding with each of them must succeed with the same value.
            let ok = OpCode::ALL.iter().any(|&op| {
                Response::decode(op, &mut r.clone()).map_or(false, |back| back == resp)
            });
            assert!(ok, "{resp:?} decodes back under no opcode");
        }
        Input::Connect(c) => {
            encode_record_frame(&mut buf, max, &c).unwrap();
            let frame = FrameDecoder::new(max).decode(&mut buf).unwrap().unwrap();
            assert_eq!(ConnectRequest::from_bytes(frame).unwrap(), c);
        }
        Input::Event(ev) => {
            encode_notification(&mut buf, max, -1, &ev).unwrap();
            let frame = FrameDecoder::new(max).decode(&mut buf).unwrap().unwrap();
            let mut r = Reader::new(frame);
            assert_eq!(ReplyHeader::decode(&mut r).unwrap().xid, -1);
            assert_eq!(WatcherEvent::decode(&mut r).unwrap(), ev);
        }
    }
});
