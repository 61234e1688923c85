//! What a [`FaultProxy`](super::FaultProxy) saw on the wire: one record per
//! frame, in both directions, in the order the proxy forwarded them.
//!
//! Recording is off until [`FaultProxy::record`](super::FaultProxy::record)
//! turns it on. Each record keeps the frame's bytes, so a test can decode a
//! request body (a SetWatches batch, say) with `zk_proto`.

use std::collections::HashMap;
use std::time::Instant;

use bytes::Bytes;
use zk_proto::{xid, ErrorCode, OpCode, Reader, Record, ReplyHeader, Request, WatcherEvent};

/// Which way a frame went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Client → server (a request, or the ConnectRequest).
    ToServer,
    /// Server → client (a reply, a notification, or the ConnectResponse).
    ToClient,
}

/// One frame the proxy forwarded.
#[derive(Debug, Clone)]
pub struct Frame {
    /// Which of the proxy's links (client connections) carried it, counted
    /// from 0 in accept order.
    pub link: usize,
    /// Which way it went.
    pub direction: Direction,
    /// When the proxy forwarded it.
    pub at: Instant,
    /// `true` for the first frame of a link in its direction: the
    /// ConnectRequest or ConnectResponse, which carry no xid.
    pub handshake: bool,
    /// The xid (`None` on handshakes and on frames too short to carry one).
    pub xid: Option<i32>,
    /// The opcode: a request's own; for a reply, that of the request with the
    /// same xid on the same link; [`OpCode::Notification`] for a watch event.
    /// `None` when unknown (a handshake, an unknown code, an unmatched reply).
    pub op: Option<OpCode>,
    /// A reply's zxid.
    pub zxid: Option<i64>,
    /// A reply's error code.
    pub err: Option<ErrorCode>,
    /// The frame's length without its 4-byte length prefix.
    pub size: usize,
    /// The frame's bytes, without the length prefix.
    pub body: Bytes,
}

impl Frame {
    /// A request (not a handshake): client → server with an xid.
    pub fn is_request(&self) -> bool {
        self.direction == Direction::ToServer && !self.handshake && self.xid.is_some()
    }

    /// The decoded request, for a request frame whose body decodes.
    pub fn request(&self) -> Option<Request> {
        if !self.is_request() {
            return None;
        }
        zk_proto::decode_request(self.body.clone())
            .ok()
            .map(|(_, r)| r)
    }

    /// The decoded watch event, for a notification frame.
    pub fn event(&self) -> Option<WatcherEvent> {
        if self.direction != Direction::ToClient || self.xid != Some(xid::NOTIFICATION) {
            return None;
        }
        let mut r = Reader::new(self.body.clone());
        ReplyHeader::decode(&mut r).ok()?;
        WatcherEvent::decode(&mut r).ok()
    }

    /// A reply to a request (not a notification, not a handshake).
    pub fn is_reply(&self) -> bool {
        self.direction == Direction::ToClient
            && !self.handshake
            && self.xid.is_some_and(|x| x != xid::NOTIFICATION)
    }
}

/// The frames recorded so far, with the queries tests ask of them.
#[derive(Debug, Clone, Default)]
pub struct WireLog {
    frames: Vec<Frame>,
}

impl WireLog {
    pub(crate) fn new(frames: Vec<Frame>) -> WireLog {
        WireLog { frames }
    }

    /// Every frame, in forwarding order.
    pub fn frames(&self) -> &[Frame] {
        &self.frames
    }

    /// Client → server requests with opcode `op`, in order.
    pub fn requests(&self, op: OpCode) -> impl Iterator<Item = &Frame> {
        self.frames
            .iter()
            .filter(move |f| f.is_request() && f.op == Some(op))
    }

    /// Every watch event the server sent, in order.
    pub fn events(&self) -> Vec<WatcherEvent> {
        self.frames.iter().filter_map(Frame::event).collect()
    }

    /// How many requests with opcode `op` went to the server.
    pub fn count(&self, op: OpCode) -> usize {
        self.requests(op).count()
    }

    /// The largest number of ordinary requests (xid >= 0: not pings, auth or
    /// SetWatches) sent on one link and not yet answered, over the whole log.
    /// Counted at the proxy: a request is in flight from when the proxy
    /// forwards it to the server until the proxy sees its reply.
    pub fn max_in_flight(&self) -> usize {
        let mut open: HashMap<usize, usize> = HashMap::new();
        let mut peak = 0;
        for f in &self.frames {
            let ordinary = f.xid.is_some_and(|x| x >= 0);
            if !ordinary {
                continue;
            }
            let n = open.entry(f.link).or_default();
            if f.is_request() {
                *n += 1;
                peak = peak.max(*n);
            } else if f.is_reply() {
                *n = n.saturating_sub(1);
            }
        }
        peak
    }
}

/// Per-link parsing state: which direction has seen its handshake, and the
/// opcode of each outstanding xid.
#[derive(Debug, Default)]
pub(crate) struct LinkState {
    seen_request: bool,
    seen_reply: bool,
    ops: HashMap<i32, OpCode>,
    /// The session id the server's ConnectResponse granted (0: expired).
    session: Option<i64>,
}

fn be_i32(b: &[u8], at: usize) -> Option<i32> {
    let s = b.get(at..at + 4)?;
    Some(i32::from_be_bytes(s.try_into().ok()?))
}

fn be_i64(b: &[u8], at: usize) -> Option<i64> {
    let s = b.get(at..at + 8)?;
    Some(i64::from_be_bytes(s.try_into().ok()?))
}

impl LinkState {
    /// The session this link carries, once the server's ConnectResponse
    /// went through (a session id of 0 means the server refused it).
    pub(crate) fn session(&self) -> Option<i64> {
        self.session.filter(|&id| id != 0)
    }

    /// Describes one frame of this link (`body` without its length prefix).
    pub(crate) fn parse(&mut self, link: usize, direction: Direction, body: Bytes) -> Frame {
        let mut frame = Frame {
            link,
            direction,
            at: Instant::now(),
            handshake: false,
            xid: None,
            op: None,
            zxid: None,
            err: None,
            size: body.len(),
            body,
        };
        let b = frame.body.clone();
        match direction {
            Direction::ToServer if !self.seen_request => {
                self.seen_request = true;
                frame.handshake = true;
            }
            Direction::ToClient if !self.seen_reply => {
                self.seen_reply = true;
                frame.handshake = true;
                // ConnectResponse: protocolVersion, timeOut, sessionId, ...
                self.session = be_i64(&b, 8);
            }
            Direction::ToServer => {
                frame.xid = be_i32(&b, 0);
                frame.op = be_i32(&b, 4).and_then(|c| OpCode::try_from(c).ok());
                if let (Some(x), Some(op)) = (frame.xid, frame.op) {
                    self.ops.insert(x, op);
                }
            }
            Direction::ToClient => {
                frame.xid = be_i32(&b, 0);
                frame.zxid = be_i64(&b, 4);
                frame.err = be_i32(&b, 12).map(ErrorCode::from);
                frame.op = match frame.xid {
                    Some(xid::NOTIFICATION) => Some(OpCode::Notification),
                    Some(x) => self.ops.remove(&x),
                    None => None,
                };
            }
        }
        frame
    }
}
