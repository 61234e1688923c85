//! Shared fixtures: real ZooKeeper ensembles (one per kind per test binary),
//! per-test chroots, the test kit's fault-injecting proxy, and a bounded wait.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::OnceLock;
use std::time::Duration;

use zk_client::{Client, CreateOptions, Error};
use zk_server_sim::real::{unique_chroot, RealEnsemble};
use zk_server_sim::testkit::FaultProxy;

/// The default ensemble: three real ZooKeeper 3.8 servers **without**
/// extended types (so TTL creates get UNIMPLEMENTED), 500 ms ticks (session
/// timeouts negotiable from 1 s to 10 s). Started once per test binary.
pub fn ensemble() -> &'static RealEnsemble {
    static PLAIN: OnceLock<RealEnsemble> = OnceLock::new();
    PLAIN.get_or_init(|| {
        RealEnsemble::builder()
            .nodes(3)
            .tick_time(Duration::from_millis(500))
            .extended_types(false)
            .start()
            .expect("start a 3-node ZooKeeper ensemble (run .ci/install-deps.sh)")
    })
}

/// A standalone server with `zookeeper.extendedTypesEnabled=true` (TTL nodes).
pub fn ttl_server() -> &'static RealEnsemble {
    RealEnsemble::shared(1).expect("start a standalone ZooKeeper with extended types")
}

/// A test's own chroot on `ens`: creates the chroot node with a non-chrooted
/// client, then returns the chrooted connect string.
pub async fn chroot_on(ens: &RealEnsemble, name: &str) -> String {
    let path = unique_chroot(name);
    let base = Client::connect(ens.connect_string())
        .await
        .expect("connect without chroot");
    let mut prefix = String::new();
    for part in path.split('/').filter(|p| !p.is_empty()) {
        prefix.push('/');
        prefix.push_str(part);
        match base.create(&prefix, b"", &CreateOptions::default()).await {
            Ok(_) | Err(Error::NodeExists) => {}
            Err(e) => panic!("create chroot {prefix}: {e}"),
        }
    }
    base.close().await.expect("close setup client");
    ens.connect_string_with_chroot(&path)
}

/// A connected client in a fresh chroot of the default ensemble.
pub async fn client(name: &str) -> Client {
    let cs = chroot_on(ensemble(), name).await;
    Client::builder(cs)
        .session_timeout(Duration::from_secs(10))
        .connect()
        .await
        .expect("connect")
}

/// Awaits `f`, failing the test (rather than hanging it) after 60 s. This is
/// a hang guard, not a timing assertion.
pub async fn bounded<F: Future>(what: &str, f: F) -> F::Output {
    match tokio::time::timeout(Duration::from_secs(60), f).await {
        Ok(v) => v,
        Err(_) => panic!("{what}: still waiting after 60 s"),
    }
}

/// A fault-injecting proxy in front of one server (the test kit's).
pub async fn proxy(upstream: SocketAddr) -> FaultProxy {
    FaultProxy::start(upstream).await.expect("start a proxy")
}

/// One proxy per node of `ens`, and the connect string (with `chroot`) that
/// names them instead of the nodes.
pub async fn proxies(ens: &RealEnsemble, chroot: &str) -> (Vec<FaultProxy>, String) {
    let mut ps = Vec::new();
    for i in 0..ens.node_count() {
        ps.push(proxy(ens.node_addr(i).unwrap()).await);
    }
    let hosts: Vec<String> = ps.iter().map(|p| p.addr().to_string()).collect();
    let cs = format!("{}{chroot}", hosts.join(","));
    (ps, cs)
}

/// The chroot part of a connect string (`/...`); the string must have one.
pub fn chroot_of(cs: &str) -> String {
    cs.split_once('/')
        .map(|(_, r)| format!("/{r}"))
        .expect("the connect string has a chroot")
}

/// The index of the one proxy that carries a link (the client's server).
pub async fn active(ps: &[FaultProxy]) -> usize {
    bounded("a single active link", async {
        loop {
            let live: Vec<usize> = (0..ps.len())
                .filter(|&i| ps[i].active_links() > 0)
                .collect();
            if live.len() == 1 {
                return live[0];
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
}

/// Reads states until `want` (panics on a terminal state first).
pub async fn wait_state(states: &mut zk_client::StateStream, want: zk_client::SessionState) {
    use futures::StreamExt;
    bounded("state", async {
        loop {
            match states.next().await {
                Some(s) if s == want => return,
                Some(s) if s.is_terminal() => panic!("terminal state {s} while waiting for {want}"),
                Some(_) => {}
                None => panic!("state stream ended while waiting for {want}"),
            }
        }
    })
    .await
}

/// Waits for a reconnect: Disconnected, then Connected; any other state fails.
pub async fn wait_reconnect(states: &mut zk_client::StateStream, what: &str) {
    use futures::StreamExt;
    bounded(what, async {
        let mut saw_disconnect = false;
        while let Some(state) = states.next().await {
            match state {
                zk_client::SessionState::Disconnected => saw_disconnect = true,
                zk_client::SessionState::Connected if saw_disconnect => return,
                zk_client::SessionState::Connected => {}
                other => panic!("unexpected state {other}"),
            }
        }
        panic!("state stream ended during {what}");
    })
    .await
}

/// Serialises the tests that load the machine heavily (starting and killing
/// JVMs, 10,000 watches) with the tests whose sessions have timeouts of a
/// few seconds (pings, expiry and blackhole deadlines): on two busy cores a
/// JVM start can stall a server's answers past a 1 s session's read timeout.
pub async fn exclusive() -> tokio::sync::MutexGuard<'static, ()> {
    static QUIET: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    QUIET.lock().await
}
