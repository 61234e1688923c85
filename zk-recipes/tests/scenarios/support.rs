//! Helpers shared by the scenario tests.

#![allow(dead_code, unreachable_pub)]

use std::time::Duration;

use zk_recipes::Session;
use zk_server_sim::Ensemble;

/// A 3-node simulated ensemble with a short tick, seeded from `ZK_SIM_SEED`
/// or `seed`; prints the seed so a failure can be replayed.
pub async fn ensemble(seed: u64) -> Ensemble {
    if std::env::var_os("RUST_LOG").is_some() {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_test_writer()
            .try_init();
    }
    let seed = std::env::var("ZK_SIM_SEED")
        .ok()
        .and_then(|s| zk_server_sim::parse_seed(&s))
        .unwrap_or(seed);
    eprintln!("simulator seed {seed} (replay with ZK_SIM_SEED={seed})");
    Ensemble::builder()
        .nodes(3)
        .seed(seed)
        .tick_time(Duration::from_millis(50))
        .min_session_timeout(Duration::from_millis(200))
        .build()
        .await
        .expect("ensemble")
}

/// A session with a short timeout on `hosts`.
pub async fn session(hosts: &str, timeout_ms: u64) -> Session {
    Session::builder(
        zk_client::Client::builder(hosts).session_timeout(Duration::from_millis(timeout_ms)),
    )
    .connect()
    .await
    .expect("session")
}

/// Waits up to `within` for `cond`, polling.
pub async fn eventually(within: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let start = tokio::time::Instant::now();
    while start.elapsed() < within {
        if cond() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    cond()
}

/// The children of `path` on server 0 (empty if it does not exist).
pub async fn children(client: &zk_client::Client, path: &str) -> Vec<String> {
    client.get_children(path).await.unwrap_or_default()
}

/// A session whose only way to the server at `upstream` is a fault proxy.
pub async fn proxied_session(
    upstream: std::net::SocketAddr,
    timeout_ms: u64,
    lost_margin: f64,
) -> (zk_server_sim::testkit::FaultProxy, Session) {
    proxied_session_in(upstream, "", timeout_ms, lost_margin).await
}

/// Like [`proxied_session`], under `chroot` ("" for none).
pub async fn proxied_session_in(
    upstream: std::net::SocketAddr,
    chroot: &str,
    timeout_ms: u64,
    lost_margin: f64,
) -> (zk_server_sim::testkit::FaultProxy, Session) {
    let proxy = zk_server_sim::testkit::FaultProxy::start(upstream)
        .await
        .expect("proxy");
    let s = Session::builder(
        zk_client::Client::builder(format!("{}{chroot}", proxy.addr()))
            .session_timeout(Duration::from_millis(timeout_ms))
            .connect_timeout(Duration::from_millis(500)),
    )
    .lost_margin(lost_margin)
    .connect()
    .await
    .expect("session");
    (proxy, s)
}

/// The index of the simulated server `client` is connected to.
pub fn server_of(ens: &Ensemble, client: &zk_client::Client) -> usize {
    let hp = client.server().expect("connected");
    (0..ens.len())
        .find(|&i| ens.addr(i).port() == hp.port)
        .expect("a server of the ensemble")
}

/// Waits until `rx` satisfies `f`, at most `within`.
pub async fn wait_state<T: Clone>(
    rx: &mut tokio::sync::watch::Receiver<T>,
    within: Duration,
    f: impl FnMut(&T) -> bool,
) -> T {
    tokio::time::timeout(within, rx.wait_for(f))
        .await
        .expect("state in time")
        .expect("channel open")
        .clone()
}

/// Creates `path` with 100 children of 200-character names: a listing of
/// about 20 KB, over a client limit of 4096 bytes (recipes.md §14 #19).
pub async fn oversize_directory(admin: &zk_client::Client, path: &str) {
    admin
        .create(path, b"", zk_client::CreateMode::Persistent)
        .await
        .unwrap();
    let long = "x".repeat(200);
    for i in 0..100 {
        admin
            .create(
                &format!("{path}/{long}{i:03}"),
                b"",
                zk_client::CreateMode::Persistent,
            )
            .await
            .unwrap();
    }
}
