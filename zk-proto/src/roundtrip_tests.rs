//! Seeded property tests: every record survives encode → decode → encode, and
//! every decoder survives arbitrary bytes.
//!
//! Each test runs `ZK_PROTO_CASES` cases (default 2,000) from a seed printed on
//! failure; replay with `ZK_PROTO_SEED=<seed> cargo test -p zk-proto`.

use std::fmt::Debug;

use arbitrary::{Arbitrary, Unstructured};
use bytes::{Bytes, BytesMut};
use rand::{Rng, RngCore, SeedableRng};

use crate::*;

fn seed() -> u64 {
    std::env::var("ZK_PROTO_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| rand::rng().random())
}

fn cases() -> usize {
    std::env::var("ZK_PROTO_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2_000)
}

/// Runs `check` on `cases()` inputs of random bytes from a reported seed.
fn with_random_inputs(name: &str, mut check: impl FnMut(&[u8])) {
    let seed = seed();
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        for _ in 0..cases() {
            let len = rng.random_range(0..512);
            let mut raw = vec![0u8; len];
            rng.fill_bytes(&mut raw);
            check(&raw);
        }
    }));
    if let Err(e) = result {
        eprintln!("{name} failed; replay with ZK_PROTO_SEED={seed}");
        std::panic::resume_unwind(e);
    }
}

fn roundtrip<R>(name: &str)
where
    R: Record + for<'a> Arbitrary<'a> + PartialEq + Debug,
{
    with_random_inputs(name, |raw| {
        let Ok(value) = R::arbitrary(&mut Unstructured::new(raw)) else {
            return;
        };
        let bytes = value.to_bytes();
        let back = R::from_bytes(bytes.clone()).unwrap_or_else(|e| panic!("{value:?}: {e}"));
        assert_eq!(back, value);
        assert_eq!(back.to_bytes(), bytes);
    });
}

fn decode_never_panics<R: Record>(name: &str) {
    with_random_inputs(name, |raw| {
        let _ = R::from_bytes(Bytes::copy_from_slice(raw));
    });
}

macro_rules! record_tests {
    ($($name:ident: $ty:ty,)+) => {
        $(
            #[test]
            fn $name() {
                roundtrip::<$ty>(stringify!($name));
                decode_never_panics::<$ty>(stringify!($name));
            }
        )+
    };
}

record_tests! {
    stat: Stat,
    id: Id,
    acl: Acl,
    client_info: ClientInfo,
    request_header: RequestHeader,
    reply_header: ReplyHeader,
    multi_header: MultiHeader,
    connect_request: ConnectRequest,
    connect_response: ConnectResponse,
    create_request: CreateRequest,
    create_ttl_request: CreateTtlRequest,
    create_response: CreateResponse,
    create2_response: Create2Response,
    delete_request: DeleteRequest,
    delete_container_request: DeleteContainerRequest,
    exists_request: ExistsRequest,
    stat_response: StatResponse,
    get_data_request: GetDataRequest,
    get_data_response: GetDataResponse,
    set_data_request: SetDataRequest,
    get_acl_request: GetAclRequest,
    get_acl_response: GetAclResponse,
    set_acl_request: SetAclRequest,
    get_children_request: GetChildrenRequest,
    get_children_response: GetChildrenResponse,
    get_children2_response: GetChildren2Response,
    sync_request: SyncRequest,
    check_version_request: CheckVersionRequest,
    reconfig_request: ReconfigRequest,
    remove_watches_request: RemoveWatchesRequest,
    auth_packet: AuthPacket,
    sasl_request: SaslRequest,
    set_watches: SetWatches,
    set_watches2: SetWatches2,
    get_ephemerals_request: GetEphemeralsRequest,
    get_ephemerals_response: GetEphemeralsResponse,
    get_all_children_number_request: GetAllChildrenNumberRequest,
    get_all_children_number_response: GetAllChildrenNumberResponse,
    add_watch_request: AddWatchRequest,
    error_response: ErrorResponse,
    who_am_i_response: WhoAmIResponse,
    watcher_event: WatcherEvent,
    multi_request: MultiRequest,
    multi_response: MultiResponse,
}

/// Whole request frames: any `Request` survives framing, and decoding it by its opcode gives it back.
#[test]
fn request_frames_roundtrip() {
    with_random_inputs("request_frames_roundtrip", |raw| {
        let Ok(req) = Request::arbitrary(&mut Unstructured::new(raw)) else {
            return;
        };
        let mut buf = BytesMut::new();
        encode_request(&mut buf, DEFAULT_MAX_FRAME, 7, &req).unwrap();
        let frame = FrameDecoder::default().decode(&mut buf).unwrap().unwrap();
        let (h, back) = decode_request(frame).unwrap();
        assert_eq!(h, RequestHeader::new(7, req.op_code()));
        // deleteContainer's raw path loses nothing but is decoded lossily; all others are exact.
        assert_eq!(back, req);
    });
}

/// Whole reply frames: a `Response` decodes back when read with an opcode that produces its variant.
#[test]
fn response_frames_roundtrip() {
    with_random_inputs("response_frames_roundtrip", |raw| {
        let Ok(resp) = Response::arbitrary(&mut Unstructured::new(raw)) else {
            return;
        };
        let op = match &resp {
            Response::Empty => OpCode::Delete,
            Response::Create(_) => OpCode::Create,
            Response::Create2(_) => OpCode::Create2,
            Response::Stat(_) => OpCode::Exists,
            Response::GetData(_) => OpCode::GetData,
            Response::GetAcl(_) => OpCode::GetAcl,
            Response::GetChildren(_) => OpCode::GetChildren,
            Response::GetChildren2(_) => OpCode::GetChildren2,
            Response::Sync(_) => OpCode::Sync,
            Response::Multi(_) => OpCode::Multi,
            Response::Sasl(_) => OpCode::Sasl,
            Response::GetEphemerals(_) => OpCode::GetEphemerals,
            Response::GetAllChildrenNumber(_) => OpCode::GetAllChildrenNumber,
            Response::AddWatch(_) => OpCode::AddWatch,
            Response::WhoAmI(_) => OpCode::WhoAmI,
        };
        let header = ReplyHeader {
            xid: 3,
            zxid: 42,
            err: ErrorCode::Ok,
        };
        let mut buf = BytesMut::new();
        encode_reply(&mut buf, DEFAULT_MAX_FRAME, &header, &resp).unwrap();
        let frame = FrameDecoder::default().decode(&mut buf).unwrap().unwrap();
        let mut r = Reader::new(frame);
        assert_eq!(ReplyHeader::decode(&mut r).unwrap(), header);
        assert_eq!(Response::decode(op, &mut r).unwrap(), resp);
        assert!(r.is_empty());
    });
}

/// Arbitrary bytes through every opcode's request and response decoder, and the frame splitter.
#[test]
fn decoders_never_panic_on_garbage() {
    with_random_inputs("decoders_never_panic_on_garbage", |raw| {
        let bytes = Bytes::copy_from_slice(raw);
        let _ = decode_request(bytes.clone());
        for &op in OpCode::ALL {
            let _ = Request::decode(op, &mut Reader::new(bytes.clone()));
            let _ = Response::decode(op, &mut Reader::new(bytes.clone()));
        }
        let mut buf = BytesMut::from(raw);
        let dec = FrameDecoder::new(256);
        while let Ok(Some(_)) = dec.decode(&mut buf) {}
    });
}
