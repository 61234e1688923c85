//! One request test and one response test per opcode. Each compares our
//! encoding with bytes written by hand from the jute field list (see
//! `protocol.md` §6.1), then decodes those bytes back.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use bytes::{Bytes, BytesMut};
use zk_proto::*;

/// Hand-built jute bytes.
#[derive(Default)]
struct W(Vec<u8>);

impl W {
    fn i(mut self, v: i32) -> Self {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }
    fn l(mut self, v: i64) -> Self {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }
    fn b(mut self, v: bool) -> Self {
        self.0.push(v as u8);
        self
    }
    fn s(self, v: &str) -> Self {
        self.buf(v.as_bytes())
    }
    fn buf(mut self, v: &[u8]) -> Self {
        self = self.i(v.len() as i32);
        self.0.extend_from_slice(v);
        self
    }
    fn strs(mut self, v: &[&str]) -> Self {
        self = self.i(v.len() as i32);
        for s in v {
            self = self.s(s);
        }
        self
    }
    fn stat(self, s: &Stat) -> Self {
        self.l(s.czxid)
            .l(s.mzxid)
            .l(s.ctime)
            .l(s.mtime)
            .i(s.version)
            .i(s.cversion)
            .i(s.aversion)
            .l(s.ephemeral_owner)
            .i(s.data_length)
            .i(s.num_children)
            .l(s.pzxid)
    }
    fn open_acl(self) -> Self {
        self.i(1).i(31).s("world").s("anyone")
    }
    fn multi_header(self, op: i32, done: bool, err: i32) -> Self {
        self.i(op).b(done).i(err)
    }
}

fn stat() -> Stat {
    Stat {
        czxid: 0x1_0000_0002,
        mzxid: 0x1_0000_0003,
        ctime: 1_700_000_000_000,
        mtime: 1_700_000_000_500,
        version: 1,
        cversion: 2,
        aversion: 0,
        ephemeral_owner: 0x7000_0001_0000_0000,
        data_length: 5,
        num_children: 0,
        pzxid: 0x1_0000_0002,
    }
}

/// Encodes `req` as a frame with xid 9 and compares it with the header + `body`.
fn check_request(op: OpCode, req: Request, body: W) {
    assert_eq!(req.op_code(), op);
    let mut expected = W::default().i(9).i(op.code()).0;
    expected.extend_from_slice(&body.0);
    let mut framed = (expected.len() as i32).to_be_bytes().to_vec();
    framed.extend_from_slice(&expected);

    let mut buf = BytesMut::new();
    encode_request(&mut buf, DEFAULT_MAX_FRAME, 9, &req).unwrap();
    assert_eq!(&buf[..], &framed[..], "{op} request bytes");

    let (h, back) = decode_request(Bytes::from(expected)).unwrap();
    assert_eq!(h, RequestHeader::new(9, op));
    assert_eq!(back, req);
}

/// Decodes header + `body` as the reply to `op` and re-encodes it.
fn check_response(op: OpCode, resp: Response, body: W) {
    let header = ReplyHeader {
        xid: 9,
        zxid: 0x1_0000_0010,
        err: ErrorCode::Ok,
    };
    let mut expected = W::default().i(9).l(0x1_0000_0010).i(0).0;
    expected.extend_from_slice(&body.0);

    let mut r = Reader::new(Bytes::from(expected.clone()));
    assert_eq!(ReplyHeader::decode(&mut r).unwrap(), header);
    assert_eq!(Response::decode(op, &mut r).unwrap(), resp, "{op} response");
    assert!(r.is_empty(), "{op}: bytes left over");

    let mut buf = BytesMut::new();
    encode_reply(&mut buf, DEFAULT_MAX_FRAME, &header, &resp).unwrap();
    assert_eq!(&buf[4..], &expected[..], "{op} response bytes");
}

fn create(path: &str, data: &'static [u8], flags: i32) -> CreateRequest {
    CreateRequest {
        path: path.into(),
        data: Bytes::from_static(data).into(),
        acl: Acl::open_unsafe(),
        flags,
    }
}

fn create_body(path: &str, data: &[u8], flags: i32) -> W {
    W::default().s(path).buf(data).open_acl().i(flags)
}

// ---- connect ----

#[test]
fn connect_request() {
    let req = ConnectRequest {
        protocol_version: 0,
        last_zxid_seen: 0x1_0000_0005,
        timeout: 30_000,
        session_id: 0x7000_0001_0000_0000,
        passwd: Bytes::from_static(&[7; 16]),
        read_only: Some(false),
    };
    let w = W::default()
        .i(0)
        .l(0x1_0000_0005)
        .i(30_000)
        .l(0x7000_0001_0000_0000)
        .buf(&[7; 16])
        .b(false);
    assert_eq!(&req.to_bytes()[..], &w.0[..]);
    assert_eq!(
        ConnectRequest::from_bytes(Bytes::from(w.0.clone())).unwrap(),
        req
    );
    // The old form without the read-only byte.
    let old = ConnectRequest::from_bytes(Bytes::copy_from_slice(&w.0[..w.0.len() - 1])).unwrap();
    assert_eq!(old.read_only, None);
}

#[test]
fn connect_response() {
    let resp = ConnectResponse {
        protocol_version: 0,
        timeout: 4_000,
        session_id: 0x7000_0001_0000_0000,
        passwd: Bytes::from_static(&[3; 16]),
        read_only: Some(true),
    };
    let w = W::default()
        .i(0)
        .i(4_000)
        .l(0x7000_0001_0000_0000)
        .buf(&[3; 16])
        .b(true);
    assert_eq!(&resp.to_bytes()[..], &w.0[..]);
    assert_eq!(ConnectResponse::from_bytes(Bytes::from(w.0)).unwrap(), resp);
    let expired = W::default().i(0).i(0).l(0).buf(&[0; 16]);
    assert!(ConnectResponse::from_bytes(Bytes::from(expired.0))
        .unwrap()
        .is_expired());
}

// ---- one pair per opcode ----

#[test]
fn create_request() {
    check_request(
        OpCode::Create,
        Request::Create(create("/a", b"hello", 0)),
        create_body("/a", b"hello", 0),
    );
}

#[test]
fn create_response() {
    check_response(
        OpCode::Create,
        Response::Create(CreateResponse { path: "/a".into() }),
        W::default().s("/a"),
    );
}

#[test]
fn create2_request() {
    check_request(
        OpCode::Create2,
        Request::Create2(create("/e-", b"", 3)),
        create_body("/e-", b"", 3),
    );
}

#[test]
fn create2_response() {
    let resp = Create2Response {
        path: "/e-0000000001".into(),
        stat: stat(),
    };
    check_response(
        OpCode::Create2,
        Response::Create2(resp),
        W::default().s("/e-0000000001").stat(&stat()),
    );
}

#[test]
fn create_container_request() {
    check_request(
        OpCode::CreateContainer,
        Request::CreateContainer(create("/c", b"", 4)),
        create_body("/c", b"", 4),
    );
}

#[test]
fn create_container_response() {
    let resp = Create2Response {
        path: "/c".into(),
        stat: stat(),
    };
    check_response(
        OpCode::CreateContainer,
        Response::Create2(resp),
        W::default().s("/c").stat(&stat()),
    );
}

#[test]
fn create_ttl_request() {
    let req = CreateTtlRequest {
        path: "/t".into(),
        data: Bytes::from_static(b"x").into(),
        acl: Acl::open_unsafe(),
        flags: 5,
        ttl: 60_000,
    };
    check_request(
        OpCode::CreateTtl,
        Request::CreateTtl(req),
        create_body("/t", b"x", 5).l(60_000),
    );
}

#[test]
fn create_ttl_response() {
    let resp = Create2Response {
        path: "/t".into(),
        stat: stat(),
    };
    check_response(
        OpCode::CreateTtl,
        Response::Create2(resp),
        W::default().s("/t").stat(&stat()),
    );
}

#[test]
fn delete_request() {
    check_request(
        OpCode::Delete,
        Request::Delete(DeleteRequest {
            path: "/a".into(),
            version: -1,
        }),
        W::default().s("/a").i(-1),
    );
}

#[test]
fn delete_response() {
    check_response(OpCode::Delete, Response::Empty, W::default());
}

#[test]
fn delete_container_request() {
    // Server-internal: the body is the bare path bytes.
    let req = Request::DeleteContainer(DeleteContainerRequest { path: "/c".into() });
    let mut w = W::default();
    w.0.extend_from_slice(b"/c");
    check_request(OpCode::DeleteContainer, req, w);
}

#[test]
fn delete_container_response() {
    check_response(OpCode::DeleteContainer, Response::Empty, W::default());
}

#[test]
fn exists_request() {
    check_request(
        OpCode::Exists,
        Request::Exists(ExistsRequest {
            path: "/a".into(),
            watch: true,
        }),
        W::default().s("/a").b(true),
    );
}

#[test]
fn exists_response() {
    check_response(
        OpCode::Exists,
        Response::Stat(StatResponse { stat: stat() }),
        W::default().stat(&stat()),
    );
}

#[test]
fn get_data_request() {
    check_request(
        OpCode::GetData,
        Request::GetData(GetDataRequest {
            path: "/a".into(),
            watch: false,
        }),
        W::default().s("/a").b(false),
    );
}

#[test]
fn get_data_response() {
    let resp = GetDataResponse {
        data: Bytes::from_static(b"hello").into(),
        stat: stat(),
    };
    check_response(
        OpCode::GetData,
        Response::GetData(resp),
        W::default().buf(b"hello").stat(&stat()),
    );
}

#[test]
fn get_config_request() {
    // getConfig is a getData on /zookeeper/config.
    check_request(
        OpCode::GetData,
        Request::GetData(GetDataRequest {
            path: "/zookeeper/config".into(),
            watch: true,
        }),
        W::default().s("/zookeeper/config").b(true),
    );
}

#[test]
fn get_config_response() {
    let cfg = b"server.1=127.0.0.1:2888:3888:participant;0.0.0.0:2181\nversion=100000000";
    let resp = GetDataResponse {
        data: Bytes::from_static(cfg).into(),
        stat: stat(),
    };
    check_response(
        OpCode::GetData,
        Response::GetData(resp),
        W::default().buf(cfg).stat(&stat()),
    );
}

#[test]
fn set_data_request() {
    let req = SetDataRequest {
        path: "/a".into(),
        data: Bytes::from_static(b"v2").into(),
        version: 3,
    };
    check_request(
        OpCode::SetData,
        Request::SetData(req),
        W::default().s("/a").buf(b"v2").i(3),
    );
}

#[test]
fn set_data_response() {
    check_response(
        OpCode::SetData,
        Response::Stat(StatResponse { stat: stat() }),
        W::default().stat(&stat()),
    );
}

#[test]
fn get_acl_request() {
    check_request(
        OpCode::GetAcl,
        Request::GetAcl(GetAclRequest { path: "/a".into() }),
        W::default().s("/a"),
    );
}

#[test]
fn get_acl_response() {
    let resp = GetAclResponse {
        acl: Acl::open_unsafe(),
        stat: stat(),
    };
    check_response(
        OpCode::GetAcl,
        Response::GetAcl(resp),
        W::default().open_acl().stat(&stat()),
    );
}

#[test]
fn set_acl_request() {
    let acl = vec![Acl::new(
        Perms::READ | Perms::ADMIN,
        Id::new("digest", "u:hash="),
    )];
    let req = SetAclRequest {
        path: "/a".into(),
        acl,
        version: -1,
    };
    let body = W::default()
        .s("/a")
        .i(1)
        .i(17)
        .s("digest")
        .s("u:hash=")
        .i(-1);
    check_request(OpCode::SetAcl, Request::SetAcl(req), body);
}

#[test]
fn set_acl_response() {
    check_response(
        OpCode::SetAcl,
        Response::Stat(StatResponse { stat: stat() }),
        W::default().stat(&stat()),
    );
}

#[test]
fn get_children_request() {
    check_request(
        OpCode::GetChildren,
        Request::GetChildren(GetChildrenRequest {
            path: "/".into(),
            watch: true,
        }),
        W::default().s("/").b(true),
    );
}

#[test]
fn get_children_response() {
    let resp = GetChildrenResponse {
        children: vec!["a".into(), "zookeeper".into()],
    };
    check_response(
        OpCode::GetChildren,
        Response::GetChildren(resp),
        W::default().strs(&["a", "zookeeper"]),
    );
}

#[test]
fn get_children2_request() {
    check_request(
        OpCode::GetChildren2,
        Request::GetChildren2(GetChildrenRequest {
            path: "/a".into(),
            watch: false,
        }),
        W::default().s("/a").b(false),
    );
}

#[test]
fn get_children2_response() {
    let resp = GetChildren2Response {
        children: vec!["x".into()],
        stat: stat(),
    };
    check_response(
        OpCode::GetChildren2,
        Response::GetChildren2(resp),
        W::default().strs(&["x"]).stat(&stat()),
    );
}

#[test]
fn get_all_children_number_request() {
    check_request(
        OpCode::GetAllChildrenNumber,
        Request::GetAllChildrenNumber(GetAllChildrenNumberRequest { path: "/a".into() }),
        W::default().s("/a"),
    );
}

#[test]
fn get_all_children_number_response() {
    check_response(
        OpCode::GetAllChildrenNumber,
        Response::GetAllChildrenNumber(GetAllChildrenNumberResponse { total_number: 12 }),
        W::default().i(12),
    );
}

#[test]
fn get_ephemerals_request() {
    check_request(
        OpCode::GetEphemerals,
        Request::GetEphemerals(GetEphemeralsRequest {
            prefix_path: "/app".into(),
        }),
        W::default().s("/app"),
    );
}

#[test]
fn get_ephemerals_response() {
    let resp = GetEphemeralsResponse {
        ephemerals: vec!["/app/e1".into(), "/app/e2".into()],
    };
    check_response(
        OpCode::GetEphemerals,
        Response::GetEphemerals(resp),
        W::default().strs(&["/app/e1", "/app/e2"]),
    );
}

#[test]
fn sync_request() {
    check_request(
        OpCode::Sync,
        Request::Sync(SyncRequest { path: "/a".into() }),
        W::default().s("/a"),
    );
}

#[test]
fn sync_response() {
    check_response(
        OpCode::Sync,
        Response::Sync(SyncResponse { path: "/a".into() }),
        W::default().s("/a"),
    );
}

#[test]
fn check_request_standalone() {
    check_request(
        OpCode::Check,
        Request::Check(CheckVersionRequest {
            path: "/a".into(),
            version: 4,
        }),
        W::default().s("/a").i(4),
    );
}

#[test]
fn check_response_standalone() {
    check_response(
        OpCode::Check,
        Response::Stat(StatResponse { stat: stat() }),
        W::default().stat(&stat()),
    );
}

fn sample_multi() -> (MultiRequest, W) {
    let ops = vec![
        MultiOp::Create(create("/m", b"", 0)),
        MultiOp::Create2(create("/m/s-", b"", 2)),
        MultiOp::SetData(SetDataRequest {
            path: "/m".into(),
            data: Bytes::from_static(b"d").into(),
            version: -1,
        }),
        MultiOp::Check(CheckVersionRequest {
            path: "/m".into(),
            version: 1,
        }),
        MultiOp::Delete(DeleteRequest {
            path: "/old".into(),
            version: 0,
        }),
    ];
    let w = W::default()
        .multi_header(1, false, -1)
        .s("/m")
        .buf(b"")
        .open_acl()
        .i(0)
        .multi_header(15, false, -1)
        .s("/m/s-")
        .buf(b"")
        .open_acl()
        .i(2)
        .multi_header(5, false, -1)
        .s("/m")
        .buf(b"d")
        .i(-1)
        .multi_header(13, false, -1)
        .s("/m")
        .i(1)
        .multi_header(2, false, -1)
        .s("/old")
        .i(0)
        .multi_header(-1, true, -1);
    (MultiRequest { ops }, w)
}

#[test]
fn multi_request() {
    let (req, w) = sample_multi();
    check_request(OpCode::Multi, Request::Multi(req), w);
}

#[test]
fn multi_response() {
    let results = vec![
        MultiResult::Create(CreateResponse { path: "/m".into() }),
        MultiResult::Create2(Create2Response {
            path: "/m/s-0000000000".into(),
            stat: stat(),
        }),
        MultiResult::SetData(StatResponse { stat: stat() }),
        MultiResult::Check,
        MultiResult::Delete,
    ];
    let w = W::default()
        .multi_header(1, false, 0)
        .s("/m")
        .multi_header(15, false, 0)
        .s("/m/s-0000000000")
        .stat(&stat())
        .multi_header(5, false, 0)
        .stat(&stat())
        .multi_header(13, false, 0)
        .multi_header(2, false, 0)
        .multi_header(-1, true, -1);
    check_response(OpCode::Multi, Response::Multi(MultiResponse { results }), w);
}

#[test]
fn multi_response_with_error_results() {
    // A failed multi: ops before the failure report 0, the failure its code,
    // the rest RUNTIMEINCONSISTENCY, all as error results (type -1).
    let results = vec![
        MultiResult::Error(ErrorCode::Ok),
        MultiResult::Error(ErrorCode::NoNode),
        MultiResult::Error(ErrorCode::RuntimeInconsistency),
    ];
    let w = W::default()
        .multi_header(-1, false, 0)
        .i(0)
        .multi_header(-1, false, -101)
        .i(-101)
        .multi_header(-1, false, -2)
        .i(-2)
        .multi_header(-1, true, -1);
    let resp = MultiResponse { results };
    assert_eq!(resp.first_error(), Some((1, ErrorCode::NoNode)));
    check_response(OpCode::Multi, Response::Multi(resp), w);
}

#[test]
fn multi_request_unterminated_is_an_error() {
    let (_, w) = sample_multi();
    let body = &w.0[..w.0.len() - 9];
    let mut frame = W::default().i(1).i(14).0;
    frame.extend_from_slice(body);
    assert_eq!(
        decode_request(Bytes::from(frame)).unwrap_err(),
        ProtoError::UnterminatedMulti("request")
    );
}

#[test]
fn multi_read_request() {
    let ops = vec![
        MultiOp::GetData(GetDataRequest {
            path: "/a".into(),
            watch: false,
        }),
        MultiOp::GetChildren(GetChildrenRequest {
            path: "/".into(),
            watch: false,
        }),
    ];
    let w = W::default()
        .multi_header(4, false, -1)
        .s("/a")
        .b(false)
        .multi_header(8, false, -1)
        .s("/")
        .b(false)
        .multi_header(-1, true, -1);
    check_request(
        OpCode::MultiRead,
        Request::MultiRead(MultiRequest { ops }),
        w,
    );
}

#[test]
fn multi_read_response() {
    let results = vec![
        MultiResult::GetData(GetDataResponse {
            data: Bytes::from_static(b"x").into(),
            stat: stat(),
        }),
        MultiResult::Error(ErrorCode::NoNode),
        MultiResult::GetChildren(GetChildrenResponse {
            children: vec!["a".into()],
        }),
    ];
    let w = W::default()
        .multi_header(4, false, 0)
        .buf(b"x")
        .stat(&stat())
        .multi_header(-1, false, -101)
        .i(-101)
        .multi_header(8, false, 0)
        .strs(&["a"])
        .multi_header(-1, true, -1);
    check_response(
        OpCode::MultiRead,
        Response::Multi(MultiResponse { results }),
        w,
    );
}

#[test]
fn add_watch_request() {
    check_request(
        OpCode::AddWatch,
        Request::AddWatch(AddWatchRequest {
            path: "/a".into(),
            mode: AddWatchMode::PersistentRecursive.code(),
        }),
        W::default().s("/a").i(1),
    );
}

#[test]
fn add_watch_response() {
    check_response(
        OpCode::AddWatch,
        Response::AddWatch(ErrorResponse { err: ErrorCode::Ok }),
        W::default().i(0),
    );
}

#[test]
fn remove_watches_request() {
    check_request(
        OpCode::RemoveWatches,
        Request::RemoveWatches(RemoveWatchesRequest {
            path: "/a".into(),
            watcher_type: WatcherType::Any.code(),
        }),
        W::default().s("/a").i(3),
    );
}

#[test]
fn remove_watches_response() {
    check_response(OpCode::RemoveWatches, Response::Empty, W::default());
}

#[test]
fn check_watches_request() {
    check_request(
        OpCode::CheckWatches,
        Request::CheckWatches(CheckWatchesRequest {
            path: "/a".into(),
            watcher_type: WatcherType::Data.code(),
        }),
        W::default().s("/a").i(2),
    );
}

#[test]
fn check_watches_response() {
    check_response(OpCode::CheckWatches, Response::Empty, W::default());
}

#[test]
fn set_watches_request() {
    let req = SetWatches {
        relative_zxid: 0x1_0000_0009,
        data_watches: vec!["/d".into()],
        exist_watches: vec!["/e".into()],
        child_watches: vec![],
    };
    let w = W::default()
        .l(0x1_0000_0009)
        .strs(&["/d"])
        .strs(&["/e"])
        .strs(&[]);
    check_request(OpCode::SetWatches, Request::SetWatches(req), w);
}

#[test]
fn set_watches_response() {
    check_response(OpCode::SetWatches, Response::Empty, W::default());
}

#[test]
fn set_watches2_request() {
    let req = SetWatches2 {
        relative_zxid: 5,
        data_watches: vec![],
        exist_watches: vec![],
        child_watches: vec!["/c".into()],
        persistent_watches: vec!["/p".into()],
        persistent_recursive_watches: vec!["/r".into(), "/r2".into()],
    };
    let w = W::default()
        .l(5)
        .strs(&[])
        .strs(&[])
        .strs(&["/c"])
        .strs(&["/p"])
        .strs(&["/r", "/r2"]);
    check_request(OpCode::SetWatches2, Request::SetWatches2(req), w);
}

#[test]
fn set_watches2_response() {
    check_response(OpCode::SetWatches2, Response::Empty, W::default());
}

#[test]
fn auth_request() {
    let req = AuthPacket {
        auth_type: 0,
        scheme: "digest".into(),
        auth: Bytes::from_static(b"user:secret"),
    };
    check_request(
        OpCode::Auth,
        Request::Auth(req),
        W::default().i(0).s("digest").buf(b"user:secret"),
    );
}

#[test]
fn auth_response() {
    check_response(OpCode::Auth, Response::Empty, W::default());
}

#[test]
fn sasl_request() {
    let req = SaslRequest {
        token: Bytes::from_static(b"\x01\x02token"),
    };
    check_request(
        OpCode::Sasl,
        Request::Sasl(req),
        W::default().buf(b"\x01\x02token"),
    );
}

#[test]
fn sasl_response() {
    let resp = SaslResponse {
        token: Bytes::from_static(b"challenge"),
    };
    check_response(
        OpCode::Sasl,
        Response::Sasl(resp),
        W::default().buf(b"challenge"),
    );
}

#[test]
fn ping_request() {
    check_request(OpCode::Ping, Request::Ping, W::default());
}

#[test]
fn ping_response() {
    check_response(OpCode::Ping, Response::Empty, W::default());
}

#[test]
fn close_session_request() {
    check_request(OpCode::CloseSession, Request::CloseSession, W::default());
}

#[test]
fn close_session_response() {
    check_response(OpCode::CloseSession, Response::Empty, W::default());
}

#[test]
fn reconfig_request() {
    let req = ReconfigRequest {
        joining_servers: "server.4=127.0.0.1:2891:3891;2184".into(),
        leaving_servers: "2".into(),
        new_members: String::new(),
        cur_config_id: -1,
    };
    let w = W::default()
        .s("server.4=127.0.0.1:2891:3891;2184")
        .s("2")
        .s("")
        .l(-1);
    check_request(OpCode::Reconfig, Request::Reconfig(req), w);
}

#[test]
fn reconfig_response() {
    let resp = GetDataResponse {
        data: Bytes::from_static(b"version=200000001").into(),
        stat: stat(),
    };
    check_response(
        OpCode::Reconfig,
        Response::GetData(resp),
        W::default().buf(b"version=200000001").stat(&stat()),
    );
}

#[test]
fn who_am_i_request() {
    check_request(OpCode::WhoAmI, Request::WhoAmI, W::default());
}

#[test]
fn who_am_i_response() {
    let resp = WhoAmIResponse {
        client_info: vec![ClientInfo {
            auth_scheme: "ip".into(),
            user: "127.0.0.1".into(),
        }],
    };
    check_response(
        OpCode::WhoAmI,
        Response::WhoAmI(resp),
        W::default().i(1).s("ip").s("127.0.0.1"),
    );
}

#[test]
fn watcher_event_notification() {
    let ev = WatcherEvent::node(EventType::NodeDataChanged, "/a");
    let mut buf = BytesMut::new();
    encode_notification(&mut buf, DEFAULT_MAX_FRAME, -1, &ev).unwrap();
    let body = W::default().i(-1).l(-1).i(0).i(3).i(3).s("/a");
    assert_eq!(&buf[4..], &body.0[..]);
    let mut r = Reader::new(Bytes::from(body.0));
    assert_eq!(ReplyHeader::decode(&mut r).unwrap().xid, xid::NOTIFICATION);
    let back = WatcherEvent::decode(&mut r).unwrap();
    assert_eq!(back.event_type().unwrap(), EventType::NodeDataChanged);
    assert_eq!(back.state().unwrap(), KeeperState::SyncConnected);
}

#[test]
fn error_reply_has_no_body() {
    let header = ReplyHeader {
        xid: 4,
        zxid: 10,
        err: ErrorCode::NoNode,
    };
    let mut buf = BytesMut::new();
    // Even if a body is passed, an error reply is written header-only.
    encode_reply(
        &mut buf,
        DEFAULT_MAX_FRAME,
        &header,
        &Response::Stat(StatResponse { stat: stat() }),
    )
    .unwrap();
    assert_eq!(&buf[..], &W::default().i(16).i(4).l(10).i(-101).0[..]);
}

#[test]
fn unknown_opcode_is_a_typed_error() {
    let frame = W::default().i(1).i(55).0;
    assert_eq!(
        decode_request(Bytes::from(frame)).unwrap_err(),
        ProtoError::UnknownOpCode(55)
    );
}

#[test]
fn every_opcode_has_a_request_decoder() {
    // Guards this file: each client opcode decodes from a body of the right shape.
    for &op in OpCode::ALL {
        let internal = matches!(
            op,
            OpCode::Notification | OpCode::CreateSession | OpCode::Error
        );
        let decodable = Request::decode(op, &mut Reader::new(Bytes::new()));
        if internal {
            assert_eq!(decodable.unwrap_err(), ProtoError::UnknownOpCode(op.code()));
        }
    }
}
