//! A tiny raw client over zk-proto for the ensemble, fault and binary tests.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
#![allow(dead_code, unreachable_pub)]

use std::net::SocketAddr;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use zk_proto::{
    encode_record_frame, encode_request, ConnectRequest, ConnectResponse, CreateMode, ErrorCode,
    FrameDecoder, OpCode, Reader, Record, ReplyHeader, Request, Response, WatcherEvent,
};

/// A seed for randomised tests: `ZK_SIM_SEED` or a fixed default; printed so
/// a failure can be replayed.
pub fn seed() -> u64 {
    let seed = std::env::var("ZK_SIM_SEED")
        .ok()
        .and_then(|s| zk_server_sim::parse_seed(&s))
        .unwrap_or(0x5eed);
    eprintln!("ZK_SIM_SEED={seed}");
    seed
}

/// A fast 3-node ensemble for tests.
pub async fn ensemble(nodes: usize) -> zk_server_sim::Ensemble {
    zk_server_sim::Ensemble::builder()
        .nodes(nodes)
        .tick_time(Duration::from_millis(20))
        .seed(seed())
        .build()
        .await
        .unwrap()
}

/// Like [`ensemble`], but peers never notice a pause (a huge `sync_limit`),
/// so pause/resume tests do not depend on how long the pause lasted.
pub async fn patient_ensemble(nodes: usize) -> zk_server_sim::Ensemble {
    zk_server_sim::Ensemble::builder()
        .nodes(nodes)
        .tick_time(Duration::from_millis(20))
        .sync_limit(1_000_000)
        .seed(seed())
        .build()
        .await
        .unwrap()
}

/// What came back for a request.
#[derive(Debug, Clone)]
pub struct Reply {
    pub header: ReplyHeader,
    pub body: Option<Response>,
}

impl Reply {
    pub fn err(&self) -> ErrorCode {
        self.header.err
    }
    pub fn data(&self) -> Bytes {
        match &self.body {
            Some(Response::GetData(d)) => d.data.clone().into(),
            other => panic!("not a getData reply: {other:?}"),
        }
    }
    pub fn children(&self) -> Vec<String> {
        match &self.body {
            Some(Response::GetChildren(d)) => d.children.clone(),
            Some(Response::GetChildren2(d)) => d.children.clone(),
            other => panic!("not a getChildren reply: {other:?}"),
        }
    }
}

/// One frame from the server.
#[derive(Debug, Clone)]
pub enum Frame {
    Reply(Reply),
    Event(WatcherEvent),
}

pub struct Raw {
    pub stream: TcpStream,
    buf: BytesMut,
    pub session_id: i64,
    pub passwd: Bytes,
    pub timeout: i32,
    pub read_only: Option<bool>,
    next_xid: i32,
    pub last_zxid: i64,
    /// Frames in arrival order, as `send`/`recv` saw them.
    pub log: Vec<Frame>,
    pending_ops: std::collections::VecDeque<(i32, OpCode)>,
}

pub struct Hello {
    pub session_id: i64,
    pub passwd: Bytes,
    pub last_zxid: i64,
    pub timeout: i32,
    pub read_only: Option<bool>,
}

impl Default for Hello {
    fn default() -> Self {
        Hello {
            session_id: 0,
            passwd: Bytes::from_static(&[0; 16]),
            last_zxid: 0,
            timeout: 10_000,
            read_only: Some(false),
        }
    }
}

/// The outcome of a handshake.
#[derive(Debug)]
pub enum Handshake {
    Connected(ConnectResponse),
    /// The server closed the connection without answering.
    Closed,
}

pub async fn handshake(addr: SocketAddr, hello: &Hello) -> (Option<Raw>, Handshake) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.set_nodelay(true).unwrap();
    let req = ConnectRequest {
        protocol_version: 0,
        last_zxid_seen: hello.last_zxid,
        timeout: hello.timeout,
        session_id: hello.session_id,
        passwd: hello.passwd.clone(),
        read_only: hello.read_only,
    };
    let mut out = BytesMut::new();
    encode_record_frame(&mut out, 1 << 20, &req).unwrap();
    stream.write_all(&out).await.unwrap();
    let mut buf = BytesMut::new();
    let frame = loop {
        if let Some(f) = FrameDecoder::default().decode(&mut buf).unwrap() {
            break f;
        }
        match tokio::time::timeout(Duration::from_secs(10), stream.read_buf(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return (None, Handshake::Closed),
            Ok(Ok(_)) => {}
            Err(_) => panic!("no handshake answer within 10 s"),
        }
    };
    let resp = ConnectResponse::from_bytes(frame).unwrap();
    let raw = Raw {
        stream,
        buf,
        session_id: resp.session_id,
        passwd: resp.passwd.clone(),
        timeout: resp.timeout,
        read_only: resp.read_only,
        next_xid: 1,
        last_zxid: hello.last_zxid,
        log: Vec::new(),
        pending_ops: Default::default(),
    };
    (Some(raw), Handshake::Connected(resp))
}

/// Connects a fresh session.
pub async fn connect(addr: SocketAddr) -> Raw {
    match handshake(addr, &Hello::default()).await {
        (Some(raw), Handshake::Connected(r)) if !r.is_expired() => raw,
        other => panic!("handshake failed: {:?}", other.1),
    }
}

impl Raw {
    /// Sends a request without waiting; returns its xid.
    pub async fn send(&mut self, req: &Request) -> i32 {
        let xid = match req {
            Request::Ping => zk_proto::xid::PING,
            Request::Auth(_) => zk_proto::xid::AUTH,
            Request::SetWatches(_) | Request::SetWatches2(_) => zk_proto::xid::SET_WATCHES,
            _ => {
                self.next_xid += 1;
                self.next_xid
            }
        };
        let mut out = BytesMut::new();
        encode_request(&mut out, 1 << 20, xid, req).unwrap();
        self.stream.write_all(&out).await.unwrap();
        self.pending_ops.push_back((xid, req.op_code()));
        xid
    }

    /// Reads the next frame; None when the connection closed.
    pub async fn recv(&mut self) -> Option<Frame> {
        let frame = loop {
            match FrameDecoder::default().decode(&mut self.buf) {
                Ok(Some(f)) => break f,
                Ok(None) => {}
                Err(_) => return None,
            }
            match tokio::time::timeout(Duration::from_secs(20), self.stream.read_buf(&mut self.buf))
                .await
            {
                Ok(Ok(0)) | Ok(Err(_)) => return None,
                Ok(Ok(_)) => {}
                Err(_) => panic!("nothing received within 20 s"),
            }
        };
        let mut r = Reader::new(frame);
        let header = ReplyHeader::decode(&mut r).unwrap();
        let out = if header.xid == zk_proto::xid::NOTIFICATION {
            Frame::Event(WatcherEvent::decode(&mut r).unwrap())
        } else {
            let (xid, op) = self
                .pending_ops
                .pop_front()
                .expect("a reply to a pending request");
            assert_eq!(xid, header.xid, "replies must come in request order");
            if header.zxid > 0 {
                assert!(header.zxid >= self.last_zxid, "zxid went back");
                self.last_zxid = header.zxid;
            }
            let body = if header.err == ErrorCode::Ok {
                Some(Response::decode(op, &mut r).unwrap())
            } else {
                None
            };
            Frame::Reply(Reply { header, body })
        };
        self.log.push(out.clone());
        Some(out)
    }

    /// Reads until the reply to `xid`; panics on close.
    pub async fn reply_to(&mut self, xid: i32) -> Reply {
        loop {
            match self.recv().await {
                Some(Frame::Reply(r)) if r.header.xid == xid => return r,
                Some(_) => {}
                None => panic!("connection closed while waiting for xid {xid}"),
            }
        }
    }

    /// Reads until the reply to `xid`; None if the connection closes first.
    pub async fn try_reply_to(&mut self, xid: i32) -> Option<Reply> {
        loop {
            match self.recv().await {
                Some(Frame::Reply(r)) if r.header.xid == xid => return Some(r),
                Some(_) => {}
                None => return None,
            }
        }
    }

    /// Sends and waits for the reply.
    pub async fn call(&mut self, req: Request) -> Reply {
        let xid = self.send(&req).await;
        self.reply_to(xid).await
    }

    /// Reads until the server closes the connection (panics after 20 s).
    pub async fn closed(&mut self) -> bool {
        loop {
            if self.recv().await.is_none() {
                return true;
            }
        }
    }

    pub fn events(&self) -> Vec<WatcherEvent> {
        self.log
            .iter()
            .filter_map(|f| match f {
                Frame::Event(e) => Some(e.clone()),
                _ => None,
            })
            .collect()
    }

    pub fn hello(&self) -> Hello {
        Hello {
            session_id: self.session_id,
            passwd: self.passwd.clone(),
            last_zxid: self.last_zxid,
            ..Hello::default()
        }
    }
}

pub fn create(path: &str, data: &[u8], mode: CreateMode) -> Request {
    Request::Create(zk_proto::CreateRequest {
        path: path.into(),
        data: Bytes::copy_from_slice(data).into(),
        acl: vec![zk_proto::Acl {
            perms: zk_proto::Perms::ALL,
            id: zk_proto::Id {
                scheme: "world".into(),
                id: "anyone".into(),
            },
        }],
        flags: mode.code(),
    })
}

pub fn get(path: &str, watch: bool) -> Request {
    Request::GetData(zk_proto::GetDataRequest {
        path: path.into(),
        watch,
    })
}

pub fn exists(path: &str, watch: bool) -> Request {
    Request::Exists(zk_proto::ExistsRequest {
        path: path.into(),
        watch,
    })
}

pub fn set(path: &str, data: &[u8]) -> Request {
    Request::SetData(zk_proto::SetDataRequest {
        path: path.into(),
        data: Bytes::copy_from_slice(data).into(),
        version: -1,
    })
}

pub fn children(path: &str, watch: bool) -> Request {
    Request::GetChildren(zk_proto::GetChildrenRequest {
        path: path.into(),
        watch,
    })
}

pub fn sync(path: &str) -> Request {
    Request::Sync(zk_proto::SyncRequest { path: path.into() })
}

/// Sends a four-letter word and reads the whole answer.
pub async fn four(addr: SocketAddr, word: &str) -> String {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(word.as_bytes()).await.unwrap();
    let mut out = String::new();
    tokio::time::timeout(Duration::from_secs(10), s.read_to_string(&mut out))
        .await
        .unwrap()
        .unwrap();
    out
}

/// Polls `f` until true (no timing assertions; the test harness timeout
/// catches hangs).
pub async fn until(mut f: impl FnMut() -> bool) {
    for _ in 0..20_000 {
        if f() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    panic!("condition never became true");
}
