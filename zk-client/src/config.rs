//! Connect strings: `host1:port1,host2:port2/chroot`.

use std::fmt;
use std::str::FromStr;

use crate::error::Error;

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
