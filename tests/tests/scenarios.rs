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
//! server dropping all its client links, or only the client's; and the
//! coordination recipes (zk-recipes' mutex and leader latch) across the kill
//! of the ZooKeeper leader: one holder, one leader, larger fencing tokens for
//! later ones.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::future::Future;
use std::time::Duration;

use futures::StreamExt;
use zk_client::{Client, CreateMode, CreateOptions, Error, EventType, SessionState};
use zk_recipes::{HoldState, LeaderLatch, Mutex, Session};
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

/// The backends take turns: six JVMs at once on a two-core machine would slow
/// elections past the sessions' timeouts.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// ZooKeeper's tick: sessions may last up to 20 of them, 40 s.
const TICK: Duration = Duration::from_secs(2);

/// Client sessions get the longest timeout the servers allow. A recipe
/// declares its session Lost (and its lock or leadership gone) when no server
/// was heard from for 90 % of the timeout, counted from the last frame a
/// server sent, which for an idle client is its last ping reply, up to a third
/// of the timeout before the crash. Real servers on a loaded two-core machine
/// were measured taking 10 to 16 s from a leader's kill to a new leader (the
/// survivors' election notifications back off exponentially while their links
/// to the dead peer fail), so a 20 s session (a 1 s tick) could be Lost
/// before the ensemble served again, as zk-recipes promises it to be; 40 s
/// leaves room.
const SESSION_TIMEOUT: Duration = Duration::from_secs(40);

async fn run_all(backend: Backend) {
    if std::env::var_os("RUST_LOG").is_some() {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_test_writer()
            .try_init();
    }
    let _turn = ONE_AT_A_TIME.lock().await;
    let ensemble = match TestEnsemble::builder(backend)
        .nodes(3)
        .tick_time(TICK)
        // A new leader waits this many ticks for a quorum to join it: after a
        // split election round, failover takes that long (2 s ticks would
        // make the default 5 ticks 10 s).
        .init_limit(3)
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
    scenario(
        &ensemble,
        "one session's link dropped",
        dropped_session_link,
    )
    .await;
    scenario(
        &ensemble,
        "mutex across a leader kill",
        mutex_across_a_leader_kill,
    )
    .await;
    scenario(
        &ensemble,
        "leader latch across a leader kill",
        latch_across_a_leader_kill,
    )
    .await;
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
        .session_timeout(SESSION_TIMEOUT)
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
    assert_eq!(
        (event.event_type, event.path.as_str()),
        (EventType::NodeDeleted, "/eph")
    );
    until_ok(|| observer.sync("/")).await;
    assert!(until_ok(|| observer.exists("/eph")).await.is_none());
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
    back_in_the_same_session(&client, &mut states, session).await;
    client.close().await.unwrap();
}

/// Waits for `states` to report the dropped link (never a terminal state
/// on the way), then for `client` to answer again in `session`.
async fn back_in_the_same_session(
    client: &Client,
    states: &mut (impl futures::Stream<Item = SessionState> + Unpin),
    session: i64,
) {
    while let Some(state) = states.next().await {
        if state == SessionState::Disconnected {
            break;
        }
        assert!(!state.is_terminal(), "ended as {state:?}");
    }
    until_ok(|| client.exists("/")).await;
    assert_eq!(client.session_id(), session);
}

/// One session's link is dropped (the others of its server stay): it
/// reconnects in the same session; a session with no link is an error.
async fn dropped_session_link(ensemble: &TestEnsemble, connect_string: String) {
    let client = connect(&connect_string).await;
    let session = client.session_id();
    let mut states = client.state_stream();
    ensemble.drop_session_connection(session).await.unwrap();
    back_in_the_same_session(&client, &mut states, session).await;
    // No server has a link of a session that was never made.
    let unknown = session.wrapping_add(1_000_000);
    let err = ensemble.drop_session_connection(unknown).await.unwrap_err();
    assert!(
        matches!(
            err,
            zk_server_sim::testkit::TestkitError::NoSuchSession { .. }
        ),
        "{err:?}"
    );
    client.close().await.unwrap();
}

async fn session(connect_string: &str) -> Session {
    Session::builder(Client::builder(connect_string).session_timeout(SESSION_TIMEOUT))
        .connect()
        .await
        .expect("session")
}

/// Retries a recipe call while it fails with a retriable error.
async fn until_recipe_ok<T, F, Fut>(mut op: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, zk_recipes::Error>>,
{
    loop {
        match op().await {
            Ok(v) => return v,
            Err(err) if err.is_retriable() => tokio::time::sleep(Duration::from_millis(50)).await,
            Err(err) => panic!("unexpected recipe error: {err}"),
        }
    }
}

/// A lock held across the crash of the ZooKeeper leader stays held by its one
/// holder (its fenced writes still apply); the waiting contender gets it only
/// after the release, with a larger fencing token.
async fn mutex_across_a_leader_kill(ensemble: &TestEnsemble, connect_string: String) {
    let (s1, s2) = (
        session(&connect_string).await,
        session(&connect_string).await,
    );
    s1.client()
        .create("/guarded", b"", &CreateOptions::default())
        .await
        .unwrap();
    let holder = Mutex::new(&s1, "/lock").unwrap();
    let guard = holder.acquire().await.unwrap();
    let first_token = guard.fencing_token();
    let contender = Mutex::new(&s2, "/lock").unwrap();
    let waiting = tokio::spawn(async move { contender.acquire().await });
    // The contender's node is in line before the fault.
    loop {
        let children = until_ok(|| s1.client().get_children("/lock")).await;
        if children.len() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let leader = ensemble.wait_healthy().await.unwrap();
    let killed = std::time::Instant::now();
    ensemble.kill(leader).await.unwrap();
    ensemble.wait_healthy().await.unwrap();
    println!(
        "{}: new leader after {:?}",
        ensemble.backend(),
        killed.elapsed()
    );

    until_recipe_ok(|| guard.fenced(|t| t.set_data("/guarded", b"holder", None))).await;
    // A holder whose server died is Uncertain until its session says it is
    // back (Reconnected, published by the session's monitor a moment after
    // the client reconnects), then Held again; or, had no server answered
    // within the session's timeout, Lost. Wait for whichever comes.
    let mut states = guard.states().expect("the guard is not released");
    let state = *states
        .wait_for(|s| matches!(s, HoldState::Held | HoldState::Lost(_)))
        .await
        .expect("the guard's state channel stays open while the guard lives");
    assert_eq!(
        state,
        HoldState::Held,
        "the lock was not held again after the leader kill (failover took {:?}; \
         the session allows {SESSION_TIMEOUT:?} without a server)",
        killed.elapsed()
    );
    assert!(
        !waiting.is_finished(),
        "the contender got the lock while it was held"
    );
    guard.release().await.unwrap();
    let second = waiting.await.unwrap().unwrap();
    assert!(
        second.fencing_token() > first_token,
        "token {} after {first_token}",
        second.fencing_token()
    );
    second.release().await.unwrap();

    ensemble.restart(leader, false).await.unwrap();
    s1.close().await.unwrap();
    s2.close().await.unwrap();
}

/// A leader latch across the crash of the ZooKeeper leader: never two leaders
/// at once, one leads after the fault with fenced writes that apply, and when
/// it leaves the other leads with a larger token.
async fn latch_across_a_leader_kill(ensemble: &TestEnsemble, connect_string: String) {
    let (s1, s2) = (
        session(&connect_string).await,
        session(&connect_string).await,
    );
    s1.client()
        .create("/guarded", b"", &CreateOptions::default())
        .await
        .unwrap();
    let one = LeaderLatch::start(&s1, "/latch", "one").unwrap();
    let first_token = one.wait_leader().await.unwrap();
    let two = LeaderLatch::start(&s2, "/latch", "two").unwrap();
    loop {
        if until_recipe_ok(|| two.participants()).await.len() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Every change of either latch's leadership is checked against the other.
    let (mut a, mut b) = (one.leadership(), two.leadership());
    let monitor = tokio::spawn(async move {
        loop {
            tokio::select! {
                changed = a.changed() => if changed.is_err() { return Ok(()) },
                changed = b.changed() => if changed.is_err() { return Ok(()) },
            }
            if a.borrow().is_leader() && b.borrow().is_leader() {
                return Err("two leaders at once");
            }
        }
    });

    let leader = ensemble.wait_healthy().await.unwrap();
    let killed = std::time::Instant::now();
    ensemble.kill(leader).await.unwrap();
    ensemble.wait_healthy().await.unwrap();
    println!(
        "{}: new leader after {:?}",
        ensemble.backend(),
        killed.elapsed()
    );

    // Whoever leads now (the first participant again, or the second if the
    // first re-joined the line after its suspension, as Curator's latch does)
    // leads alone, and its fenced writes apply under its token.
    let (token, first_leads) = loop {
        let (token, first_leads) = tokio::select! {
            t = one.wait_leader() => (t.unwrap(), true),
            t = two.wait_leader() => (t.unwrap(), false),
        };
        let leading = if first_leads { &one } else { &two };
        match leading
            .fenced(|t| t.set_data("/guarded", b"leader", None))
            .await
        {
            Ok(fenced) => {
                assert_eq!(fenced.fencing_token, token);
                break (token, first_leads);
            }
            // Leadership moved meanwhile (or the connection blinked): look again.
            Err(err) if err.is_retriable() || matches!(err, zk_recipes::Error::NotHeld(_)) => {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(err) => panic!("fenced write as leader: {err}"),
        }
    };
    assert!(token >= first_token, "token {token} after {first_token}");
    let (leading, waiting) = if first_leads { (one, two) } else { (two, one) };
    assert!(!waiting.is_leader(), "two leaders");
    leading.close().await.unwrap();
    let next_token = waiting.wait_leader().await.unwrap();
    assert!(next_token > token, "token {next_token} after {token}");
    waiting.close().await.unwrap();
    if monitor.is_finished() {
        monitor.await.unwrap().unwrap();
    } else {
        monitor.abort();
    }

    ensemble.restart(leader, false).await.unwrap();
    s1.close().await.unwrap();
    s2.close().await.unwrap();
}
