//! ACL schemes: world, digest, auth, ip (CIDR), super; fix-up and redaction.

use zk_proto::{Acl, ErrorCode, GetAclRequest, Id, Perms, Request, Response, WhoAmIResponse};
use zk_server_sim::tree::auth::{authenticate_with, digest, digest_id, AuthConfig};

use super::support::*;

fn get_acl(path: &str) -> Request {
    Request::GetAcl(GetAclRequest { path: path.into() })
}

#[test]
fn world_and_digest() {
    let mut s = Server::new();
    let anon = s.connect();
    let mut alice = s.connect();
    s.add_digest(&mut alice, "alice:secret");
    s.write(
        &alice,
        &create_acl(
            "/a",
            vec![
                Acl::new(Perms::ALL, digest_id("alice:secret")),
                Acl::new(Perms::READ, Id::anyone()),
            ],
        ),
    )
    .unwrap();
    assert!(s.read(&anon, &get_data("/a", false)).is_ok());
    assert_eq!(
        s.write(&anon, &set_data("/a", "x", -1)),
        Err(ErrorCode::NoAuth)
    );
    assert!(s.write(&alice, &set_data("/a", "x", -1)).is_ok());
    // Without ADMIN, getACL hides digest hashes.
    let Ok(Response::GetAcl(r)) = s.read(&anon, &get_acl("/a")) else {
        panic!()
    };
    assert_eq!(r.acl[0].id, Id::new("digest", "alice:x"));
    let Ok(Response::GetAcl(r)) = s.read(&alice, &get_acl("/a")) else {
        panic!()
    };
    assert_eq!(r.acl[0].id, digest_id("alice:secret"));
}

#[test]
fn auth_scheme_expands_to_the_creators_ids() {
    let mut s = Server::new();
    let anon = s.connect();
    // Only ip ids: nothing "authenticated" to expand to.
    assert_eq!(
        s.write(&anon, &create_acl("/x", Acl::creator_all())),
        Err(ErrorCode::InvalidAcl)
    );
    let mut bob = s.connect();
    s.add_digest(&mut bob, "bob:pw");
    s.add_digest(&mut bob, "bob2:pw");
    s.write(&bob, &create_acl("/x", Acl::creator_all()))
        .unwrap();
    let Ok(Response::GetAcl(r)) = s.read(&bob, &get_acl("/x")) else {
        panic!()
    };
    let mut ids: Vec<Id> = r.acl.iter().map(|a| a.id.clone()).collect();
    ids.sort_by(|a, b| a.id.cmp(&b.id));
    assert_eq!(ids, vec![digest_id("bob2:pw"), digest_id("bob:pw")]);
    assert!(r.acl.iter().all(|a| a.perms == Perms::ALL));
}

#[test]
fn invalid_acls() {
    let mut s = Server::new();
    let c = s.connect();
    for acl in [
        Vec::new(),
        vec![Acl::new(Perms::ALL, Id::new("world", "someone"))],
        vec![Acl::new(Perms::ALL, Id::new("nosuch", "x"))],
        vec![Acl::new(Perms::ALL, Id::new("digest", "nocolon"))],
        vec![Acl::new(Perms::ALL, Id::new("digest", "a:b:c"))],
        vec![Acl::new(Perms::ALL, Id::new("ip", "10.0.0.0/33"))],
        vec![Acl::new(Perms::ALL, Id::new("ip", "not-an-ip"))],
        vec![Acl::new(Perms::ALL, Id::new("super", ""))],
    ] {
        assert_eq!(
            s.write(&c, &create_acl("/x", acl.clone())),
            Err(ErrorCode::InvalidAcl),
            "{acl:?}"
        );
    }
    // Duplicates are dropped.
    s.write(
        &c,
        &create_acl("/d", vec![Acl::new(Perms::ALL, Id::anyone()); 3]),
    )
    .unwrap();
    let Ok(Response::GetAcl(r)) = s.read(&c, &get_acl("/d")) else {
        panic!()
    };
    assert_eq!(r.acl.len(), 1);
}

#[test]
fn ip_with_masks() {
    let mut s = Server::new();
    let c = s.connect(); // ip:127.0.0.1
    s.write(
        &c,
        &create_acl(
            "/net",
            vec![Acl::new(Perms::ALL, Id::new("ip", "127.0.0.0/8"))],
        ),
    )
    .unwrap();
    assert!(s.read(&c, &get_data("/net", false)).is_ok());
    s.write(
        &c,
        &create_acl(
            "/other",
            vec![Acl::new(Perms::ALL, Id::new("ip", "10.0.0.0/8"))],
        ),
    )
    .unwrap();
    assert_eq!(
        s.read(&c, &get_data("/other", false)),
        Err(ErrorCode::NoAuth)
    );
    s.write(
        &c,
        &create_acl(
            "/all",
            vec![Acl::new(Perms::READ, Id::new("ip", "1.2.3.4/0"))],
        ),
    )
    .unwrap();
    assert!(s.read(&c, &get_data("/all", false)).is_ok());
}

#[test]
fn super_digest_passes_everything() {
    let mut s = Server::new();
    let owner = {
        let mut o = s.connect();
        s.add_digest(&mut o, "o:p");
        o
    };
    s.write(
        &owner,
        &create_acl("/secret", vec![Acl::new(Perms::ALL, digest_id("o:p"))]),
    )
    .unwrap();
    let mut root = s.connect();
    let cfg = AuthConfig::new(Some("127.0.0.1".into()), Some(digest("super:test")));
    root.auth
        .extend(authenticate_with("digest", b"super:test", &cfg).unwrap());
    assert!(root.auth.contains(&Id::new("super", "")));
    assert!(s.read(&root, &get_data("/secret", false)).is_ok());
    assert!(s.write(&root, &delete("/secret", -1)).is_ok());
}

#[test]
fn who_am_i_lists_ids_in_zookeepers_order() {
    let mut s = Server::new();
    let mut c = s.connect();
    s.add_digest(&mut c, "u1:p1");
    let Ok(Response::WhoAmI(WhoAmIResponse { client_info })) = s.read(&c, &Request::WhoAmI) else {
        panic!()
    };
    // Verified against ZooKeeper 3.8: the digest id iterates before the ip id.
    let got: Vec<(&str, &str)> = client_info
        .iter()
        .map(|i| (i.auth_scheme.as_str(), i.user.as_str()))
        .collect();
    assert_eq!(got, vec![("digest", "u1"), ("ip", "127.0.0.1")]);
}
