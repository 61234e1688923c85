//! The FIFO of requests written to the current connection and not yet answered.
//!
//! ZooKeeper answers a connection's requests in the order it received them,
//! so replies are matched against the front of the queue; a reply whose xid
//! is not the front's is a fatal protocol error (as in the Java client).

use std::collections::VecDeque;

use tokio::sync::oneshot;

use super::submit::{ReplySender, WatchReg};
use crate::error::Error;
use crate::event::WatcherKind;

/// The caller of an operation that answers only "done" (close, watch removal).
pub(crate) type DoneSender = oneshot::Sender<Result<(), Error>>;

/// A request written to the connection and awaiting its reply.
pub(crate) struct Pending {
    pub(crate) xid: i32,
    pub(crate) span: tracing::Span,
    pub(crate) awaiting: Awaiting,
}

/// Who is waiting for a reply, by kind of request.
pub(crate) enum Awaiting {
    /// A caller's request: the reply goes back encoded; a watch to register
    /// on success; the persistent watch an addWatch registers.
    Request {
        reply: ReplySender,
        watch: Option<WatchReg>,
        persistent: Option<u64>,
    },
    /// closeSession: the caller of `close()`, `None` when every handle was dropped.
    Close(Option<DoneSender>),
    /// removeWatches for a watch this client no longer holds (a persistent
    /// watch removed or dropped, a one-shot watch removed): NOWATCHER, or
    /// losing the connection (which takes the server's watches with it),
    /// are success.
    Unwatch(Option<DoneSender>),
    /// removeWatches for `Client::remove_watches` (watchers already removed
    /// locally): NOWATCHER is success, other refusals too when `local`.
    RemoveWatches { reply: DoneSender, local: bool },
    /// The task's own read of `/zookeeper/config` (`follow_config`).
    Config,
}

impl Pending {
    /// Fails it with `err` (its connection is gone, or the session is over).
    pub(crate) fn fail(self, err: &Error) {
        match self.awaiting {
            Awaiting::Request { reply, .. } => {
                let _ = reply.send(Err(err.clone()));
            }
            Awaiting::Close(Some(tx)) => {
                let _ = tx.send(Err(err.clone()));
            }
            Awaiting::Unwatch(Some(tx)) => {
                let _ = tx.send(Ok(()));
            }
            Awaiting::RemoveWatches { reply, .. } => {
                let _ = reply.send(Ok(()));
            }
            Awaiting::Close(None) | Awaiting::Unwatch(None) | Awaiting::Config => {}
        }
    }

    /// The one-shot watch this request registers when it succeeds.
    fn watch_mut(&mut self) -> Option<&mut WatchReg> {
        match &mut self.awaiting {
            Awaiting::Request { watch, .. } => watch.as_mut(),
            _ => None,
        }
    }
}

/// What a matched reply resolves.
pub(crate) enum Matched {
    Request(Pending),
    /// The xid matched nothing; the connection must be dropped.
    Unexpected {
        got: i32,
        expected: Option<i32>,
    },
}

#[derive(Default)]
pub(crate) struct PendingQueue {
    requests: VecDeque<Pending>,
    /// Auth packets (xid −4) are answered out of band, as soon as the server
    /// reads them, so they get their own FIFO. `None` for the task's own
    /// (re-sent) credentials.
    auths: VecDeque<Option<oneshot::Sender<Result<(), Error>>>>,
}

impl PendingQueue {
    pub(crate) fn len(&self) -> usize {
        self.requests.len() + self.auths.len()
    }

    pub(crate) fn push(&mut self, p: Pending) {
        self.requests.push_back(p);
    }

    /// Puts a matched request back at the front (to fail it with the rest).
    pub(crate) fn push_front(&mut self, p: Pending) {
        self.requests.push_front(p);
    }

    pub(crate) fn push_auth(&mut self, tx: Option<oneshot::Sender<Result<(), Error>>>) {
        self.auths.push_back(tx);
    }

    pub(crate) fn pop_auth(&mut self) -> Option<Option<oneshot::Sender<Result<(), Error>>>> {
        self.auths.pop_front()
    }

    /// Matches a reply's xid against the oldest outstanding request.
    pub(crate) fn matching(&mut self, xid: i32) -> Matched {
        match self.requests.front() {
            Some(p) if p.xid == xid => match self.requests.pop_front() {
                Some(p) => Matched::Request(p),
                None => Matched::Unexpected {
                    got: xid,
                    expected: None,
                },
            },
            front => Matched::Unexpected {
                got: xid,
                expected: front.map(|p| p.xid),
            },
        }
    }

    /// Whether a request in flight will register a one-shot watch in the
    /// server table `kind` on `server_path` when it succeeds.
    pub(crate) fn watch_in_flight(&self, server_path: &str, kind: WatcherKind) -> bool {
        self.requests.iter().any(|p| match &p.awaiting {
            Awaiting::Request { watch: Some(w), .. } => {
                w.server_path == server_path && w.kind.removed_by(kind)
            }
            _ => false,
        })
    }

    /// Marks the one-shot watches that requests in flight would register
    /// on `server_path` in `kind` as removed; returns how many.
    pub(crate) fn cancel_watches(&mut self, server_path: &str, kind: WatcherKind) -> usize {
        let mut n = 0;
        for p in &mut self.requests {
            if let Some(w) = p.watch_mut() {
                if w.server_path == server_path && w.kind.removed_by(kind) && !w.removed {
                    w.removed = true;
                    n += 1;
                }
            }
        }
        n
    }

    /// Fails everything outstanding with `err` (the connection is gone).
    pub(crate) fn fail_all(&mut self, err: &Error) {
        for p in self.requests.drain(..) {
            p.fail(err);
        }
        for tx in self.auths.drain(..).flatten() {
            let _ = tx.send(Err(err.clone()));
        }
    }
}
