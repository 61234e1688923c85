//! Which error wins when several apply: ZooKeeper's order of checks.

use bytes::Bytes;
use zk_proto::{
    Acl, CreateRequest, DeleteRequest, ErrorCode, GetChildrenRequest, GetDataRequest, Id, MultiOp,
    MultiRequest, MultiResult, Perms, Request, Response, SetDataRequest,
};
use zk_server_sim::tree::auth::digest_id;
use zk_server_sim::tree::Txn;

use super::support::*;

fn owner_only() -> Vec<Acl> {
    vec![Acl::new(Perms::ALL, digest_id("owner:pw"))]
}

fn create_with(path: &str, acl: Vec<Acl>, flags: i32) -> Request {
    Request::Create(CreateRequest {
        path: path.into(),
        data: Bytes::new().into(),
        acl,
        flags,
    })
}

#[test]
fn create_check_order() {
    let mut s = Server::new();
    let c = s.connect();
    // Bad flags come first, even with a missing parent.
    assert_eq!(
        s.write(&c, &create("/nope/x", "", 7)),
        Err(ErrorCode::BadArguments)
    );
    // TTL disabled beats a bad ttl.
    s.extended_types = false;
    assert_eq!(s.write(&c, &ttl("/t", 5, 0)), Err(ErrorCode::Unimplemented));
    s.extended_types = true;
    assert_eq!(s.write(&c, &ttl("/t", 5, 0)), Err(ErrorCode::BadArguments));
    assert_eq!(
        s.write(&c, &ttl("/t", 5, zk_proto::MAX_TTL_MS + 1)),
        Err(ErrorCode::BadArguments)
    );
    assert_eq!(
        s.write(&c, &ttl("/t", 0, 100)),
        Err(ErrorCode::BadArguments),
        "ttl with a non-TTL mode"
    );
    assert_eq!(
        s.write(&c, &create("/t", "", 5)),
        Err(ErrorCode::BadArguments),
        "TTL flags need opcode 21"
    );
    // No '/' at all.
    assert_eq!(
        s.write(&c, &create("a", "", 0)),
        Err(ErrorCode::BadArguments)
    );
    // INVALIDACL before the parent's existence.
    assert_eq!(
        s.write(&c, &create_with("/nope/x", Vec::new(), 0)),
        Err(ErrorCode::InvalidAcl)
    );
    // The parent is what precedes the last '/', looked up before the path is validated.
    assert_eq!(
        s.write(&c, &create("/nope/./x", "", 0)),
        Err(ErrorCode::NoNode)
    );
    assert_eq!(
        s.write(&c, &create("//a", "", 0)),
        Err(ErrorCode::BadArguments)
    );
    s.write(&c, &create("/a", "", 0)).unwrap();
    assert_eq!(
        s.write(&c, &create("/a/", "", 0)),
        Err(ErrorCode::BadArguments)
    );
    assert_eq!(s.write(&c, &create("/", "", 0)), Err(ErrorCode::NodeExists));
    // NOAUTH on the parent before NODEEXISTS.
    s.write(&c, &create_with("/locked", owner_only(), 0))
        .unwrap();
    let mut owner = s.connect();
    s.add_digest(&mut owner, "owner:pw");
    s.write(&owner, &create("/locked/x", "", 0)).unwrap();
    assert_eq!(
        s.write(&c, &create("/locked/x", "", 0)),
        Err(ErrorCode::NoAuth)
    );
    // NODEEXISTS before NOCHILDRENFOREPHEMERALS.
    s.write(&c, &create("/e", "", 1)).unwrap();
    assert_eq!(
        s.write(&c, &create("/e", "", 1)),
        Err(ErrorCode::NodeExists)
    );
    assert_eq!(
        s.write(&c, &create("/e/x", "", 0)),
        Err(ErrorCode::NoChildrenForEphemerals)
    );
    // Containers and TTL nodes may have children.
    s.write(&c, &container("/k")).unwrap();
    s.write(&c, &create("/k/x", "", 0)).unwrap();
}

#[test]
fn delete_check_order() {
    let mut s = Server::new();
    let c = s.connect();
    for special in ["/", "/zookeeper", "/zookeeper/quota", "/zookeeper/config"] {
        assert_eq!(
            s.write(&c, &delete(special, -1)),
            Err(ErrorCode::BadArguments)
        );
    }
    assert_eq!(s.write(&c, &delete("x", -1)), Err(ErrorCode::BadArguments));
    assert_eq!(s.write(&c, &delete("/nope/x", -1)), Err(ErrorCode::NoNode));
    // DELETE on the parent is checked before the node's existence.
    s.write(&c, &create_with("/locked", owner_only(), 0))
        .unwrap();
    assert_eq!(
        s.write(&c, &delete("/locked/missing", -1)),
        Err(ErrorCode::NoAuth)
    );
    s.write(&c, &create("/p", "", 0)).unwrap();
    s.write(&c, &create("/p/q", "", 0)).unwrap();
    // BADVERSION before NOTEMPTY.
    assert_eq!(s.write(&c, &delete("/p", 3)), Err(ErrorCode::BadVersion));
    assert_eq!(s.write(&c, &delete("/p", 0)), Err(ErrorCode::NotEmpty));
    s.write(&c, &delete("/p/q", 0)).unwrap();
    s.write(&c, &delete("/p", -1)).unwrap();
    assert_eq!(s.write(&c, &delete("/p", -1)), Err(ErrorCode::NoNode));
}

#[test]
fn set_data_set_acl_and_check_order() {
    let mut s = Server::new();
    let c = s.connect();
    assert_eq!(
        s.write(&c, &set_data("/a/", "", -1)),
        Err(ErrorCode::BadArguments)
    );
    assert_eq!(s.write(&c, &set_data("/a", "", -1)), Err(ErrorCode::NoNode));
    s.write(&c, &create_with("/locked", owner_only(), 0))
        .unwrap();
    // NOAUTH before BADVERSION.
    assert_eq!(
        s.write(&c, &set_data("/locked", "", 9)),
        Err(ErrorCode::NoAuth)
    );
    // setACL: INVALIDACL before NONODE, NOAUTH (ADMIN) before BADVERSION.
    assert_eq!(
        s.write(&c, &set_acl("/missing", Vec::new(), -1)),
        Err(ErrorCode::InvalidAcl)
    );
    assert_eq!(
        s.write(&c, &set_acl("/missing", Acl::open_unsafe(), -1)),
        Err(ErrorCode::NoNode)
    );
    assert_eq!(
        s.write(&c, &set_acl("/locked", Acl::open_unsafe(), 9)),
        Err(ErrorCode::NoAuth)
    );
    // check (READ) inside a multi.
    let check = |path: &str, version| {
        Request::Multi(MultiRequest {
            ops: vec![MultiOp::Check(zk_proto::CheckVersionRequest {
                path: path.into(),
                version,
            })],
        })
    };
    let codes = |r: Result<Response, ErrorCode>| match r {
        Ok(Response::Multi(m)) => m.results,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        codes(s.write(&c, &check("/locked", 5))),
        vec![MultiResult::Error(ErrorCode::NoAuth)]
    );
    assert_eq!(
        codes(s.write(&c, &check("/zookeeper", 5))),
        vec![MultiResult::Error(ErrorCode::BadVersion)]
    );
    assert_eq!(
        codes(s.write(&c, &check("/zookeeper", 0))),
        vec![MultiResult::Check]
    );
}

#[test]
fn reads_check_order() {
    let mut s = Server::new();
    let c = s.connect();
    s.write(&c, &create_with("/locked", owner_only(), 0))
        .unwrap();
    assert_eq!(
        s.read(&c, &get_data("/missing", false)),
        Err(ErrorCode::NoNode)
    );
    assert_eq!(
        s.read(&c, &get_data("/locked", false)),
        Err(ErrorCode::NoAuth)
    );
    assert_eq!(
        s.read(&c, &get_children("/locked", false)),
        Err(ErrorCode::NoAuth)
    );
    // exists needs no permission; a NUL in the path is BADARGUMENTS.
    assert!(s.read(&c, &exists("/locked", false)).is_ok());
    assert_eq!(
        s.read(&c, &exists("/a\0b", false)),
        Err(ErrorCode::BadArguments)
    );
    assert_eq!(s.read(&c, &exists("a", false)), Err(ErrorCode::NoNode));
    // getACL needs READ or ADMIN.
    assert_eq!(
        s.read(
            &c,
            &Request::GetAcl(zk_proto::GetAclRequest {
                path: "/locked".into()
            })
        ),
        Err(ErrorCode::NoAuth)
    );
}

#[test]
fn a_failed_multi_reports_per_op_and_changes_nothing() {
    let mut s = Server::new();
    let c = s.connect();
    s.write(&c, &create("/a", "", 0)).unwrap();
    let before = s.tree.snapshot();
    let z = s.tree.last_zxid();
    let m = Request::Multi(MultiRequest {
        ops: vec![
            MultiOp::Create(CreateRequest {
                path: "/a/new".into(),
                data: Bytes::new().into(),
                acl: Acl::open_unsafe(),
                flags: 0,
            }),
            MultiOp::SetData(SetDataRequest {
                path: "/a/new".into(),
                data: "x".into(),
                version: 0,
            }),
            MultiOp::Delete(DeleteRequest {
                path: "/missing".into(),
                version: -1,
            }),
            MultiOp::Delete(DeleteRequest {
                path: "/a".into(),
                version: -1,
            }),
        ],
    });
    let txn = s.tree.prepare(&s.ctx(&c), &m);
    assert_eq!(
        txn,
        Txn::MultiError(vec![
            ErrorCode::Ok,
            ErrorCode::Ok,
            ErrorCode::NoNode,
            ErrorCode::RuntimeInconsistency
        ])
    );
    let r = s.apply(&txn);
    let Ok(Response::Multi(resp)) = r.response else {
        panic!("a failed multi still answers with a MultiResponse")
    };
    assert_eq!(
        resp.results,
        vec![
            MultiResult::Error(ErrorCode::Ok),
            MultiResult::Error(ErrorCode::Ok),
            MultiResult::Error(ErrorCode::NoNode),
            MultiResult::Error(ErrorCode::RuntimeInconsistency)
        ]
    );
    assert_eq!(resp.first_error(), Some((2, ErrorCode::NoNode)));
    assert!(r.events.is_empty());
    assert_eq!(s.tree.snapshot(), before, "atomic: nothing applied");
    assert_eq!(s.tree.last_zxid(), z + 1, "but a zxid is used");
    // An empty multi succeeds with no results.
    let empty = s.write(&c, &Request::Multi(MultiRequest { ops: Vec::new() }));
    assert_eq!(empty, Ok(Response::Multi(Default::default())));
}

#[test]
fn multi_read_is_per_op() {
    let mut s = Server::new();
    let c = s.connect();
    s.write(&c, &create("/a", "v", 0)).unwrap();
    s.write(
        &c,
        &create_with(
            "/l",
            vec![Acl::new(Perms::ALL, Id::new("digest", "x:y"))],
            0,
        ),
    )
    .unwrap();
    let r = s.read(
        &c,
        &Request::MultiRead(MultiRequest {
            ops: vec![
                MultiOp::GetData(GetDataRequest {
                    path: "/a".into(),
                    watch: true,
                }),
                MultiOp::GetChildren(GetChildrenRequest {
                    path: "/missing".into(),
                    watch: false,
                }),
                MultiOp::GetData(GetDataRequest {
                    path: "/l".into(),
                    watch: false,
                }),
                MultiOp::GetChildren(GetChildrenRequest {
                    path: "/".into(),
                    watch: false,
                }),
            ],
        }),
    );
    let Ok(Response::Multi(m)) = r else {
        panic!("{r:?}")
    };
    assert!(matches!(&m.results[0], MultiResult::GetData(d) if &d.data[..] == b"v"));
    assert_eq!(m.results[1], MultiResult::Error(ErrorCode::NoNode));
    assert_eq!(m.results[2], MultiResult::Error(ErrorCode::NoAuth));
    assert!(matches!(&m.results[3], MultiResult::GetChildren(g) if g.children.len() == 3));
    // multiRead sets no watch even when asked (3.8 drops the flag).
    s.write(&c, &set_data("/a", "w", -1)).unwrap();
    assert!(s.take(&c).is_empty());
}
