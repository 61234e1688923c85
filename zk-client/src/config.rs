//! Connect strings: `host1:port1,host2:port2/chroot`.

use std::fmt;
use std::str::FromStr;

use crate::error::Error;

/// The path of the ensemble configuration node (never chroot-relative).
pub const CONFIG_NODE: &str = "/zookeeper/config";

/// ZooKeeper's default client port.
pub const DEFAULT_PORT: u16 = 2181;

/// One server address from a connect string.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct HostPort {
    /// Host name or IP address (IPv6 without the brackets).
    pub host: String,
    /// TCP port.
    pub port: u16,
}

impl fmt::Display for HostPort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

/// A parsed connect string: `host[:port][,host[:port]...][/chroot]`.
///
/// - The port defaults to 2181.
/// - IPv6 addresses go in brackets: `[::1]:2181`.
/// - The optional chroot must be a valid ZooKeeper path; `/` means none.
///
/// ```
/// use zk_client::ConnectString;
///
/// let cs: ConnectString = "zk1:2181,zk2,[::1]:2182/app/prod".parse()?;
/// assert_eq!(cs.hosts().len(), 3);
/// assert_eq!(cs.hosts()[1].port, 2181);
/// assert_eq!(cs.hosts()[2].host, "::1");
/// assert_eq!(cs.chroot(), Some("/app/prod"));
/// assert!("zk1:notaport".parse::<ConnectString>().is_err());
/// # Ok::<(), zk_client::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectString {
    hosts: Vec<HostPort>,
    chroot: Option<String>,
}

impl ConnectString {
    /// The servers, in the order given.
    pub fn hosts(&self) -> &[HostPort] {
        &self.hosts
    }

    /// The chroot, if any (never `/`).
    pub fn chroot(&self) -> Option<&str> {
        self.chroot.as_deref()
    }

    /// Parses a connect string; see the type's docs for the syntax.
    pub fn parse(input: &str) -> Result<ConnectString, Error> {
        let bad = |reason: &str| Error::BadConnectString {
            input: input.to_owned(),
            reason: reason.to_owned(),
        };
        let trimmed = input.trim();
        let (hosts_part, chroot) = match trimmed.find('/') {
            Some(i) => (
                trimmed.get(..i).unwrap_or(""),
                Some(trimmed.get(i..).unwrap_or("")),
            ),
            None => (trimmed, None),
        };
        let chroot = match chroot {
            None | Some("/") => None,
            Some(c) => {
                zk_proto::validate_path(c)
                    .map_err(|e| bad(&format!("invalid chroot: {}", e.reason)))?;
                Some(c.to_owned())
            }
        };
        let mut hosts = Vec::new();
        for item in hosts_part.split(',') {
            let item = item.trim();
            if item.is_empty() {
                return Err(bad("empty host entry"));
            }
            hosts.push(parse_host_port(item).map_err(|r| bad(&r))?);
        }
        Ok(ConnectString { hosts, chroot })
    }
}

fn parse_host_port(item: &str) -> Result<HostPort, String> {
    let (host, port) = if let Some(rest) = item.strip_prefix('[') {
        let end = rest
            .find(']')
            .ok_or_else(|| format!("unclosed '[' in {item:?}"))?;
        let host = rest.get(..end).unwrap_or("");
        let after = rest.get(end + 1..).unwrap_or("");
        let port = match after {
            "" => None,
            p => Some(
                p.strip_prefix(':')
                    .ok_or_else(|| format!("expected ':' after ']' in {item:?}"))?,
            ),
        };
        (host, port)
    } else {
        match item.rsplit_once(':') {
            Some((h, _)) if h.contains(':') => {
                return Err(format!("IPv6 address {item:?} must be in brackets"));
            }
            Some((h, p)) => (h, Some(p)),
            None => (item, None),
        }
    };
    if host.is_empty() {
        return Err(format!("empty host in {item:?}"));
    }
    if host.chars().any(|c| c.is_whitespace() || c == '/') {
        return Err(format!("invalid host {host:?}"));
    }
    let port = match port {
        None => DEFAULT_PORT,
        Some(p) => match p.parse::<u16>() {
            Ok(0) | Err(_) => return Err(format!("invalid port {p:?}")),
            Ok(n) => n,
        },
    };
    Ok(HostPort {
        host: host.to_owned(),
        port,
    })
}

/// The client addresses of the servers listed in a dynamic configuration
/// (the data of `/zookeeper/config`): one per `server.N=...;[addr:]port`
/// line, the address defaulting to the server's quorum host when absent or
/// a wildcard (`0.0.0.0`, `::`). Lines without a client part are skipped.
pub(crate) fn client_hosts_from_config(config: &str) -> Vec<HostPort> {
    let mut hosts = Vec::new();
    for line in config.lines() {
        let Some((key, value)) = line.trim().split_once('=') else {
            continue;
        };
        if !key.trim().starts_with("server.") {
            continue;
        }
        let Some((quorum, client)) = value.split_once(';') else {
            continue;
        };
        let quorum_host = match quorum.trim().strip_prefix('[') {
            Some(rest) => rest.split(']').next().unwrap_or(""),
            None => quorum.split(':').next().unwrap_or(""),
        };
        let client = client.trim();
        let parsed = if client.contains(':') {
            parse_host_port(client).ok()
        } else {
            client
                .parse::<u16>()
                .ok()
                .filter(|p| *p != 0)
                .map(|port| HostPort {
                    host: String::new(),
                    port,
                })
        };
        let Some(mut hp) = parsed else {
            continue;
        };
        if hp.host.is_empty() || hp.host == "0.0.0.0" || hp.host == "::" {
            if quorum_host.is_empty() {
                continue;
            }
            hp.host = quorum_host.to_owned();
        }
        if !hosts.contains(&hp) {
            hosts.push(hp);
        }
    }
    hosts
}

impl FromStr for ConnectString {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        ConnectString::parse(s)
    }
}

impl fmt::Display for ConnectString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, h) in self.hosts.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{h}")?;
        }
        if let Some(c) = &self.chroot {
            f.write_str(c)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hp(host: &str, port: u16) -> HostPort {
        HostPort {
            host: host.into(),
            port,
        }
    }

    #[test]
    fn parses_hosts_ports_ipv6_and_chroot() {
        let cs = ConnectString::parse("a:1,b,[::1]:3,[fe80::2]/x/y").unwrap();
        assert_eq!(
            cs.hosts(),
            &[hp("a", 1), hp("b", 2181), hp("::1", 3), hp("fe80::2", 2181)]
        );
        assert_eq!(cs.chroot(), Some("/x/y"));
        assert_eq!(cs.to_string(), "a:1,b:2181,[::1]:3,[fe80::2]:2181/x/y");
        assert_eq!(ConnectString::parse("a/").unwrap().chroot(), None);
        assert_eq!(
            ConnectString::parse(" a:5 , b:6 ").unwrap().hosts().len(),
            2
        );
    }

    #[test]
    fn client_addresses_from_a_dynamic_config() {
        let cfg = "server.1=10.0.0.1:2888:3888:participant;10.0.0.1:2181\n\
                   server.2=zk2:2888:3888:participant;0.0.0.0:2182\n\
                   server.3=zk3:2888:3888:observer;2183\n\
                   server.4=zk4:2888:3888\n\
                   server.5=[fe80::1]:2888:3888;[fe80::1]:2185\n\
                   version=100000000";
        assert_eq!(
            client_hosts_from_config(cfg),
            vec![
                hp("10.0.0.1", 2181),
                hp("zk2", 2182),
                hp("zk3", 2183),
                hp("fe80::1", 2185)
            ]
        );
        assert!(client_hosts_from_config("version=1\n").is_empty());
        assert!(client_hosts_from_config("server.1=a:1:2;x:notaport").is_empty());
    }

    #[test]
    fn rejects_bad_strings() {
        for bad in [
            "", "/chroot", "a,,b", "a:", "a:0", "a:70000", "a:x", "::1:2181", "[::1", "[::1]x",
            "[]:1", "a/b/", "a//b", "a/b/../c",
        ] {
            assert!(
                matches!(
                    ConnectString::parse(bad),
                    Err(Error::BadConnectString { .. })
                ),
                "{bad:?}"
            );
        }
    }
}
