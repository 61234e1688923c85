//! Persistent ephemeral node and group membership on the simulator:
//! re-creation after an external delete and after a session expiry.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::time::Duration;

use zk_client::{Client, CreateMode};
use zk_recipes::group::GroupMember;
use zk_recipes::persistent_node::PersistentNode;
use zk_recipes::Session;
use zk_server_sim::Ensemble;

async fn ensemble() -> Ensemble {
    Ensemble::builder()
        .nodes(3)
        .tick_time(Duration::from_millis(100))
        .build()
        .await
        .unwrap()
}

async fn session(ens: &Ensemble) -> Session {
    Session::builder(
        Client::builder(ens.connect_string()).session_timeout(Duration::from_millis(2000)),
    )
    .connect()
    .await
    .unwrap()
}

async fn eventually(what: &str, mut f: impl AsyncFnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !f().await {
        assert!(tokio::time::Instant::now() < deadline, "never: {what}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn persistent_node_comes_back_after_delete_and_expiry() {
    let ens = ensemble().await;
    let s = session(&ens).await;
    let node = PersistentNode::start(&s, "/svc/members/me", CreateMode::Ephemeral, b"v1");
    assert!(node.wait_for_creation(Duration::from_secs(20)).await);
    let admin = Client::connect(ens.connect_string()).await.unwrap();
    let owner = |c: Client| async move {
        c.exists("/svc/members/me")
            .await
            .unwrap()
            .map(|s| s.ephemeral_owner)
    };
    assert_eq!(owner(admin.clone()).await, Some(s.client().session_id()));

    // Deleted behind its back: created again, same session.
    admin.delete("/svc/members/me", None).await.unwrap();
    eventually("re-created", async || {
        node.state().creations >= 2 && owner(admin.clone()).await.is_some()
    })
    .await;

    // Data changes stick.
    node.set_data(b"v2").unwrap();
    eventually("data set", async || {
        admin
            .get_data("/svc/members/me")
            .await
            .map(|(d, _)| &d[..] == b"v2")
            .unwrap_or(false)
    })
    .await;

    // The session expires: the node comes back in the new one, with our data.
    let old = s.client().session_id();
    assert!(ens.expire_session(old));
    eventually("re-created in the new session", async || {
        let now = s.client().session_id();
        now != old && owner(admin.clone()).await == Some(now)
    })
    .await;
    let (data, _) = admin.get_data("/svc/members/me").await.unwrap();
    assert_eq!(&data[..], b"v2");

    node.close().await.unwrap();
    assert_eq!(owner(admin.clone()).await, None);
    s.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_members_see_each_other_and_rejoin_after_expiry() {
    let ens = ensemble().await;
    let (sa, sb) = (session(&ens).await, session(&ens).await);
    let a = GroupMember::join(&sa, "/groups/g", "a", b"alpha");
    let b = GroupMember::join(&sb, "/groups/g", "b", b"beta");
    assert!(a.wait_joined(Duration::from_secs(20)).await);
    assert!(b.wait_joined(Duration::from_secs(20)).await);
    eventually("both see both", async || {
        a.members().len() == 2 && b.members().len() == 2
    })
    .await;
    assert_eq!(&a.members()["b"][..], b"beta");

    assert!(ens.expire_session(sb.client().session_id()));
    eventually("b back after its expiry, seen by a", async || {
        a.members().contains_key("b")
            && b.members().len() == 2
            && sb.client().state().is_connected()
    })
    .await;

    b.leave().await.unwrap();
    eventually("a sees b leave", async || {
        a.members().keys().collect::<Vec<_>>() == ["a"]
    })
    .await;
    sa.close().await.unwrap();
    sb.close().await.unwrap();
}
