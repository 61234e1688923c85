//! Watch trigger rules of ZooKeeper 3.8.

use zk_proto::{
    Acl, AddWatchMode, CheckWatchesRequest, ErrorCode, Id, Perms, RemoveWatchesRequest, SetWatches2,
};
use zk_server_sim::tree::auth::digest_id;

use super::support::*;

const CREATED: i32 = 1;
const DELETED: i32 = 2;
const CHANGED: i32 = 3;
const CHILDREN: i32 = 4;

fn ev(t: i32, p: &str) -> (i32, String) {
    (t, p.to_owned())
}

#[test]
fn one_shot_data_exist_and_child_watches() {
    let mut s = Server::new();
    let w = s.connect();
    let c = s.connect();
    // exists on a missing node leaves an exist watch.
    assert_eq!(s.read(&w, &exists("/a", true)), Err(ErrorCode::NoNode));
    // getData on a missing node leaves nothing.
    assert_eq!(s.read(&w, &get_data("/b", true)), Err(ErrorCode::NoNode));
    s.read(&w, &get_children("/", true)).unwrap();
    s.write(&c, &create("/a", "", 0)).unwrap();
    assert_eq!(s.take(&w), vec![ev(CREATED, "/a"), ev(CHILDREN, "/")]);
    s.write(&c, &create("/b", "", 0)).unwrap();
    assert!(s.take(&w).is_empty(), "one-shot watches are gone");
    // A data and an exist watch on the same node are one entry: one event.
    s.read(&w, &get_data("/a", true)).unwrap();
    s.read(&w, &exists("/a", true)).unwrap();
    s.read(&w, &get_children("/a", true)).unwrap();
    s.write(&c, &set_data("/a", "x", -1)).unwrap();
    assert_eq!(s.take(&w), vec![ev(CHANGED, "/a")]);
    // Delete: data/child watches on the node get one NodeDeleted in total.
    s.read(&w, &get_data("/a", true)).unwrap();
    s.read(&w, &get_children("/", true)).unwrap();
    s.write(&c, &delete("/a", -1)).unwrap();
    assert_eq!(s.take(&w), vec![ev(DELETED, "/a"), ev(CHILDREN, "/")]);
    // setACL fires nothing.
    s.read(&w, &get_data("/b", true)).unwrap();
    s.write(&c, &set_acl("/b", Acl::open_unsafe(), -1)).unwrap();
    assert!(s.take(&w).is_empty());
    assert_eq!(s.watches.watch_count(), 1);
}

#[test]
fn persistent_and_recursive_watches() {
    let mut s = Server::new();
    let w = s.connect();
    let c = s.connect();
    s.watches.add_watch(w.conn, "/p", AddWatchMode::Persistent);
    s.watches
        .add_watch(w.conn, "/r", AddWatchMode::PersistentRecursive);
    s.write(&c, &create("/p", "", 0)).unwrap();
    s.write(&c, &create("/p/x", "", 0)).unwrap();
    s.write(&c, &set_data("/p", "1", -1)).unwrap();
    s.write(&c, &set_data("/p/x", "1", -1)).unwrap();
    assert_eq!(
        s.take(&w),
        vec![ev(CREATED, "/p"), ev(CHILDREN, "/p"), ev(CHANGED, "/p")],
        "persistent: the path itself, children changes included, not the subtree"
    );
    s.write(&c, &create("/r", "", 0)).unwrap();
    s.write(&c, &create("/r/x", "", 0)).unwrap();
    s.write(&c, &create("/r/x/y", "", 0)).unwrap();
    s.write(&c, &set_data("/r/x/y", "1", -1)).unwrap();
    s.write(&c, &delete("/r/x/y", -1)).unwrap();
    assert_eq!(
        s.take(&w),
        vec![
            ev(CREATED, "/r"),
            ev(CREATED, "/r/x"),
            ev(CREATED, "/r/x/y"),
            ev(CHANGED, "/r/x/y"),
            ev(DELETED, "/r/x/y"),
        ],
        "recursive: the subtree, never NodeChildrenChanged"
    );
    // A recursive watch and a one-shot watch below it: one event, then the one-shot is gone.
    s.read(&w, &exists("/r/x", true)).unwrap();
    s.write(&c, &set_data("/r/x", "2", -1)).unwrap();
    assert_eq!(s.take(&w), vec![ev(CHANGED, "/r/x")]);
    s.write(&c, &set_data("/r/x", "3", -1)).unwrap();
    assert_eq!(
        s.take(&w),
        vec![ev(CHANGED, "/r/x")],
        "the recursive one stays"
    );
}

#[test]
fn zookeeper_4466_last_registration_wins_in_3_8() {
    let mut s = Server::new();
    let w = s.connect();
    let c = s.connect();
    s.write(&c, &create("/n", "", 0)).unwrap();
    s.watches.add_watch(w.conn, "/n", AddWatchMode::Persistent);
    // A one-shot watch on the same path turns the persistent one into a one-shot.
    s.read(&w, &get_data("/n", true)).unwrap();
    s.write(&c, &set_data("/n", "1", -1)).unwrap();
    assert_eq!(s.take(&w), vec![ev(CHANGED, "/n")]);
    s.write(&c, &set_data("/n", "2", -1)).unwrap();
    assert!(
        s.take(&w).is_empty(),
        "the persistent data watch was lost (fixed in 3.9)"
    );
    // The child table kept its persistent mode.
    s.write(&c, &create("/n/k", "", 0)).unwrap();
    assert_eq!(s.take(&w), vec![ev(CHILDREN, "/n")]);
    // The other way round: persistent over one-shot absorbs it.
    s.read(&w, &get_data("/n", true)).unwrap();
    s.watches.add_watch(w.conn, "/n", AddWatchMode::Persistent);
    s.write(&c, &set_data("/n", "3", -1)).unwrap();
    s.write(&c, &set_data("/n", "4", -1)).unwrap();
    assert_eq!(s.take(&w), vec![ev(CHANGED, "/n"), ev(CHANGED, "/n")]);
}

#[test]
fn notifications_need_read_permission() {
    let mut s = Server::new();
    let w = s.connect();
    let mut owner = s.connect();
    s.add_digest(&mut owner, "o:p");
    s.read(&w, &exists("/secret", true)).unwrap_err();
    s.write(
        &owner,
        &create_acl("/secret", vec![Acl::new(Perms::ALL, digest_id("o:p"))]),
    )
    .unwrap();
    assert!(s.take(&w).is_empty(), "no READ on /secret: filtered");
    s.write(&owner, &create("/secret2", "", 0)).unwrap();
    assert!(
        s.take(&w).is_empty(),
        "and the exist watch was used up anyway"
    );
    s.watches.set_acl_filtering(false);
    s.read(&w, &exists("/s3", true)).unwrap_err();
    s.write(
        &owner,
        &create_acl("/s3", vec![Acl::new(Perms::ALL, digest_id("o:p"))]),
    )
    .unwrap();
    assert_eq!(
        s.take(&w),
        vec![ev(CREATED, "/s3")],
        "3.8.0–3.8.3 as released"
    );
    let _ = Id::anyone();
}

#[test]
fn set_watches_catch_up() {
    let mut s = Server::new();
    let w = s.connect();
    let c = s.connect();
    s.write(&c, &create("/same", "", 0)).unwrap();
    s.write(&c, &create("/changed", "", 0)).unwrap();
    s.write(&c, &create("/kids", "", 0)).unwrap();
    let rel = s.tree.last_zxid();
    s.write(&c, &set_data("/changed", "x", -1)).unwrap();
    s.write(&c, &create("/kids/k", "", 0)).unwrap();
    s.write(&c, &create("/appeared", "", 0)).unwrap();
    let events = s.watches.set_watches(
        w.conn,
        &s.tree,
        &SetWatches2 {
            relative_zxid: rel,
            data_watches: vec!["/same".into(), "/changed".into(), "/gone".into()],
            exist_watches: vec!["/appeared".into(), "/absent".into()],
            child_watches: vec!["/kids".into(), "/same".into(), "/gone".into()],
            persistent_watches: vec!["/pers".into()],
            persistent_recursive_watches: vec!["/rec".into()],
        },
    );
    let got: Vec<(i32, String)> = events.into_iter().map(|e| (e.event_type, e.path)).collect();
    assert_eq!(
        got,
        vec![
            ev(CHANGED, "/changed"),
            ev(DELETED, "/gone"),
            ev(CREATED, "/appeared"),
            ev(CHILDREN, "/kids"),
            ev(DELETED, "/gone"),
        ]
    );
    // The rest were re-armed.
    s.write(&c, &set_data("/same", "y", -1)).unwrap();
    s.write(&c, &create("/absent", "", 0)).unwrap();
    s.write(&c, &create("/same/k", "", 0)).unwrap();
    s.write(&c, &create("/pers", "", 0)).unwrap();
    s.write(&c, &create("/rec", "", 0)).unwrap();
    s.write(&c, &create("/rec/deep", "", 0)).unwrap();
    assert_eq!(
        s.take(&w),
        vec![
            ev(CHANGED, "/same"),
            ev(CREATED, "/absent"),
            ev(CHILDREN, "/same"),
            ev(CREATED, "/pers"),
            ev(CREATED, "/rec"),
            ev(CREATED, "/rec/deep"),
        ]
    );
}

#[test]
fn check_and_remove_watches() {
    let mut s = Server::new();
    let w = s.connect();
    let other = s.connect();
    let req = |path: &str, t: i32| RemoveWatchesRequest {
        path: path.into(),
        watcher_type: t,
    };
    assert_eq!(
        s.watches.check(w.conn, &req("/a", 3)),
        Err(ErrorCode::NoWatcher)
    );
    s.read(&w, &exists("/a", true)).unwrap_err();
    assert_eq!(s.watches.check(w.conn, &req("/a", 2)), Ok(()));
    assert_eq!(
        s.watches.check(w.conn, &req("/a", 1)),
        Err(ErrorCode::NoWatcher)
    );
    // 3.8 quirk: any connection's watch on the exact path satisfies checkWatches.
    let check: CheckWatchesRequest = req("/a", 2);
    assert_eq!(s.watches.check(other.conn, &check), Ok(()));
    // ... but removeWatches only removes the caller's own.
    assert_eq!(
        s.watches.remove(other.conn, &req("/a", 2)),
        Err(ErrorCode::NoWatcher)
    );
    assert_eq!(s.watches.remove(w.conn, &req("/a", 3)), Ok(()));
    assert_eq!(
        s.watches.remove(w.conn, &req("/a", 3)),
        Err(ErrorCode::NoWatcher)
    );
    // PathParentIterator throws on a path without '/'.
    assert_eq!(
        s.watches.check(w.conn, &req("a", 2)),
        Err(ErrorCode::MarshallingError)
    );
    // Watcher types 4 and 5 only exist from 3.9.
    assert_eq!(
        s.watches.check(w.conn, &req("/a", 4)),
        Err(ErrorCode::MarshallingError)
    );
    s.watches.add_watch(w.conn, "/z", AddWatchMode::Persistent);
    assert_eq!(s.watches.watch_count(), 2, "addWatch fills both tables");
    s.watches.remove_connection(w.conn);
    assert_eq!(s.watches.watch_count(), 0);
}
