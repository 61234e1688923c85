//! The FIFO of requests written to the current connection and not yet answered.
//!
//! ZooKeeper answers a connection's requests in the order it received them,
//! so replies are matched against the front of the queue; a reply whose xid
//! is not the front's is a fatal protocol error (as in the Java client).

use std::collections::VecDeque;

use tokio::sync::oneshot;
use zk_proto::OpCode;

use super::submit::{ReplySender, WatchReg};
use crate::error::Error;

/// An ordinary request awaiting its reply.
pub(crate) struct Pending {
    pub(crate) xid: i32,
    pub(crate) op: OpCode,
    /// `None` for the task's own requests (closeSession after every handle was dropped).
    pub(crate) reply: Option<ReplySender>,
    pub(crate) watch: Option<WatchReg>,
    pub(crate) span: tracing::Span,
    /// The caller of `close()`, for closeSession; of `PersistentWatch::remove`, for removeWatches.
    pub(crate) close: Option<oneshot::Sender<Result<(), Error>>>,
    /// The persistent watch an addWatch registers.
    pub(crate) persistent: Option<u64>,
    /// The task's own read of `/zookeeper/config` (`follow_config`).
    pub(crate) config: bool,
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

    /// Fails everything outstanding with `err` (the connection is gone).
    pub(crate) fn fail_all(&mut self, err: &Error) {
        for p in self.requests.drain(..) {
            if let Some(tx) = p.reply {
                let _ = tx.send(Err(err.clone()));
            }
            if let Some(tx) = p.close {
                let _ = tx.send(Err(err.clone()));
            }
        }
        for tx in self.auths.drain(..).flatten() {
            let _ = tx.send(Err(err.clone()));
        }
    }
}
