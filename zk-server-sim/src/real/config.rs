//! The ensemble builder, and the `zoo.cfg` and JVM command line it produces.

use std::ffi::OsString;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Duration;

use super::ensemble::RealEnsemble;
use super::error::{RealZkError, Result};
use super::install::MAIN_CLASS;
use super::node::NodeLayout;

/// Environment variable that, when set to anything but `0` or empty, keeps every
/// ensemble's directory (configs, data, logs) after the ensemble is dropped.
pub const KEEP_DIR_ENV: &str = "ZK_REAL_KEEP_DIR";

/// Configures and starts a [`RealEnsemble`]. Get one from [`RealEnsemble::builder`].
///
/// Defaults:
///
/// | setting | default |
/// |---|---|
/// | [`nodes`](Self::nodes) | 1 (standalone) |
/// | [`tick_time`](Self::tick_time) | 2000 ms |
/// | [`init_limit`](Self::init_limit) / [`sync_limit`](Self::sync_limit) | 10 / 5 ticks |
/// | session timeouts | ZooKeeper's: 2 × and 20 × tick time |
/// | [`reconfig_enabled`](Self::reconfig_enabled) | false |
/// | [`force_sync`](Self::force_sync) | false (`forceSync=no`: no fsync per write) |
/// | [`max_heap_mb`](Self::max_heap_mb) | 256 |
/// | [`startup_timeout`](Self::startup_timeout) | 60 s |
/// | [`stop_timeout`](Self::stop_timeout) | 10 s |
/// | [`start_attempts`](Self::start_attempts) | 3 (fresh ports after a bind race) |
/// | [`keep_dir`](Self::keep_dir) | false, or true when `ZK_REAL_KEEP_DIR` is set |
/// | [`secure_client_port`](Self::secure_client_port) | false |
/// | [`partitionable`](Self::partitionable) | false |
///
/// Always set, whatever the builder says: `4lw.commands.whitelist=*`,
/// `admin.enableServer=false`, and addresses on 127.0.0.1 only.
///
/// ```no_run
/// use std::time::Duration;
/// use zk_server_sim::real::RealEnsemble;
///
/// let ensemble = RealEnsemble::builder()
///     .nodes(3)
///     .tick_time(Duration::from_millis(500))
///     .extended_types(true)
///     .start()?;
/// println!("connect to {}", ensemble.connect_string());
/// # Ok::<(), zk_server_sim::real::RealZkError>(())
/// ```
#[derive(Debug, Clone)]
#[must_use = "a builder does nothing until `start` is called"]
pub struct RealEnsembleBuilder {
    pub(crate) nodes: usize,
    pub(crate) tick_time: Duration,
    pub(crate) init_limit: u32,
    pub(crate) sync_limit: u32,
    pub(crate) min_session_timeout: Option<Duration>,
    pub(crate) max_session_timeout: Option<Duration>,
    pub(crate) reconfig_enabled: bool,
    pub(crate) force_sync: bool,
    pub(crate) extra_cfg: Vec<String>,
    pub(crate) system_properties: Vec<(String, String)>,
    pub(crate) jvm_args: Vec<String>,
    pub(crate) max_heap_mb: u32,
    pub(crate) startup_timeout: Duration,
    pub(crate) stop_timeout: Duration,
    pub(crate) start_attempts: u32,
    pub(crate) java: Option<PathBuf>,
    pub(crate) classpath: Option<Vec<PathBuf>>,
    pub(crate) base_dir: Option<PathBuf>,
    pub(crate) keep_dir: bool,
    pub(crate) secure_client_port: bool,
    pub(crate) partitionable: bool,
}

impl Default for RealEnsembleBuilder {
    fn default() -> Self {
        Self {
            nodes: 1,
            tick_time: Duration::from_millis(2000),
            init_limit: 10,
            sync_limit: 5,
            min_session_timeout: None,
            max_session_timeout: None,
            reconfig_enabled: false,
            force_sync: false,
            extra_cfg: Vec::new(),
            system_properties: Vec::new(),
            jvm_args: Vec::new(),
            max_heap_mb: 256,
            startup_timeout: Duration::from_secs(60),
            stop_timeout: Duration::from_secs(10),
            start_attempts: 3,
            java: None,
            classpath: None,
            base_dir: None,
            keep_dir: std::env::var_os(KEEP_DIR_ENV).is_some_and(|v| !v.is_empty() && v != "0"),
            secure_client_port: false,
            partitionable: false,
        }
    }
}

impl RealEnsembleBuilder {
    /// Number of servers. 1 runs a standalone server; 3 or more (odd numbers are the
    /// useful ones) run a quorum with one `server.N` line per node. At most 254, the
    /// largest id that still allows TTL nodes.
    pub fn nodes(mut self, nodes: usize) -> Self {
        self.nodes = nodes;
        self
    }

    /// ZooKeeper's `tickTime`, the unit of its heartbeats and timeouts (whole
    /// milliseconds). Smaller ticks make elections and session expiry faster; 500 ms is
    /// comfortable on a loaded machine, 200 ms works.
    pub fn tick_time(mut self, tick: Duration) -> Self {
        self.tick_time = tick;
        self
    }

    /// `initLimit`: ticks a follower may take to connect and sync with the leader.
    pub fn init_limit(mut self, ticks: u32) -> Self {
        self.init_limit = ticks;
        self
    }

    /// `syncLimit`: ticks a follower may lag behind the leader.
    pub fn sync_limit(mut self, ticks: u32) -> Self {
        self.sync_limit = ticks;
        self
    }

    /// `minSessionTimeout`; the server raises shorter requested timeouts to this.
    pub fn min_session_timeout(mut self, timeout: Duration) -> Self {
        self.min_session_timeout = Some(timeout);
        self
    }

    /// `maxSessionTimeout`; the server lowers longer requested timeouts to this.
    pub fn max_session_timeout(mut self, timeout: Duration) -> Self {
        self.max_session_timeout = Some(timeout);
        self
    }

    /// `reconfigEnabled`: allow the `reconfig` operation. ZooKeeper then moves the
    /// `server.N` lines into a `zoo.cfg.dynamic.*` file next to `zoo.cfg` on first start.
    pub fn reconfig_enabled(mut self, enabled: bool) -> Self {
        self.reconfig_enabled = enabled;
        self
    }

    /// `forceSync`: fsync the transaction log before acknowledging each write. Off by
    /// default: tests kill processes, not machines, and the page cache survives SIGKILL,
    /// so acknowledged writes still survive `kill`/`restart`, only faster.
    pub fn force_sync(mut self, enabled: bool) -> Self {
        self.force_sync = enabled;
        self
    }

    /// Appends one `key=value` line to every node's `zoo.cfg`, after the harness's own
    /// lines, so it wins over them (ZooKeeper keeps the last value of a repeated key).
    /// ZooKeeper turns unknown keys into `zookeeper.<key>` system properties.
    pub fn cfg_line(mut self, line: impl Into<String>) -> Self {
        self.extra_cfg.push(line.into());
        self
    }

    /// Appends several `zoo.cfg` lines; see [`cfg_line`](Self::cfg_line).
    pub fn cfg_lines<I, S>(mut self, lines: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.extra_cfg.extend(lines.into_iter().map(Into::into));
        self
    }

    /// Passes `-D<key>=<value>` to every node's JVM, e.g.
    /// `("znode.container.checkIntervalMs", "1000")` or
    /// `("readonlymode.enabled", "true")`.
    pub fn system_property(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.system_properties.push((key.into(), value.into()));
        self
    }

    /// Enables TTL nodes and other extended types
    /// (`-Dzookeeper.extendedTypesEnabled=true`); without it, TTL creates fail with
    /// UNIMPLEMENTED.
    pub fn extended_types(self, enabled: bool) -> Self {
        self.system_property("zookeeper.extendedTypesEnabled", enabled.to_string())
    }

    /// Passes an extra argument to every node's JVM, before the main class.
    pub fn jvm_arg(mut self, arg: impl Into<String>) -> Self {
        self.jvm_args.push(arg.into());
        self
    }

    /// Maximum heap of each node's JVM in MiB (`-Xmx`).
    pub fn max_heap_mb(mut self, mib: u32) -> Self {
        self.max_heap_mb = mib;
        self
    }

    /// How long [`start`](Self::start), [`RealEnsemble::restart`] and
    /// [`RealEnsemble::wait_for_leader`] wait before giving up.
    pub fn startup_timeout(mut self, timeout: Duration) -> Self {
        self.startup_timeout = timeout;
        self
    }

    /// How long [`RealEnsemble::stop`] waits after SIGTERM before it sends SIGKILL.
    pub fn stop_timeout(mut self, timeout: Duration) -> Self {
        self.stop_timeout = timeout;
        self
    }

    /// How many times to start the whole ensemble on fresh ports when a node loses a
    /// race for a port it was given (at least 1).
    pub fn start_attempts(mut self, attempts: u32) -> Self {
        self.start_attempts = attempts;
        self
    }

    /// The `java` executable (default: `$JAVA_HOME/bin/java`, then `java` on `PATH`,
    /// then `/usr/bin/java`).
    pub fn java(mut self, java: impl Into<PathBuf>) -> Self {
        self.java = Some(java.into());
        self
    }

    /// Replaces the classpath (default: Debian's `/usr/share/java/zookeeper.jar`, whose
    /// manifest brings its dependencies, plus `/usr/share/java/slf4j-simple.jar`).
    pub fn classpath<I, P>(mut self, entries: I) -> Self
    where
        I: IntoIterator<Item = P>,
        P: Into<PathBuf>,
    {
        self.classpath = Some(entries.into_iter().map(Into::into).collect());
        self
    }

    /// Directory in which the ensemble's own temporary directory is created (default:
    /// the system temporary directory).
    pub fn base_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.base_dir = Some(dir.into());
        self
    }

    /// Keep the ensemble's directory (configs, data, logs) after it is dropped, for
    /// post-mortems. Also switched on by the `ZK_REAL_KEEP_DIR` environment variable.
    pub fn keep_dir(mut self, keep: bool) -> Self {
        self.keep_dir = keep;
        self
    }

    /// Gives every node a TLS client port besides its plain one: a free
    /// 127.0.0.1 port as `secureClientPort` (with `secureClientPortAddress=127.0.0.1`),
    /// and `serverCnxnFactory=org.apache.zookeeper.server.NettyServerCnxnFactory`,
    /// which TLS needs. The key and trust stores (`ssl.keyStore.location`,
    /// `ssl.trustStore.location`, `ssl.clientAuth`...) are the test's to add with
    /// [`cfg_line`](Self::cfg_line). A node is ready once `srvr` on its plain port
    /// reports a mode and its secure port accepts TCP connections.
    /// See [`RealEnsemble::secure_addr`] and [`RealEnsemble::secure_connect_string`].
    pub fn secure_client_port(mut self, enabled: bool) -> Self {
        self.secure_client_port = enabled;
        self
    }

    /// Starts the ensemble and waits until every node serves (its `srvr` reports a
    /// `Mode:`).
    ///
    /// # Errors
    ///
    /// [`RealZkError::ZooKeeperNotInstalled`] / [`RealZkError::JavaNotFound`] with
    /// installation instructions; [`RealZkError::InvalidConfig`];
    /// [`RealZkError::NodeExited`] or [`RealZkError::Timeout`] with the tail of the
    /// failing node's log; [`RealZkError::PortInUse`] after
    /// [`start_attempts`](Self::start_attempts) lost port races.
    pub fn start(self) -> Result<RealEnsemble> {
        self.validate()?;
        RealEnsemble::start_with(self)
    }

    /// Routes every link between the servers through loopback proxies in this
    /// process, so that [`RealEnsemble::partition`], [`RealEnsemble::isolate`] and
    /// [`RealEnsemble::heal`] can cut and restore them (no root, no firewall). Each
    /// node's `zoo.cfg` then names the proxies as its peers' quorum and election
    /// addresses; clients still connect to the servers directly. Ignored by a
    /// standalone server.
    pub fn partitionable(mut self, enabled: bool) -> Self {
        self.partitionable = enabled;
        self
    }

    pub(crate) fn validate(&self) -> Result<()> {
        let invalid = |msg: String| Err(RealZkError::InvalidConfig(msg));
        if !(1..=254).contains(&self.nodes) {
            return invalid(format!("nodes must be 1..=254, got {}", self.nodes));
        }
        let tick = self.tick_time.as_millis();
        if tick == 0 || tick > u128::from(u32::MAX) {
            return invalid(format!(
                "tick time must be >= 1 ms, got {:?}",
                self.tick_time
            ));
        }
        if self.init_limit == 0 || self.sync_limit == 0 {
            return invalid("init_limit and sync_limit must be at least 1 tick".into());
        }
        if let (Some(min), Some(max)) = (self.min_session_timeout, self.max_session_timeout) {
            if min > max {
                return invalid(format!(
                    "min session timeout {min:?} exceeds max session timeout {max:?}"
                ));
            }
        }
        if self.start_attempts == 0 {
            return invalid("start_attempts must be at least 1".into());
        }
        if let Some(line) = self.extra_cfg.iter().find(|l| l.contains(['\n', '\r'])) {
            return invalid(format!("zoo.cfg line contains a line break: {line:?}"));
        }
        if let Some((key, _)) = self
            .system_properties
            .iter()
            .find(|(k, _)| k.is_empty() || k.contains('='))
        {
            return invalid(format!("bad system property name {key:?}"));
        }
        Ok(())
    }

    /// The `zoo.cfg` of node `me` of `all`.
    pub(crate) fn render_zoo_cfg(&self, all: &[NodeLayout], me: &NodeLayout) -> String {
        let mut cfg = String::new();
        let mut line = |text: String| {
            cfg.push_str(&text);
            cfg.push('\n');
        };
        line(format!(
            "# written by zk_server_sim::real for node {} (myid {})",
            me.index, me.myid
        ));
        line(format!("tickTime={}", self.tick_time.as_millis()));
        line(format!("initLimit={}", self.init_limit));
        line(format!("syncLimit={}", self.sync_limit));
        line(format!("dataDir={}", me.data_dir.display()));
        line("admin.enableServer=false".into());
        line("4lw.commands.whitelist=*".into());
        line(format!("reconfigEnabled={}", self.reconfig_enabled));
        line(format!(
            "forceSync={}",
            if self.force_sync { "yes" } else { "no" }
        ));
        if let Some(min) = self.min_session_timeout {
            line(format!("minSessionTimeout={}", min.as_millis()));
        }
        if let Some(max) = self.max_session_timeout {
            line(format!("maxSessionTimeout={}", max.as_millis()));
        }
        if all.len() == 1 {
            line(format!("clientPort={}", me.client_port));
            line("clientPortAddress=127.0.0.1".into());
        } else {
            for node in all {
                // Peers through their proxies, when there are any; itself directly.
                let (quorum, election) = me
                    .peer_ports
                    .get(node.index)
                    .copied()
                    .filter(|_| node.index != me.index)
                    .unwrap_or((node.quorum_port, node.election_port));
                line(format!(
                    "server.{}=127.0.0.1:{quorum}:{election};127.0.0.1:{}",
                    node.myid, node.client_port
                ));
            }
        }
        if let Some(port) = me.secure_client_port {
            line(format!("secureClientPort={port}"));
            line("secureClientPortAddress=127.0.0.1".into());
            line("serverCnxnFactory=org.apache.zookeeper.server.NettyServerCnxnFactory".into());
        }
        for extra in &self.extra_cfg {
            line(extra.clone());
        }
        cfg
    }

    /// The JVM arguments (everything after `java`) that run node `me`.
    pub(crate) fn jvm_command(&self, classpath: &OsString, me: &NodeLayout) -> Vec<OsString> {
        let mut args: Vec<OsString> = Vec::new();
        let mut arg = |a: String| args.push(a.into());
        arg(format!("-Xmx{}m", self.max_heap_mb));
        // Start-up and footprint: three JVMs share two cores in CI. A serial GC and
        // C1-only JIT cut CPU, -UsePerfData keeps /tmp/hsperfdata_* away.
        arg("-XX:+UseSerialGC".into());
        arg("-XX:TieredStopAtLevel=1".into());
        arg("-XX:-UsePerfData".into());
        arg(format!(
            "-XX:ErrorFile={}",
            me.dir.join("hs_err_pid%p.log").display()
        ));
        arg("-Djava.awt.headless=true".into());
        arg("-Djava.net.preferIPv4Stack=true".into());
        arg("-Dzookeeper.jmx.log4j.disable=true".into());
        arg("-Dorg.slf4j.simpleLogger.showDateTime=true".into());
        arg("-Dorg.slf4j.simpleLogger.dateTimeFormat=HH:mm:ss.SSS".into());
        for (key, value) in &self.system_properties {
            arg(format!("-D{key}={value}"));
        }
        for extra in &self.jvm_args {
            arg(extra.clone());
        }
        args.push("-cp".into());
        args.push(classpath.clone());
        args.push(MAIN_CLASS.into());
        args.push(me.cfg.clone().into_os_string());
        args
    }

    /// One line describing the configuration, for logs and error messages.
    pub(crate) fn summary(&self) -> String {
        let mut s = format!(
            "{} node(s), tickTime {} ms",
            self.nodes,
            self.tick_time.as_millis()
        );
        if self.reconfig_enabled {
            s.push_str(", reconfigEnabled");
        }
        for (k, v) in &self.system_properties {
            let _ = write!(s, ", -D{k}={v}");
        }
        s
    }
}
