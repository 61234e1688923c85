//! The README's main job: a client on an embedded, simulated 3-node
//! ensemble creates nodes, sets watches, and survives the crash of the server
//! it is connected to. The `quickstart` binary prints the narration; the
//! `tests` crate runs the same scenario and checks the [`Report`].

use std::time::Duration;

use futures::StreamExt;
use zk_client::{Client, CreateMode, CreateOptions, EventType, SessionState};
use zk_server_sim::Ensemble;

/// Any error of the scenario.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// What the scenario observed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Report {
    /// The simulator's seed (replay with `ZK_SIM_SEED`).
    pub seed: u64,
    /// The server that was killed: the one the client was connected to.
    pub killed: usize,
    /// The client's session before the crash.
    pub session_before: i64,
    /// The client's session after it recovered.
    pub session_after: i64,
    /// The events the two watches set before the crash delivered.
    pub watch_events: Vec<(EventType, String)>,
    /// `/config` as the client read it after recovering.
    pub config_after: String,
    /// `/workers` after the client closed its session.
    pub workers_after_close: Vec<String>,
}

/// Runs the scenario on a fresh 3-node simulated ensemble, narrating through `say`.
pub async fn run(mut say: impl FnMut(String) + Send + 'static) -> Result<Report, BoxError> {
    // 1. An in-process ensemble: three servers on loopback ports, one leader.
    let ensemble = Ensemble::builder().nodes(3).build().await?;
    let seed = ensemble.seed();
    say(format!(
        "ensemble up: {} (seed {seed}, replay with ZK_SIM_SEED={seed})",
        ensemble.connect_string()
    ));
    say(format!(
        "leader is server {}",
        ensemble.leader().ok_or("no leader elected")?
    ));

    // 2. A client chrooted to /demo (the chroot node must exist first).
    let admin = Client::connect(ensemble.connect_string()).await?;
    admin
        .create("/demo", b"", &CreateOptions::default())
        .await?;
    let client = Client::builder(format!("{}/demo", ensemble.connect_string()))
        .session_timeout(Duration::from_secs(6))
        .connect()
        .await?;
    let session_before = client.session_id();
    say(format!(
        "client connected: session {session_before:#x}, timeout {:?}",
        client.negotiated_timeout()
    ));

    // The narration is shared with a task that reports session states.
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    let narrator = tokio::spawn(async move {
        while let Some(line) = rx.recv().await {
            say(line);
        }
    });
    let state_tx = tx.clone();
    let mut states = client.state_stream();
    let state_log = tokio::spawn(async move {
        while let Some(state) = states.next().await {
            let _ = state_tx.send(format!("  [state] {state:?}"));
            if state.is_terminal() {
                break;
            }
        }
    });
    let say = move |line: String| {
        let _ = tx.send(line);
    };

    // 3. A config node, a workers directory and this client's ephemeral worker.
    client
        .create("/config", b"v1", &CreateOptions::default())
        .await?;
    client
        .create("/workers", b"", &CreateOptions::default())
        .await?;
    let (me, _) = client
        .create(
            "/workers/w-",
            b"alive",
            &CreateOptions::new(CreateMode::EphemeralSequential),
        )
        .await?;
    say(format!("created /config, /workers and ephemeral {me}"));

    // 4. One-shot watches on the config's data and on the workers' children.
    let (data, stat, config_watch) = client.get_data_watch("/config").await?;
    let (children, workers_watch) = client.get_children_watch("/workers").await?;
    say(format!(
        "watching /config (= {:?}, version {}) and /workers (= {children:?})",
        String::from_utf8_lossy(&data),
        stat.version
    ));

    // 5. Crash the server this client is connected to.
    let killed = ensemble
        .sessions()
        .into_iter()
        .find(|s| s.id == session_before)
        .and_then(|s| s.owner)
        .ok_or("the session has no owner")?;
    say(format!(
        "killing server {killed}, the one the client is connected to"
    ));
    ensemble.kill(killed);

    // 6. Meanwhile another client changes what the first one watches.
    let other = Client::connect(format!("{}/demo", ensemble.connect_string())).await?;
    other.set_data("/config", b"v2", None).await?;
    other
        .create(
            "/workers/w-",
            b"alive",
            &CreateOptions::new(CreateMode::EphemeralSequential),
        )
        .await?;
    say("another client set /config to v2 and added a worker".to_owned());

    // 7. The client resumes its session on a surviving server and its watches fire.
    let wait = Duration::from_secs(10);
    let mut watch_events = Vec::new();
    for event in [
        tokio::time::timeout(wait, config_watch).await??,
        tokio::time::timeout(wait, workers_watch).await??,
    ] {
        say(format!(
            "  [watch] {:?} on {}",
            event.event_type, event.path
        ));
        watch_events.push((event.event_type, event.path));
    }
    let (data, stat) = client.get_data("/config").await?;
    let workers = client.get_children("/workers").await?;
    let session_after = client.session_id();
    let config_after = String::from_utf8_lossy(&data).into_owned();
    say(format!(
        "after the crash: session {session_after:#x} (same: {}); /config = {config_after:?} \
         (version {}); workers {workers:?}",
        session_after == session_before,
        stat.version
    ));
    if client.state() != SessionState::Connected {
        return Err(format!("the client is {:?}, not Connected", client.state()).into());
    }

    // 8. Closing the session removes its ephemeral; the history checker
    //    vouches for what every client saw.
    client.close().await?;
    state_log.await?;
    let workers_after_close = other.get_children("/workers").await?;
    say(format!(
        "closed the client: its ephemeral is gone, workers now {workers_after_close:?}"
    ));
    other.close().await?;
    admin.close().await?;
    ensemble
        .check_history()
        .map_err(|e| format!("history check failed: {e}"))?;
    say("history check passed: zxids never went back, reads matched committed state".to_owned());
    drop(say);
    narrator.await?;
    Ok(Report {
        seed,
        killed,
        session_before,
        session_after,
        watch_events,
        config_after,
        workers_after_close,
    })
}
