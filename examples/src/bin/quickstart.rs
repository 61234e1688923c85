//! The main example: a client on an embedded, simulated 3-node ZooKeeper
//! ensemble creates nodes, sets watches, and survives the crash of the server
//! it is connected to, printing what happens.
//!
//! ```sh
//! cargo run --release -p examples --bin quickstart
//! ZK_SIM_SEED=7 cargo run --release -p examples --bin quickstart   # replay a run
//! ```

use std::error::Error;
use std::time::Duration;

use futures::StreamExt;
use zk_client::{Client, CreateMode, CreateOptions, SessionState};
use zk_server_sim::Ensemble;

type Result<T> = std::result::Result<T, Box<dyn Error + Send + Sync>>;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<()> {
    // 1. An in-process ensemble: three servers on loopback ports, one leader.
    let ensemble = Ensemble::builder().nodes(3).build().await?;
    let seed = ensemble.seed();
    println!(
        "ensemble up: {} (seed {seed}, replay with ZK_SIM_SEED={seed})",
        ensemble.connect_string()
    );
    println!(
        "leader is server {}",
        ensemble.leader().ok_or("no leader elected")?
    );

    // 2. A client chrooted to /demo (the chroot node must exist first).
    let admin = Client::connect(ensemble.connect_string()).await?;
    admin
        .create("/demo", b"", &CreateOptions::default())
        .await?;
    let client = Client::builder(format!("{}/demo", ensemble.connect_string()))
        .session_timeout(Duration::from_secs(6))
        .connect()
        .await?;
    let session = client.session_id();
    println!(
        "client connected: session {session:#x}, timeout {:?}",
        client.negotiated_timeout()
    );

    let mut states = client.state_stream();
    let state_log = tokio::spawn(async move {
        while let Some(state) = states.next().await {
            println!("  [state] {state:?}");
            if state.is_terminal() {
                break;
            }
        }
    });

    // 3. Nodes: a config node, a workers directory and this client's ephemeral worker.
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
    println!("created /config, /workers and ephemeral {me}");

    // 4. One-shot watches on the config's data and on the workers' children.
    let (data, stat, config_watch) = client.get_data_watch("/config").await?;
    let (children, workers_watch) = client.get_children_watch("/workers").await?;
    println!(
        "watching /config (= {:?}, version {}) and /workers (= {children:?})",
        String::from_utf8_lossy(&data),
        stat.version
    );

    // 5. Crash the server this client is connected to.
    let owner = ensemble
        .sessions()
        .into_iter()
        .find(|s| s.id == session)
        .and_then(|s| s.owner)
        .ok_or("the session has no owner")?;
    println!("killing server {owner}, the one the client is connected to");
    ensemble.kill(owner);

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
    println!("another client set /config to v2 and added a worker");

    // 7. The client resumes its session on a surviving server and its watches fire.
    let wait = Duration::from_secs(10);
    let event = tokio::time::timeout(wait, config_watch).await??;
    println!("  [watch] {:?} on {}", event.event_type, event.path);
    let event = tokio::time::timeout(wait, workers_watch).await??;
    println!("  [watch] {:?} on {}", event.event_type, event.path);

    let (data, stat) = client.get_data("/config").await?;
    let workers = client.get_children("/workers").await?;
    println!(
        "after the crash: same session {:#x}: {}; /config = {:?} (version {}); workers {workers:?}",
        client.session_id(),
        client.session_id() == session,
        String::from_utf8_lossy(&data),
        stat.version
    );
    if client.state() != SessionState::Connected || client.session_id() != session {
        return Err("the client did not resume its session".into());
    }

    // 8. Closing the session removes its ephemeral; the history checker vouches
    //    for what every client saw.
    client.close().await?;
    state_log.await?;
    let workers = other.get_children("/workers").await?;
    println!("closed the client: its ephemeral is gone, workers now {workers:?}");
    other.close().await?;
    admin.close().await?;
    ensemble
        .check_history()
        .map_err(|e| format!("history check failed: {e}"))?;
    println!("history check passed: zxids never went back, reads matched committed state");
    Ok(())
}
