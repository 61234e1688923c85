//! Ephemerals, session close, getEphemerals, and container/TTL reaping.

use zk_proto::{EventType, GetEphemeralsRequest, Request, Response};
use zk_server_sim::tree::Txn;

use super::support::*;

const DELETED: i32 = 2;
const CHILDREN: i32 = 4;

#[test]
fn closing_a_session_deletes_its_ephemerals_with_events() {
    let mut s = Server::new();
    let a = s.connect();
    let b = s.connect();
    s.write(&a, &create("/p", "", 0)).unwrap();
    for name in ["/p/e1", "/p/e2", "/e3"] {
        s.write(&a, &create(name, "", 1)).unwrap();
    }
    s.write(&a, &create("/p/seq-", "", 3)).unwrap();
    s.write(&b, &create("/mine", "", 1)).unwrap();
    let order = s.tree.ephemerals(a.session);
    assert_eq!(order.len(), 4);
    // b watches everything a owns, and /p's children.
    for p in &order {
        s.read(&b, &exists(p, true)).unwrap();
    }
    s.read(&b, &get_children("/p", true)).unwrap();
    let r = s.close(&a);
    let z = s.tree.last_zxid();
    assert_eq!(r.response, Ok(Response::Empty));
    // Each node: NodeDeleted, then NodeChildrenChanged on its parent, in the
    // order ZooKeeper's CloseSessionTxn lists them.
    let expected: Vec<(String, EventType)> = order
        .iter()
        .flat_map(|p| {
            let parent = zk_proto::parent(p).unwrap().to_owned();
            [
                (p.clone(), EventType::NodeDeleted),
                (parent, EventType::NodeChildrenChanged),
            ]
        })
        .collect();
    let got: Vec<(String, EventType)> = r
        .events
        .iter()
        .map(|e| (e.path.clone(), e.event_type))
        .collect();
    assert_eq!(got, expected);
    // b: one NodeDeleted per exists watch, and the child watch once.
    let notes = s.take(&b);
    assert_eq!(notes.iter().filter(|(t, _)| *t == DELETED).count(), 4);
    assert_eq!(notes.iter().filter(|(t, _)| *t == CHILDREN).count(), 1);
    assert!(s.tree.ephemerals(a.session).is_empty());
    assert_eq!(s.stat("/p").pzxid, z);
    assert_eq!(s.stat("/p").num_children, 0);
    assert!(s.tree.stat("/mine").is_some(), "other sessions keep theirs");
    assert_eq!(s.tree.ephemerals_count(), 1);
}

#[test]
fn get_ephemerals_filters_by_string_prefix() {
    let mut s = Server::new();
    let a = s.connect();
    s.write(&a, &create("/app", "", 0)).unwrap();
    s.write(&a, &create("/app/x", "", 1)).unwrap();
    s.write(&a, &create("/apple", "", 1)).unwrap();
    s.write(&a, &create("/b", "", 1)).unwrap();
    let list = |s: &mut Server, prefix: &str| {
        let r = s.read(
            &a,
            &Request::GetEphemerals(GetEphemeralsRequest {
                prefix_path: prefix.into(),
            }),
        );
        let Ok(Response::GetEphemerals(e)) = r else {
            panic!("{r:?}")
        };
        let mut v = e.ephemerals;
        v.sort();
        v
    };
    assert_eq!(
        list(&mut s, "/app"),
        vec!["/app/x", "/apple"],
        "a plain string prefix"
    );
    assert_eq!(list(&mut s, "/").len(), 3);
    assert_eq!(list(&mut s, " ").len(), 3, "a blank prefix means all");
    let other = s.connect();
    let r = s.read(
        &other,
        &Request::GetEphemerals(GetEphemeralsRequest {
            prefix_path: "/".into(),
        }),
    );
    assert_eq!(r, Ok(Response::GetEphemerals(Default::default())));
}

#[test]
fn containers_are_reaped_once_used_and_empty() {
    let mut s = Server::new();
    let c = s.connect();
    s.write(&c, &container("/k")).unwrap();
    assert!(
        s.tree.reap_candidates(s.now + 1_000_000).is_empty(),
        "never used: kept"
    );
    assert_eq!(
        s.tree.reap_candidates_with(s.now + 1_000_000, 1000),
        vec![Txn::DeleteContainer { path: "/k".into() }]
    );
    s.write(&c, &create("/k/child", "", 0)).unwrap();
    assert!(s.tree.reap_candidates(s.now).is_empty(), "has a child");
    s.write(&c, &delete("/k/child", -1)).unwrap();
    let reap = s.tree.reap_candidates(s.now);
    assert_eq!(reap, vec![Txn::DeleteContainer { path: "/k".into() }]);
    s.read(&c, &exists("/k", true)).unwrap();
    let r = s.apply(&reap[0]);
    assert_eq!(r.response, Ok(Response::Empty));
    assert!(s.tree.stat("/k").is_none());
    assert_eq!(s.take(&c), vec![(DELETED, "/k".to_owned())]);
}

#[test]
fn ttl_nodes_expire_after_their_ttl_without_children() {
    let mut s = Server::new();
    let c = s.connect();
    s.write(&c, &ttl("/t", 5, 1000)).unwrap();
    let mtime = s.stat("/t").mtime;
    assert!(
        s.tree.reap_candidates(mtime + 1000).is_empty(),
        "needs now − mtime > ttl"
    );
    assert_eq!(s.tree.reap_candidates(mtime + 1001).len(), 1);
    s.write(&c, &create("/t/x", "", 0)).unwrap();
    assert!(
        s.tree.reap_candidates(mtime + 5000).is_empty(),
        "has a child"
    );
    s.write(&c, &delete("/t/x", -1)).unwrap();
    // setData moves mtime and so the deadline.
    s.write(&c, &set_data("/t", "x", -1)).unwrap();
    let mtime = s.stat("/t").mtime;
    assert!(s.tree.reap_candidates(mtime + 1000).is_empty());
    assert_eq!(
        s.tree.reap_candidates(mtime + 1001),
        vec![Txn::DeleteContainer { path: "/t".into() }]
    );
    // A deleteContainer request refuses a normal ephemeral.
    s.write(&c, &create("/eph", "", 1)).unwrap();
    let req = Request::DeleteContainer(zk_proto::DeleteContainerRequest {
        path: "/eph".into(),
    });
    assert_eq!(s.write(&c, &req), Err(zk_proto::ErrorCode::BadVersion));
}
