//! The in-process peer network: messages between simulated servers and the
//! partition state of the links that carry them.

use std::sync::Arc;

use zk_proto::{Id, Request};

use crate::tree::{ConnId, Txn};

/// One committed-or-proposed transaction in a node's log.
#[derive(Debug)]
pub(crate) struct LogEntry {
    pub(crate) zxid: i64,
    pub(crate) time_ms: i64,
    pub(crate) txn: Txn,
    /// The node and request token waiting for this txn's result, if a client
    /// asked for it.
    pub(crate) origin: Option<Origin>,
}

/// Where a forwarded request came from, so the result finds its way back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Origin {
    pub(crate) node: usize,
    pub(crate) conn: ConnId,
    pub(crate) token: u64,
}

/// What a forwarded request asks the leader to do.
#[derive(Debug)]
pub(crate) enum Forwarded {
    /// A client write (create, delete, setData, multi, ...).
    Write(Request),
    /// A new session from a handshake.
    CreateSession { session_id: i64, timeout_ms: i32 },
    /// The client's own closeSession.
    CloseSession,
}

/// A message on a peer link. Every message carries the sender's epoch;
/// receivers drop messages from an epoch they no longer follow.
#[derive(Debug)]
pub(crate) enum Msg {
    /// follower → leader: run this request through the leader's pipeline.
    Forward {
        origin: Origin,
        session_id: i64,
        auth: Vec<Id>,
        op: Forwarded,
    },
    /// leader → follower: log this proposal.
    Propose(Arc<LogEntry>),
    /// follower → leader: logged everything up to `zxid`.
    Ack { zxid: i64 },
    /// leader → follower: everything up to `zxid` is committed.
    Commit { zxid: i64 },
    /// follower → leader: a sync barrier.
    Sync { origin: Origin },
    /// leader → follower: the barrier resolves once `zxid` is applied.
    SyncDone { origin: Origin, zxid: i64 },
    /// follower → leader: a reconnect to an existing session.
    Revalidate { origin: Origin, session_id: i64 },
    /// leader → follower: the session is (or is not) alive; `timeout_ms` is
    /// its negotiated timeout.
    Revalidated {
        origin: Origin,
        session_id: i64,
        timeout_ms: Option<i32>,
    },
    /// leader → follower: a forwarded write refused before it got a zxid.
    Rejected {
        origin: Origin,
        err: zk_proto::ErrorCode,
    },
    /// follower → leader: sessions with client activity since the last tick.
    Touch { sessions: Vec<i64> },
}

/// A message in flight.
#[derive(Debug)]
pub(crate) struct Envelope {
    pub(crate) from: usize,
    pub(crate) to: usize,
    pub(crate) epoch: u32,
    pub(crate) msg: Msg,
}

/// Partition state: two nodes can talk when they sit in the same group.
/// A held link (one direction) keeps its messages until released.
#[derive(Debug, Clone)]
pub(crate) struct Links {
    group: Vec<u32>,
    held: std::collections::BTreeSet<(usize, usize)>,
}

impl Links {
    pub(crate) fn new(nodes: usize) -> Self {
        Links {
            group: vec![0; nodes],
            held: std::collections::BTreeSet::new(),
        }
    }

    /// Whether messages from `a` to `b` are being held.
    pub(crate) fn held(&self, a: usize, b: usize) -> bool {
        !self.held.is_empty() && self.held.contains(&(a, b))
    }

    /// Starts holding messages from `a` to `b`.
    pub(crate) fn hold(&mut self, a: usize, b: usize) {
        if a != b {
            self.held.insert((a, b));
        }
    }

    /// Stops holding messages from `a` to `b`.
    pub(crate) fn release(&mut self, a: usize, b: usize) {
        self.held.remove(&(a, b));
    }

    /// Stops holding every link.
    pub(crate) fn release_all(&mut self) {
        self.held.clear();
    }

    /// Whether `a` and `b` can exchange messages.
    pub(crate) fn up(&self, a: usize, b: usize) -> bool {
        a == b || self.group.get(a) == self.group.get(b)
    }

    /// Puts `side` in a group of its own, apart from everyone else.
    pub(crate) fn partition(&mut self, side: &[usize]) {
        let fresh = self.group.iter().copied().max().unwrap_or(0) + 1;
        for &i in side {
            if let Some(g) = self.group.get_mut(i) {
                *g = fresh;
            }
        }
    }

    /// Restores every link.
    pub(crate) fn heal(&mut self) {
        self.group.iter_mut().for_each(|g| *g = 0);
    }

    /// The nodes reachable from `i`, itself included.
    pub(crate) fn component(&self, i: usize) -> impl Iterator<Item = usize> + '_ {
        (0..self.group.len()).filter(move |&j| self.up(i, j))
    }
}
