//! Shared fault scenarios, run unchanged on every test-kit backend: the
//! simulator, local real ZooKeeper processes and ZooKeeper containers
//! (`zk_server_sim::testkit::TestEnsemble`).
//!
//! One test per backend starts one three-node ensemble and runs every scenario
//! on it in turn (each in its own chroot, the ensemble healthy again before the
//! next), so the heavy backends start once per run. A backend this machine
//! cannot run is reported as skipped, and under `CI=true` fails.
//!
//! Scenarios: a client across the kill of its server; a session expiry; a
//! partition that cuts the client's server off from the others; the client's
//! link dropped.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::future::Future;
use std::time::Duration;

use futures::StreamExt;
use zk_client::{Client, CreateMode, CreateOptions, Error, SessionState};
use zk_server_sim::testkit::{Backend, TestEnsemble};

/// Guards against a hang; no scenario needs nearly this long.
const BOUND: Duration = Duration::from_secs(60);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scenarios_on_the_simulator() {
    run_all(Backend::Sim).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scenarios_on_local_real_zookeeper() {
    run_all(Backend::Real).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scenarios_on_zookeeper_containers() {
    run_all(Backend::Container).await;
}

async fn run_all(backend: Backend) {
    let ensemble = match TestEnsemble::builder(backend)
        .nodes(3)
        .start_or_skip()
        .await
    {
        Ok(Some(ensemble)) => ensemble,
        Ok(None) => return,
        Err(err) => panic!("{backend} backend: {err}"),
    };
    println!("{backend}: ensemble at {}", ensemble.connect_string());
    if let Some(sim) = ensemble.sim() {
        println!("{backend}: seed {}", sim.seed());
    }
    scenario(
        &ensemble,
        "kill of the client's server",
        client_across_a_kill,
    )
    .await;
    scenario(&ensemble, "session expiry", session_expiry).await;
    scenario(&ensemble, "partition of the client's server", partition).await;
    scenario(&ensemble, "dropped client link", dropped_link).await;
    if let Some(sim) = ensemble.sim() {
        sim.check_history().expect("client-visible history");
    }
}

async fn scenario<'a, F, Fut>(ensemble: &'a TestEnsemble, name: &str, f: F)
where
    F: FnOnce(&'a TestEnsemble, String) -> Fut,
    Fut: Future<Output = ()> + 'a,
{
    let backend = ensemble.backend();
    println!("{backend}: scenario: {name}");
    let chroot = ensemble.chroot(name).await.expect("chroot");
    bounded(
        &format!("{backend}: {name}"),
        f(ensemble, chroot.connect_string),
    )
    .await;
    // Leave the ensemble whole for the next scenario.
    ensemble.heal().await.expect("heal");
    ensemble.wait_healthy().await.expect("healthy again");
}

async fn bounded<F: Future>(what: &str, f: F) -> F::Output {
    match tokio::time::timeout(BOUND, f).await {
        Ok(out) => out,
        Err(_) => panic!("{what}: still not done after {BOUND:?}"),
    }
}

async fn connect(connect_string: &str) -> Client {
    Client::builder(connect_string)
        .session_timeout(Duration::from_secs(6))
        .connect()
        .await
        .expect("connect")
}

/// The node `client` is connected to.
fn node_of(ensemble: &TestEnsemble, client: &Client) -> usize {
    let server = client.server().expect("connected");
    ensemble
        .node_of(&server)
        .unwrap_or_else(|| panic!("{server} is no node of {}", ensemble.connect_string()))
}

/// Retries `op` while it fails with a retriable error (connection loss while
/// the client moves to another server).
async fn until_ok<T, F, Fut>(mut op: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, Error>>,
{
    loop {
        match op().await {
            Ok(v) => return v,
            Err(err) if err.is_retriable() => tokio::time::sleep(Duration::from_millis(50)).await,
            Err(err) => panic!("unexpected error: {err}"),
        }
    }
}

/// The client's server crashes: the client moves to another server in the same
/// session, its ephemeral stays, its writes go on; the node comes back.
async fn client_across_a_kill(ensemble: &TestEnsemble, connect_string: String) {
    let client = connect(&connect_string).await;
    let session = client.session_id();
    client
        .create("/eph", b"", &CreateOptions::new(CreateMode::Ephemeral))
        .await
        .unwrap();
    let node = node_of(ensemble, &client);
    ensemble.kill(node).await.unwrap();

    until_ok(|| client.set_data("/eph", b"after", None)).await;
    assert_eq!(client.session_id(), session, "same session after the kill");
    assert_ne!(
        node_of(ensemble, &client),
        node,
        "moved off the killed node"
    );
    let (data, stat) = until_ok(|| client.get_data("/eph")).await;
    assert_eq!(&data[..], b"after");
    assert_eq!(stat.ephemeral_owner, session, "the ephemeral survived");

    ensemble.restart(node, false).await.unwrap();
    client.close().await.unwrap();
}

/// The session is expired on the servers: its client sees `Expired` and
/// `SessionExpired`, never a silent new session; its ephemeral is gone for
/// everybody.
async fn session_expiry(ensemble: &TestEnsemble, connect_string: String) {
    let doomed = connect(&connect_string).await;
    let observer = connect(&connect_string).await;
    doomed
        .create("/eph", b"", &CreateOptions::new(CreateMode::Ephemeral))
        .await
        .unwrap();
    let (_, gone) = observer.exists_watch("/eph").await.unwrap();
    let mut states = doomed.state_stream();

    ensemble
        .expire_session(doomed.session_id(), &doomed.session_password())
        .await
        .unwrap();

    let event = gone.await.expect("the ephemeral's watch fires");
    assert_eq!(event.path, "/eph");
    assert!(observer.exists("/eph").await.unwrap().is_none());
    while let Some(state) = states.next().await {
        if state == SessionState::Expired {
            break;
        }
        assert!(!state.is_terminal(), "ended as {state:?}, not Expired");
    }
    assert_eq!(doomed.state(), SessionState::Expired);
    let err = doomed.get_data("/").await.unwrap_err();
    assert!(matches!(err, Error::SessionExpired), "{err:?}");
    // A second expiry of the same session is refused: it is gone.
    assert!(ensemble
        .expire_session(doomed.session_id(), &doomed.session_password())
        .await
        .is_err());
    observer.close().await.unwrap();
}

/// The client's server is cut off from the others: it cannot serve, so the
/// client moves to the majority in the same session and keeps writing.
async fn partition(ensemble: &TestEnsemble, connect_string: String) {
    let client = connect(&connect_string).await;
    let session = client.session_id();
    client
        .create("/eph", b"", &CreateOptions::new(CreateMode::Ephemeral))
        .await
        .unwrap();
    let node = node_of(ensemble, &client);
    ensemble.isolate(node).await.unwrap();
    ensemble.wait_healthy().await.unwrap();

    // The first write may still reach the cut-off node before it notices.
    until_ok(|| client.set_data("/eph", b"cut", None)).await;
    until_ok(|| client.sync("/")).await;
    assert_eq!(
        client.session_id(),
        session,
        "same session across the partition"
    );
    assert_ne!(node_of(ensemble, &client), node, "moved to the majority");
    let (data, stat) = until_ok(|| client.get_data("/eph")).await;
    assert_eq!(&data[..], b"cut");
    assert_eq!(stat.ephemeral_owner, session);
    client.close().await.unwrap();
}

/// The client's link is dropped: it reconnects in the same session.
async fn dropped_link(ensemble: &TestEnsemble, connect_string: String) {
    let client = connect(&connect_string).await;
    let session = client.session_id();
    let mut states = client.state_stream();
    let node = node_of(ensemble, &client);
    ensemble.drop_client_connections(node).await.unwrap();
    while let Some(state) = states.next().await {
        if state == SessionState::Disconnected {
            break;
        }
        assert!(!state.is_terminal(), "ended as {state:?}");
    }
    until_ok(|| client.exists("/")).await;
    assert_eq!(client.session_id(), session);
    client.close().await.unwrap();
}
