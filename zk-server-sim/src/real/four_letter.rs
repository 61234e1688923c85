//! Four-letter words (`ruok`, `srvr`, `mntr`, ...) and parsers for their replies.
//!
//! These work against any ZooKeeper-compatible server, real or simulated, and need the
//! command to be allowed by the server's `4lw.commands.whitelist` (the harness always
//! sets `*`).

use std::collections::BTreeMap;
use std::fmt;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

/// What `srvr` prints instead of its statistics while the server is not serving
/// (during an election, or before it has synced with a leader).
pub const NOT_SERVING_REPLY: &str = "This ZooKeeper instance is not currently serving requests";

/// Sends the four-letter word `command` to the server at `addr` and returns its whole
/// reply as text.
///
/// `timeout` bounds the whole exchange (connect, send, read until the server closes).
/// Every address `addr` resolves to is tried in turn within that budget.
///
/// # Errors
///
/// `InvalidInput` if `command` is not four ASCII letters; `TimedOut` when the budget
/// runs out; otherwise the socket error, e.g. `ConnectionRefused` for a stopped server.
/// A command missing from the whitelist is not an error: the server answers
/// `<cmd> is not executed because it is not in the whitelist.`
///
/// # Example
///
/// ```no_run
/// use std::time::Duration;
/// use zk_server_sim::real::four_letter_word;
///
/// let reply = four_letter_word("127.0.0.1:2181", "ruok", Duration::from_secs(2))?;
/// assert_eq!(reply, "imok");
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn four_letter_word<A: ToSocketAddrs>(
    addr: A,
    command: &str,
    timeout: Duration,
) -> io::Result<String> {
    if command.len() != 4 || !command.bytes().all(|b| b.is_ascii_alphabetic()) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("four-letter word must be 4 ASCII letters, got {command:?}"),
        ));
    }
    let deadline = Instant::now() + timeout;
    let mut last_err = None;
    for addr in addr.to_socket_addrs()? {
        match exchange(addr, command, deadline) {
            Ok(reply) => return Ok(reply),
            Err(err) => last_err = Some(err),
        }
    }
    Err(last_err.unwrap_or_else(|| {
        io::Error::new(io::ErrorKind::InvalidInput, "address resolved to nothing")
    }))
}

fn remaining(deadline: Instant) -> io::Result<Duration> {
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        Err(io::Error::new(
            io::ErrorKind::TimedOut,
            "four-letter word timed out",
        ))
    } else {
        Ok(left)
    }
}

fn exchange(addr: SocketAddr, command: &str, deadline: Instant) -> io::Result<String> {
    let mut stream = TcpStream::connect_timeout(&addr, remaining(deadline)?)?;
    stream.set_write_timeout(Some(remaining(deadline)?))?;
    stream.write_all(command.as_bytes())?;
    let mut reply = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        stream.set_read_timeout(Some(remaining(deadline)?))?;
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => reply.extend_from_slice(buf.get(..n).unwrap_or_default()),
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(err) if matches!(err.kind(), io::ErrorKind::WouldBlock) => {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "four-letter word timed out",
                ))
            }
            // The server closes right after writing; a reset after some bytes still
            // leaves a complete reply in practice.
            Err(err) if err.kind() == io::ErrorKind::ConnectionReset && !reply.is_empty() => break,
            Err(err) => return Err(err),
        }
    }
    Ok(String::from_utf8_lossy(&reply).into_owned())
}

/// The role a server reports in the `Mode:` line of `srvr`/`stat`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ServerMode {
    /// A single server running without a quorum (`Mode: standalone`).
    Standalone,
    /// The quorum leader (`Mode: leader`).
    Leader,
    /// A voting follower (`Mode: follower`).
    Follower,
    /// A non-voting observer (`Mode: observer`).
    Observer,
    /// Serving read-only clients only, after losing its quorum (`Mode: read-only`).
    ReadOnly,
    /// Up and answering four-letter words, but not serving clients: it is looking for a
    /// leader or still syncing with one ([`NOT_SERVING_REPLY`]).
    NotServing,
    /// A `Mode:` value this harness does not know.
    Other(String),
}

impl ServerMode {
    /// Parses a `srvr` or `stat` reply. `None` if the reply has neither a `Mode:` line nor
    /// the not-serving message (for instance a whitelist refusal).
    pub fn from_srvr(reply: &str) -> Option<Self> {
        if reply.contains(NOT_SERVING_REPLY) {
            return Some(Self::NotServing);
        }
        reply
            .lines()
            .find_map(|line| line.strip_prefix("Mode:"))
            .map(|mode| Self::from_mode_value(mode.trim()))
    }

    /// Maps the value of a `Mode:` line (`leader`, `follower`, ...) to a mode.
    pub fn from_mode_value(value: &str) -> Self {
        match value {
            "standalone" => Self::Standalone,
            "leader" => Self::Leader,
            "follower" => Self::Follower,
            "observer" => Self::Observer,
            "read-only" => Self::ReadOnly,
            other => Self::Other(other.to_owned()),
        }
    }

    /// True for every mode in which the server accepts client sessions.
    pub fn is_serving(&self) -> bool {
        !matches!(self, Self::NotServing | Self::Other(_))
    }

    /// True for the node that orders writes: a quorum leader or a standalone server.
    pub fn is_leader(&self) -> bool {
        matches!(self, Self::Leader | Self::Standalone)
    }
}

impl fmt::Display for ServerMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Standalone => "standalone",
            Self::Leader => "leader",
            Self::Follower => "follower",
            Self::Observer => "observer",
            Self::ReadOnly => "read-only",
            Self::NotServing => "not serving",
            Self::Other(other) => other,
        })
    }
}

/// The fields of a `srvr` reply that tests compare.
///
/// ```text
/// Zookeeper version: 3.8.0-..., built on ...
/// Latency min/avg/max: 0/0.0/0
/// Received: 3
/// Sent: 2
/// Connections: 1
/// Outstanding: 0
/// Zxid: 0x100000002
/// Mode: leader
/// Node count: 5
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SrvrInfo {
    /// The `Mode:` line, or [`ServerMode::NotServing`].
    pub mode: ServerMode,
    /// `Zookeeper version:`, verbatim.
    pub version: Option<String>,
    /// `Zxid:`, the last zxid this server processed.
    pub zxid: Option<i64>,
    /// `Node count:`, znodes in this server's tree.
    pub node_count: Option<u64>,
    /// `Connections:`, open client connections (this query's included).
    pub connections: Option<u64>,
}

impl SrvrInfo {
    /// Parses a `srvr` reply; `None` if it carries no mode (see [`ServerMode::from_srvr`]).
    pub fn parse(reply: &str) -> Option<Self> {
        let mode = ServerMode::from_srvr(reply)?;
        let field = |name: &str| {
            reply
                .lines()
                .find_map(|line| line.strip_prefix(name))
                .map(str::trim)
        };
        Some(Self {
            mode,
            version: field("Zookeeper version:").map(str::to_owned),
            zxid: field("Zxid:").and_then(parse_zxid),
            node_count: field("Node count:").and_then(|v| v.parse().ok()),
            connections: field("Connections:").and_then(|v| v.parse().ok()),
        })
    }
}

fn parse_zxid(text: &str) -> Option<i64> {
    let hex = text.strip_prefix("0x")?;
    // Jute zxids are signed longs; keep the bit pattern.
    u64::from_str_radix(hex, 16).ok().map(|v| v as i64)
}

/// Parses a `mntr` reply (`key<TAB>value` lines) into a map, e.g.
/// `zk_server_state -> leader`, `zk_znode_count -> 5`. Lines without a tab are skipped.
pub fn parse_mntr(reply: &str) -> BTreeMap<String, String> {
    reply
        .lines()
        .filter_map(|line| line.split_once('\t'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const LEADER: &str =
        "Zookeeper version: 3.8.0-${mvngit.commit.id}, built on 2024-12-29 17:54 UTC\n\
        Latency min/avg/max: 0/0.0/0\nReceived: 3\nSent: 2\nConnections: 1\nOutstanding: 0\n\
        Zxid: 0x100000002\nMode: leader\nNode count: 5\n";

    #[test]
    fn parses_srvr() {
        let info = SrvrInfo::parse(LEADER).unwrap();
        assert_eq!(info.mode, ServerMode::Leader);
        assert_eq!(info.zxid, Some(0x1_0000_0002));
        assert_eq!(info.node_count, Some(5));
        assert_eq!(info.connections, Some(1));
        assert!(info.version.unwrap().starts_with("3.8.0"));
    }

    #[test]
    fn parses_modes() {
        assert_eq!(
            ServerMode::from_srvr(&format!("{NOT_SERVING_REPLY}\n")),
            Some(ServerMode::NotServing)
        );
        assert_eq!(
            ServerMode::from_srvr("Mode: standalone\n"),
            Some(ServerMode::Standalone)
        );
        assert_eq!(
            ServerMode::from_srvr("Mode: read-only\n"),
            Some(ServerMode::ReadOnly)
        );
        assert_eq!(
            ServerMode::from_srvr("srvr is not executed because it is not in the whitelist.\n"),
            None
        );
        assert!(ServerMode::Standalone.is_leader());
        assert!(!ServerMode::NotServing.is_serving());
    }

    #[test]
    fn parses_mntr() {
        let map = parse_mntr("zk_version\t3.8.0\nzk_server_state\tfollower\nbogus\n");
        assert_eq!(
            map.get("zk_server_state").map(String::as_str),
            Some("follower")
        );
        assert_eq!(map.len(), 2);
    }

    #[test]
    fn rejects_bad_commands() {
        let err =
            four_letter_word("127.0.0.1:1", "toolong", Duration::from_millis(10)).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    }
}
