//! Txns are fully decided: a follower that applies the leader's txns in
//! order reaches the same state and produces the same replies and events.

use zk_proto::{Acl, MultiOp, MultiRequest, Request};
use zk_server_sim::tree::{DataTree, Txn};

use super::support::*;

/// A deterministic little op mix (no RNG crate needed).
fn ops() -> Vec<(usize, Request)> {
    let names = ["/a", "/a/b", "/a/b/c", "/d", "/d/e", "/a/s-", "/d/q-"];
    let mut out = Vec::new();
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    for _ in 0..600 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let who = (x % 2) as usize;
        let path = names[((x >> 8) % names.len() as u64) as usize];
        let req = match (x >> 16) % 9 {
            0 | 1 => create(path, "v", ((x >> 24) % 4) as i32),
            2 => container(path),
            3 => ttl(path, 5 + ((x >> 24) % 2) as i32, 1000),
            4 => delete(path, -1),
            5 => set_data(path, "w", -1),
            6 => set_acl(path, Acl::open_unsafe(), -1),
            7 => Request::Multi(MultiRequest {
                ops: vec![
                    MultiOp::SetData(zk_proto::SetDataRequest {
                        path: path.into(),
                        data: "m".into(),
                        version: -1,
                    }),
                    MultiOp::Delete(zk_proto::DeleteRequest {
                        path: path.into(),
                        version: -1,
                    }),
                ],
            }),
            _ => Request::CloseSession,
        };
        out.push((who, req));
    }
    out
}

#[test]
fn followers_apply_the_leaders_txns_identically() {
    let mut leader = Server::new();
    let mut clients = vec![leader.connect(), leader.connect()];
    let mut follower = DataTree::new();
    // Replay the two createSession txns the leader applied.
    let mut log: Vec<(i64, i64, Txn)> = clients
        .iter()
        .enumerate()
        .map(|(i, c)| {
            (
                i as i64 + 1,
                1_000 + 10 * (i as i64 + 1),
                Txn::CreateSession {
                    session_id: c.session,
                    timeout_ms: 10_000,
                },
            )
        })
        .collect();
    let mut replies = Vec::new();
    for (who, req) in ops() {
        leader.now += 10;
        let txn = leader.tree.prepare(&leader.ctx(&clients[who]), &req);
        let zxid = leader.tree.last_zxid() + 1;
        let r = leader.tree.apply(zxid, leader.now, &txn);
        replies.push(r);
        log.push((zxid, leader.now, txn.clone()));
        if matches!(txn, Txn::CloseSession { .. }) {
            clients[who] = leader.connect();
            let z = leader.tree.last_zxid();
            log.push((
                z,
                leader.now,
                Txn::CreateSession {
                    session_id: clients[who].session,
                    timeout_ms: 10_000,
                },
            ));
        }
    }
    let mut follower_replies = Vec::new();
    for (zxid, time, txn) in &log {
        let r = follower.apply(*zxid, *time, txn);
        if !matches!(txn, Txn::CreateSession { .. }) {
            follower_replies.push(r);
        }
    }
    assert_eq!(follower.snapshot(), leader.tree.snapshot());
    assert_eq!(follower.last_zxid(), leader.tree.last_zxid());
    assert_eq!(
        follower_replies, replies,
        "same replies and events, in order"
    );
    for c in &clients {
        assert_eq!(
            follower.ephemerals(c.session),
            leader.tree.ephemerals(c.session)
        );
    }
    assert!(leader.tree.node_count() > 5, "the mix did something");
}
