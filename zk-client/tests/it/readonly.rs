//! Read-only mode: connect to a read-only server when allowed, say so, keep
//! looking for a read-write one and move there.

use std::time::Duration;

use zk_client::{Client, CreateOptions, Error, SessionState};
use zk_server_sim::real::RealEnsemble;
use zk_server_sim::Role;

use crate::support::{bounded, wait_state};

/// Against the simulator: a node cut off from its quorum serves read-only
/// clients; the client finds a read-write node with `isro` once the server
/// list names one, and moves there (a new session: a read-only session
/// cannot be resumed).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_only_then_read_write_on_the_simulator() {
    let ens = zk_server_sim::Ensemble::builder()
        .nodes(3)
        .tick_time(Duration::from_millis(100))
        .read_only(true)
        .build()
        .await
        .unwrap();
    // On node 0 itself, so that node 0 has applied the write.
    let setup = Client::connect(ens.addr(0).to_string()).await.unwrap();
    setup
        .create("/data", b"v", &CreateOptions::default())
        .await
        .unwrap();
    setup.close().await.unwrap();
    ens.isolate(0);
    bounded(
        "node 0 read-only",
        ens.wait_role(0, |r| r == Role::ReadOnly),
    )
    .await;

    // Without read_only(true) the read-only node refuses us.
    let refused = Client::builder(ens.addr(0).to_string())
        .connect_timeout(Duration::from_secs(2))
        .connect()
        .await;
    assert!(refused.is_err());

    let c = Client::builder(ens.addr(0).to_string())
        .read_only(true)
        .session_timeout(Duration::from_secs(4))
        .connect()
        .await
        .unwrap();
    assert_eq!(c.state(), SessionState::ConnectedReadOnly);
    assert_eq!(c.server().unwrap().to_string(), ens.addr(0).to_string());
    let ro_session = c.session_id();
    let (data, _) = c.get_data("/data").await.unwrap();
    assert_eq!(&data[..], b"v");
    assert_eq!(
        c.create("/w", b"", &CreateOptions::default())
            .await
            .unwrap_err(),
        Error::NotReadOnly
    );
    let mut states = c.state_stream();
    // Name the read-write servers: the probe finds one and the client moves.
    c.update_server_list(&ens.connect_string()).unwrap();
    wait_state(&mut states, SessionState::Connected).await;
    assert_ne!(c.server().unwrap().to_string(), ens.addr(0).to_string());
    assert_ne!(
        c.session_id(),
        ro_session,
        "a read-only session is not resumed"
    );
    c.create("/w", b"", &CreateOptions::default())
        .await
        .unwrap();
    c.close().await.unwrap();
}

/// Against real ZooKeeper (`readonlymode.enabled=true`, local sessions
/// enabled, which a read-only server needs to create sessions): with two of three
/// nodes stopped, the last one serves read-only clients; when a quorum is
/// back the client ends up read-write.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_only_then_read_write_on_real_zookeeper() {
    let _quiet = crate::support::exclusive().await;
    let mut ens = tokio::task::block_in_place(|| {
        RealEnsemble::builder()
            .nodes(3)
            .tick_time(Duration::from_millis(500))
            .system_property("readonlymode.enabled", "true")
            // A read-only server creates only local sessions: without them
            // it answers a new session's handshake with NOTREADONLY.
            .cfg_line("localSessionsEnabled=true")
            .start()
            .expect("start an ensemble of our own")
    });
    // On node 0 itself, so that node 0 has applied the write.
    let setup = Client::connect(ens.node_addr(0).unwrap().to_string())
        .await
        .unwrap();
    setup
        .create("/ro_data", b"v", &CreateOptions::default())
        .await
        .unwrap();
    setup.close().await.unwrap();
    tokio::task::block_in_place(|| {
        ens.stop(1).unwrap();
        ens.stop(2).unwrap();
    });
    let addr0 = ens.node_addr(0).unwrap();
    bounded("node 0 read-only", async {
        loop {
            let ens = &ens;
            let answer = tokio::task::block_in_place(|| ens.four_letter_word(0, "isro"));
            if answer.is_ok_and(|a| a.trim() == "ro") {
                return;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    })
    .await;
    let all = ens.connect_string();
    let c = Client::builder(all)
        .read_only(true)
        .session_timeout(Duration::from_secs(6))
        .connect_timeout(Duration::from_secs(3))
        .connect()
        .await
        .unwrap();
    assert_eq!(c.state(), SessionState::ConnectedReadOnly, "on {addr0}");
    let (data, _) = c.get_data("/ro_data").await.unwrap();
    assert_eq!(&data[..], b"v");
    assert_eq!(
        c.create("/w", b"", &CreateOptions::default())
            .await
            .unwrap_err(),
        Error::NotReadOnly
    );
    let mut states = c.state_stream();
    tokio::task::block_in_place(|| ens.restart(1)).unwrap();
    wait_state(&mut states, SessionState::Connected).await;
    c.create("/w", b"", &CreateOptions::default())
        .await
        .unwrap();
    c.close().await.unwrap();
    tokio::task::block_in_place(move || drop(ens));
}
