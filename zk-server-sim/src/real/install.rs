//! Where ZooKeeper and Java live on this machine, and the classpath to run a server.
//!
//! Debian's `zookeeper` package (through `libzookeeper-java`) puts the server in
//! `/usr/share/java/zookeeper.jar`, whose manifest `Class-Path` lists its runtime
//! dependencies as absolute paths (`zookeeper-jute`, `slf4j-api`, `netty-*`, `jetty9-*`,
//! `metrics-core`, `commons-cli`, `commons-io`, `jackson-*`, `snappy-java`, ...), so the
//! jar alone is enough to run `QuorumPeerMain`. It has no SLF4J binding, though, and
//! would log nothing; Debian's `zkEnv.sh` classpath (`/etc/zookeeper/conf` plus the jar)
//! has the same gap. The harness adds `slf4j-simple.jar` (package `libslf4j-java`, a
//! dependency of `libzookeeper-java`), which logs to stderr, and the node's wrapper sends
//! stderr to the node's log file.
//!
//! The manifest also misses two Netty modules that `netty-handler` needs,
//! `netty-codec` and `netty-resolver` (same package, `libnetty-java`): without them
//! `NettyServerCnxnFactory`, and so a `secureClientPort`, fails on the first connection
//! with `NoClassDefFoundError: io/netty/handler/codec/ByteToMessageDecoder`. The
//! harness adds them when present.

use std::env;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use super::error::{RealZkError, Result};

/// The server jar installed by Debian's `zookeeper` package (`libzookeeper-java`).
pub const DEFAULT_ZOOKEEPER_JAR: &str = "/usr/share/java/zookeeper.jar";

/// The SLF4J binding added to the classpath so that servers write logs.
pub const SLF4J_SIMPLE_JAR: &str = "/usr/share/java/slf4j-simple.jar";

/// Netty modules missing from `zookeeper.jar`'s manifest, added to the classpath when
/// present.
pub const NETTY_EXTRA_JARS: [&str; 2] = [
    "/usr/share/java/netty-codec.jar",
    "/usr/share/java/netty-resolver.jar",
];

/// The class every node runs: with `server.N` lines it joins a quorum, without them it
/// runs standalone (as `ZooKeeperServerMain` would).
pub const MAIN_CLASS: &str = "org.apache.zookeeper.server.quorum.QuorumPeerMain";

/// A located Java runtime and ZooKeeper classpath.
#[derive(Debug, Clone)]
pub(crate) struct Installation {
    pub(crate) java: PathBuf,
    pub(crate) classpath: OsString,
}

impl Installation {
    /// Finds Java and ZooKeeper, honouring the builder's overrides.
    pub(crate) fn locate(java: Option<&Path>, classpath: Option<&[PathBuf]>) -> Result<Self> {
        let classpath = match classpath {
            Some(entries) => {
                for entry in entries {
                    if !entry.exists() {
                        return Err(RealZkError::ZooKeeperNotInstalled { jar: entry.clone() });
                    }
                }
                join_classpath(entries.iter().map(PathBuf::as_path))?
            }
            None => default_classpath()?,
        };
        let java = match java {
            Some(path) if is_executable(path) => path.to_path_buf(),
            Some(path) => {
                return Err(RealZkError::JavaNotFound {
                    tried: path.display().to_string(),
                })
            }
            None => find_java()?,
        };
        Ok(Self { java, classpath })
    }
}

fn default_classpath() -> Result<OsString> {
    let jar = Path::new(DEFAULT_ZOOKEEPER_JAR);
    if !jar.exists() {
        return Err(RealZkError::ZooKeeperNotInstalled {
            jar: jar.to_path_buf(),
        });
    }
    let mut entries = vec![jar];
    let binding = Path::new(SLF4J_SIMPLE_JAR);
    // Without a binding the server still runs; it just logs nothing.
    if binding.exists() {
        entries.push(binding);
    }
    entries.extend(
        NETTY_EXTRA_JARS
            .iter()
            .map(Path::new)
            .filter(|jar| jar.exists()),
    );
    join_classpath(entries.into_iter())
}

fn join_classpath<'a>(entries: impl Iterator<Item = &'a Path>) -> Result<OsString> {
    env::join_paths(entries)
        .map_err(|err| RealZkError::InvalidConfig(format!("classpath entry contains ':': {err}")))
}

fn find_java() -> Result<PathBuf> {
    let mut tried = Vec::new();
    if let Some(home) = env::var_os("JAVA_HOME").filter(|h| !h.is_empty()) {
        let candidate = PathBuf::from(home).join("bin").join("java");
        if is_executable(&candidate) {
            return Ok(candidate);
        }
        tried.push(candidate);
    }
    if let Some(path) = env::var_os("PATH") {
        for dir in env::split_paths(&path) {
            let candidate = dir.join("java");
            if is_executable(&candidate) {
                return Ok(candidate);
            }
        }
        tried.push(PathBuf::from("java on $PATH"));
    }
    let fallback = PathBuf::from("/usr/bin/java");
    if is_executable(&fallback) {
        return Ok(fallback);
    }
    tried.push(fallback);
    Err(RealZkError::JavaNotFound {
        tried: tried
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", "),
    })
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}
