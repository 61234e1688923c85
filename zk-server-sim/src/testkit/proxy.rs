//! A fault-injecting TCP proxy to put between a client and one server.

use std::collections::{HashMap, VecDeque};
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Notify};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use zk_proto::FrameDecoder;

use super::wire::{Direction, Frame, LinkState, WireLog};

/// The largest frame the proxy parses; larger ones end the link.
const MAX_FRAME: usize = 64 * 1024 * 1024;

/// A TCP proxy in front of one server that a test can break on purpose
/// (a low-level tool, **not for applications**). Start one per upstream
/// server and give the client the proxies' addresses.
///
/// Every control applies to all of this proxy's links (client connections)
/// at once, current and future:
///
/// - [`drop_links`](Self::drop_links): close every current link (both sockets).
/// - [`drop_session`](Self::drop_session): close the links of one session
///   (known from the server's ConnectResponse on each link).
/// - [`refuse`](Self::refuse): close new connections at once.
/// - [`blackhole`](Self::blackhole): stop forwarding in both directions
///   without closing anything; bytes that arrive meanwhile are discarded,
///   as a network that silently loses packets would.
/// - [`delay`](Self::delay): hold every chunk this long after it arrives
///   before forwarding it: a link latency, so pipelined chunks stay as close
///   together as they came rather than queueing one delay behind another.
/// - [`drop_after_next_request`](Self::drop_after_next_request): forward the
///   next complete client→server frame, then drop the link before the
///   server's reply can come back (a request whose outcome the client
///   cannot know).
///
/// Frames are forwarded whole in both directions (split with
/// [`zk_proto::FrameDecoder`]), so request boundaries are known. With
/// [`record`](Self::record) on, every frame is also logged (direction, xid,
/// opcode, size, bytes) and [`wire`](Self::wire) returns the log: what a
/// client really sent, not what it says it sent. Dropping the proxy stops it
/// and closes every link.
///
/// ```no_run
/// # async fn demo() -> std::io::Result<()> {
/// use zk_server_sim::testkit::FaultProxy;
///
/// let proxy = FaultProxy::start("127.0.0.1:2181".parse().unwrap()).await?;
/// // ... connect a client to proxy.addr() ...
/// proxy.blackhole(true); // the client must notice on its own
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct FaultProxy {
    addr: SocketAddr,
    upstream: SocketAddr,
    ctl: Arc<Controls>,
    accept: JoinHandle<()>,
}

#[derive(Debug)]
struct Controls {
    /// Bumped to close every current link.
    cut: watch::Sender<u64>,
    refusing: AtomicBool,
    blackholed: AtomicBool,
    delay: Mutex<Duration>,
    /// Armed by `drop_after_next_request`.
    drop_after_request: AtomicBool,
    accepted: AtomicUsize,
    active: AtomicUsize,
    requests: AtomicU64,
    recording: AtomicBool,
    log: Mutex<Vec<Frame>>,
    /// The open links, by id.
    links: Mutex<HashMap<usize, Arc<Link>>>,
}

impl FaultProxy {
    /// Listens on an OS-assigned loopback port and forwards to `upstream`.
    pub async fn start(upstream: SocketAddr) -> io::Result<FaultProxy> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let ctl = Arc::new(Controls {
            cut: watch::channel(0).0,
            refusing: AtomicBool::new(false),
            blackholed: AtomicBool::new(false),
            delay: Mutex::new(Duration::ZERO),
            drop_after_request: AtomicBool::new(false),
            accepted: AtomicUsize::new(0),
            active: AtomicUsize::new(0),
            requests: AtomicU64::new(0),
            recording: AtomicBool::new(false),
            log: Mutex::new(Vec::new()),
            links: Mutex::new(HashMap::new()),
        });
        let c = ctl.clone();
        let accept = tokio::spawn(async move {
            while let Ok((down, _)) = listener.accept().await {
                if c.refusing.load(Ordering::SeqCst) {
                    drop(down);
                    continue;
                }
                let id = c.accepted.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(link(down, upstream, id, c.clone()));
            }
        });
        Ok(FaultProxy {
            addr,
            upstream,
            ctl,
            accept,
        })
    }

    /// The address clients connect to.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The server behind the proxy.
    pub fn upstream(&self) -> SocketAddr {
        self.upstream
    }

    /// Closes every current link.
    pub fn drop_links(&self) {
        self.ctl.cut.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// Closes every current link that carries session `session_id` (as the
    /// server's ConnectResponse on the link named it); returns how many. The
    /// other links, and links opened later, are untouched.
    pub fn drop_session(&self, session_id: i64) -> usize {
        let links = lock(&self.ctl.links);
        let mut dropped = 0;
        for link in links.values() {
            if lock(&link.state).session() == Some(session_id) {
                link.cut.notify_one();
                dropped += 1;
            }
        }
        dropped
    }

    /// While on, new connections are accepted and closed at once.
    pub fn refuse(&self, on: bool) {
        self.ctl.refusing.store(on, Ordering::SeqCst);
    }

    /// While on, nothing is forwarded either way and nothing is closed.
    pub fn blackhole(&self, on: bool) {
        self.ctl.blackholed.store(on, Ordering::SeqCst);
    }

    /// Holds every chunk `delay` after its arrival before forwarding it
    /// (zero: no delay). Chunks that arrive while earlier ones wait are read
    /// on and keep their own arrival times.
    pub fn delay(&self, delay: Duration) {
        *self.ctl.delay.lock().unwrap_or_else(|p| p.into_inner()) = delay;
    }

    /// Forwards the next complete client→server frame, then closes the link
    /// before the server's reply comes back. One shot.
    pub fn drop_after_next_request(&self) {
        self.ctl.drop_after_request.store(true, Ordering::SeqCst);
    }

    /// Connections accepted (and not refused) so far.
    pub fn accepted(&self) -> usize {
        self.ctl.accepted.load(Ordering::SeqCst)
    }

    /// Links currently open.
    pub fn active_links(&self) -> usize {
        self.ctl.active.load(Ordering::SeqCst)
    }

    /// Client→server frames forwarded so far (handshakes included).
    pub fn frames_forwarded(&self) -> u64 {
        self.ctl.requests.load(Ordering::SeqCst)
    }

    /// Starts (or stops) logging every forwarded frame, both directions, on
    /// every link. Off by default. Frames forwarded while off are not logged,
    /// but links opened earlier are still parsed correctly.
    pub fn record(&self, on: bool) {
        self.ctl.recording.store(on, Ordering::SeqCst);
    }

    /// The frames logged so far (see [`record`](Self::record)).
    pub fn wire(&self) -> WireLog {
        WireLog::new(lock(&self.ctl.log).clone())
    }

    /// Empties the log (recording stays as it is).
    pub fn clear_wire(&self) {
        lock(&self.ctl.log).clear();
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.accept.abort();
        self.drop_links();
    }
}

impl Controls {
    fn delay(&self) -> Duration {
        *self.delay.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Parses one frame for the link state (always: handshakes must be seen)
    /// and logs it when recording.
    fn observe(&self, link: &Link, direction: Direction, frame: &bytes::Bytes) {
        let parsed = lock(&link.state).parse(link.id, direction, frame.clone());
        if self.recording.load(Ordering::SeqCst) {
            lock(&self.log).push(parsed);
        }
    }
}

/// One client connection's identity and parsing state, shared by its two
/// forwarding directions.
#[derive(Debug)]
struct Link {
    id: usize,
    state: Mutex<LinkState>,
    /// Notified to close this link alone.
    cut: Notify,
}

/// Keeps a link in the proxy's table while it is open.
struct Registered(Arc<Controls>, usize);

impl Drop for Registered {
    fn drop(&mut self) {
        lock(&self.0.links).remove(&self.1);
    }
}

/// Counts a link as active while alive.
struct ActiveGuard(Arc<Controls>);

impl Drop for ActiveGuard {
    fn drop(&mut self) {
        self.0.active.fetch_sub(1, Ordering::SeqCst);
    }
}

async fn link(down: TcpStream, upstream: SocketAddr, id: usize, ctl: Arc<Controls>) {
    ctl.active.fetch_add(1, Ordering::SeqCst);
    let _guard = ActiveGuard(ctl.clone());
    let mut cut = ctl.cut.subscribe();
    cut.borrow_and_update();
    let Ok(up) = TcpStream::connect(upstream).await else {
        return;
    };
    let _ = down.set_nodelay(true);
    let _ = up.set_nodelay(true);
    let (down_r, down_w) = down.into_split();
    let (up_r, up_w) = up.into_split();
    // Set when the client→server side has passed the armed request: the
    // server→client side must not forward anything more.
    let tripped = Arc::new(AtomicBool::new(false));
    let (trip_tx, mut trip_rx) = watch::channel(false);
    let me = Arc::new(Link {
        id,
        state: Mutex::new(LinkState::default()),
        cut: Notify::new(),
    });
    lock(&ctl.links).insert(id, me.clone());
    let _registered = Registered(ctl.clone(), id);
    let own_cut = me.clone();
    tokio::select! {
        _ = requests(down_r, up_w, ctl.clone(), me.clone(), tripped.clone(), trip_tx) => {}
        _ = replies(up_r, down_w, ctl.clone(), me, tripped) => {}
        _ = cut.changed() => {}
        () = own_cut.cut.notified() => {}
        _ = trip_rx.wait_for(|t| *t) => {}
    }
}

/// Chunks read from one direction of a link and not yet due: each is due
/// [`FaultProxy::delay`] after it arrived. Reading goes on while the oldest
/// waits, so a delay is a latency, not a queue of delays.
#[derive(Default)]
struct Held {
    queue: VecDeque<(Instant, Bytes)>,
    /// Where reads land; each chunk is split off it.
    read: BytesMut,
    eof: bool,
}

impl Held {
    /// The next chunk that is due, in arrival order; `None` once the peer
    /// has closed and every held chunk has gone. Bytes that arrive while the
    /// proxy is blackholed are discarded here.
    async fn next_due(
        &mut self,
        from: &mut OwnedReadHalf,
        ctl: &Controls,
    ) -> io::Result<Option<Bytes>> {
        loop {
            let due = match self.queue.front() {
                Some(&(due, _)) if due <= Instant::now() => {
                    return Ok(self.queue.pop_front().map(|(_, chunk)| chunk));
                }
                Some(&(due, _)) => Some(due),
                None if self.eof => return Ok(None),
                None => None,
            };
            self.read.reserve(16 * 1024);
            tokio::select! {
                // Cancel-safe: a read that loses the race consumed nothing.
                read = from.read_buf(&mut self.read), if !self.eof => {
                    let chunk = self.read.split().freeze();
                    if read? == 0 {
                        self.eof = true;
                    } else if !ctl.blackholed.load(Ordering::SeqCst) {
                        self.queue.push_back((Instant::now() + ctl.delay(), chunk));
                    }
                }
                () = tokio::time::sleep_until(due.unwrap_or_else(Instant::now)), if due.is_some() => {}
            }
        }
    }
}

/// Client → server, frame by frame.
async fn requests(
    mut from: OwnedReadHalf,
    mut to: OwnedWriteHalf,
    ctl: Arc<Controls>,
    me: Arc<Link>,
    tripped: Arc<AtomicBool>,
    trip: watch::Sender<bool>,
) -> io::Result<()> {
    let decoder = FrameDecoder::new(MAX_FRAME);
    let mut held = Held::default();
    let mut buf = BytesMut::with_capacity(64 * 1024);
    loop {
        let Some(chunk) = held.next_due(&mut from, &ctl).await? else {
            return Ok(());
        };
        buf.extend_from_slice(&chunk);
        let mut out = BytesMut::new();
        let mut drop_now = false;
        while let Some(frame) = decoder
            .decode(&mut buf)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))?
        {
            let len = u32::try_from(frame.len())
                .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "frame too large"))?;
            out.put_u32(len);
            out.extend_from_slice(&frame);
            ctl.requests.fetch_add(1, Ordering::SeqCst);
            ctl.observe(&me, Direction::ToServer, &frame);
            if ctl.drop_after_request.swap(false, Ordering::SeqCst) {
                drop_now = true;
                break;
            }
        }
        if drop_now {
            tripped.store(true, Ordering::SeqCst);
            to.write_all(&out).await?;
            let _ = to.flush().await;
            let _ = trip.send(true);
            return Ok(());
        }
        if !out.is_empty() {
            to.write_all(&out).await?;
        }
    }
}

/// Server → client, frame by frame.
async fn replies(
    mut from: OwnedReadHalf,
    mut to: OwnedWriteHalf,
    ctl: Arc<Controls>,
    me: Arc<Link>,
    tripped: Arc<AtomicBool>,
) -> io::Result<()> {
    let decoder = FrameDecoder::new(MAX_FRAME);
    let mut held = Held::default();
    let mut buf = BytesMut::with_capacity(64 * 1024);
    loop {
        let Some(chunk) = held.next_due(&mut from, &ctl).await? else {
            return Ok(());
        };
        if tripped.load(Ordering::SeqCst) {
            continue;
        }
        buf.extend_from_slice(&chunk);
        let mut out = BytesMut::new();
        let mut frames = Vec::new();
        while let Some(frame) = decoder
            .decode(&mut buf)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))?
        {
            let len = u32::try_from(frame.len())
                .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "frame too large"))?;
            out.put_u32(len);
            out.extend_from_slice(&frame);
            frames.push(frame);
        }
        if !out.is_empty() {
            to.write_all(&out).await?;
            // Logged once handed to the client's socket, so the log never
            // counts a reply that a closed link swallowed.
            for frame in &frames {
                ctl.observe(&me, Direction::ToClient, frame);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    /// An upstream that echoes every frame back.
    async fn echo() -> SocketAddr {
        let l = TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
        let addr = l.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = l.accept().await {
                tokio::spawn(async move {
                    let mut buf = [0u8; 4096];
                    while let Ok(n) = s.read(&mut buf).await {
                        if n == 0 || s.write_all(&buf[..n]).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
        addr
    }

    fn frame(body: &[u8]) -> Vec<u8> {
        let mut f = (body.len() as u32).to_be_bytes().to_vec();
        f.extend_from_slice(body);
        f
    }

    async fn roundtrip(s: &mut TcpStream, body: &[u8]) -> io::Result<Vec<u8>> {
        s.write_all(&frame(body)).await?;
        let mut out = vec![0u8; body.len() + 4];
        tokio::time::timeout(Duration::from_millis(500), s.read_exact(&mut out))
            .await
            .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "no answer"))??;
        Ok(out)
    }

    #[tokio::test]
    async fn forwards_and_breaks_on_command() {
        let p = FaultProxy::start(echo().await).await.unwrap();
        let mut s = TcpStream::connect(p.addr()).await.unwrap();
        assert_eq!(roundtrip(&mut s, b"abc").await.unwrap(), frame(b"abc"));
        assert_eq!(p.active_links(), 1);

        // Blackhole: nothing comes back, nothing is closed.
        p.blackhole(true);
        let e = roundtrip(&mut s, b"lost").await.unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::TimedOut);
        p.blackhole(false);
        assert_eq!(roundtrip(&mut s, b"back").await.unwrap(), frame(b"back"));

        // Drop after the next request: it is forwarded, the link closes
        // before the answer.
        p.drop_after_next_request();
        let forwarded = p.frames_forwarded();
        s.write_all(&frame(b"once")).await.unwrap();
        let mut rest = Vec::new();
        let n = s.read_to_end(&mut rest).await.unwrap_or(0);
        assert_eq!(n, 0, "no reply came back");
        assert_eq!(p.frames_forwarded(), forwarded + 1);

        // Drop links; refuse new ones.
        let mut s = TcpStream::connect(p.addr()).await.unwrap();
        assert_eq!(roundtrip(&mut s, b"x").await.unwrap(), frame(b"x"));
        p.drop_links();
        let mut rest = Vec::new();
        assert_eq!(s.read_to_end(&mut rest).await.unwrap_or(0), 0);
        p.refuse(true);
        let mut s = TcpStream::connect(p.addr()).await.unwrap();
        let mut rest = Vec::new();
        assert_eq!(s.read_to_end(&mut rest).await.unwrap_or(0), 0);
        p.refuse(false);

        // Delay: still forwarded, later.
        p.delay(Duration::from_millis(100));
        let mut s = TcpStream::connect(p.addr()).await.unwrap();
        let start = tokio::time::Instant::now();
        s.write_all(&frame(b"slow")).await.unwrap();
        let mut out = vec![0u8; 8];
        s.read_exact(&mut out).await.unwrap();
        assert_eq!(out, frame(b"slow"));
        assert!(start.elapsed() >= Duration::from_millis(200));
        assert_eq!(p.accepted(), 3);
    }

    /// A handshake frame with `session` where a ConnectResponse has it (the
    /// echo server sends it back as the link's first server frame).
    fn handshake(session: i64) -> Vec<u8> {
        let mut body = vec![0u8; 8];
        body.extend_from_slice(&session.to_be_bytes());
        body.extend_from_slice(&[0u8; 4]);
        body
    }

    #[tokio::test]
    async fn drops_the_links_of_one_session_only() {
        let p = FaultProxy::start(echo().await).await.unwrap();
        let mut a = TcpStream::connect(p.addr()).await.unwrap();
        let mut b = TcpStream::connect(p.addr()).await.unwrap();
        roundtrip(&mut a, &handshake(0x11)).await.unwrap();
        roundtrip(&mut b, &handshake(0x22)).await.unwrap();

        assert_eq!(p.drop_session(0x33), 0, "no link of an unknown session");
        assert_eq!(p.drop_session(0x11), 1);
        let mut rest = Vec::new();
        assert_eq!(a.read_to_end(&mut rest).await.unwrap_or(0), 0, "a closed");
        assert_eq!(roundtrip(&mut b, b"still").await.unwrap(), frame(b"still"));
        assert_eq!(p.drop_session(0x11), 0, "a's link is gone");
    }

    fn request(xid: i32, op: zk_proto::OpCode, extra: &[u8]) -> Vec<u8> {
        let mut body = xid.to_be_bytes().to_vec();
        body.extend_from_slice(&i32::from(op).to_be_bytes());
        body.extend_from_slice(extra);
        frame(&body)
    }

    #[tokio::test]
    async fn records_frames_both_ways_when_asked() {
        use super::super::wire::Direction;
        use zk_proto::OpCode;

        let p = FaultProxy::start(echo().await).await.unwrap();
        let mut s = TcpStream::connect(p.addr()).await.unwrap();
        // Not recorded: recording is off. The handshake is still seen.
        assert_eq!(
            roundtrip(&mut s, b"connect!").await.unwrap(),
            frame(b"connect!")
        );
        assert!(p.wire().frames().is_empty());

        p.record(true);
        // Two requests in one write: both are forwarded before either reply.
        let mut both = request(1, OpCode::GetData, b"0123456789");
        both.extend(request(2, OpCode::SetData, b""));
        s.write_all(&both).await.unwrap();
        let mut back = vec![0u8; both.len()];
        s.read_exact(&mut back).await.unwrap();
        assert_eq!(back, both);

        let log = p.wire();
        let f = log.frames();
        assert_eq!(f.len(), 4, "{f:?}");
        assert!(f.iter().all(|f| f.link == 0 && !f.handshake));
        assert_eq!(
            f.iter()
                .map(|f| (f.direction, f.xid, f.op, f.size))
                .collect::<Vec<_>>(),
            vec![
                (Direction::ToServer, Some(1), Some(OpCode::GetData), 18),
                (Direction::ToServer, Some(2), Some(OpCode::SetData), 8),
                (Direction::ToClient, Some(1), Some(OpCode::GetData), 18),
                (Direction::ToClient, Some(2), Some(OpCode::SetData), 8),
            ]
        );
        assert_eq!(log.max_in_flight(), 2);
        assert_eq!(log.count(OpCode::GetData), 1);
        assert_eq!(log.count(OpCode::Exists), 0);

        // A second link gets its own id and its own handshake.
        p.clear_wire();
        let mut s2 = TcpStream::connect(p.addr()).await.unwrap();
        assert_eq!(roundtrip(&mut s2, b"hello").await.unwrap(), frame(b"hello"));
        let log = p.wire();
        assert_eq!(log.frames().len(), 2);
        assert!(log
            .frames()
            .iter()
            .all(|f| f.link == 1 && f.handshake && f.xid.is_none()));
        assert_eq!(log.max_in_flight(), 0);
    }
    /// A delay is a latency: requests written apart, each in its own chunk,
    /// all reach the server before the first one's reply comes back, as on
    /// a long link. (Held one delay behind another, the third would leave
    /// only after the first reply had.)
    #[tokio::test]
    async fn a_delay_holds_each_chunk_from_its_own_arrival() {
        use super::super::wire::Direction;
        use zk_proto::OpCode;

        let p = FaultProxy::start(echo().await).await.unwrap();
        let mut s = TcpStream::connect(p.addr()).await.unwrap();
        roundtrip(&mut s, b"connect!").await.unwrap();
        p.delay(Duration::from_millis(200));
        p.record(true);
        let mut sent = Vec::new();
        for xid in 1..=3 {
            let r = request(xid, OpCode::GetData, b"");
            s.write_all(&r).await.unwrap();
            sent.extend(r);
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let mut back = vec![0u8; sent.len()];
        s.read_exact(&mut back).await.unwrap();
        assert_eq!(back, sent);
        let order: Vec<_> = p
            .wire()
            .frames()
            .iter()
            .map(|f| (f.direction, f.xid))
            .collect();
        let to_server = |x| (Direction::ToServer, Some(x));
        let to_client = |x| (Direction::ToClient, Some(x));
        assert_eq!(
            order,
            vec![
                to_server(1),
                to_server(2),
                to_server(3),
                to_client(1),
                to_client(2),
                to_client(3)
            ]
        );
    }
}
