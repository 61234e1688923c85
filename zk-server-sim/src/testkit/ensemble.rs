//! [`TestEnsemble`]: one ensemble API for tests over three backends.

use std::fmt;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use bytes::Bytes;
use zk_proto::{Acl, CreateRequest, ErrorCode, Request};

use super::container::ContainerEnsemble;
use super::error::TestkitError;
use super::{FaultProxy, RawClient};
use crate::real::{unique_chroot, Chroot, RealEnsemble, RealZkError};
use crate::Ensemble;

/// How long waits for a leader or a serving node last.
const WAIT_TIMEOUT: Duration = Duration::from_secs(60);

/// Where a [`TestEnsemble`]'s servers run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Backend {
    /// The in-process simulator ([`Ensemble`]): starts in milliseconds, needs
    /// nothing installed, deterministic with a seed.
    Sim,
    /// Real ZooKeeper servers as local child JVMs ([`RealEnsemble`]): Debian's
    /// `zookeeper` package (or the builder's classpath) and a JRE.
    Real,
    /// Real ZooKeeper servers in Docker containers, driven by the `testcontainers`
    /// crate (zk-server-sim's `testcontainers` feature) on private Docker networks.
    Container,
}

impl Backend {
    /// Every backend, simulator first.
    pub const ALL: [Backend; 3] = [Backend::Sim, Backend::Real, Backend::Container];

    /// `sim`, `real` or `container`.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sim => "sim",
            Backend::Real => "real",
            Backend::Container => "container",
        }
    }

    /// The backend [`name`](Self::name)d `name`.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|b| b.name() == name)
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Configures a [`TestEnsemble`]; from [`TestEnsemble::builder`]. Setters take and
/// return the builder by value.
///
/// | setting | default |
/// |---|---|
/// | [`nodes`](Self::nodes) | 3 |
/// | [`tick_time`](Self::tick_time) | 500 ms (sessions of 1 s to 10 s) |
/// | [`init_limit`](Self::init_limit) | 5 ticks (real servers and containers) |
/// | [`seed`](Self::seed) | the simulator's (`ZK_SIM_SEED` or random) |
/// | [`image`](Self::image) | `ZK_IMAGE`, else [`DEFAULT_IMAGE`](super::DEFAULT_IMAGE) |
#[derive(Debug, Clone)]
#[must_use = "a builder does nothing until `start` is called"]
pub struct TestEnsembleBuilder {
    backend: Backend,
    nodes: usize,
    tick_time: Duration,
    init_limit: u32,
    seed: Option<u64>,
    image: Option<String>,
}

impl TestEnsembleBuilder {
    /// Number of servers (1 runs a standalone server).
    pub fn nodes(mut self, nodes: usize) -> Self {
        self.nodes = nodes;
        self
    }

    /// ZooKeeper's `tickTime`; sessions may last from 2 to 20 ticks.
    pub fn tick_time(mut self, tick: Duration) -> Self {
        self.tick_time = tick;
        self
    }

    /// ZooKeeper's `initLimit` for real servers and containers: how many ticks a
    /// new leader waits for a quorum to join it. After a leader crash, two
    /// survivors can start the election in different rounds; one then leads
    /// alone until this runs out and they vote again, so a long limit makes
    /// failover slow (ZooKeeper's usual 10 ticks of 2 s: 20 s). The simulator
    /// ignores it.
    pub fn init_limit(mut self, ticks: u32) -> Self {
        self.init_limit = ticks;
        self
    }

    /// The simulator's seed (other backends ignore it).
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }

    /// The container image, `repository:tag` (other backends ignore it).
    pub fn image(mut self, image: impl Into<String>) -> Self {
        self.image = Some(image.into());
        self
    }

    /// Starts the servers and waits until they serve with one leader.
    ///
    /// # Errors
    ///
    /// [`TestkitError::Unavailable`] when the backend cannot run here (with the
    /// reason and the fix); otherwise whatever the backend reports.
    pub async fn start(self) -> Result<TestEnsemble, TestkitError> {
        if self.nodes == 0 {
            return Err(TestkitError::NoSuchNode { index: 0, len: 0 });
        }
        let tick = self.tick_time;
        let kind = match self.backend {
            Backend::Sim => {
                let mut builder = Ensemble::builder();
                builder.nodes(self.nodes).tick_time(tick);
                if let Some(seed) = self.seed {
                    builder.seed(seed);
                }
                let sim = builder
                    .build()
                    .await
                    .map_err(|e| TestkitError::io("starting the simulator", e.into()))?;
                Kind::Sim(sim)
            }
            Backend::Real => {
                let nodes = self.nodes;
                let init_limit = self.init_limit;
                let real = blocking(move || {
                    RealEnsemble::builder()
                        .nodes(nodes)
                        .tick_time(tick)
                        .init_limit(init_limit)
                        .partitionable(true)
                        .start()
                })
                .await?
                .map_err(|e| real_error(Backend::Real, e))?;
                Kind::Real(Shared::new(real))
            }
            Backend::Container => {
                let image = self
                    .image
                    .or_else(|| std::env::var("ZK_IMAGE").ok().filter(|s| !s.is_empty()))
                    .unwrap_or_else(|| super::DEFAULT_IMAGE.to_owned());
                let nodes = self.nodes;
                let init_limit = self.init_limit;
                let containers =
                    blocking(move || ContainerEnsemble::start(nodes, tick, init_limit, &image))
                        .await??;
                Kind::Container(Shared::new(containers))
            }
        };
        let mut ensemble = TestEnsemble {
            backend: self.backend,
            nodes: self.nodes,
            kind,
            proxies: Vec::new(),
        };
        // Clients of real servers reach them through a proxy each, so that a test
        // can drop their links (the simulator does that itself).
        if ensemble.backend != Backend::Sim {
            for i in 0..ensemble.len() {
                let upstream = ensemble.server_addr(i).await?;
                let proxy = FaultProxy::start(upstream)
                    .await
                    .map_err(|e| TestkitError::io("starting a client proxy", e))?;
                ensemble.proxies.push(proxy);
            }
        }
        ensemble.wait_healthy().await?;
        Ok(ensemble)
    }

    /// [`start`](Self::start), but a backend that is
    /// [unavailable](TestkitError::Unavailable) on this machine is skipped: the
    /// reason goes to stderr and the result is `Ok(None)`. Under `CI=true` a CI
    /// machine must have every backend, so the skip is the error instead.
    ///
    /// ```no_run
    /// use zk_server_sim::testkit::{Backend, TestEnsemble};
    /// # async fn demo() -> Result<(), zk_server_sim::testkit::TestkitError> {
    /// let Some(ensemble) = TestEnsemble::builder(Backend::Real).start_or_skip().await? else {
    ///     return Ok(()); // "skipped: the real backend is unavailable: ..."
    /// };
    /// # drop(ensemble); Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`start`](Self::start), and [`TestkitError::Unavailable`] under `CI=true`.
    pub async fn start_or_skip(self) -> Result<Option<TestEnsemble>, TestkitError> {
        match self.start().await {
            Ok(ensemble) => Ok(Some(ensemble)),
            Err(err) if err.is_unavailable() && !skips_are_failures() => {
                eprintln!("skipped: {err}");
                tracing::warn!(%err, "test-kit backend skipped");
                Ok(None)
            }
            Err(err) => Err(err),
        }
    }
}

/// True when a skipped backend must fail the test: `CI` is `true` (or `1`).
pub fn skips_are_failures() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// A ZooKeeper ensemble for tests, on any [`Backend`], with the simulator's names
/// for its faults ([`kill`](Self::kill), [`restart`](Self::restart),
/// [`partition`](Self::partition), [`heal`](Self::heal),
/// [`expire_session`](Self::expire_session),
/// [`drop_client_connections`](Self::drop_client_connections),
/// [`drop_session_connection`](Self::drop_session_connection)) so that one test
/// runs unchanged on each.
///
/// Nodes are numbered from 0. Every method takes `&self`; faults are `async` and
/// return once done (a restarted node serves; a partition is in place). Dropping
/// the ensemble stops every server and removes what it made (directories,
/// containers, networks); drop a container ensemble inside a tokio runtime.
///
/// On the real and container backends the client addresses are local proxies in
/// front of the servers (one each), so that
/// [`drop_client_connections`](Self::drop_client_connections) works everywhere.
///
/// ```
/// use zk_server_sim::testkit::{Backend, TestEnsemble};
///
/// # #[tokio::main(flavor = "multi_thread", worker_threads = 2)]
/// # async fn main() -> Result<(), zk_server_sim::testkit::TestkitError> {
/// let ensemble = TestEnsemble::builder(Backend::Sim).nodes(3).start().await?;
/// let ns = ensemble.chroot("my_test").await?; // created on the servers
/// println!("connect to {}", ns.connect_string);
///
/// let leader = ensemble.wait_healthy().await?;
/// ensemble.kill(leader).await?;
/// let next = ensemble.wait_healthy().await?;
/// assert_ne!(leader, next);
/// ensemble.restart(leader, false).await?;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct TestEnsemble {
    backend: Backend,
    nodes: usize,
    kind: Kind,
    proxies: Vec<FaultProxy>,
}

#[derive(Debug)]
enum Kind {
    Sim(Ensemble),
    Real(Shared<RealEnsemble>),
    Container(Shared<ContainerEnsemble>),
}

impl TestEnsemble {
    /// A builder for an ensemble on `backend`.
    pub fn builder(backend: Backend) -> TestEnsembleBuilder {
        TestEnsembleBuilder {
            backend,
            nodes: 3,
            tick_time: Duration::from_millis(500),
            init_limit: 5,
            seed: None,
            image: None,
        }
    }

    /// The backend the servers run on.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Number of servers.
    pub fn len(&self) -> usize {
        self.nodes
    }

    /// Always false: an ensemble has at least one server.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The address clients use for server `i`; `127.0.0.1:0` past the end.
    pub fn addr(&self, i: usize) -> SocketAddr {
        match &self.kind {
            Kind::Sim(sim) => sim.addr(i),
            Kind::Real(_) | Kind::Container(_) => self
                .proxies
                .get(i)
                .map_or_else(|| SocketAddr::from(([127, 0, 0, 1], 0)), FaultProxy::addr),
        }
    }

    /// `host:port,host:port,...` for every server.
    pub fn connect_string(&self) -> String {
        (0..self.len())
            .map(|i| self.addr(i).to_string())
            .collect::<Vec<_>>()
            .join(",")
    }

    /// The index of the server at `server`, as a client names its current server
    /// (`host:port`; zk-client's `Client::server()` displays so): the node a
    /// client is on. `None` for an address of no node.
    pub fn node_of(&self, server: impl fmt::Display) -> Option<usize> {
        let text = server.to_string();
        let (host, port) = text.rsplit_once(':')?;
        let port: u16 = port.parse().ok()?;
        let host = host.trim_start_matches('[').trim_end_matches(']');
        (0..self.len()).find(|&i| {
            let addr = self.addr(i);
            addr.port() == port
                && (host == addr.ip().to_string()
                    || (host == "localhost" && addr.ip().is_loopback()))
        })
    }

    /// A fresh chroot for the test `name` (`/it/<name>-<n>-<pid>`), **created**
    /// on the servers (with `/it`), and the connect strings to use it.
    ///
    /// # Errors
    ///
    /// [`TestkitError::Io`] when no server accepts the creates.
    pub async fn chroot(&self, name: &str) -> Result<Chroot, TestkitError> {
        let path = unique_chroot(name);
        let mut last = None;
        for i in 0..self.len() {
            match create_path(self.addr(i), &path).await {
                Ok(()) => {
                    let base = self.connect_string();
                    return Ok(Chroot {
                        connect_string: format!("{base}{path}"),
                        base_connect_string: base,
                        path,
                    });
                }
                Err(err) => last = Some(err),
            }
        }
        Err(TestkitError::io(
            format!("creating chroot {path}"),
            last.unwrap_or_else(|| std::io::Error::other("no server")),
        ))
    }

    /// The current leader, if one serves right now (does not wait).
    pub async fn leader(&self) -> Option<usize> {
        match &self.kind {
            Kind::Sim(sim) => sim.leader(),
            Kind::Real(real) => real.run(|r| r.leader()).await.ok().flatten(),
            Kind::Container(c) => c.run(|c| c.leader()).await.ok().flatten(),
        }
    }

    /// Waits until the ensemble is healthy: one leader, and every running node
    /// (not killed; not cut off by a partition) follows it. Returns the leader.
    ///
    /// # Errors
    ///
    /// [`TestkitError::Timeout`] after 60 s.
    pub async fn wait_healthy(&self) -> Result<usize, TestkitError> {
        match &self.kind {
            Kind::Sim(sim) => {
                let began = Instant::now();
                tokio::time::timeout(WAIT_TIMEOUT, sim.wait_for_quorum())
                    .await
                    .map_err(|_| TestkitError::Timeout {
                        what: "a leader followed by every available node".into(),
                        elapsed: began.elapsed(),
                    })?;
                sim.leader().ok_or_else(|| TestkitError::Timeout {
                    what: "a leader".into(),
                    elapsed: began.elapsed(),
                })
            }
            Kind::Real(real) => Ok(real.run(|r| r.wait_for_leader()).await??),
            Kind::Container(c) => c.run(|c| c.wait_healthy(WAIT_TIMEOUT)).await?,
        }
    }

    /// Crashes server `i` (SIGKILL for real servers and containers): its clients
    /// lose their connection, its data survives for [`restart`](Self::restart).
    ///
    /// # Errors
    ///
    /// [`TestkitError::NoSuchNode`]; the backend's failure.
    pub async fn kill(&self, i: usize) -> Result<(), TestkitError> {
        self.check(i)?;
        match &self.kind {
            Kind::Sim(sim) => {
                sim.kill(i);
                Ok(())
            }
            Kind::Real(real) => Ok(real.run(move |r| r.kill(i)).await??),
            Kind::Container(c) => c.run(move |c| c.kill(i)).await?,
        }
    }

    /// Starts server `i` again (killing it first if it runs) and waits until it
    /// serves. With `wipe` its data is gone and it resyncs from the leader
    /// (simulator and real servers; containers report
    /// [`TestkitError::Unsupported`]).
    ///
    /// # Errors
    ///
    /// [`TestkitError::NoSuchNode`]; the backend's failure.
    pub async fn restart(&self, i: usize, wipe: bool) -> Result<(), TestkitError> {
        self.check(i)?;
        match &self.kind {
            Kind::Sim(sim) => {
                sim.restart(i, wipe)
                    .await
                    .map_err(|e| TestkitError::io(format!("restarting node {i}"), e))?;
                self.wait_healthy().await.map(|_| ())
            }
            Kind::Real(real) => Ok(real
                .run(move |r| {
                    if wipe {
                        r.kill(i)?;
                        let data = r.dir().join(format!("node{}/data/version-2", i + 1));
                        if data.exists() {
                            std::fs::remove_dir_all(&data).map_err(|e| {
                                RealZkError::InvalidConfig(format!(
                                    "cannot wipe {}: {e}",
                                    data.display()
                                ))
                            })?;
                        }
                    }
                    r.restart(i)
                })
                .await??),
            Kind::Container(c) => {
                if wipe {
                    return Err(TestkitError::Unsupported {
                        backend: self.backend,
                        what: "restart with a wiped disk",
                    });
                }
                c.run(move |c| c.restart(i, WAIT_TIMEOUT)).await?
            }
        }
    }

    /// Cuts every link between the servers in `side` and the others (replacing
    /// any earlier partition). A side without a quorum stops serving, so its
    /// clients move to the other side; clients can still reach every server.
    /// On containers, each node of the smaller side is disconnected from the
    /// peers' network (so those nodes lose each other too); for one node, as
    /// tests mostly use, that is exact.
    ///
    /// # Errors
    ///
    /// [`TestkitError::NoSuchNode`]; the backend's failure.
    pub async fn partition(&self, side: &[usize]) -> Result<(), TestkitError> {
        for &i in side {
            self.check(i)?;
        }
        let side = side.to_vec();
        match &self.kind {
            Kind::Sim(sim) => {
                sim.partition(&side);
                Ok(())
            }
            Kind::Real(real) => Ok(real.run(move |r| r.partition(&side)).await??),
            Kind::Container(c) => c.run(move |c| c.partition(&side)).await?,
        }
    }

    /// Cuts server `i` off from every peer: `partition(&[i])`.
    ///
    /// # Errors
    ///
    /// As [`partition`](Self::partition).
    pub async fn isolate(&self, i: usize) -> Result<(), TestkitError> {
        self.partition(&[i]).await
    }

    /// Restores every link cut by [`partition`](Self::partition). The servers
    /// find each other on their own; [`wait_healthy`](Self::wait_healthy) waits.
    ///
    /// # Errors
    ///
    /// The backend's failure.
    pub async fn heal(&self) -> Result<(), TestkitError> {
        match &self.kind {
            Kind::Sim(sim) => {
                sim.heal();
                Ok(())
            }
            Kind::Real(real) => Ok(real.run(|r| r.heal()).await??),
            Kind::Container(c) => c.run(|c| c.heal()).await?,
        }
    }

    /// Expires the session `session_id` on the servers now (its ephemerals go,
    /// its watches fire, its client finds it expired). `passwd` is the session
    /// password (zk-client's `Client::session_password()`); real servers need it
    /// to take the session over and close it, the simulator expires it directly.
    ///
    /// # Errors
    ///
    /// [`TestkitError::NoSuchSession`] when the servers do not know the session.
    pub async fn expire_session(&self, session_id: i64, passwd: &[u8]) -> Result<(), TestkitError> {
        if let Kind::Sim(sim) = &self.kind {
            return if sim.expire_session(session_id) {
                Ok(())
            } else {
                Err(TestkitError::NoSuchSession { session_id })
            };
        }
        let mut last = None;
        for i in 0..self.len() {
            match super::expire_session(self.addr(i), session_id, passwd).await {
                Ok(()) => return Ok(()),
                Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                    return Err(TestkitError::NoSuchSession { session_id })
                }
                // A server that does not serve (killed, partitioned): the next one.
                Err(err) => last = Some(err),
            }
        }
        Err(TestkitError::io(
            format!("expiring session {session_id:#x}"),
            last.unwrap_or_else(|| std::io::Error::other("no server")),
        ))
    }

    /// Closes every client connection of server `i` (the server keeps running;
    /// its clients reconnect, sessions intact).
    ///
    /// # Errors
    ///
    /// [`TestkitError::NoSuchNode`].
    pub async fn drop_client_connections(&self, i: usize) -> Result<(), TestkitError> {
        self.check(i)?;
        match &self.kind {
            Kind::Sim(sim) => sim.drop_client_connections(i),
            Kind::Real(_) | Kind::Container(_) => {
                if let Some(proxy) = self.proxies.get(i) {
                    proxy.drop_links();
                }
            }
        }
        Ok(())
    }

    /// Closes the client connection of session `session_id` alone, wherever it
    /// is (the server keeps running and keeps the session; its client
    /// reconnects in it; other clients of the same server keep their links).
    /// The simulator closes the session's connection itself; on real servers
    /// and containers the client proxies know each link's session from the
    /// server's ConnectResponse and close that link. A client that connected
    /// to the servers directly, not through [`addr`](Self::addr), is out of
    /// reach there.
    ///
    /// # Errors
    ///
    /// [`TestkitError::NoSuchSession`] when no server (through its proxy)
    /// holds a connection of that session: unknown, expired, or its client
    /// is between connections.
    pub async fn drop_session_connection(&self, session_id: i64) -> Result<(), TestkitError> {
        let dropped = match &self.kind {
            Kind::Sim(sim) => sim.drop_session_connection(session_id),
            Kind::Real(_) | Kind::Container(_) => {
                self.proxies
                    .iter()
                    .map(|p| p.drop_session(session_id))
                    .sum::<usize>()
                    > 0
            }
        };
        if dropped {
            Ok(())
        } else {
            Err(TestkitError::NoSuchSession { session_id })
        }
    }

    /// The simulator behind a [`Backend::Sim`] ensemble, for what only it can do
    /// (history checks, held links, snapshots).
    pub fn sim(&self) -> Option<&Ensemble> {
        match &self.kind {
            Kind::Sim(sim) => Some(sim),
            _ => None,
        }
    }

    fn check(&self, index: usize) -> Result<(), TestkitError> {
        let len = self.len();
        if index < len {
            Ok(())
        } else {
            Err(TestkitError::NoSuchNode { index, len })
        }
    }

    /// Where server `i` itself listens for clients (not the proxy).
    async fn server_addr(&self, i: usize) -> Result<SocketAddr, TestkitError> {
        match &self.kind {
            Kind::Sim(sim) => Ok(sim.addr(i)),
            Kind::Real(real) => Ok(real.run(move |r| r.node_addr(i)).await??),
            Kind::Container(c) => c.run(move |c| c.client_addr(i)).await?,
        }
    }
}

/// Creates `path` and its parents (persistent, empty, open ACL); existing nodes
/// are fine.
async fn create_path(addr: SocketAddr, path: &str) -> std::io::Result<()> {
    let mut client = RawClient::connect(addr, 10_000).await?;
    let mut prefix = String::new();
    for part in path.split('/').filter(|p| !p.is_empty()) {
        prefix.push('/');
        prefix.push_str(part);
        let req = Request::Create(CreateRequest {
            path: prefix.clone(),
            data: Bytes::new().into(),
            acl: Acl::open_unsafe(),
            flags: 0,
        });
        let (header, _) = client.request(&req).await?;
        if header.err != ErrorCode::Ok && header.err != ErrorCode::NodeExists {
            let _ = client.close().await;
            return Err(std::io::Error::other(format!(
                "create {prefix}: {}",
                header.err
            )));
        }
    }
    client.close().await
}

/// Maps "ZooKeeper or Java not installed" to [`TestkitError::Unavailable`].
fn real_error(backend: Backend, err: RealZkError) -> TestkitError {
    if err.is_not_installed() {
        TestkitError::Unavailable {
            backend,
            reason: err.to_string(),
        }
    } else {
        TestkitError::Real(err)
    }
}

/// Runs blocking harness code off the async workers.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, TestkitError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| TestkitError::io("test-kit worker", std::io::Error::other(e.to_string())))
}

/// A blocking harness shared with the worker threads that drive it.
#[derive(Debug)]
struct Shared<T>(Arc<Mutex<T>>);

impl<T: Send + 'static> Shared<T> {
    fn new(inner: T) -> Self {
        Self(Arc::new(Mutex::new(inner)))
    }

    async fn run<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut T) -> R + Send + 'static,
    ) -> Result<R, TestkitError> {
        let inner = Arc::clone(&self.0);
        blocking(move || {
            let mut guard = inner.lock().unwrap_or_else(PoisonError::into_inner);
            f(&mut guard)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backend_names_round_trip() {
        for backend in Backend::ALL {
            assert_eq!(Backend::from_name(backend.name()), Some(backend));
        }
        assert_eq!(Backend::from_name("docker"), None);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn node_of_finds_the_node_behind_a_server_address() {
        let ensemble = TestEnsemble::builder(Backend::Sim)
            .nodes(3)
            .seed(7)
            .start()
            .await
            .unwrap();
        for i in 0..3 {
            let addr = ensemble.addr(i);
            assert_eq!(ensemble.node_of(addr), Some(i));
            assert_eq!(
                ensemble.node_of(format!("localhost:{}", addr.port())),
                Some(i)
            );
        }
        assert_eq!(ensemble.node_of("127.0.0.1:1"), None);
        assert_eq!(ensemble.node_of("no port"), None);
        assert!(matches!(
            ensemble.kill(3).await,
            Err(TestkitError::NoSuchNode { index: 3, len: 3 })
        ));
        let chroot = ensemble.chroot("unit").await.unwrap();
        assert!(chroot.connect_string.ends_with(&chroot.path));
        let created = ensemble.sim().unwrap().snapshot(0);
        assert!(created.contains_key(&chroot.path), "chroot created");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_unknown_session_is_not_expired_silently() {
        let ensemble = TestEnsemble::builder(Backend::Sim)
            .nodes(1)
            .start()
            .await
            .unwrap();
        assert!(matches!(
            ensemble.expire_session(0x1234, &[0; 16]).await,
            Err(TestkitError::NoSuchSession { session_id: 0x1234 })
        ));
    }
}
