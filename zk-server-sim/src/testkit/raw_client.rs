//! A low-level ZooKeeper client for tests.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::OwnedWriteHalf;
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use zk_proto::{
    encode_record_frame, encode_request, xid, ConnectRequest, ConnectResponse, ErrorCode,
    FrameDecoder, OpCode, Reader, Record, ReplyHeader, Request, Response, WatcherEvent,
    DEFAULT_MAX_FRAME, PASSWORD_LEN,
};

/// How long [`RawClient::request`] waits for its reply.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(15);

/// A raw ZooKeeper connection for tests (a low-level tool, **not for
/// applications**): one request at a time, replies matched FIFO and checked
/// against the xid sent, watch notifications (xid −1) collected on the side.
///
/// ```no_run
/// # async fn demo() -> std::io::Result<()> {
/// use zk_proto::{Acl, CreateRequest, Request};
/// use zk_server_sim::testkit::RawClient;
///
/// let mut c = RawClient::connect("127.0.0.1:2181".parse().unwrap(), 10_000).await?;
/// let (header, body) = c
///     .request(&Request::Create(CreateRequest {
///         path: "/a".into(),
///         data: "x".into(),
///         acl: Acl::open_unsafe(),
///         flags: 0,
///     }))
///     .await?;
/// println!("err {:?}, zxid {}, body {body:?}", header.err, header.zxid);
/// for event in c.notifications() {
///     println!("{event:?}");
/// }
/// c.close().await?;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct RawClient {
    writer: OwnedWriteHalf,
    replies: mpsc::UnboundedReceiver<io::Result<(ReplyHeader, Bytes)>>,
    events: mpsc::UnboundedReceiver<(i64, WatcherEvent)>,
    reader: JoinHandle<()>,
    connect: ConnectResponse,
    next_xid: i32,
    last_zxid: i64,
    request_timeout: Duration,
}

impl RawClient {
    /// Connects and creates a new session asking for `timeout_ms`.
    pub async fn connect(addr: SocketAddr, timeout_ms: i32) -> io::Result<RawClient> {
        let req = ConnectRequest {
            protocol_version: 0,
            last_zxid_seen: 0,
            timeout: timeout_ms,
            session_id: 0,
            passwd: Bytes::from_static(&[0; PASSWORD_LEN]),
            read_only: Some(false),
        };
        let client = RawClient::connect_with(addr, &req).await?;
        if client.connect.is_expired() {
            return Err(io::Error::new(
                io::ErrorKind::ConnectionRefused,
                "the server answered the handshake with an expired session",
            ));
        }
        Ok(client)
    }

    /// Connects with an explicit ConnectRequest (e.g. to resume a session) and
    /// returns the client whatever the ConnectResponse says; see
    /// [`connect_response`](Self::connect_response).
    pub async fn connect_with(addr: SocketAddr, req: &ConnectRequest) -> io::Result<RawClient> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        let (mut read, mut writer) = stream.into_split();
        let mut buf = BytesMut::new();
        encode_record_frame(&mut buf, DEFAULT_MAX_FRAME, req).map_err(invalid)?;
        writer.write_all(&buf).await?;
        let decoder = FrameDecoder::default();
        let mut inbuf = BytesMut::new();
        let frame = tokio::time::timeout(DEFAULT_REQUEST_TIMEOUT, async {
            loop {
                if let Some(frame) = decoder.decode(&mut inbuf).map_err(invalid)? {
                    return Ok::<Bytes, io::Error>(frame);
                }
                if read.read_buf(&mut inbuf).await? == 0 {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "closed during the handshake",
                    ));
                }
            }
        })
        .await
        .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "no ConnectResponse"))??;
        let connect = ConnectResponse::from_bytes(frame).map_err(invalid)?;
        let (reply_tx, replies) = mpsc::unbounded_channel();
        let (event_tx, events) = mpsc::unbounded_channel();
        let reader = tokio::spawn(async move {
            let result = read_loop(&mut read, inbuf, &reply_tx, &event_tx).await;
            if let Err(e) = result {
                let _ = reply_tx.send(Err(e));
            }
        });
        Ok(RawClient {
            writer,
            replies,
            events,
            reader,
            connect,
            next_xid: 1,
            last_zxid: 0,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
        })
    }

    /// The session id the server assigned.
    pub fn session_id(&self) -> i64 {
        self.connect.session_id
    }

    /// The server's ConnectResponse (negotiated timeout, password, …).
    pub fn connect_response(&self) -> &ConnectResponse {
        &self.connect
    }

    /// The highest zxid seen in a reply header (0 before any).
    pub fn last_zxid(&self) -> i64 {
        self.last_zxid
    }

    /// Changes how long [`request`](Self::request) waits for a reply.
    pub fn set_request_timeout(&mut self, timeout: Duration) {
        self.request_timeout = timeout;
    }

    /// Sends one request and waits for its reply. The xid is the next ordinary
    /// one, or the special xid of ping (−2), auth (−4) and SetWatches (−8).
    /// Returns the reply header and, when the header's err is OK (always for
    /// multi/multiRead), the decoded body. A reply whose xid differs from the
    /// request's is an error, as in the Java client.
    pub async fn request(&mut self, req: &Request) -> io::Result<(ReplyHeader, Option<Response>)> {
        let sent_xid = self.send(req).await?;
        let (header, body) = self.next_reply().await?;
        if header.xid != sent_xid {
            return Err(invalid(format!(
                "reply xid {} for request xid {sent_xid}",
                header.xid
            )));
        }
        self.decode(req, header, body)
    }

    /// Sends every request at once, then reads the replies in order. A
    /// request the server never answered (the reply to a later one came
    /// first) gets `None`: a 3.8 server sends nothing back for a successful
    /// standalone `check`. The last request must be answered (a ping is a
    /// good one); any other xid in a reply is an error.
    #[allow(clippy::type_complexity)]
    pub async fn pipeline(
        &mut self,
        reqs: &[Request],
    ) -> io::Result<Vec<Option<(ReplyHeader, Option<Response>)>>> {
        let mut xids = Vec::with_capacity(reqs.len());
        for req in reqs {
            xids.push(self.send(req).await?);
        }
        let mut out = Vec::with_capacity(reqs.len());
        let mut next = None;
        for (req, sent_xid) in reqs.iter().zip(&xids) {
            let (header, body) = match next.take() {
                Some(r) => r,
                None => self.next_reply().await?,
            };
            if header.xid == *sent_xid {
                out.push(Some(self.decode(req, header, body)?));
                continue;
            }
            if !xids.contains(&header.xid) {
                return Err(invalid(format!("reply xid {} not sent", header.xid)));
            }
            out.push(None);
            next = Some((header, body));
        }
        if let Some((header, _)) = next {
            return Err(invalid(format!("reply xid {} out of order", header.xid)));
        }
        Ok(out)
    }

    /// Writes `req` with its xid; returns the xid.
    async fn send(&mut self, req: &Request) -> io::Result<i32> {
        let sent_xid = match req {
            Request::Ping => xid::PING,
            Request::Auth(_) => xid::AUTH,
            Request::SetWatches(_) | Request::SetWatches2(_) => xid::SET_WATCHES,
            _ => {
                let x = self.next_xid;
                self.next_xid = if x == i32::MAX { 1 } else { x + 1 };
                x
            }
        };
        let mut buf = BytesMut::new();
        encode_request(&mut buf, DEFAULT_MAX_FRAME, sent_xid, req).map_err(invalid)?;
        self.writer.write_all(&buf).await?;
        Ok(sent_xid)
    }

    /// The next reply frame, within the request timeout.
    async fn next_reply(&mut self) -> io::Result<(ReplyHeader, Bytes)> {
        let next = tokio::time::timeout(self.request_timeout, self.replies.recv())
            .await
            .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "no reply in time"))?;
        match next {
            Some(r) => r,
            None => Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "connection closed",
            )),
        }
    }

    /// Decodes the body of the reply to `req`.
    fn decode(
        &mut self,
        req: &Request,
        header: ReplyHeader,
        body: Bytes,
    ) -> io::Result<(ReplyHeader, Option<Response>)> {
        if header.zxid > self.last_zxid {
            self.last_zxid = header.zxid;
        }
        let op = req.op_code();
        let has_body =
            header.err == ErrorCode::Ok || matches!(op, OpCode::Multi | OpCode::MultiRead);
        let response = if has_body && !body.is_empty() {
            Some(Response::decode(op, &mut Reader::new(body)).map_err(invalid)?)
        } else if has_body {
            Response::decode(op, &mut Reader::new(body)).ok()
        } else {
            None
        };
        Ok((header, response))
    }

    /// The notifications received so far (and not taken yet), in order. After
    /// [`request`](Self::request) returns, this includes every notification the
    /// server sent before that reply.
    pub fn notifications(&mut self) -> Vec<WatcherEvent> {
        let mut out = Vec::new();
        while let Ok((_, e)) = self.events.try_recv() {
            out.push(e);
        }
        out
    }

    /// As [`notifications`](Self::notifications), with each notification's
    /// header zxid (−1 on 3.8 servers).
    pub fn notifications_with_zxid(&mut self) -> Vec<(i64, WatcherEvent)> {
        let mut out = Vec::new();
        while let Ok(e) = self.events.try_recv() {
            out.push(e);
        }
        out
    }

    /// Waits up to `timeout` for the next notification.
    pub async fn next_notification(&mut self, timeout: Duration) -> Option<WatcherEvent> {
        tokio::time::timeout(timeout, self.events.recv())
            .await
            .ok()
            .flatten()
            .map(|(_, e)| e)
    }

    /// Sends closeSession, waits for its reply, and drops the connection.
    pub async fn close(mut self) -> io::Result<()> {
        let result = self.request(&Request::CloseSession).await.map(|_| ());
        let _ = self.writer.shutdown().await;
        self.reader.abort();
        result
    }

    /// Drops the connection without closing the session.
    pub fn disconnect(self) {
        self.reader.abort();
    }
}

impl Drop for RawClient {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

async fn read_loop(
    read: &mut tokio::net::tcp::OwnedReadHalf,
    mut inbuf: BytesMut,
    replies: &mpsc::UnboundedSender<io::Result<(ReplyHeader, Bytes)>>,
    events: &mpsc::UnboundedSender<(i64, WatcherEvent)>,
) -> io::Result<()> {
    let decoder = FrameDecoder::default();
    loop {
        while let Some(frame) = decoder.decode(&mut inbuf).map_err(invalid)? {
            let mut r = Reader::new(frame);
            let header = ReplyHeader::decode(&mut r).map_err(invalid)?;
            if header.xid == xid::NOTIFICATION {
                let event = WatcherEvent::decode(&mut r).map_err(invalid)?;
                let _ = events.send((header.zxid, event));
            } else {
                let _ = replies.send(Ok((header, r.take_rest())));
            }
        }
        if read.read_buf(&mut inbuf).await? == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "connection closed by the server",
            ));
        }
    }
}

fn invalid(e: impl ToString) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, e.to_string())
}
