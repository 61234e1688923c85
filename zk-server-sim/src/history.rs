//! A recorder of client-visible history and a checker for the guarantees a
//! ZooKeeper server gives its clients.
//!
//! Every node records, per connection, what its clients sent and what they
//! got back: requests, replies with their zxids, watch notifications with
//! the zxid of the change that fired them, and connections dropped on purpose.
//! [`check`] verifies, in one pass:
//!
//! 1. **Zxids never go back** within a session: reply zxids do not decrease
//!    (a reconnect restarts the baseline at the `lastZxidSeen` the client
//!    declared; the server refuses a client that is ahead of it).
//! 2. **Reads match a committed prefix**: a stat in a reply was produced by
//!    a committed transaction no newer than the reply's zxid.
//! 3. **A watch event arrives before the data it announces**: on each
//!    connection, every reply written before a notification for the change
//!    with zxid `z` carries a zxid below `z`.
//! 4. **Writes are linearizable**: a successful write that was invoked after
//!    another successful write returned has a larger zxid.

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

use zk_proto::{OpCode, Stat};

static SEQ: AtomicU64 = AtomicU64::new(0);

/// Each node stops recording after this many events, so a long benchmark
/// cannot exhaust memory; the checks stay sound on the recorded prefix.
pub const MAX_RECORDS_PER_NODE: usize = 1 << 20;

/// What happened on a connection.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// A ConnectRequest arrived.
    Connect {
        /// The session the client asked to resume (0 = new).
        session_id: i64,
        /// The client's `lastZxidSeen`.
        last_zxid_seen: i64,
    },
    /// The handshake succeeded.
    Connected {
        /// Negotiated timeout.
        timeout_ms: i32,
    },
    /// A request arrived.
    Request {
        /// Its xid.
        xid: i32,
        /// Its opcode.
        op: i32,
        /// Its path, if it has one.
        path: Option<String>,
    },
    /// A reply was written.
    Reply {
        /// Its xid.
        xid: i32,
        /// The zxid in its header.
        zxid: i64,
        /// The error code in its header.
        err: i32,
        /// The opcode, for replies to local requests.
        op: Option<i32>,
        /// The request's path, for replies to local requests.
        path: Option<String>,
        /// The stat in the reply body, if any.
        stat: Option<Stat>,
    },
    /// A watch notification was written.
    Notification {
        /// Event type code.
        event_type: i32,
        /// The path.
        path: String,
        /// The zxid of the change that fired it (`SetWatches` catch-up
        /// events carry the node's zxid at that moment).
        zxid: i64,
    },
    /// The connection was dropped instead of answering `xid` (a fault).
    Dropped {
        /// The unanswered xid.
        xid: i32,
    },
}

/// One recorded event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Global order of recording.
    pub seq: u64,
    /// The server (0-based).
    pub node: usize,
    /// The connection (unique in the process).
    pub conn: u64,
    /// The session, 0 before the handshake.
    pub session: i64,
    /// What happened.
    pub event: Event,
}

/// The per-node recorder.
#[derive(Debug, Default)]
pub(crate) struct History {
    pub(crate) enabled: bool,
    pub(crate) node: usize,
    pub(crate) records: Vec<Record>,
}

impl History {
    pub(crate) fn new(enabled: bool) -> Self {
        History {
            enabled,
            node: 0,
            records: Vec::new(),
        }
    }

    pub(crate) fn push(&mut self, conn: u64, session: i64, event: Event) {
        if self.enabled && self.records.len() < MAX_RECORDS_PER_NODE {
            self.records.push(Record {
                seq: SEQ.fetch_add(1, Ordering::Relaxed),
                node: self.node,
                conn,
                session,
                event,
            });
        }
    }
}

/// A guarantee the history breaks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// Which check failed.
    pub check: &'static str,
    /// What was seen.
    pub detail: String,
}

/// Every violation found by [`check`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryError {
    /// The violations, in history order.
    pub violations: Vec<Violation>,
}

impl fmt::Display for HistoryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{} history violation(s):", self.violations.len())?;
        for v in &self.violations {
            writeln!(f, "  [{}] {}", v.check, v.detail)?;
        }
        Ok(())
    }
}

impl std::error::Error for HistoryError {}

/// Whether opcode `op` is a replicated write (it gets a zxid of its own).
fn is_write(op: i32) -> bool {
    OpCode::try_from(op).is_ok_and(OpCode::is_write)
}

/// Checks `records` (any order; sorted by `seq` here) against the set of
/// committed zxids.
pub fn check(records: &[Record], committed: &BTreeSet<i64>) -> Result<(), HistoryError> {
    let mut sorted: Vec<&Record> = records.iter().collect();
    sorted.sort_by_key(|r| r.seq);
    let mut violations = Vec::new();
    let mut session_max: HashMap<i64, i64> = HashMap::new();
    let mut conn_max_reply: HashMap<u64, i64> = HashMap::new();
    let mut conn_session: HashMap<u64, i64> = HashMap::new();
    // Linearizable writes: the largest zxid of a write that has returned,
    // and, per in-flight write, that value when it was invoked.
    let mut returned_max = 0i64;
    let mut in_flight: HashMap<(u64, i32), i64> = HashMap::new();
    for r in sorted {
        match &r.event {
            Event::Request { xid, op, .. } if is_write(*op) => {
                in_flight.insert((r.conn, *xid), returned_max);
            }
            Event::Connect { last_zxid_seen, .. } => {
                conn_session.insert(r.conn, 0);
                if r.session != 0 {
                    session_max.insert(r.session, *last_zxid_seen);
                }
            }
            Event::Connected { .. } => {
                conn_session.insert(r.conn, r.session);
                session_max.entry(r.session).or_insert(0);
            }
            Event::Reply {
                xid,
                zxid,
                err,
                stat,
                path,
                ..
            } => {
                if *zxid == 0 && *xid == zk_proto::xid::AUTH {
                    continue;
                }
                if let Some(before) = in_flight.remove(&(r.conn, *xid)) {
                    if *err == 0 {
                        if *zxid <= before {
                            violations.push(Violation {
                                check: "linearizable-writes",
                                detail: format!(
                                    "node {} conn {}: write xid {xid} got zxid {zxid:#x} although a write with zxid {before:#x} had returned before it was sent",
                                    r.node, r.conn
                                ),
                            });
                        }
                        returned_max = returned_max.max(*zxid);
                    }
                }
                let max = conn_max_reply.entry(r.conn).or_insert(i64::MIN);
                *max = (*max).max(*zxid);
                if let Some(seen) = session_max.get_mut(&r.session) {
                    if *zxid < *seen {
                        violations.push(Violation {
                            check: "zxid-monotonic",
                            detail: format!(
                                "session {:#x} on node {}: reply xid {xid} has zxid {zxid:#x} after {:#x}",
                                r.session, r.node, *seen
                            ),
                        });
                    }
                    *seen = (*seen).max(*zxid);
                }
                if let (0, Some(stat)) = (*err, stat) {
                    for (what, z) in [("mzxid", stat.mzxid), ("czxid", stat.czxid)] {
                        if z > *zxid || (z != 0 && !committed.contains(&z)) {
                            violations.push(Violation {
                                check: "committed-prefix",
                                detail: format!(
                                    "node {} conn {}: reply xid {xid} ({}) at zxid {zxid:#x} shows {what} {z:#x}",
                                    r.node,
                                    r.conn,
                                    path.as_deref().unwrap_or("?")
                                ),
                            });
                        }
                    }
                }
            }
            Event::Notification { zxid, path, .. } => {
                if let Some(max) = conn_max_reply.get(&r.conn) {
                    if *max >= *zxid && *zxid > 0 {
                        violations.push(Violation {
                            check: "watch-before-data",
                            detail: format!(
                                "node {} conn {}: notification for {path} (zxid {zxid:#x}) after a reply at {max:#x}",
                                r.node, r.conn
                            ),
                        });
                    }
                }
            }
            Event::Request { .. } | Event::Dropped { .. } => {}
        }
    }
    if violations.is_empty() {
        Ok(())
    } else {
        Err(HistoryError { violations })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(seq: u64, conn: u64, session: i64, event: Event) -> Record {
        Record {
            seq,
            node: 0,
            conn,
            session,
            event,
        }
    }

    fn reply(xid: i32, zxid: i64) -> Event {
        Event::Reply {
            xid,
            zxid,
            err: 0,
            op: None,
            path: None,
            stat: None,
        }
    }

    fn request(xid: i32, op: i32) -> Event {
        Event::Request {
            xid,
            op,
            path: None,
        }
    }

    fn checks(records: &[Record]) -> Vec<&'static str> {
        match check(records, &BTreeSet::new()) {
            Ok(()) => Vec::new(),
            Err(e) => e.violations.iter().map(|v| v.check).collect(),
        }
    }

    #[test]
    fn a_clean_history_passes() {
        let h = [
            rec(0, 1, 7, Event::Connected { timeout_ms: 1 }),
            rec(1, 1, 7, request(1, 1)),
            rec(2, 1, 7, reply(1, 5)),
            rec(
                3,
                1,
                7,
                Event::Notification {
                    event_type: 3,
                    path: "/a".into(),
                    zxid: 6,
                },
            ),
            rec(4, 1, 7, reply(2, 6)),
        ];
        assert!(checks(&h).is_empty());
    }

    #[test]
    fn each_broken_guarantee_is_reported() {
        let going_back = [
            rec(0, 1, 7, Event::Connected { timeout_ms: 1 }),
            rec(1, 1, 7, reply(1, 5)),
            rec(2, 1, 7, reply(2, 4)),
        ];
        assert_eq!(checks(&going_back), ["zxid-monotonic"]);
        let late_event = [
            rec(0, 1, 7, reply(1, 6)),
            rec(
                1,
                1,
                7,
                Event::Notification {
                    event_type: 3,
                    path: "/a".into(),
                    zxid: 6,
                },
            ),
        ];
        assert_eq!(checks(&late_event), ["watch-before-data"]);
        let unlinearizable = [
            rec(0, 1, 7, request(1, 5)),
            rec(1, 1, 7, reply(1, 9)),
            rec(2, 2, 8, request(1, 5)),
            rec(3, 2, 8, reply(1, 8)),
        ];
        assert_eq!(checks(&unlinearizable), ["linearizable-writes"]);
        let uncommitted_read = [rec(
            0,
            1,
            7,
            Event::Reply {
                xid: 1,
                zxid: 9,
                err: 0,
                op: Some(4),
                path: Some("/a".into()),
                stat: Some(Stat {
                    czxid: 3,
                    mzxid: 3,
                    ..Stat::default()
                }),
            },
        )];
        assert_eq!(
            checks(&uncommitted_read),
            ["committed-prefix", "committed-prefix"]
        );
    }
}
