//! Stat fields after each kind of change, sequential names, zxids.

use zk_proto::{
    Acl, CheckVersionRequest, ErrorCode, MultiOp, MultiRequest, MultiResult, Request, Response,
    CONTAINER_EPHEMERAL_OWNER,
};
use zk_server_sim::tree::{DataTree, Txn};

use super::support::*;

#[test]
fn fresh_tree_is_a_fresh_3_8_server() {
    let t = DataTree::new();
    assert_eq!(t.node_count(), 5, "mntr counts the root twice");
    assert_eq!(t.last_zxid(), 0);
    let root = t.stat("/").unwrap();
    assert_eq!(
        (root.czxid, root.mzxid, root.pzxid, root.ctime),
        (0, 0, 0, 0)
    );
    assert_eq!(root.num_children, 1);
    // Client cversion is 2 × creations − children; /zookeeper was added without a create.
    assert_eq!(root.cversion, -1);
    assert_eq!(t.stat("/zookeeper").unwrap().cversion, -2);
    assert_eq!(t.stat("/zookeeper").unwrap().num_children, 2);
    let config = t.snapshot().remove("/zookeeper/config").unwrap();
    assert_eq!(config.stat.aversion, -1);
    assert_eq!(config.acl, Acl::read_unsafe());
    assert_eq!(t.children("/").unwrap(), vec!["zookeeper".to_owned()]);
    assert_eq!(
        t.children("/zookeeper").unwrap(),
        vec!["config".to_owned(), "quota".to_owned()],
        "Java HashSet order"
    );
    assert!(
        t.stat("").is_some(),
        "\"\" is the root's alias, as in ZooKeeper's map"
    );
}

#[test]
fn create_sets_every_field_and_touches_the_parent() {
    let mut s = Server::new();
    let c = s.connect();
    let r = s.write(&c, &create2("/a", "hello", 0));
    let zxid = s.tree.last_zxid();
    let st = stat_of(&r);
    assert_eq!((st.czxid, st.mzxid, st.pzxid), (zxid, zxid, zxid));
    assert_eq!(st.ctime, st.mtime);
    assert_eq!(st.ctime, s.now);
    assert_eq!((st.version, st.cversion, st.aversion), (0, 0, 0));
    assert_eq!(
        (st.ephemeral_owner, st.data_length, st.num_children),
        (0, 5, 0)
    );
    assert_eq!(s.stat("/a"), st);
    let root = s.stat("/");
    assert_eq!(root.pzxid, zxid);
    assert_eq!(root.num_children, 2);
    assert_eq!(root.cversion, 2 - 2, "one create, two children");
    // create (opcode 1) answers with the path only.
    assert_eq!(path_of(&s.write(&c, &create("/b", "", 0))), "/b");
}

#[test]
fn set_data_and_set_acl_fields() {
    let mut s = Server::new();
    let c = s.connect();
    s.write(&c, &create2("/a", "x", 0)).unwrap();
    let created = s.stat("/a");
    let r = s.write(&c, &set_data("/a", "four", 0));
    let z = s.tree.last_zxid();
    let st = stat_of(&r);
    assert_eq!(st.mzxid, z);
    assert_eq!(st.czxid, created.czxid);
    assert_eq!(st.pzxid, created.pzxid, "setData leaves pzxid");
    assert_eq!(st.mtime, s.now);
    assert_eq!(st.ctime, created.ctime);
    assert_eq!((st.version, st.data_length), (1, 4));
    let r = s.write(&c, &set_acl("/a", Acl::open_unsafe(), 0));
    let st2 = stat_of(&r);
    assert_eq!(st2.aversion, 1);
    assert_eq!((st2.mzxid, st2.mtime, st2.version), (st.mzxid, st.mtime, 1));
    assert_eq!(
        s.write(&c, &set_acl("/a", Acl::open_unsafe(), 0)),
        Err(ErrorCode::BadVersion)
    );
    assert_eq!(
        stat_of(&s.write(&c, &set_acl("/a", Acl::open_unsafe(), -1))).aversion,
        2
    );
}

#[test]
fn delete_moves_pzxid_but_not_the_creation_count() {
    let mut s = Server::new();
    let c = s.connect();
    s.write(&c, &create("/p", "", 0)).unwrap();
    s.write(&c, &create("/p/a", "", 0)).unwrap();
    s.write(&c, &create("/p/b", "", 0)).unwrap();
    s.write(&c, &delete("/p/a", -1)).unwrap();
    let z = s.tree.last_zxid();
    let p = s.stat("/p");
    assert_eq!(p.pzxid, z);
    assert_eq!(p.num_children, 1);
    // two creations, one child left: 2 × 2 − 1 = 3 changes.
    assert_eq!(p.cversion, 3);
    assert_eq!(p.mzxid, p.czxid);
}

#[test]
fn sequential_names_come_from_the_parent_creation_count() {
    let mut s = Server::new();
    let c = s.connect();
    assert_eq!(
        path_of(&s.write(&c, &create("/s-", "", 2))),
        "/s-0000000000"
    );
    s.write(&c, &create("/q", "", 0)).unwrap();
    assert_eq!(
        path_of(&s.write(&c, &create("/q/", "", 2))),
        "/q/0000000000"
    );
    s.write(&c, &create("/q/x", "", 0)).unwrap();
    assert_eq!(
        path_of(&s.write(&c, &create("/q/n-", "", 3))),
        "/q/n-0000000002"
    );
    s.write(&c, &delete("/q/x", -1)).unwrap();
    assert_eq!(
        path_of(&s.write(&c, &create("/q/n-", "", 2))),
        "/q/n-0000000003"
    );
    // A failed create does not count.
    assert_eq!(
        s.write(&c, &create("/q/x/y", "", 2)),
        Err(ErrorCode::NoNode)
    );
    assert_eq!(
        path_of(&s.write(&c, &create2("/q/n-", "", 2))),
        "/q/n-0000000004"
    );
    assert_eq!(
        s.write(&c, &create("/q/n-0000000004", "", 0)),
        Err(ErrorCode::NodeExists)
    );
}

#[test]
fn node_kinds_and_their_owners() {
    let mut s = Server::new();
    let c = s.connect();
    s.write(&c, &create("/e", "", 1)).unwrap();
    assert_eq!(s.stat("/e").ephemeral_owner, c.session);
    s.write(&c, &container("/k")).unwrap();
    assert_eq!(
        s.stat("/k").ephemeral_owner,
        0,
        "clients see 0 for containers"
    );
    assert_eq!(
        s.tree.ephemeral_owner("/k"),
        Some(CONTAINER_EPHEMERAL_OWNER)
    );
    s.write(&c, &ttl("/t", 5, 5000)).unwrap();
    assert_eq!(s.stat("/t").ephemeral_owner, 0);
    assert_eq!(
        s.tree.ephemeral_owner("/t"),
        Some(zk_proto::EphemeralKind::Ttl(5000).to_owner())
    );
    // Flags 4 with opcode 1 is a plain persistent node.
    s.write(&c, &create("/plain", "", 4)).unwrap();
    assert_eq!(s.tree.ephemeral_owner("/plain"), Some(0));
    // createContainer makes a container whatever its flags.
    s.write(
        &c,
        &Request::CreateContainer(zk_proto::CreateRequest {
            path: "/k2".into(),
            data: Default::default(),
            acl: Acl::open_unsafe(),
            flags: 0,
        }),
    )
    .unwrap();
    assert_eq!(
        s.tree.ephemeral_owner("/k2"),
        Some(CONTAINER_EPHEMERAL_OWNER)
    );
    assert_eq!(s.tree.ephemerals(c.session), vec!["/e".to_owned()]);
}

#[test]
fn every_write_takes_a_zxid_failed_ones_too() {
    let mut s = Server::new();
    let c = s.connect();
    let before = s.tree.last_zxid();
    assert_eq!(s.write(&c, &delete("/missing", -1)), Err(ErrorCode::NoNode));
    assert_eq!(s.tree.last_zxid(), before + 1);
    let txn = s
        .tree
        .prepare(&s.ctx(&c), &Request::Reconfig(Default::default()));
    assert_eq!(txn, Txn::Error(ErrorCode::ReconfigDisabled));
}

#[test]
fn a_multi_shares_one_zxid_and_sees_its_own_ops() {
    let mut s = Server::new();
    let c = s.connect();
    let m = Request::Multi(MultiRequest {
        ops: vec![
            MultiOp::Create(zk_proto::CreateRequest {
                path: "/m".into(),
                data: "a".into(),
                acl: Acl::open_unsafe(),
                flags: 0,
            }),
            MultiOp::SetData(zk_proto::SetDataRequest {
                path: "/m".into(),
                data: "bb".into(),
                version: 0,
            }),
            MultiOp::Check(CheckVersionRequest {
                path: "/m".into(),
                version: 1,
            }),
            MultiOp::Create2(zk_proto::CreateRequest {
                path: "/m/k".into(),
                data: "".into(),
                acl: Acl::open_unsafe(),
                flags: 4,
            }),
        ],
    });
    let Ok(Response::Multi(r)) = s.write(&c, &m) else {
        panic!("multi failed")
    };
    let z = s.tree.last_zxid();
    assert!(matches!(&r.results[0], MultiResult::Create(c) if c.path == "/m"));
    let MultiResult::SetData(sd) = &r.results[1] else {
        panic!("{:?}", r.results[1])
    };
    assert_eq!((sd.stat.czxid, sd.stat.mzxid, sd.stat.version), (z, z, 1));
    assert_eq!(r.results[2], MultiResult::Check);
    // In a multi, flags 4 makes a container (type from flags) with a Stat.
    assert!(matches!(&r.results[3], MultiResult::Create2(c) if c.path == "/m/k"));
    assert_eq!(
        s.tree.ephemeral_owner("/m/k"),
        Some(CONTAINER_EPHEMERAL_OWNER)
    );
    assert_eq!(s.stat("/m").pzxid, z);
}

#[test]
fn a_quorum_members_config_node() {
    let mut t = DataTree::new();
    let text = "server.1=127.0.0.1:1:2:participant;127.0.0.1:3\nversion=0";
    let events = t.set_config(text.into(), 0, 1_234);
    assert_eq!(events.len(), 1);
    let snap = t.snapshot().remove("/zookeeper/config").unwrap();
    // As a real 3-node 3.8 ensemble shows it.
    assert_eq!(&snap.data[..], text.as_bytes());
    assert_eq!(
        (snap.stat.czxid, snap.stat.mzxid, snap.stat.ctime),
        (0, 0, 0)
    );
    assert_eq!(
        (snap.stat.mtime, snap.stat.version, snap.stat.aversion),
        (1_234, -1, -1)
    );
    assert_eq!(snap.stat.data_length, text.len() as i32);
    assert_eq!(t.last_zxid(), 0, "not a txn");
}
