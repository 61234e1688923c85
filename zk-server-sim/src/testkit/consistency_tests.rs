//! The checker against hand-built histories: each violating one is flagged
//! with the promise it breaks; legal ones (stale reads across sessions,
//! unknown outcomes, pipelined writes) pass.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;

fn st(mzxid: i64) -> Stat {
    Stat {
        czxid: mzxid,
        mzxid,
        ..Stat::default()
    }
}

/// Invoke and complete at once.
fn done(r: &Recorder, session: SessionLabel, op: Op, obs: Observed) -> OpId {
    let id = r.invoke(session, op);
    r.ok(id, obs);
    id
}

fn promises(r: &Recorder) -> Vec<Promise> {
    match check(&r.history()) {
        Ok(()) => Vec::new(),
        Err(v) => v.into_iter().map(|v| v.promise).collect(),
    }
}

fn flags(r: &Recorder, p: Promise) {
    let got = promises(r);
    assert!(got.contains(&p), "expected {p:?}, got {got:?}");
}

#[test]
fn a_legal_history_passes() {
    let r = Recorder::new();
    done(&r, 1, Op::create("/a"), Observed::both(2, st(2)));
    // Pipelined: two writes in flight at once, answered in order.
    let w1 = r.invoke(1, Op::set_data("/a"));
    let w2 = r.invoke(2, Op::set_data("/a"));
    r.ok(w2, Observed::both(3, st(3)));
    r.ok(w1, Observed::both(4, st(4)));
    // Another session may read a stale version (no sync): allowed.
    done(&r, 3, Op::read("/a"), Observed::both(2, st(2)));
    // A write with an unknown outcome; a read may or may not see it.
    let lost = r.invoke(2, Op::delete("/a"));
    r.unknown(lost);
    let nn = r.invoke(3, Op::read("/a"));
    r.failed(nn, ErrorCode::NoNode, Some(5));
    // A failed write has no zxid and orders nothing.
    let f = r.invoke(1, Op::create("/a"));
    r.failed(f, ErrorCode::NodeExists, Some(5));
    // sync then read sees everything before the sync.
    done(&r, 4, Op::sync("/"), Observed::zxid(5));
    r.event(4, "/b", EventType::NodeCreated, Some(6));
    done(&r, 4, Op::read("/b"), Observed::both(6, st(6)));
    assert_eq!(check(&r.history()), Ok(()));
}

#[test]
fn two_writes_with_one_zxid_are_flagged() {
    let r = Recorder::new();
    done(&r, 1, Op::create("/a"), Observed::zxid(5));
    done(&r, 2, Op::create("/b"), Observed::zxid(5));
    flags(&r, Promise::UniqueWriteZxid);
}

#[test]
fn a_write_ordered_before_one_that_finished_first_is_flagged() {
    let r = Recorder::new();
    done(&r, 1, Op::set_data("/a"), Observed::stat(st(9)));
    // Invoked after the first returned, yet ordered before it.
    done(&r, 2, Op::set_data("/b"), Observed::stat(st(7)));
    flags(&r, Promise::LinearizableWrites);
}

#[test]
fn a_session_whose_later_write_gets_a_smaller_zxid_is_flagged() {
    let r = Recorder::new();
    let a = r.invoke(1, Op::create("/a"));
    let b = r.invoke(1, Op::create("/b"));
    r.ok(a, Observed::zxid(8));
    r.ok(b, Observed::zxid(6));
    flags(&r, Promise::SessionFifo);
}

#[test]
fn a_reply_zxid_going_back_is_flagged() {
    let r = Recorder::new();
    done(&r, 1, Op::sync("/"), Observed::zxid(10));
    done(&r, 1, Op::sync("/"), Observed::zxid(4));
    flags(&r, Promise::MonotonicZxid);
}

#[test]
fn a_read_older_than_an_earlier_read_is_flagged() {
    let r = Recorder::new();
    done(&r, 9, Op::create("/a"), Observed::stat(st(3)));
    done(&r, 9, Op::set_data("/a"), Observed::stat(st(5)));
    done(&r, 1, Op::read("/a"), Observed::stat(st(5)));
    // The same session then sees the version before.
    done(&r, 1, Op::read("/a"), Observed::stat(st(3)));
    flags(&r, Promise::ReadWentBack);
}

#[test]
fn a_read_that_misses_the_sessions_own_write_is_flagged() {
    let r = Recorder::new();
    done(&r, 9, Op::create("/a"), Observed::stat(st(3)));
    done(&r, 1, Op::set_data("/a"), Observed::stat(st(6)));
    done(&r, 1, Op::read("/a"), Observed::stat(st(3)));
    flags(&r, Promise::ReadWentBack);
}

#[test]
fn a_node_the_session_created_then_found_missing_is_flagged() {
    let r = Recorder::new();
    done(&r, 1, Op::create("/a"), Observed::stat(st(4)));
    let id = r.invoke(1, Op::read("/a"));
    r.failed(id, ErrorCode::NoNode, None);
    flags(&r, Promise::ReadWentBack);
}

#[test]
fn a_read_after_sync_that_misses_a_completed_write_is_flagged() {
    let r = Recorder::new();
    done(&r, 1, Op::create("/a"), Observed::stat(st(3)));
    done(&r, 1, Op::set_data("/a"), Observed::stat(st(7)));
    // Session 2 syncs after the write completed, then reads the old value.
    done(&r, 2, Op::sync("/a"), Observed::default());
    done(&r, 2, Op::read("/a"), Observed::stat(st(3)));
    flags(&r, Promise::SyncThenRead);
    // Without the sync the stale read is legal.
    let r = Recorder::new();
    done(&r, 1, Op::create("/a"), Observed::stat(st(3)));
    done(&r, 1, Op::set_data("/a"), Observed::stat(st(7)));
    done(&r, 2, Op::read("/a"), Observed::stat(st(3)));
    assert_eq!(check(&r.history()), Ok(()));
}

#[test]
fn data_seen_before_its_watch_event_is_flagged() {
    let r = Recorder::new();
    done(&r, 9, Op::create("/a"), Observed::stat(st(3)));
    done(&r, 9, Op::set_data("/a"), Observed::stat(st(8)));
    // Session 1 had a data watch on /a, but read the new data first.
    done(&r, 1, Op::read("/a"), Observed::stat(st(8)));
    r.event(1, "/a", EventType::NodeDataChanged, Some(8));
    flags(&r, Promise::EventAfterData);
}

#[test]
fn a_reply_header_past_an_undelivered_event_is_flagged() {
    let r = Recorder::new();
    done(&r, 1, Op::sync("/"), Observed::zxid(12));
    r.event(1, "/a", EventType::NodeDeleted, Some(11));
    flags(&r, Promise::EventAfterData);
}

#[test]
fn events_out_of_zxid_order_are_flagged() {
    let r = Recorder::new();
    r.event(1, "/a", EventType::NodeDataChanged, Some(9));
    r.event(1, "/b", EventType::NodeDataChanged, Some(7));
    flags(&r, Promise::EventOrder);
}

#[test]
fn only_the_first_outcome_counts_and_pending_ops_order_nothing() {
    let r = Recorder::new();
    let a = r.invoke(1, Op::create("/a"));
    r.ok(a, Observed::zxid(3));
    r.failed(a, ErrorCode::NodeExists, None);
    let _pending = r.invoke(2, Op::create("/b"));
    let h = r.history();
    assert!(matches!(h.ops[0].outcome, Outcome::Ok(_)));
    assert_eq!(h.ops[1].outcome, Outcome::Pending);
    assert_eq!(check(&h), Ok(()));
}
