//! The error type of the real-ZooKeeper harness.

use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// How to get ZooKeeper onto a machine; quoted in the "not installed" errors.
pub(crate) const INSTALL_HINT: &str = "install it with `apt-get install -y zookeeper` \
     (Debian/Ubuntu; pulls in OpenJDK), or run `bash .ci/install-deps.sh` from the \
     workspace root, which installs everything the integration tests need";

/// Everything that can go wrong while starting, driving or querying a real ZooKeeper
/// ensemble.
///
/// Errors about one node name it by its zero-based index and its ZooKeeper `myid`
/// (index + 1). Startup failures carry the tail of the node's log, so a failing test
/// shows why without anyone digging in temporary directories.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RealZkError {
    /// The ZooKeeper server jar is not on this machine.
    #[error("ZooKeeper is not installed ({} not found): {INSTALL_HINT}", jar.display())]
    ZooKeeperNotInstalled {
        /// The jar that was looked for.
        jar: PathBuf,
    },

    /// No `java` executable was found.
    #[error("no Java runtime found (tried {tried}): {INSTALL_HINT}")]
    JavaNotFound {
        /// The locations that were tried, comma-separated.
        tried: String,
    },

    /// The builder was given settings ZooKeeper cannot run with.
    #[error("invalid ensemble configuration: {0}")]
    InvalidConfig(String),

    /// A file-system or process operation of the harness itself failed.
    #[error("{context}: {source}")]
    Io {
        /// What the harness was doing.
        context: String,
        /// The underlying error.
        #[source]
        source: io::Error,
    },

    /// A node's process exited while the harness waited for it to serve.
    #[error(
        "node {index} (myid {myid}) exited with {status} before it started serving; \
         log tail ({}):\n{log_tail}",
        log.display()
    )]
    NodeExited {
        /// Zero-based node index.
        index: usize,
        /// ZooKeeper server id of the node.
        myid: u32,
        /// The exit status, as text.
        status: String,
        /// The node's log file (gone once the ensemble's directory is removed).
        log: PathBuf,
        /// The last lines of the log.
        log_tail: String,
    },

    /// A node could not bind one of its ports (another process took it between the
    /// harness picking it and ZooKeeper binding it). Startup retries with fresh ports
    /// before reporting this.
    #[error(
        "node {index} (myid {myid}) could not bind its ports (address already in use); \
         log tail:\n{log_tail}"
    )]
    PortInUse {
        /// Zero-based node index.
        index: usize,
        /// ZooKeeper server id of the node.
        myid: u32,
        /// The last lines of the node's log.
        log_tail: String,
    },

    /// A wait (for startup, a leader, or a node to serve) ran out of time.
    #[error("timed out after {elapsed:.1?} waiting for {what}\n{details}")]
    Timeout {
        /// What was being waited for.
        what: String,
        /// How long the harness waited.
        elapsed: Duration,
        /// The state of every node when the wait gave up, with log tails.
        details: String,
    },

    /// A node index past the end of the ensemble.
    #[error("no node with index {index}: the ensemble has {len} node(s), indexed from 0")]
    NoSuchNode {
        /// The index asked for.
        index: usize,
        /// Number of nodes in the ensemble.
        len: usize,
    },

    /// The operation needs a running node, and this one is stopped or killed.
    #[error("node {index} (myid {myid}) is not running")]
    NodeNotRunning {
        /// Zero-based node index.
        index: usize,
        /// ZooKeeper server id of the node.
        myid: u32,
    },

    /// A wait needs at least one running node, and every node is stopped.
    #[error("no node of the ensemble is running")]
    NoNodeRunning,

    /// Sending a four-letter word or reading its reply failed.
    #[error("four-letter word `{command}` to {addr} failed: {source}")]
    FourLetterWord {
        /// The server's client address.
        addr: SocketAddr,
        /// The command sent.
        command: String,
        /// The underlying error (connection refused, timeout, ...).
        #[source]
        source: io::Error,
    },

    /// The process-wide shared ensemble failed to start; every later call to
    /// [`RealEnsemble::shared`](super::RealEnsemble::shared) for the same size reports
    /// the same failure instead of trying again.
    #[error("the shared {nodes}-node ZooKeeper ensemble failed to start: {source}")]
    SharedStartFailed {
        /// Size of the shared ensemble.
        nodes: usize,
        /// Why it failed.
        #[source]
        source: Arc<RealZkError>,
    },
}

impl RealZkError {
    /// Wraps an I/O error with what the harness was doing.
    pub(crate) fn io(context: impl Into<String>, source: io::Error) -> Self {
        Self::Io {
            context: context.into(),
            source,
        }
    }

    /// True when the failure is ZooKeeper or Java missing from the machine, which no
    /// retry can fix.
    pub fn is_not_installed(&self) -> bool {
        match self {
            Self::ZooKeeperNotInstalled { .. } | Self::JavaNotFound { .. } => true,
            Self::SharedStartFailed { source, .. } => source.is_not_installed(),
            _ => false,
        }
    }
}

/// Result alias used inside this module.
pub(crate) type Result<T, E = RealZkError> = std::result::Result<T, E>;
