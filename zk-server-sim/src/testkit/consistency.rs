//! A consistency checker from the clients' side: record what each client
//! asked and what it got back, then check the history against ZooKeeper's
//! promises. It sees only what the clients saw (no server's records), so it
//! works the same against the simulator, a real ensemble or a container.
//!
//! Record with a [`Recorder`] (a cheap `Clone` handle, shareable between
//! tasks): [`invoke`](Recorder::invoke) before sending an operation, then
//! exactly one of [`ok`](Recorder::ok), [`failed`](Recorder::failed) (a
//! definite error: the operation did not happen) or
//! [`unknown`](Recorder::unknown) (connection loss, timeout: it may or may not
//! have happened) when it resolves; [`event`](Recorder::event) when a watch
//! event is delivered. Recording order is the real-time order the checker
//! uses, so record a response or an event when the client delivers it. Give
//! each session its own label (a new session after an expiry gets a new one).
//!
//! [`check`] verifies:
//!
//! 1. **Writes are linearizable**: successful writes have distinct zxids, and
//!    the zxid order is a total order consistent with real time (a write that
//!    completed before another was invoked has the smaller zxid).
//! 2. **Per-session FIFO and monotonic zxids**: a session's successful writes
//!    get increasing zxids in the order it issued them; the reply-header
//!    zxids it sees never decrease.
//! 3. **Reads never go back in time** and **see the session's own writes**: a
//!    read reflects at least everything the session had already seen (zxids
//!    of earlier replies, stats it read, its own earlier writes).
//! 4. **sync, then read**: after a successful sync, the session's reads
//!    reflect every write that completed before the sync was invoked.
//! 5. **Watch events come before the data they announce, in zxid order**: an
//!    event with zxid `z` arrives after no reply that already reflected `z`,
//!    and a session's events have non-decreasing zxids.
//!
//! Reads are checked against writes whose zxid the history knows (from a
//! reply's stat or header); writes with an unknown outcome never make a read
//! wrong. Reads in ZooKeeper may be stale across sessions: nothing here asks
//! a read to see another session's write, except after a sync.
//!
//! ```
//! use zk_proto::Stat;
//! use zk_server_sim::testkit::consistency::{check, Observed, Op, Promise, Recorder};
//!
//! let rec = Recorder::new();
//! let version = |mzxid| Observed::stat(Stat { mzxid, ..Stat::default() });
//! let c = rec.invoke(2, Op::create("/a"));
//! rec.ok(c, version(5));
//! let w = rec.invoke(1, Op::set_data("/a"));
//! rec.ok(w, version(7));
//! assert!(check(&rec.history()).is_ok());
//!
//! // Session 1 then reads the version before its own write.
//! let r = rec.invoke(1, Op::read("/a"));
//! rec.ok(r, version(5));
//! let violations = check(&rec.history()).unwrap_err();
//! assert_eq!(violations[0].promise, Promise::ReadWentBack);
//! ```

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::{Arc, Mutex};

use zk_proto::{ErrorCode, EventType, Stat};

/// A session's label, chosen by the recording test.
pub type SessionLabel = u64;

/// What an operation does, as far as the checker cares.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Op {
    /// Creates `path`.
    Create(String),
    /// Deletes `path`.
    Delete(String),
    /// Sets the data of `path`.
    SetData(String),
    /// An atomic transaction writing these paths.
    Multi(Vec<String>),
    /// Reads `path` (getData, exists, getChildren2: anything with a Stat).
    Read(String),
    /// sync(`path`).
    Sync(String),
}

impl Op {
    /// [`Op::Create`].
    pub fn create(path: &str) -> Op {
        Op::Create(path.to_owned())
    }
    /// [`Op::Delete`].
    pub fn delete(path: &str) -> Op {
        Op::Delete(path.to_owned())
    }
    /// [`Op::SetData`].
    pub fn set_data(path: &str) -> Op {
        Op::SetData(path.to_owned())
    }
    /// [`Op::Read`].
    pub fn read(path: &str) -> Op {
        Op::Read(path.to_owned())
    }
    /// [`Op::Sync`].
    pub fn sync(path: &str) -> Op {
        Op::Sync(path.to_owned())
    }

    fn is_write(&self) -> bool {
        matches!(
            self,
            Op::Create(_) | Op::Delete(_) | Op::SetData(_) | Op::Multi(_)
        )
    }

    fn paths(&self) -> Vec<&str> {
        match self {
            Op::Create(p) | Op::Delete(p) | Op::SetData(p) | Op::Read(p) | Op::Sync(p) => {
                vec![p.as_str()]
            }
            Op::Multi(ps) => ps.iter().map(String::as_str).collect(),
        }
    }
}

/// What a successful reply showed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Observed {
    /// The reply header's zxid, when the client exposes it (the server's
    /// last zxid when it answered; for a write, the write's own zxid).
    pub zxid: Option<i64>,
    /// The Stat in the reply (a read's node; create2/setData's new node).
    pub stat: Option<Stat>,
}

impl Observed {
    /// Only a header zxid.
    pub fn zxid(zxid: i64) -> Observed {
        Observed {
            zxid: Some(zxid),
            stat: None,
        }
    }
    /// Only a Stat.
    pub fn stat(stat: Stat) -> Observed {
        Observed {
            zxid: None,
            stat: Some(stat),
        }
    }
    /// Both.
    pub fn both(zxid: i64, stat: Stat) -> Observed {
        Observed {
            zxid: Some(zxid),
            stat: Some(stat),
        }
    }
}

/// How an operation ended.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outcome {
    /// Not answered yet (the history was taken before it resolved).
    Pending,
    /// It happened; this is what the reply showed.
    Ok(Observed),
    /// It definitely did not happen (or, for a read, found this error:
    /// `NoNode` is an observation that the node was absent). The header zxid
    /// when known.
    Failed(ErrorCode, Option<i64>),
    /// It may or may not have happened.
    Unknown,
}

/// One recorded operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operation {
    /// The session that issued it.
    pub session: SessionLabel,
    /// What it did.
    pub op: Op,
    /// Position of the invocation in the recording order.
    pub invoked: u64,
    /// Position of the response in the recording order (`None`: pending).
    pub completed: Option<u64>,
    /// How it ended.
    pub outcome: Outcome,
}

/// One delivered watch event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchEvent {
    /// The session it was delivered to.
    pub session: SessionLabel,
    /// The node's path.
    pub path: String,
    /// What happened.
    pub event_type: EventType,
    /// The zxid of the change that fired it, when the client exposes it.
    pub zxid: Option<i64>,
    /// Position in the recording order.
    pub at: u64,
}

/// A recorded history: operations and events (see [`Recorder::history`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct History {
    /// Every operation, in invocation order.
    pub ops: Vec<Operation>,
    /// Every event, in delivery order.
    pub events: Vec<WatchEvent>,
}

/// Identifies an invoked operation, to record its outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct OpId(usize);

#[derive(Debug, Default)]
struct Inner {
    clock: u64,
    history: History,
}

impl Inner {
    fn tick(&mut self) -> u64 {
        self.clock += 1;
        self.clock
    }
}

/// Records a history; cheap to clone, every clone records into the same one.
#[derive(Debug, Clone, Default)]
pub struct Recorder {
    inner: Arc<Mutex<Inner>>,
}

impl Recorder {
    /// An empty history.
    pub fn new() -> Recorder {
        Recorder::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Records that `session` is about to send `op`.
    pub fn invoke(&self, session: SessionLabel, op: Op) -> OpId {
        let mut g = self.lock();
        let invoked = g.tick();
        let id = OpId(g.history.ops.len());
        g.history.ops.push(Operation {
            session,
            op,
            invoked,
            completed: None,
            outcome: Outcome::Pending,
        });
        id
    }

    fn complete(&self, id: OpId, outcome: Outcome) {
        let mut g = self.lock();
        let at = g.tick();
        if let Some(o) = g.history.ops.get_mut(id.0) {
            if o.completed.is_none() {
                o.completed = Some(at);
                o.outcome = outcome;
            }
        }
    }

    /// The operation succeeded with this reply. Only the first outcome
    /// recorded for an operation counts.
    pub fn ok(&self, id: OpId, observed: Observed) {
        self.complete(id, Outcome::Ok(observed));
    }

    /// The operation failed with `code` (header zxid `zxid` when known).
    pub fn failed(&self, id: OpId, code: ErrorCode, zxid: Option<i64>) {
        self.complete(id, Outcome::Failed(code, zxid));
    }

    /// The operation's outcome is unknown.
    pub fn unknown(&self, id: OpId) {
        self.complete(id, Outcome::Unknown);
    }

    /// A watch event was delivered to `session`.
    pub fn event(
        &self,
        session: SessionLabel,
        path: &str,
        event_type: EventType,
        zxid: Option<i64>,
    ) {
        let mut g = self.lock();
        let at = g.tick();
        g.history.events.push(WatchEvent {
            session,
            path: path.to_owned(),
            event_type,
            zxid,
            at,
        });
    }

    /// A copy of what was recorded so far.
    pub fn history(&self) -> History {
        self.lock().history.clone()
    }
}

/// Which promise a [`Violation`] breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Promise {
    /// Two successful writes have the same zxid.
    UniqueWriteZxid,
    /// A write completed before another was invoked but has the larger zxid.
    LinearizableWrites,
    /// A session's later write has a smaller zxid than its earlier one.
    SessionFifo,
    /// A reply header zxid smaller than one the session saw before.
    MonotonicZxid,
    /// A read reflects less than the session had already seen (its own
    /// writes included).
    ReadWentBack,
    /// A read after a sync misses a write completed before the sync.
    SyncThenRead,
    /// A reply reflected a change before its watch event arrived.
    EventAfterData,
    /// A session's watch events out of zxid order.
    EventOrder,
}

/// A broken promise, with the operations involved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// Which promise.
    pub promise: Promise,
    /// What happened, for a human.
    pub detail: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}: {}", self.promise, self.detail)
    }
}

/// A known-zxid successful write.
#[derive(Debug, Clone)]
struct Write<'a> {
    zxid: i64,
    op: &'a Operation,
}

/// The write's own zxid: a create2/setData stat's mzxid, else the header.
fn write_zxid(o: &Operation) -> Option<i64> {
    let Outcome::Ok(obs) = &o.outcome else {
        return None;
    };
    match (&o.op, &obs.stat) {
        (Op::Create(_) | Op::SetData(_), Some(s)) => Some(s.mzxid),
        _ => obs.zxid,
    }
}

/// The largest zxid an operation's reply shows the server had.
fn seen_zxid(o: &Operation) -> Option<i64> {
    match &o.outcome {
        Outcome::Ok(obs) => {
            let stat = obs.stat.as_ref().map(|s| s.mzxid.max(s.czxid).max(s.pzxid));
            match (obs.zxid, stat, o.op.is_write()) {
                (Some(z), Some(s), _) => Some(z.max(s)),
                (Some(z), None, _) => Some(z),
                (None, Some(s), _) => Some(s),
                (None, None, true) => write_zxid(o),
                (None, None, false) => None,
            }
        }
        Outcome::Failed(_, z) => *z,
        Outcome::Pending | Outcome::Unknown => None,
    }
}

/// Checks `history` against every promise; all violations found, or `Ok`.
pub fn check(history: &History) -> Result<(), Vec<Violation>> {
    let mut out = Vec::new();
    let writes: Vec<Write<'_>> = history
        .ops
        .iter()
        .filter(|o| o.op.is_write())
        .filter_map(|o| write_zxid(o).map(|zxid| Write { zxid, op: o }))
        .collect();
    check_writes(&writes, &mut out);
    check_sessions(history, &writes, &mut out);
    check_events(history, &mut out);
    if out.is_empty() {
        Ok(())
    } else {
        Err(out)
    }
}

fn check_writes(writes: &[Write<'_>], out: &mut Vec<Violation>) {
    let mut by_zxid: HashMap<i64, &Operation> = HashMap::new();
    for w in writes {
        if let Some(prev) = by_zxid.insert(w.zxid, w.op) {
            out.push(Violation {
                promise: Promise::UniqueWriteZxid,
                detail: format!("zxid {:#x} for {:?} and {:?}", w.zxid, prev.op, w.op.op),
            });
        }
    }
    // Real-time order: sweep invocations; the largest zxid among writes
    // completed before each invocation must be smaller than its zxid.
    let mut done: Vec<&Write<'_>> = writes.iter().collect();
    done.sort_by_key(|w| w.op.completed.unwrap_or(u64::MAX));
    let mut started: Vec<&Write<'_>> = writes.iter().collect();
    started.sort_by_key(|w| w.op.invoked);
    let mut best: Option<&Write<'_>> = None;
    let mut i = 0;
    for w in started {
        while let Some(d) = done.get(i) {
            if d.op.completed.is_some_and(|c| c < w.op.invoked) {
                if best.is_none_or(|b| d.zxid > b.zxid) {
                    best = Some(d);
                }
                i += 1;
            } else {
                break;
            }
        }
        if let Some(b) = best {
            if b.zxid >= w.zxid {
                out.push(Violation {
                    promise: Promise::LinearizableWrites,
                    detail: format!(
                        "{:?} (zxid {:#x}) completed before {:?} (zxid {:#x}) was invoked",
                        b.op.op, b.zxid, w.op.op, w.zxid
                    ),
                });
            }
        }
    }
}

/// Per path, the known-zxid writes, sorted by zxid.
fn writes_by_path<'a>(writes: &'a [Write<'a>]) -> HashMap<&'a str, BTreeMap<i64, &'a Op>> {
    let mut m: HashMap<&str, BTreeMap<i64, &Op>> = HashMap::new();
    for w in writes {
        for p in w.op.op.paths() {
            m.entry(p).or_default().insert(w.zxid, &w.op.op);
        }
    }
    m
}

fn check_sessions(history: &History, writes: &[Write<'_>], out: &mut Vec<Violation>) {
    let by_path = writes_by_path(writes);
    // Paths some write with no known zxid (unknown outcome, or a reply
    // without one) may have touched: a read of them may see that write.
    let mut murky: HashMap<&str, ()> = HashMap::new();
    for o in history.ops.iter().filter(|o| o.op.is_write()) {
        let known = write_zxid(o).is_some();
        let failed = matches!(o.outcome, Outcome::Failed(..));
        if !known && !failed {
            for p in o.op.paths() {
                murky.insert(p, ());
            }
        }
    }
    let mut sessions: BTreeMap<SessionLabel, Vec<&Operation>> = BTreeMap::new();
    for o in &history.ops {
        sessions.entry(o.session).or_default().push(o);
    }
    for (label, mut ops) in sessions {
        ops.sort_by_key(|o| o.invoked);
        let mut floor: i64 = 0;
        let mut floor_why = String::from("the session start");
        let mut last_header: Option<(i64, &Operation)> = None;
        let mut last_write: Option<(i64, &Operation)> = None;
        for o in ops {
            // Reads are checked against what the session had seen before.
            if let Op::Read(path) = &o.op {
                check_read(o, path, floor, &floor_why, &by_path, &murky, out);
            }
            if let Some(z) = o.op.is_write().then(|| write_zxid(o)).flatten() {
                if let Some((prev, p)) = last_write {
                    if z <= prev {
                        out.push(Violation {
                            promise: Promise::SessionFifo,
                            detail: format!(
                                "session {label}: {:?} got zxid {z:#x} after its earlier {:?} got {prev:#x}",
                                o.op, p.op
                            ),
                        });
                    }
                }
                last_write = Some((z, o));
            }
            let header = match &o.outcome {
                Outcome::Ok(obs) => obs.zxid,
                Outcome::Failed(_, z) => *z,
                _ => None,
            };
            if let Some(h) = header {
                if let Some((prev, p)) = last_header {
                    if h < prev {
                        out.push(Violation {
                            promise: Promise::MonotonicZxid,
                            detail: format!(
                                "session {label}: reply to {:?} has zxid {h:#x}, after {:?} had {prev:#x}",
                                o.op, p.op
                            ),
                        });
                    }
                }
                last_header = Some((h, o));
            }
            if let Some(z) = seen_zxid(o) {
                if z > floor {
                    floor = z;
                    floor_why = format!("{:?} (zxid {z:#x})", o.op);
                }
            }
            if let (Op::Sync(_), Outcome::Ok(_)) = (&o.op, &o.outcome) {
                // Every write completed before the sync was invoked.
                if let Some(w) = writes
                    .iter()
                    .filter(|w| w.op.completed.is_some_and(|c| c < o.invoked))
                    .max_by_key(|w| w.zxid)
                {
                    if w.zxid > floor {
                        floor = w.zxid;
                        floor_why =
                            format!("a sync after {:?} (zxid {:#x}) completed", w.op.op, w.zxid);
                    }
                }
            }
        }
    }
}

fn check_read(
    o: &Operation,
    path: &str,
    floor: i64,
    floor_why: &str,
    by_path: &HashMap<&str, BTreeMap<i64, &Op>>,
    murky: &HashMap<&str, ()>,
    out: &mut Vec<Violation>,
) {
    let promise = if floor_why.starts_with("a sync") {
        Promise::SyncThenRead
    } else {
        Promise::ReadWentBack
    };
    let empty = BTreeMap::new();
    let known = by_path.get(path).unwrap_or(&empty);
    match &o.outcome {
        Outcome::Ok(Observed {
            stat: Some(stat), ..
        }) => {
            // No known write to this path lies between the version read and
            // what the session had seen.
            let newer = (stat.mzxid < floor)
                .then(|| known.range(stat.mzxid.saturating_add(1)..=floor).next())
                .flatten();
            if let Some((z, w)) = newer {
                out.push(Violation {
                    promise,
                    detail: format!(
                        "read of {path} saw mzxid {:#x}, but {w:?} (zxid {z:#x}) precedes {floor_why}",
                        stat.mzxid
                    ),
                });
            }
        }
        Outcome::Failed(ErrorCode::NoNode, _) => {
            if murky.contains_key(path) {
                return;
            }
            // Absent is explainable if the latest known write up to the
            // floor is a delete (or could be), or a delete comes later.
            let latest = known.range(..=floor).next_back();
            let later_delete = known
                .range(floor.saturating_add(1)..)
                .any(|(_, w)| matches!(w, Op::Delete(_) | Op::Multi(_)));
            if let Some((z, w @ (Op::Create(_) | Op::SetData(_)))) = latest {
                if !later_delete {
                    out.push(Violation {
                        promise,
                        detail: format!(
                            "read of {path} found no node, but {w:?} (zxid {z:#x}) precedes {floor_why} and nothing deletes it"
                        ),
                    });
                }
            }
        }
        _ => {}
    }
}

fn check_events(history: &History, out: &mut Vec<Violation>) {
    let mut sessions: BTreeMap<SessionLabel, Vec<&WatchEvent>> = BTreeMap::new();
    for e in &history.events {
        sessions.entry(e.session).or_default().push(e);
    }
    for (label, mut events) in sessions {
        events.sort_by_key(|e| e.at);
        let mut last: Option<(i64, &WatchEvent)> = None;
        for e in &events {
            let Some(z) = e.zxid else { continue };
            if let Some((prev, p)) = last {
                if z < prev {
                    out.push(Violation {
                        promise: Promise::EventOrder,
                        detail: format!(
                            "session {label}: {:?} on {} (zxid {z:#x}) after {:?} on {} (zxid {prev:#x})",
                            e.event_type, e.path, p.event_type, p.path
                        ),
                    });
                }
            }
            last = Some((z, e));
            // No reply delivered before the event may reflect its change.
            for o in history.ops.iter().filter(|o| o.session == label) {
                let Some(done) = o.completed else { continue };
                if done > e.at {
                    continue;
                }
                let header = match &o.outcome {
                    Outcome::Ok(obs) => obs.zxid,
                    Outcome::Failed(_, h) => *h,
                    _ => None,
                };
                let read_new = match (&o.op, &o.outcome) {
                    (Op::Read(p), Outcome::Ok(obs)) if *p == e.path => {
                        obs.stat.as_ref().is_some_and(|s| s.mzxid >= z)
                    }
                    _ => false,
                };
                // A write's own reply may carry the zxid of the change
                // (the session made it), which is no announcement.
                let own_write = o.op.is_write() && write_zxid(o) == Some(z);
                if !own_write && (read_new || header.is_some_and(|h| h >= z)) {
                    out.push(Violation {
                        promise: Promise::EventAfterData,
                        detail: format!(
                            "session {label}: {:?} on {} (zxid {z:#x}) arrived after the reply to {:?} reflected it",
                            e.event_type, e.path, o.op
                        ),
                    });
                }
            }
        }
    }
}

#[cfg(test)]
#[path = "consistency_tests.rs"]
mod tests;
