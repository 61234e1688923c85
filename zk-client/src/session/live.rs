//! The live connection: one hand-written `poll` function that reads and
//! routes frames, takes work from the submission line while fewer than
//! `max_in_flight` requests are outstanding, pings when idle, detects a
//! silent server and flushes.

use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures::{SinkExt, StreamExt};
use tokio::sync::oneshot;
use tokio::time::{sleep_until, Instant, Sleep};
use tracing::{debug, debug_span, trace, warn};
use zk_proto::{
    encode_request, xid, AuthPacket, ErrorCode, EventType, Frame, Reader, Record, ReplyHeader,
    Request, WatcherEvent,
};

use super::pending::{Awaiting, DoneSender, Matched, Pending, PendingQueue};
use super::probe;
use super::state::SessionState;
use super::submit::{Reply, WatchReg, Work};
use super::task::{End, Task};
use crate::config::HostPort;
use crate::error::Error;
use crate::event::{WatchKind, WatchedEvent, WatcherKind};
use crate::transport::conn::{Conn, ConnError};

impl Task {
    pub(super) async fn serve(&mut self, conn: &mut Conn) -> End {
        let now = Instant::now();
        let mut live = Live {
            ping_every: self.negotiated / 3,
            read_timeout: self.negotiated * 2 / 3,
            task: self,
            pending: PendingQueue::default(),
            batch: Vec::new(),
            last_sent: now,
            last_recv: now,
            timer: Box::pin(sleep_until(now)),
            closing: false,
            probe: None,
            followups: Vec::new(),
        };
        if live.task.cfg.follow_config {
            live.followups.push(Followup::ReadConfig);
        }
        // On a read-only server, keep looking for a read-write one.
        if self_read_only_probe(live.task) {
            let hosts = live.task.cfg.hosts.clone();
            let current = live.task.current_host.clone();
            live.probe = Some(Box::pin(probe::find_read_write(hosts, current)));
        }
        live.reset_timer();
        let end = poll_fn(|cx| live.poll(cx, conn)).await;
        // The new state first, then the errors: a caller woken by its
        // error finds `state()` already saying why.
        let (state, err) = match &end {
            End::Closed => (SessionState::Closed, Error::Closed),
            End::AuthFailed => (SessionState::AuthFailed, Error::AuthFailed),
            End::Expired => (SessionState::Expired, Error::SessionExpired),
            End::Lost(_) | End::Moved(_) if live.task.closing => {
                (SessionState::Closed, Error::ConnectionLoss)
            }
            End::Lost(_) | End::Moved(_) => (SessionState::Disconnected, Error::ConnectionLoss),
        };
        if state.is_terminal() {
            // Calls made from now on fail at once, as after terminate().
            live.task.shared.refuse(match state {
                SessionState::Expired => Error::SessionExpired,
                SessionState::AuthFailed => Error::AuthFailed,
                _ => Error::Closed,
            });
        }
        live.task.shared.set_in_flight(0);
        live.task.publish(state);
        live.pending.fail_all(&err);
        live.task.last_heard = live.last_recv;
        end
    }
}

/// The state of one live connection.
struct Live<'a> {
    task: &'a mut Task,
    pending: PendingQueue,
    batch: Vec<Work>,
    last_sent: Instant,
    last_recv: Instant,
    ping_every: Duration,
    read_timeout: Duration,
    /// Fires at the next ping or read-timeout deadline.
    timer: Pin<Box<Sleep>>,
    /// closeSession was sent: take no more work.
    closing: bool,
    /// While on a read-only server: the search for a read-write one.
    probe: Option<Pin<Box<dyn Future<Output = HostPort> + Send>>>,
    /// Work that routing a frame calls for and that needs the connection.
    followups: Vec<Followup>,
}

/// Requests of the task's own, decided while routing a frame.
enum Followup {
    /// Remove a persistent watch (its stream was dropped).
    Remove(u64),
    /// Re-arm the one-shot watches of these kinds on this path (SetWatches).
    /// Relative to the zxid given.
    Rearm(String, &'static [WatchKind], i64),
    /// Read `/zookeeper/config` (and watch it), for `follow_config`.
    ReadConfig,
}

/// Whether the session should look for a read-write server (it is on a
/// read-only one and there are others to ask).
fn self_read_only_probe(task: &Task) -> bool {
    task.read_only_now && task.cfg.hosts.len() > 1
}

const ALL_KINDS: &[WatchKind] = &[WatchKind::Data, WatchKind::Exist, WatchKind::Child];

/// Bytes of unsent requests above which no more work is taken from the line
/// until the socket has accepted some.
const WRITE_HIGH_WATER: usize = 256 * 1024;

/// The room in flight below which no work is taken from the line (an
/// eighth of the limit): with the pipeline nearly full, requests are sent in
/// batches rather than one per reply.
fn refill_slice(max_in_flight: usize) -> usize {
    (max_in_flight / 8).max(1)
}

/// Frames handled per poll before yielding to other tasks.
const FRAMES_PER_POLL: usize = 1024;

/// The smallest reply: its length prefix and header (xid, zxid, err).
pub(super) const MIN_REPLY: usize = 4 + crate::transport::conn::REPLY_HEADER_LEN;

/// Requests in flight below which every reply is read as it lands.
const BATCH_MIN_IN_FLIGHT: usize = 8;

/// The most replies' worth of bytes (at [`MIN_REPLY`] each) the receive
/// low-water mark asks for.
const BATCH_MAX_REPLIES: usize = 64;

/// No reply read for this long while replies gather: the low-water mark
/// drops to one byte, so a slow server delays a reply by at most this
/// (`SessionConfig::batch_quiet`).
pub(crate) const BATCH_QUIET: Duration = Duration::from_millis(10);

/// The receive low-water mark for `in_flight` requests owed a reply, with
/// nothing unread before them: [`MIN_REPLY`] bytes for each of a quarter
/// of them, rounded down to a power of two (so that it seldom changes),
/// at most [`BATCH_MAX_REPLIES`]; one byte below [`BATCH_MIN_IN_FLIGHT`].
///
/// At most a partial frame is buffered when this is asked, so the replies
/// owed bring at least `MIN_REPLY * (in_flight - 1)` more bytes: the mark
/// never waits for bytes that may not come.
pub(super) fn low_water_for(in_flight: usize) -> usize {
    if in_flight < BATCH_MIN_IN_FLIGHT {
        return 1;
    }
    let quarter = (in_flight / 4).min(BATCH_MAX_REPLIES);
    // `quarter` >= 2 here: its highest bit.
    let replies = 1usize << (usize::BITS - 1 - quarter.leading_zeros());
    MIN_REPLY * replies
}

impl Live<'_> {
    fn reset_timer(&mut self) {
        let mut next = (self.last_sent + self.ping_every).min(self.last_recv + self.read_timeout);
        if self.batching() {
            next = next.min(self.last_recv + self.task.cfg.batch_quiet);
        }
        self.timer.as_mut().reset(next);
    }

    /// Whether replies are being let gather in the socket (the receive
    /// low-water mark is above one byte).
    fn batching(&self) -> bool {
        #[cfg(target_os = "linux")]
        if let Some(lw) = &self.task.low_water {
            return lw.current() > 1;
        }
        false
    }

    /// Sets the receive low-water mark to `bytes`; a socket that refuses
    /// is read as replies land from then on.
    #[cfg(target_os = "linux")]
    fn set_low_water(&mut self, bytes: usize) {
        if let Some(lw) = &mut self.task.low_water {
            if !lw.set(bytes) {
                self.task.low_water = None;
            }
        }
    }

    /// After a poll that read everything ready: lets replies gather in the
    /// socket while many are owed and they are flowing, or reads them as
    /// they land. `flushed`: nothing written waits in the buffer (requests
    /// still there are owed no reply yet). Replies stop flowing when none
    /// was read for `batch_quiet`: the timer wakes the task then (see
    /// `reset_timer`), and this drops the mark to one byte.
    #[cfg(target_os = "linux")]
    fn update_low_water(&mut self, cx: &mut Context<'_>, flushed: bool) {
        if self.task.low_water.is_none() {
            return;
        }
        let flowing = self.last_recv.elapsed() < self.task.cfg.batch_quiet;
        let bytes = if flushed && flowing {
            low_water_for(self.pending.len())
        } else {
            1
        };
        let was_batching = self.batching();
        self.set_low_water(bytes);
        if self.batching() != was_batching {
            // The quiet deadline now applies, or no longer does.
            self.reset_timer();
            if self.timer.as_mut().poll(cx).is_ready() {
                cx.waker().wake_by_ref();
            }
        }
    }

    fn poll(&mut self, cx: &mut Context<'_>, conn: &mut Conn) -> Poll<End> {
        // 1. Read and route every frame that is ready.
        let mut frames = 0;
        // Whether the read side is waiting on the socket (not on a wake of its own).
        let mut drained = false;
        loop {
            match conn.poll_next_unpin(cx) {
                Poll::Ready(Some(Ok(frame))) => {
                    frames += 1;
                    let end = match frame {
                        Frame::Whole(frame) => self.on_frame(frame),
                        Frame::Oversize { len, head } => self.on_oversize(len, head),
                    };
                    if let Some(end) = end {
                        return Poll::Ready(end);
                    }
                    if frames >= FRAMES_PER_POLL {
                        cx.waker().wake_by_ref();
                        break;
                    }
                }
                Poll::Ready(Some(Err(e))) => {
                    warn!(error = %e, "dropping connection");
                    return Poll::Ready(End::Lost(match e {
                        ConnError::Proto(p) => Error::Protocol(p),
                        ConnError::Io(e) => Error::io(e),
                    }));
                }
                Poll::Ready(None) => {
                    return Poll::Ready(End::Lost(Error::io_kind(
                        std::io::ErrorKind::UnexpectedEof,
                        "the server closed the connection",
                    )))
                }
                Poll::Pending => {
                    drained = true;
                    break;
                }
            }
        }
        if frames > 0 {
            self.last_recv = Instant::now();
            self.task.shared.touch(self.last_recv.into_std());
        }

        // 1b. The task's own requests that routing called for.
        for f in std::mem::take(&mut self.followups) {
            match f {
                Followup::Remove(id) => self.remove_persistent(id, None, conn),
                Followup::Rearm(path, kinds, zxid) => self.rearm(&path, kinds, zxid, conn),
                Followup::ReadConfig => self.read_config(conn),
            }
        }

        // 1c. A new server list without the current server, or a read-write
        //     server found while on a read-only one: move.
        match self.task.apply_new_hosts() {
            Some(true) => {
                return Poll::Ready(End::Moved("the server is no longer in the server list"))
            }
            Some(false) if self_read_only_probe(self.task) => {
                let hosts = self.task.cfg.hosts.clone();
                let current = self.task.current_host.clone();
                self.probe = Some(Box::pin(probe::find_read_write(hosts, current)));
            }
            _ => {}
        }
        if let Some(probe) = self.probe.as_mut() {
            if let Poll::Ready(host) = probe.as_mut().poll(cx) {
                self.probe = None;
                debug!(%host, "leaving the read-only server for a read-write one");
                self.task.preferred_host = Some(host);
                return Poll::Ready(End::Moved("moving to a read-write server"));
            }
        }

        // 2. Take work from the line while there is room in flight (and the
        //    write buffer is not already holding plenty for the socket).
        //    With the pipeline nearly full, wait until a slice of it is free
        //    (the replies that free it wake this task): new requests then go
        //    out many to a write, not one write per reply, while the server
        //    still has most of the limit queued.
        let mut wrote = false;
        let buffer_full = conn.write_buffer().len() >= WRITE_HIGH_WATER;
        let max_in_flight = self.task.shared.max_in_flight;
        let room = max_in_flight.saturating_sub(self.pending.len());
        if !self.closing && !buffer_full && room >= refill_slice(max_in_flight) {
            self.task.shared.waker.register(cx.waker());
            self.task.shared.take(room, &mut self.batch);
            let mut batch = std::mem::take(&mut self.batch);
            for work in batch.drain(..) {
                self.write_work(work, conn);
                wrote = true;
            }
            self.batch = batch;
        }
        self.task.shared.set_in_flight(self.pending.len());

        // 3. Timers: read timeout and idle ping.
        if wrote {
            self.last_sent = Instant::now();
        }
        if frames > 0 || wrote {
            self.reset_timer();
        }
        while self.timer.as_mut().poll(cx).is_ready() {
            let now = Instant::now();
            if now.duration_since(self.last_recv) >= self.read_timeout {
                return Poll::Ready(End::Lost(Error::io_kind(
                    std::io::ErrorKind::TimedOut,
                    format!("no reply from the server for {:?}", self.read_timeout),
                )));
            }
            if now.duration_since(self.last_sent) >= self.ping_every {
                trace!("ping");
                if let Err(e) = encode_request(
                    conn.write_buffer_mut(),
                    self.task.cfg.max_frame,
                    xid::PING,
                    &Request::Ping,
                ) {
                    return Poll::Ready(End::Lost(e.into()));
                }
                self.last_sent = now;
            }
            self.reset_timer();
        }

        // 4. Flush.
        if !conn.write_buffer().is_empty() {
            match conn.poll_flush_unpin(cx) {
                Poll::Ready(Err(e)) => return Poll::Ready(End::Lost(e.into())),
                // Drained after intake was skipped for a full buffer: take more now.
                Poll::Ready(Ok(())) if buffer_full => cx.waker().wake_by_ref(),
                _ => {}
            }
        }

        // 5. How many bytes should wake this task next.
        #[cfg(target_os = "linux")]
        if drained {
            self.update_low_water(cx, conn.write_buffer().is_empty());
        }
        Poll::Pending
    }

    fn write_work(&mut self, work: Work, conn: &mut Conn) {
        let max_frame = self.task.cfg.max_frame;
        match work {
            Work::Request(mut req) => {
                let xid = self.task.alloc_xid();
                zk_proto::set_request_xid(&mut req.frame, xid);
                // A one-shot watch on a path this client watches persistently
                // is served by the persistent watch's events: it is not set
                // on the server, where (3.8, ZOOKEEPER-4466) it would turn
                // the persistent watch into a one-shot one.
                if let Some(w) = &mut req.watch {
                    if self.task.persistents.covers(&w.server_path, w.kind)
                        && zk_proto::set_request_watch(&mut req.frame, req.op, false)
                    {
                        w.covered = true;
                    }
                }
                let persistent = req.persistent.take().map(|reg| {
                    let id = reg.id;
                    self.task.persistents.add(reg);
                    id
                });
                req.span.record("xid", xid);
                trace!(parent: &req.span, xid, "send");
                conn.write_buffer_mut().extend_from_slice(&req.frame);
                self.pending.push(Pending {
                    xid,
                    span: req.span,
                    awaiting: Awaiting::Request {
                        reply: req.reply,
                        watch: req.watch,
                        persistent,
                    },
                });
            }
            Work::Auth {
                scheme,
                auth,
                reply,
            } => {
                let packet = Request::Auth(AuthPacket {
                    auth_type: 0,
                    scheme: scheme.clone(),
                    auth: auth.clone(),
                });
                match encode_request(conn.write_buffer_mut(), max_frame, xid::AUTH, &packet) {
                    Ok(()) => {
                        debug!(%scheme, "add_auth");
                        // Remembered so that it is sent again after a reconnect.
                        self.task.cfg.auths.push((scheme, auth));
                        self.pending.push_auth(Some(reply));
                    }
                    Err(e) => {
                        let _ = reply.send(Err(e.into()));
                    }
                }
            }
            Work::Close(tx) => {
                let xid = self.task.alloc_xid();
                let span = debug_span!("zk.request", op = "closeSession", xid);
                let mut buf = BytesMut::new();
                if encode_request(&mut buf, max_frame, xid, &Request::CloseSession).is_ok() {
                    conn.write_buffer_mut().extend_from_slice(&buf);
                }
                self.task.shared.refuse(Error::Closed);
                self.task.closing = true;
                self.closing = true;
                self.pending.push(Pending {
                    xid,
                    span,
                    awaiting: Awaiting::Close(tx),
                });
            }
            Work::RemovePersistent { id, reply } => self.remove_persistent(id, reply, conn),
            Work::DropWatch {
                server_path,
                kind,
                reply,
            } => self.drop_watch(server_path, kind, reply, conn),
            Work::RemoveWatches {
                server_path,
                kind,
                local,
                reply,
            } => self.remove_watches(server_path, kind, local, reply, conn),
        }
    }

    /// Forgets a persistent watch and, unless another persistent watch of
    /// this client is on the same path, removes it on the server.
    ///
    /// The removal uses WatcherType Any (3), which every server since 3.6
    /// knows (Persistent/PersistentRecursive exist only from 3.9) and which
    /// also removes this session's one-shot watches on that path: those are
    /// re-armed right after with a SetWatches relative to the last zxid
    /// seen, so a change in between still fires them. When another
    /// persistent watch remains on the path, the server-side registration
    /// stays (its events for the removed watch are dropped locally) until
    /// the next reconnect, which registers only what is still wanted.
    fn remove_persistent(
        &mut self,
        id: u64,
        reply: Option<oneshot::Sender<Result<(), Error>>>,
        conn: &mut Conn,
    ) {
        let Some((path, recursive)) = self.task.persistents.remove(id) else {
            if let Some(tx) = reply {
                let _ = tx.send(Ok(()));
            }
            return;
        };
        let (p, r) = self.task.persistents.modes_on(&path);
        if p || r {
            debug!(%path, recursive, "persistent watch removed locally; another one keeps the path");
            if let Some(tx) = reply {
                let _ = tx.send(Ok(()));
            }
            return;
        }
        debug!(%path, recursive, "removing persistent watch");
        self.send_remove_watches(&path, WatcherKind::Any, Awaiting::Unwatch(reply), conn);
        let zxid = self.task.last_zxid;
        self.rearm(&path, ALL_KINDS, zxid, conn);
    }

    /// Writes a removeWatches of `kind` on `path`, answered to `awaiting`.
    fn send_remove_watches(
        &mut self,
        path: &str,
        kind: WatcherKind,
        awaiting: Awaiting,
        conn: &mut Conn,
    ) {
        let xid = self.task.alloc_xid();
        let span = debug_span!("zk.request", op = "removeWatches", path = %path, xid);
        let req = Request::RemoveWatches(zk_proto::RemoveWatchesRequest {
            path: path.to_owned(),
            watcher_type: kind.code(),
        });
        if let Err(e) = encode_request(conn.write_buffer_mut(), self.task.cfg.max_frame, xid, &req)
        {
            let e = Error::from(e);
            match awaiting {
                Awaiting::Unwatch(Some(tx)) | Awaiting::RemoveWatches { reply: tx, .. } => {
                    let _ = tx.send(Err(e));
                }
                _ => {}
            }
            return;
        }
        trace!(parent: &span, ?kind, "send");
        self.pending.push(Pending {
            xid,
            span,
            awaiting,
        });
    }

    /// A one-shot watcher is gone: removes the server-side watch of its
    /// table on `path`, unless another watcher (live, or to be registered
    /// by a read in flight) needs it, or a persistent watch serves the path
    /// (the one-shot watch was then never set on the server).
    fn drop_watch(
        &mut self,
        path: String,
        kind: WatcherKind,
        reply: Option<DoneSender>,
        conn: &mut Conn,
    ) {
        let one_shot_kind = match kind {
            WatcherKind::Children => WatchKind::Child,
            _ => WatchKind::Data,
        };
        let needed = self.task.watches.has_table(&path, kind)
            || self.pending.watch_in_flight(&path, kind)
            || self.task.persistents.covers(&path, one_shot_kind);
        if needed {
            trace!(%path, ?kind, "one-shot watch dropped; the server-side watch is still needed");
            if let Some(tx) = reply {
                let _ = tx.send(Ok(()));
            }
            return;
        }
        debug!(%path, ?kind, "removing a one-shot watch");
        self.send_remove_watches(&path, kind, Awaiting::Unwatch(reply), conn);
        self.rearm_persistent(&path, conn);
    }

    /// `Client::remove_watches`: removes this client's one-shot watchers of
    /// `kind` on `path` (and those that reads in flight would register),
    /// then the server-side watch.
    fn remove_watches(
        &mut self,
        path: String,
        kind: WatcherKind,
        local: bool,
        reply: DoneSender,
        conn: &mut Conn,
    ) {
        let chroot = self.task.cfg.chroot.clone();
        let removed = self.task.watches.remove_kind(&path, kind, &chroot)
            + self.pending.cancel_watches(&path, kind);
        if removed == 0 {
            let _ = reply.send(Err(Error::NoWatcher));
            return;
        }
        debug!(%path, ?kind, removed, local, "removing one-shot watches");
        self.send_remove_watches(&path, kind, Awaiting::RemoveWatches { reply, local }, conn);
        self.rearm_persistent(&path, conn);
    }

    /// After a removeWatches on `path`, which on a 3.8 server also drops a
    /// persistent registration there: registers this client's persistent
    /// watches on `path` again (SetWatches2), and tells them to resync (the
    /// server replays nothing for persistent watches, ZOOKEEPER-4698).
    fn rearm_persistent(&mut self, path: &str, conn: &mut Conn) {
        let (persistent, recursive) = self.task.persistents.modes_on(path);
        if !persistent && !recursive {
            return;
        }
        let mut sw = zk_proto::SetWatches2 {
            relative_zxid: self.task.last_zxid,
            ..zk_proto::SetWatches2::default()
        };
        if persistent {
            sw.persistent_watches.push(path.to_owned());
        }
        if recursive {
            sw.persistent_recursive_watches.push(path.to_owned());
        }
        let _ = encode_request(
            conn.write_buffer_mut(),
            self.task.cfg.max_frame,
            xid::SET_WATCHES,
            &Request::SetWatches2(sw),
        );
        self.task.persistents.resync_path(path);
    }

    /// Reads `/zookeeper/config` with a watch (the server path: never
    /// chroot-relative); the reply updates the server list.
    fn read_config(&mut self, conn: &mut Conn) {
        let xid = self.task.alloc_xid();
        let req = Request::GetData(zk_proto::GetDataRequest {
            path: crate::config::CONFIG_NODE.to_owned(),
            watch: true,
        });
        if encode_request(conn.write_buffer_mut(), self.task.cfg.max_frame, xid, &req).is_ok() {
            self.pending.push(Pending {
                xid,
                span: debug_span!(
                    "zk.request",
                    op = "getData",
                    path = crate::config::CONFIG_NODE,
                    xid
                ),
                awaiting: Awaiting::Config,
            });
        }
    }

    /// Makes the client addresses of a dynamic configuration the server list.
    fn on_config(&mut self, data: &[u8]) {
        let hosts = crate::config::client_hosts_from_config(&String::from_utf8_lossy(data));
        if hosts.is_empty() {
            debug!("the configuration lists no client addresses; server list kept");
            return;
        }
        let mut old = self.task.cfg.hosts.clone();
        let mut new = hosts.clone();
        old.sort_by(|a, b| (&a.host, a.port).cmp(&(&b.host, b.port)));
        new.sort_by(|a, b| (&a.host, a.port).cmp(&(&b.host, b.port)));
        if old != new {
            self.task.shared.set_new_hosts(hosts);
        }
    }

    /// Sends a SetWatches for the one-shot watches of `kinds` on `path`,
    /// relative to `zxid` (a change after it fires them at once).
    fn rearm(&mut self, path: &str, kinds: &[WatchKind], zxid: i64, conn: &mut Conn) {
        if let Some(sw) = self.task.watches.rearm(path, kinds, zxid) {
            trace!(%path, "re-arming one-shot watches");
            let _ = encode_request(
                conn.write_buffer_mut(),
                self.task.cfg.max_frame,
                xid::SET_WATCHES,
                &Request::SetWatches(sw),
            );
        }
    }

    /// Routes a reply over the client's limit, of which only the header
    /// was read (the codec discards the rest as it arrives): the request
    /// with its xid fails with [`Error::ReplyTooLarge`], and the connection
    /// and every other request carry on.
    ///
    /// An oversize notification cannot be read, so which path changed is
    /// unknown. Every persistent watch is told to resync (as after a
    /// reconnect: events may have been missed). One-shot watches cannot be
    /// told, so when there are any, the connection is dropped instead: the
    /// reconnect re-sets them relative to the last zxid seen (SetWatches),
    /// and the server fires at once each one whose node changed since, which
    /// includes the lost event (and the persistent watches get their Resync
    /// from the reconnect). With an honest server this cannot loop: a
    /// one-shot watch's notification is no larger than the request that set
    /// it, which fit under the (smaller) request limit.
    fn on_oversize(&mut self, len: usize, head: Bytes) -> Option<End> {
        let limit = self.task.cfg.max_reply;
        let err = Error::ReplyTooLarge { len, limit };
        let header = match ReplyHeader::decode(&mut Reader::new(head)) {
            Ok(h) => h,
            Err(e) => return Some(End::Lost(Error::Protocol(e))),
        };
        warn!(xid = header.xid, len, limit, "reply over the client's limit skipped; raise max_buffer to match the server's jute.maxbuffer");
        match header.xid {
            xid::NOTIFICATION => {
                if self.task.watches.any_live() {
                    return Some(End::Lost(err));
                }
                self.task.persistents.resync_all();
            }
            xid::PING | xid::SET_WATCHES => {}
            xid::AUTH => {
                if let Some(tx) = self.pending.pop_auth().flatten() {
                    let _ = tx.send(Err(err));
                }
            }
            got => match self.pending.matching(got) {
                // Nothing in flight at all: a stray reply, skipped.
                Matched::Unexpected { expected: None, .. } => {}
                // Out of order: the reply stream is broken, as for a whole frame.
                Matched::Unexpected {
                    got,
                    expected: Some(expected),
                } => {
                    warn!(got, expected, "reply xid out of order");
                    return Some(End::Lost(Error::UnexpectedReply(format!(
                        "reply with xid {got}, expected {expected}"
                    ))));
                }
                Matched::Request(p) => {
                    if header.zxid > 0 && header.zxid > self.task.last_zxid {
                        self.task.last_zxid = header.zxid;
                    }
                    debug!(parent: &p.span, len, limit, "reply too large");
                    p.fail(&err);
                }
            },
        }
        None
    }

    /// Routes one frame. Returns why the connection must end, if it must.
    fn on_frame(&mut self, frame: Bytes) -> Option<End> {
        let mut r = Reader::new(frame);
        let header = match ReplyHeader::decode(&mut r) {
            Ok(h) => h,
            Err(e) => return Some(End::Lost(Error::Protocol(e))),
        };
        match header.xid {
            xid::NOTIFICATION => {
                let ev = match WatcherEvent::decode(&mut r) {
                    Ok(ev) => ev,
                    Err(e) => return Some(End::Lost(Error::Protocol(e))),
                };
                self.on_event(&ev, header.zxid);
            }
            xid::PING => trace!("pong"),
            xid::SET_WATCHES if header.err.is_ok() => trace!("setWatches answered"),
            xid::SET_WATCHES => warn!(err = %header.err, "setWatches refused"),
            xid::AUTH => {
                let waiter = self.pending.pop_auth().flatten();
                if header.err == ErrorCode::AuthFailed {
                    if let Some(tx) = waiter {
                        let _ = tx.send(Err(Error::AuthFailed));
                    }
                    return Some(End::AuthFailed);
                }
                if let Some(tx) = waiter {
                    let _ = tx.send(Error::from_code(header.err).map_or(Ok(()), Err));
                }
            }
            got => match self.pending.matching(got) {
                Matched::Unexpected { got, expected } => {
                    warn!(got, ?expected, "reply xid out of order");
                    return Some(End::Lost(Error::UnexpectedReply(format!(
                        "reply with xid {got}, expected {}",
                        expected.map_or_else(|| "none".to_owned(), |x| x.to_string())
                    ))));
                }
                Matched::Request(p) => return self.on_reply(p, header, r),
            },
        }
        None
    }

    fn on_reply(&mut self, p: Pending, header: ReplyHeader, mut r: Reader) -> Option<End> {
        if header.zxid > 0 && header.zxid > self.task.last_zxid {
            self.task.last_zxid = header.zxid;
        }
        debug!(parent: &p.span, err = %header.err, zxid = header.zxid, "reply");
        // SESSIONMOVED: the session is owned by another server now; this
        // connection is stale. Java sees it only as a disconnect: drop the
        // connection (this and every other outstanding request fail with
        // ConnectionLoss) and reconnect.
        if header.err == ErrorCode::SessionMoved {
            p.fail(&Error::ConnectionLoss);
            return Some(End::Lost(Error::SessionMoved));
        }
        // SESSIONEXPIRED: the server expired the session while this request
        // was on its way. The session is over: this request and every other
        // one in flight fail with SessionExpired (not ConnectionLoss, which
        // would invite a retry), as soon as the state says Expired.
        if header.err == ErrorCode::SessionExpired {
            self.pending.push_front(p);
            return Some(End::Expired);
        }
        match p.awaiting {
            Awaiting::Config => {
                if header.err.is_ok() {
                    match zk_proto::GetDataResponse::decode(&mut r) {
                        Ok(resp) => self.on_config(&resp.data),
                        Err(e) => debug!(error = %e, "unreadable configuration"),
                    }
                }
            }
            Awaiting::Unwatch(tx) => {
                if let Some(tx) = tx {
                    let _ = tx.send(match header.err {
                        ErrorCode::Ok | ErrorCode::NoWatcher => Ok(()),
                        other => Err(Error::from_failure(other)),
                    });
                }
            }
            Awaiting::RemoveWatches { reply, local } => {
                let _ = reply.send(match header.err {
                    ErrorCode::Ok | ErrorCode::NoWatcher => Ok(()),
                    _ if local => Ok(()),
                    other => Err(Error::from_failure(other)),
                });
            }
            Awaiting::Close(tx) => {
                if let Some(tx) = tx {
                    let _ = tx.send(Ok(()));
                }
                return Some(End::Closed);
            }
            Awaiting::Request {
                reply,
                watch,
                persistent,
            } => {
                if let Some(id) = persistent {
                    self.on_add_watch_reply(id, header.err);
                }
                if let Some(w) = watch {
                    self.on_watch_reply(w, &header);
                }
                let _ = reply.send(Ok(Reply {
                    err: header.err,
                    body: r.take_rest(),
                }));
            }
        }
        None
    }

    /// The answer to an addWatch that registers persistent watch `id`.
    fn on_add_watch_reply(&mut self, id: u64, err: ErrorCode) {
        if !err.is_ok() {
            self.task.persistents.fail(id, Error::from_failure(err));
            return;
        }
        if !self.task.persistents.is_live(id) {
            // The caller gave up before the answer.
            self.followups.push(Followup::Remove(id));
        } else if let Some((path, true)) = self.task.persistents.get(id) {
            // addWatch made the path recursive for both server tables
            // (3.8): a one-shot child watch there would never fire; set it
            // again, after.
            if self.task.persistents.modes_on(path) == (false, true)
                && self.task.watches.has(path, WatchKind::Child)
            {
                self.followups.push(Followup::Rearm(
                    path.to_owned(),
                    &[WatchKind::Child],
                    self.task.last_zxid,
                ));
            }
        }
    }

    /// The answer to a read that leaves a one-shot watch: registers it
    /// (when the read succeeded, or for exists when the node is absent).
    fn on_watch_reply(&mut self, w: WatchReg, header: &ReplyHeader) {
        let kind = if header.err.is_ok() {
            w.kind
        } else if header.err == ErrorCode::NoNode && w.exist_on_no_node {
            WatchKind::Exist
        } else {
            return;
        };
        if w.removed {
            // remove_watches came after this read: the server removed the
            // watch the read set.
            let _ = w.tx.send(Ok(WatchedEvent {
                event_type: kind.removed_event(),
                path: self.task.cfg.chroot.strip(w.server_path),
                zxid: -1,
            }));
            return;
        }
        // A read sent without a server-side watch because a persistent
        // watch covered it, and that watch is gone now: set it on the
        // server, relative to the read.
        if w.covered && !self.task.persistents.covers(&w.server_path, kind) {
            let kinds: &'static [WatchKind] = match kind {
                WatchKind::Data => &[WatchKind::Data],
                WatchKind::Exist => &[WatchKind::Exist],
                WatchKind::Child => &[WatchKind::Child],
            };
            self.followups
                .push(Followup::Rearm(w.server_path.clone(), kinds, header.zxid));
        }
        self.task.watches.add(kind, w.server_path, w.tx);
    }

    fn on_event(&mut self, ev: &WatcherEvent, zxid: i64) {
        let Ok(event_type) = EventType::try_from(ev.event_type) else {
            debug!(event_type = ev.event_type, path = %ev.path, "unknown event type ignored");
            return;
        };
        let span = debug_span!("zk.event", event = %event_type, path = %ev.path, zxid);
        let _enter = span.enter();
        let fired = self
            .task
            .watches
            .fire(event_type, &ev.path, zxid, &self.task.cfg.chroot);
        let mut dead = Vec::new();
        let persistent = self.task.persistents.fire(
            event_type,
            &ev.path,
            zxid,
            &self.task.cfg.chroot,
            &mut dead,
        );
        self.followups
            .extend(dead.into_iter().map(Followup::Remove));
        if self.task.cfg.follow_config
            && ev.path == crate::config::CONFIG_NODE
            && event_type == EventType::NodeDataChanged
        {
            self.followups.push(Followup::ReadConfig);
        }
        debug!(fired, persistent, "watch event");
    }
}
