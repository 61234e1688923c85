//! [`Builder`]: the knobs of a simulated ensemble.

use std::time::Duration;

use super::Ensemble;

/// Which ZooKeeper release the simulator impersonates, where releases differ
/// on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum ServerVersion {
    /// 3.8: notifications carry zxid −1 (the default).
    #[default]
    V3_8,
    /// 3.9: notifications carry the zxid of the change that fired them
    /// (ZOOKEEPER-4655).
    V3_9,
}

impl ServerVersion {
    /// The `Zookeeper version:` string of `srvr`, `stat`, `mntr`, `envi`.
    pub fn version_string(self) -> &'static str {
        match self {
            ServerVersion::V3_8 => VERSION,
            ServerVersion::V3_9 => "3.9.0-zk-server-sim, built on 2026-01-01 00:00 UTC",
        }
    }
}

/// Why [`Builder::build`] failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum BuildError {
    /// `minSessionTimeout` is larger than `maxSessionTimeout` (after the
    /// defaults of 2 and 20 ticks are applied); real ZooKeeper refuses to
    /// start with `minSessionTimeout must not be larger than
    /// maxSessionTimeout`.
    SessionTimeoutBounds {
        /// The effective `minSessionTimeout`, ms.
        min_ms: i32,
        /// The effective `maxSessionTimeout`, ms.
        max_ms: i32,
    },
    /// Binding a port or starting the nodes failed.
    Io(std::io::Error),
}

impl std::fmt::Display for BuildError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BuildError::SessionTimeoutBounds { min_ms, max_ms } => write!(
                f,
                "minSessionTimeout ({min_ms} ms) must not be larger than maxSessionTimeout ({max_ms} ms)"
            ),
            BuildError::Io(e) => write!(f, "cannot start the ensemble: {e}"),
        }
    }
}

impl std::error::Error for BuildError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            BuildError::Io(e) => Some(e),
            BuildError::SessionTimeoutBounds { .. } => None,
        }
    }
}

impl From<std::io::Error> for BuildError {
    fn from(e: std::io::Error) -> Self {
        BuildError::Io(e)
    }
}

/// For callers that return `std::io::Result`: a bad configuration becomes
/// [`std::io::ErrorKind::InvalidInput`].
impl From<BuildError> for std::io::Error {
    fn from(e: BuildError) -> Self {
        match e {
            BuildError::Io(e) => e,
            other => std::io::Error::new(std::io::ErrorKind::InvalidInput, other),
        }
    }
}

/// The version string the simulator reports by default (3.8).
pub const VERSION: &str = "3.8.0-zk-server-sim, built on 2026-01-01 00:00 UTC";

/// Resolved configuration shared by every node of an ensemble.
#[derive(Debug, Clone)]
pub(crate) struct Config {
    pub(crate) nodes: usize,
    pub(crate) tick_ms: u64,
    pub(crate) min_session_timeout_ms: i32,
    pub(crate) max_session_timeout_ms: i32,
    pub(crate) sync_limit: u64,
    pub(crate) seed: u64,
    pub(crate) max_frame: usize,
    pub(crate) extended_types: bool,
    pub(crate) read_only: bool,
    pub(crate) record_history: bool,
    pub(crate) base_port: Option<u16>,
    pub(crate) container_check_ms: u64,
    pub(crate) version: ServerVersion,
    pub(crate) super_digest: Option<String>,
    /// `maxClientCnxns`: connections per client address (0: unlimited).
    pub(crate) max_client_cnxns: usize,
    /// `zookeeper.nio.sessionlessCnxnTimeout` in ms.
    pub(crate) sessionless_ms: u64,
    pub(crate) commit_log_count: usize,
    pub(crate) max_output: Option<usize>,
    /// Whitelisted four-letter words (`None`: every word).
    pub(crate) four_letter_whitelist: Option<Vec<String>>,
}

impl Config {
    /// Whether four-letter word `word` may run (`srvr` always may).
    pub(crate) fn four_letter_allowed(&self, word: &str) -> bool {
        word == "srvr"
            || self
                .four_letter_whitelist
                .as_ref()
                .is_none_or(|list| list.iter().any(|w| w == word))
    }

    /// Votes needed for a quorum: a strict majority of all nodes.
    pub(crate) fn majority(&self) -> usize {
        self.nodes / 2 + 1
    }
}

/// Configures and builds an [`Ensemble`], in the shape of turmoil's builder:
/// setters take `&mut self` and [`Builder::build`] may be called repeatedly.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// let ensemble = zk_server_sim::Ensemble::builder()
///     .nodes(3)
///     .tick_time(std::time::Duration::from_millis(50))
///     .seed(7)
///     .build()
///     .await?;
/// assert_eq!(ensemble.len(), 3);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct Builder {
    nodes: usize,
    tick: Duration,
    min_session_timeout: Option<Duration>,
    max_session_timeout: Option<Duration>,
    sync_limit: u64,
    seed: Option<u64>,
    max_frame: usize,
    extended_types: bool,
    read_only: bool,
    record_history: bool,
    base_port: Option<u16>,
    container_check: Duration,
    version: ServerVersion,
    super_digest: Option<String>,
    max_client_cnxns: usize,
    sessionless: Duration,
    commit_log_count: usize,
    max_output: Option<usize>,
    four_letter_whitelist: Option<Vec<String>>,
}

impl Default for Builder {
    fn default() -> Self {
        Builder {
            nodes: 3,
            tick: Duration::from_millis(200),
            min_session_timeout: None,
            max_session_timeout: None,
            sync_limit: 5,
            seed: None,
            max_frame: zk_proto::DEFAULT_MAX_FRAME,
            extended_types: false,
            read_only: false,
            record_history: true,
            base_port: None,
            container_check: Duration::from_secs(60),
            version: ServerVersion::V3_8,
            super_digest: None,
            max_client_cnxns: 60,
            sessionless: Duration::from_secs(10),
            commit_log_count: 500,
            max_output: None,
            four_letter_whitelist: None,
        }
    }
}

impl Builder {
    /// A builder with ZooKeeper-like defaults: 3 nodes, tick 200 ms,
    /// session timeouts in [2, 20] ticks, `jute.maxbuffer` frames, no TTL
    /// nodes, no read-only mode, history recording on, seed from
    /// `ZK_SIM_SEED` or random.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of servers (1, 3, 5 or 7 are typical; at most 254).
    pub fn nodes(&mut self, n: usize) -> &mut Self {
        self.nodes = n.clamp(1, 254);
        self
    }

    /// ZooKeeper's `tickTime`: the unit of session-expiry buckets and
    /// failure detection.
    pub fn tick_time(&mut self, tick: Duration) -> &mut Self {
        self.tick = tick.max(Duration::from_millis(1));
        self
    }

    /// `minSessionTimeout` (default 2 × tick). [`Builder::build`] fails with
    /// [`BuildError::SessionTimeoutBounds`] if it ends up above
    /// `maxSessionTimeout`, as real ZooKeeper refuses to start.
    pub fn min_session_timeout(&mut self, t: Duration) -> &mut Self {
        self.min_session_timeout = Some(t);
        self
    }

    /// `maxSessionTimeout` (default 20 × tick); never below
    /// `minSessionTimeout` (see [`Builder::min_session_timeout`]).
    pub fn max_session_timeout(&mut self, t: Duration) -> &mut Self {
        self.max_session_timeout = Some(t);
        self
    }

    /// `syncLimit`: ticks of silence after which a paused peer counts as lost.
    pub fn sync_limit(&mut self, ticks: u64) -> &mut Self {
        self.sync_limit = ticks.max(1);
        self
    }

    /// The seed driving every random choice. Without it, `ZK_SIM_SEED` is
    /// read, and failing that a random seed is drawn; [`Ensemble::seed`]
    /// reports the one used.
    pub fn seed(&mut self, seed: u64) -> &mut Self {
        self.seed = Some(seed);
        self
    }

    /// Largest accepted frame (`jute.maxbuffer`, default 1,048,575).
    pub fn max_frame_size(&mut self, bytes: usize) -> &mut Self {
        self.max_frame = bytes;
        self
    }

    /// Enables TTL nodes (`zookeeper.extendedTypesEnabled`).
    pub fn extended_types(&mut self, on: bool) -> &mut Self {
        self.extended_types = on;
        self
    }

    /// Enables read-only mode (`readonlymode.enabled`): a node without
    /// quorum serves read-only clients after `max(2 s, tick)`.
    pub fn read_only(&mut self, on: bool) -> &mut Self {
        self.read_only = on;
        self
    }

    /// Records client-visible history for [`Ensemble::check_history`]
    /// (default on; turn it off for benchmarks and long runs).
    ///
    /// Memory: the history holds one record per client operation, so it
    /// grows with the run; the log's own per-write bookkeeping for it (the
    /// zxids of trimmed proposals) is kept as one run per epoch and does not.
    pub fn record_history(&mut self, on: bool) -> &mut Self {
        self.record_history = on;
        self
    }

    /// Listens on `port`, `port + 1`, ... instead of OS-assigned ports.
    pub fn base_port(&mut self, port: u16) -> &mut Self {
        self.base_port = Some(port);
        self
    }

    /// How often the leader looks for empty containers and expired TTL
    /// nodes (`znode.container.checkIntervalMs`, default 60 s).
    pub fn container_check_interval(&mut self, every: Duration) -> &mut Self {
        self.container_check = every.max(Duration::from_millis(1));
        self
    }

    /// The release to impersonate (default 3.8; 3.9 puts real zxids in
    /// notifications).
    pub fn server_version(&mut self, version: ServerVersion) -> &mut Self {
        self.version = version;
        self
    }

    /// `zookeeper.DigestAuthenticationProvider.superDigest`: a digest auth
    /// whose digest equals `digest` (`user:base64(sha1(user:password))`, see
    /// [`crate::tree::auth::digest`]) also gets the `super` id, which passes
    /// every ACL check. Default: none.
    pub fn super_digest(&mut self, digest: impl Into<String>) -> &mut Self {
        self.super_digest = Some(digest.into());
        self
    }

    /// ZooKeeper's `maxClientCnxns`: how many connections one client
    /// address may hold on one server (default 60, as real; 0: unlimited).
    /// A connection beyond it is accepted and closed at once, with the
    /// warning `Too many connections from <ip> - max is <n>`.
    pub fn max_client_cnxns(&mut self, max: usize) -> &mut Self {
        self.max_client_cnxns = max;
        self
    }

    /// ZooKeeper's `zookeeper.nio.sessionlessCnxnTimeout` (default 10 s): a
    /// connection that has not completed a ConnectRequest by then is
    /// closed. As real ZooKeeper's expiry queue, the deadline is rounded up
    /// to a multiple of the timeout, so the close comes one to two timeouts
    /// after the connection opened.
    pub fn sessionless_connection_timeout(&mut self, timeout: Duration) -> &mut Self {
        self.sessionless = timeout.max(Duration::from_millis(1));
        self
    }

    /// ZooKeeper's `zookeeper.commitLogCount` (default 500): how many
    /// committed proposals each server keeps in memory behind its commit
    /// point. A follower that falls further behind is caught up with a
    /// snapshot (SNAP) instead of the log (DIFF). Older proposals are
    /// dropped, so memory stays flat over long write runs (the tree is the
    /// snapshot; a real server's `snapCount` snapshots and purges do the
    /// same for its disk).
    pub fn commit_log_count(&mut self, proposals: usize) -> &mut Self {
        self.commit_log_count = proposals.max(1);
        self
    }

    /// Caps the bytes queued for one connection whose client does not read
    /// them (default: no cap, as real ZooKeeper, whose outgoing queue is
    /// unbounded). Past the cap the connection is closed, with a warning
    /// naming its session; the session itself lives on until it expires or
    /// the client reconnects. Either way the server keeps reading pings and
    /// requests from a connection whose writes are blocked.
    pub fn max_output_queue(&mut self, bytes: Option<usize>) -> &mut Self {
        self.max_output = bytes;
        self
    }

    /// ZooKeeper's `4lw.commands.whitelist`: comma-separated words, or `*`
    /// for every word (the default here, as the test preset of the real
    /// harness; real ZooKeeper's own default is `srvr`). `srvr` is always
    /// allowed. A word outside the list answers `<cmd> is not executed
    /// because it is not in the whitelist.`
    pub fn four_letter_whitelist(&mut self, list: &str) -> &mut Self {
        let words: Vec<String> = list
            .split(',')
            .map(str::trim)
            .filter(|w| !w.is_empty())
            .map(str::to_owned)
            .collect();
        self.four_letter_whitelist = if words.iter().any(|w| w == "*") {
            None
        } else {
            Some(words)
        };
        self
    }

    pub(crate) fn config(&self) -> Result<Config, BuildError> {
        let tick_ms = u64::try_from(self.tick.as_millis()).unwrap_or(u64::MAX / 64);
        let ms = |d: Duration| i32::try_from(d.as_millis()).unwrap_or(i32::MAX);
        let tick_i32 = i32::try_from(tick_ms).unwrap_or(i32::MAX / 20);
        let min = self
            .min_session_timeout
            .map(ms)
            .unwrap_or(tick_i32.saturating_mul(2));
        let max = self
            .max_session_timeout
            .map(ms)
            .unwrap_or(tick_i32.saturating_mul(20));
        if min > max {
            return Err(BuildError::SessionTimeoutBounds {
                min_ms: min,
                max_ms: max,
            });
        }
        let seed = self.seed.unwrap_or_else(|| {
            std::env::var("ZK_SIM_SEED")
                .ok()
                .and_then(|s| parse_seed(&s))
                .unwrap_or_else(rand::random)
        });
        Ok(Config {
            nodes: self.nodes,
            tick_ms,
            min_session_timeout_ms: min,
            max_session_timeout_ms: max,
            sync_limit: self.sync_limit,
            seed,
            max_frame: self.max_frame,
            extended_types: self.extended_types,
            read_only: self.read_only,
            record_history: self.record_history,
            base_port: self.base_port,
            container_check_ms: u64::try_from(self.container_check.as_millis())
                .unwrap_or(u64::MAX / 2),
            version: self.version,
            super_digest: self.super_digest.clone(),
            max_client_cnxns: self.max_client_cnxns,
            commit_log_count: self.commit_log_count,
            max_output: self.max_output,
            four_letter_whitelist: self.four_letter_whitelist.clone(),
            sessionless_ms: u64::try_from(self.sessionless.as_millis()).unwrap_or(u64::MAX / 4),
        })
    }

    /// Binds every node on 127.0.0.1, elects a leader and starts serving on
    /// the current tokio runtime. The ensemble shuts down when dropped.
    ///
    /// Errors: [`BuildError::SessionTimeoutBounds`] when the session-timeout
    /// bounds are inverted (as real ZooKeeper refuses to start), or
    /// [`BuildError::Io`] when a port cannot be bound.
    pub async fn build(&self) -> Result<Ensemble, BuildError> {
        let cfg = self.config()?;
        Ok(Ensemble::start(cfg).await?)
    }
}

/// Parses a seed written in decimal or as `0x` hex.
pub fn parse_seed(s: &str) -> Option<u64> {
    let s = s.trim();
    match s.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => s.parse().ok(),
    }
}
