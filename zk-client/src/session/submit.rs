//! The submission line shared by every handle and the session task.
//!
//! Requests are pushed here, in call order, by the plain `fn`s of
//! [`Client`](crate::Client); the task takes them from the front only while
//! fewer than `max_in_flight` are outstanding on the wire.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;

use bytes::{Bytes, BytesMut};
use futures::task::AtomicWaker;
use tokio::sync::{oneshot, watch};
use zk_proto::{ErrorCode, OpCode};

use super::state::StateInfo;
use crate::config::HostPort;
use crate::error::Error;
use crate::event::PersistentSender;
use crate::event::{WatchKind, WatchSender, WatcherKind};

/// A successful or failed reply, body still encoded (the caller decodes it).
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) err: ErrorCode,
    pub(crate) body: Bytes,
}

pub(crate) type ReplySender = oneshot::Sender<Result<Reply, Error>>;

/// A watch to register when the request succeeds.
pub(crate) struct WatchReg {
    pub(crate) kind: WatchKind,
    /// The server path (chroot applied).
    pub(crate) server_path: String,
    /// Register an exist watch instead when the reply is NONODE (exists only).
    pub(crate) exist_on_no_node: bool,
    /// Sent without a server-side watch: a persistent watch serves it.
    pub(crate) covered: bool,
    /// A removeWatches for this path and table was sent after this read:
    /// on the reply the watcher is told it was removed instead of registered.
    pub(crate) removed: bool,
    pub(crate) tx: WatchSender,
}

/// A persistent watch to register when its addWatch is written (so that no
/// event racing the reply is lost), and to confirm or drop on the reply.
pub(crate) struct PersistentReg {
    pub(crate) id: u64,
    pub(crate) recursive: bool,
    /// The server path (chroot applied).
    pub(crate) server_path: String,
    pub(crate) tx: PersistentSender,
}

/// An encoded request waiting for its xid.
pub(crate) struct Req {
    /// What the request is (for its watch flag).
    pub(crate) op: OpCode,
    /// The whole frame, encoded at call time with xid 0; the task patches in the xid.
    pub(crate) frame: BytesMut,
    pub(crate) watch: Option<WatchReg>,
    pub(crate) persistent: Option<PersistentReg>,
    pub(crate) reply: ReplySender,
    pub(crate) span: tracing::Span,
}

/// One item of the submission line.
pub(crate) enum Work {
    /// An ordinary request (xid > 0).
    Request(Req),
    /// An auth packet (xid −4), remembered and re-sent after reconnects.
    Auth {
        scheme: String,
        auth: Bytes,
        reply: oneshot::Sender<Result<(), Error>>,
    },
    /// Close the session; `None` when every handle was dropped.
    Close(Option<oneshot::Sender<Result<(), Error>>>),
    /// Remove a persistent watch (dropped or `remove`d).
    RemovePersistent {
        id: u64,
        reply: Option<oneshot::Sender<Result<(), Error>>>,
    },
    /// A one-shot watcher is gone (`OneshotWatch::remove`, or dropped with
    /// `remove_on_drop`): remove the server-side watch unless another
    /// watcher needs it.
    DropWatch {
        server_path: String,
        kind: WatcherKind,
        reply: Option<oneshot::Sender<Result<(), Error>>>,
    },
    /// `Client::remove_watches`: every one-shot watcher of `kind` on the path.
    RemoveWatches {
        server_path: String,
        kind: WatcherKind,
        local: bool,
        reply: oneshot::Sender<Result<(), Error>>,
    },
}

impl Work {
    /// Whether the caller gave up on it (its future was dropped), so it need not be sent.
    fn is_abandoned(&self) -> bool {
        match self {
            Work::Request(r) => r.reply.is_closed(),
            Work::Auth { .. }
            | Work::Close(_)
            | Work::RemovePersistent { .. }
            | Work::DropWatch { .. }
            | Work::RemoveWatches { .. } => false,
        }
    }

    /// Fails it with `err`.
    pub(crate) fn fail(self, err: Error) {
        match self {
            Work::Request(r) => {
                let _ = r.reply.send(Err(err));
            }
            Work::Auth { reply, .. } => {
                let _ = reply.send(Err(err));
            }
            // Closing a session that is over (closed, expired, refused)
            // succeeds, as Java's close() does.
            Work::Close(Some(tx)) => {
                let _ = tx.send(if err.is_terminal() { Ok(()) } else { Err(err) });
            }
            // The server-side watch goes with the connection or the
            // session, and a watcher that is gone is never set again.
            Work::DropWatch { reply, .. } => {
                if let Some(tx) = reply {
                    let _ = tx.send(Ok(()));
                }
            }
            Work::RemoveWatches { reply, .. } => {
                let _ = reply.send(Err(err));
            }
            Work::Close(None) | Work::RemovePersistent { reply: None, .. } => {}
            Work::RemovePersistent {
                reply: Some(tx), ..
            } => {
                let _ = tx.send(Err(err));
            }
        }
    }
}

struct Line {
    items: VecDeque<Work>,
    /// Set once the session is over (or closing): new work fails at once with this.
    refuse: Option<Error>,
    /// When the line reaches this length, abandoned items are swept out.
    sweep_at: usize,
}

/// Counters for tests and monitoring; see [`ClientStats`](crate::ClientStats).
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) in_flight: AtomicUsize,
    pub(crate) peak_in_flight: AtomicUsize,
    pub(crate) peak_queued: AtomicUsize,
    /// The watch re-registration of the last (re)connect: batches, watches, path bytes.
    pub(crate) rearm_batches: AtomicUsize,
    pub(crate) rearm_watches: AtomicUsize,
    pub(crate) rearm_bytes: AtomicUsize,
}

impl Counters {
    pub(crate) fn record_rearm(&self, batches: usize, watches: usize, bytes: usize) {
        self.rearm_batches.store(batches, Ordering::Relaxed);
        self.rearm_watches.store(watches, Ordering::Relaxed);
        self.rearm_bytes.store(bytes, Ordering::Relaxed);
    }
}

/// State shared between the handles and the session task.
pub(crate) struct Shared {
    line: Mutex<Line>,
    /// Wakes the task when work arrives.
    pub(crate) waker: AtomicWaker,
    pub(crate) max_in_flight: usize,
    pub(crate) counters: Counters,
    pub(crate) state: watch::Sender<StateInfo>,
    /// Ids for persistent watches.
    pub(crate) next_watch_id: AtomicU64,
    /// A new server list from `update_server_list`, for the task to pick up.
    pub(crate) new_hosts: Mutex<Option<Vec<HostPort>>>,
    /// The server of the current connection.
    server: Mutex<Option<HostPort>>,
    /// When the shared state was made: the origin of `last_contact`.
    born: std::time::Instant,
    /// Nanoseconds after `born` at which the last frame from a server arrived.
    last_contact: AtomicU64,
}

const MIN_SWEEP: usize = 1024;

impl Shared {
    pub(crate) fn new(max_in_flight: usize) -> Self {
        Shared {
            line: Mutex::new(Line {
                items: VecDeque::new(),
                refuse: None,
                sweep_at: MIN_SWEEP,
            }),
            waker: AtomicWaker::new(),
            max_in_flight: max_in_flight.max(1),
            counters: Counters::default(),
            state: watch::channel(StateInfo::initial()).0,
            next_watch_id: AtomicU64::new(1),
            new_hosts: Mutex::new(None),
            server: Mutex::new(None),
            born: std::time::Instant::now(),
            last_contact: AtomicU64::new(0),
        }
    }

    /// Records that a frame from a server arrived at `at`.
    pub(crate) fn touch(&self, at: std::time::Instant) {
        let nanos = at.saturating_duration_since(self.born).as_nanos();
        self.last_contact
            .fetch_max(u64::try_from(nanos).unwrap_or(u64::MAX), Ordering::Relaxed);
    }

    /// When the last frame from a server arrived (`born` before any did).
    pub(crate) fn last_contact(&self) -> std::time::Instant {
        let nanos = self.last_contact.load(Ordering::Relaxed);
        self.born
            .checked_add(std::time::Duration::from_nanos(nanos))
            .unwrap_or(self.born)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Line> {
        // A panic while holding this lock cannot leave the line inconsistent
        // (every operation is a single push/pop), so poisoning is ignored.
        self.line.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Appends `work` to the line (this is the moment that fixes its order),
    /// or fails it at once if the session is over.
    pub(crate) fn submit(&self, work: Work) {
        let mut line = self.lock();
        if let Some(err) = &line.refuse {
            let err = err.clone();
            drop(line);
            work.fail(err);
            return;
        }
        let was_empty = line.items.is_empty();
        line.items.push_back(work);
        if line.items.len() >= line.sweep_at {
            line.items.retain(|w| !w.is_abandoned());
            line.sweep_at = (line.items.len() * 2).max(MIN_SWEEP);
        }
        let len = line.items.len();
        drop(line);
        self.counters.peak_queued.fetch_max(len, Ordering::Relaxed);
        // Only the empty → non-empty transition needs a wake-up: if the line
        // already held work, the task was either woken for it already or is
        // waiting for replies to make room, and takes ours along with it.
        if was_empty {
            self.waker.wake();
        }
    }

    /// Appends a close request and refuses everything after it.
    pub(crate) fn submit_close(&self, work: Work) {
        let mut line = self.lock();
        if let Some(err) = &line.refuse {
            let err = err.clone();
            drop(line);
            work.fail(err);
            return;
        }
        line.items.push_back(work);
        line.refuse = Some(Error::Closed);
        drop(line);
        self.waker.wake();
    }

    /// Moves up to `room` items from the front of the line into `out`,
    /// skipping abandoned ones. Stops after a `Close`.
    pub(crate) fn take(&self, room: usize, out: &mut Vec<Work>) {
        if room == 0 {
            return;
        }
        let mut line = self.lock();
        let mut taken = 0;
        while taken < room {
            let Some(w) = line.items.pop_front() else {
                break;
            };
            if w.is_abandoned() {
                continue;
            }
            let is_close = matches!(w, Work::Close(_));
            out.push(w);
            taken += 1;
            if is_close {
                break;
            }
        }
    }

    /// Takes everything in the line (to fail it).
    pub(crate) fn drain(&self) -> Vec<Work> {
        self.lock().items.drain(..).collect()
    }

    /// From now on, new work fails at once with `err`.
    pub(crate) fn refuse(&self, err: Error) {
        self.lock().refuse = Some(err);
    }

    /// Number of items waiting in the line.
    pub(crate) fn queued(&self) -> usize {
        self.lock().items.len()
    }

    /// Hands a new server list to the task and wakes it.
    pub(crate) fn set_new_hosts(&self, hosts: Vec<HostPort>) {
        *self.new_hosts.lock().unwrap_or_else(|p| p.into_inner()) = Some(hosts);
        self.waker.wake();
    }

    pub(crate) fn set_server(&self, server: Option<HostPort>) {
        *self.server.lock().unwrap_or_else(|p| p.into_inner()) = server;
    }

    pub(crate) fn server(&self) -> Option<HostPort> {
        self.server
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Takes the server list handed over by `set_new_hosts`, if any.
    pub(crate) fn take_new_hosts(&self) -> Option<Vec<HostPort>> {
        self.new_hosts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
    }

    pub(crate) fn set_in_flight(&self, n: usize) {
        self.counters.in_flight.store(n, Ordering::Relaxed);
        self.counters.peak_in_flight.fetch_max(n, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(tag: u8) -> (Work, oneshot::Receiver<Result<Reply, Error>>) {
        let (tx, rx) = oneshot::channel();
        let work = Work::Request(Req {
            op: OpCode::GetData,
            frame: BytesMut::from(&[tag][..]),
            watch: None,
            persistent: None,
            reply: tx,
            span: tracing::Span::none(),
        });
        (work, rx)
    }

    fn tag(w: &Work) -> u8 {
        match w {
            Work::Request(r) => r.frame.first().copied().unwrap_or(0),
            _ => 0,
        }
    }

    #[test]
    fn takes_in_call_order_skips_abandoned_and_respects_room() {
        let shared = Shared::new(2);
        let mut keep = Vec::new();
        for i in 1..=5u8 {
            let (w, rx) = req(i);
            shared.submit(w);
            if i != 2 {
                keep.push(rx); // the caller of #2 gave up
            }
        }
        let mut out = Vec::new();
        shared.take(2, &mut out);
        assert_eq!(out.iter().map(tag).collect::<Vec<_>>(), [1, 3]);
        out.clear();
        shared.take(10, &mut out);
        assert_eq!(out.iter().map(tag).collect::<Vec<_>>(), [4, 5]);
        assert_eq!(shared.queued(), 0);
        assert_eq!(shared.counters.peak_queued.load(Ordering::Relaxed), 5);
    }

    #[test]
    fn refused_work_fails_at_once() {
        let shared = Shared::new(2);
        shared.refuse(Error::SessionExpired);
        let (w, mut rx) = req(1);
        shared.submit(w);
        assert!(matches!(rx.try_recv(), Ok(Err(Error::SessionExpired))));
        assert_eq!(shared.queued(), 0);
    }

    #[test]
    fn a_long_line_of_abandoned_work_is_swept() {
        let shared = Shared::new(1);
        for i in 0..(3 * MIN_SWEEP) {
            let (w, rx) = req((i % 200) as u8);
            shared.submit(w);
            drop(rx);
        }
        assert!(shared.queued() < MIN_SWEEP, "{}", shared.queued());
    }
}
