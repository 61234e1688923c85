//! The leader's side of replication: proposing, counting acks, committing,
//! tracking session expiry and answering sync barriers.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use zk_proto::{ErrorCode, Id};

use super::core::{wall_ms, Core};
use super::link::{Forwarded, LogEntry, Msg, Origin};
use crate::tree::{Ctx, DataTree, Txn};

/// A session as the leader's tracker sees it.
#[derive(Debug, Clone)]
pub(crate) struct Tracked {
    pub(crate) timeout_ms: i32,
    pub(crate) deadline_ms: u64,
    /// The node whose connection owns the session (`None` right after an
    /// election, until the session shows up somewhere).
    pub(crate) owner: Option<usize>,
}

/// State only the leader keeps.
#[derive(Debug)]
pub(crate) struct LeaderState {
    /// The speculative tree: committed state plus every outstanding proposal,
    /// so that the next `prepare` sees uncommitted changes.
    pub(crate) spec: DataTree,
    pub(crate) followers: BTreeSet<usize>,
    /// Highest zxid each voter (leader included) has logged.
    pub(crate) acked: BTreeMap<usize, i64>,
    pub(crate) counter: u32,
    pub(crate) tracker: BTreeMap<i64, Tracked>,
    /// Sync barriers: resolve once the commit point reaches the zxid.
    pub(crate) syncs: Vec<(i64, Origin)>,
    pub(crate) last_reap_ms: u64,
}

impl LeaderState {
    pub(crate) fn new(spec: DataTree, me: usize, last: i64) -> Self {
        let mut acked = BTreeMap::new();
        acked.insert(me, last);
        LeaderState {
            spec,
            followers: BTreeSet::new(),
            acked,
            counter: 0,
            tracker: BTreeMap::new(),
            syncs: Vec::new(),
            last_reap_ms: 0,
        }
    }
}

/// Rounds a deadline up to the next tick, like ZooKeeper's `ExpiryQueue`.
pub(crate) fn bucket(deadline_ms: u64, tick_ms: u64) -> u64 {
    let tick = tick_ms.max(1);
    deadline_ms.div_ceil(tick).saturating_mul(tick)
}

impl Core {
    /// Touches a session in the leader's tracker.
    pub(crate) fn touch(&mut self, leader: usize, session_id: i64) {
        let now = self.now_ms();
        let tick = self.cfg.tick_ms;
        if let Some(ls) = self.nodes.get_mut(leader).and_then(|n| n.leader.as_mut()) {
            if let Some(t) = ls.tracker.get_mut(&session_id) {
                let timeout = u64::try_from(t.timeout_ms).unwrap_or(0);
                t.deadline_ms = t.deadline_ms.max(bucket(now + timeout, tick));
            }
        }
    }

    /// Handles a request forwarded to leader `l`.
    pub(crate) fn lead_forward(
        &mut self,
        l: usize,
        origin: Origin,
        session_id: i64,
        auth: Vec<Id>,
        op: Forwarded,
    ) {
        let now = self.now_ms();
        let tick = self.cfg.tick_ms;
        let ext = self.cfg.extended_types;
        let wall = wall_ms();
        let Some(ls) = self.nodes.get_mut(l).and_then(|n| n.leader.as_mut()) else {
            return;
        };
        let txn = match op {
            Forwarded::CreateSession {
                session_id,
                timeout_ms,
            } => {
                let timeout = u64::try_from(timeout_ms).unwrap_or(0);
                ls.tracker.insert(
                    session_id,
                    Tracked {
                        timeout_ms,
                        deadline_ms: bucket(now + timeout, tick),
                        owner: Some(origin.node),
                    },
                );
                Txn::CreateSession {
                    session_id,
                    timeout_ms,
                }
            }
            Forwarded::CloseSession => {
                if ls.tracker.remove(&session_id).is_none() {
                    self.reject(l, origin, ErrorCode::SessionExpired);
                    return;
                }
                Txn::CloseSession { session_id }
            }
            Forwarded::Write(request) => {
                let Some(t) = ls.tracker.get_mut(&session_id) else {
                    self.reject(l, origin, ErrorCode::SessionExpired);
                    return;
                };
                match t.owner {
                    Some(o) if o != origin.node => {
                        self.reject(l, origin, ErrorCode::SessionMoved);
                        return;
                    }
                    _ => t.owner = Some(origin.node),
                }
                let timeout = u64::try_from(t.timeout_ms).unwrap_or(0);
                t.deadline_ms = t.deadline_ms.max(bucket(now + timeout, tick));
                let ctx = Ctx {
                    session_id,
                    auth: &auth,
                    now_ms: wall,
                    extended_types: ext,
                };
                match request {
                    // A client's deleteContainer: 3.8 reads the path from
                    // the whole packet, header included (zero bytes), so it
                    // always fails validation: BADARGUMENTS, as an error
                    // txn. Only the leader's own reaper deletes containers.
                    zk_proto::Request::DeleteContainer(_) => Txn::Error(ErrorCode::BadArguments),
                    request => ls.spec.prepare(&ctx, &request),
                }
            }
        };
        self.propose(l, txn, Some(origin));
    }

    /// Answers the origin of a forwarded request with `err` instead of a txn.
    fn reject(&mut self, l: usize, origin: Origin, err: ErrorCode) {
        self.send(l, origin.node, Msg::Rejected { origin, err });
    }

    /// Gives `txn` the next zxid, logs it on the leader and sends it to the
    /// followers.
    pub(crate) fn propose(&mut self, l: usize, txn: Txn, origin: Option<Origin>) {
        let wall = wall_ms();
        let Some(node) = self.nodes.get_mut(l) else {
            return;
        };
        let epoch = node.epoch;
        let Some(ls) = node.leader.as_mut() else {
            return;
        };
        ls.counter = ls.counter.wrapping_add(1);
        let zxid = (i64::from(epoch) << 32) | i64::from(ls.counter);
        let _ = ls.spec.apply(zxid, wall, &txn);
        ls.acked.insert(l, zxid);
        let followers: Vec<usize> = ls.followers.iter().copied().collect();
        let entry = Arc::new(LogEntry {
            zxid,
            time_ms: wall,
            txn,
            origin,
        });
        tracing::trace!(node = l, zxid = format_args!("{zxid:#x}"), "propose");
        node.log.push(Arc::clone(&entry));
        for f in followers {
            self.send(l, f, Msg::Propose(Arc::clone(&entry)));
        }
        self.try_commit(l);
    }

    /// Commits everything a majority has logged.
    pub(crate) fn try_commit(&mut self, l: usize) {
        let majority = self.cfg.majority();
        let now = wall_ms();
        let Some(node) = self.nodes.get_mut(l) else {
            return;
        };
        let Some(ls) = node.leader.as_mut() else {
            return;
        };
        let mut votes: Vec<i64> = ls
            .acked
            .iter()
            .filter(|(n, _)| **n == l || ls.followers.contains(n))
            .map(|(_, z)| *z)
            .collect();
        votes.sort_unstable_by(|a, b| b.cmp(a));
        let Some(&point) = votes.get(majority.saturating_sub(1)) else {
            return;
        };
        let followers: Vec<usize> = ls.followers.iter().copied().collect();
        let mut done = Vec::new();
        ls.syncs.retain(|(z, o)| {
            if *z <= point {
                done.push((*o, point));
                false
            } else {
                true
            }
        });
        if point > node.last_zxid() {
            node.apply_through(point, now);
            for f in &followers {
                self.send(l, *f, Msg::Commit { zxid: point });
            }
        }
        for (origin, zxid) in done {
            if origin.node == l {
                // A sync of the leader's own session resolves now, before a
                // later write of that session commits (ZooKeeper's leader
                // answers it in session order, right after the writes before it).
                if let Some(n) = self.nodes.get_mut(l) {
                    n.resolve_sync(origin, zxid, now);
                }
            } else {
                self.send(l, origin.node, Msg::SyncDone { origin, zxid });
            }
        }
    }

    /// The leader's periodic work: session expiry and container reaping.
    pub(crate) fn lead_tick(&mut self, l: usize) {
        let now = self.now_ms();
        let check_every = self.cfg.container_check_ms;
        let Some(ls) = self.nodes.get_mut(l).and_then(|n| n.leader.as_mut()) else {
            return;
        };
        let expired: Vec<i64> = ls
            .tracker
            .iter()
            .filter(|(_, t)| t.deadline_ms <= now)
            .map(|(id, _)| *id)
            .collect();
        for id in &expired {
            ls.tracker.remove(id);
        }
        let reap = if now.saturating_sub(ls.last_reap_ms) >= check_every {
            ls.last_reap_ms = now;
            ls.spec.reap_candidates(wall_ms())
        } else {
            Vec::new()
        };
        for session_id in expired {
            tracing::debug!(
                node = l,
                session = format_args!("{session_id:#x}"),
                "session expired"
            );
            self.propose(l, Txn::CloseSession { session_id }, None);
        }
        for txn in reap {
            self.propose(l, txn, None);
        }
    }

    /// Expires a session now, as if its timeout had passed.
    pub(crate) fn expire_now(&mut self, session_id: i64) -> bool {
        let Some(l) = self.leader else {
            return false;
        };
        let Some(ls) = self.nodes.get_mut(l).and_then(|n| n.leader.as_mut()) else {
            return false;
        };
        if ls.tracker.remove(&session_id).is_none() {
            return false;
        }
        self.propose(l, Txn::CloseSession { session_id }, None);
        self.settle();
        true
    }
}
