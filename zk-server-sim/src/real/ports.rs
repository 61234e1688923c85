//! Picking free loopback ports.

use std::io;
use std::net::{Ipv4Addr, TcpListener};

/// Returns `count` distinct TCP ports that were free on 127.0.0.1 a moment ago.
///
/// Each port comes from binding port 0; all listeners stay open until every port is
/// chosen, so the ports are distinct, then close. Another process can still take one
/// before ZooKeeper binds it; the ensemble start-up detects that ("Address already in
/// use" in the node's log) and retries on fresh ports.
pub(crate) fn free_loopback_ports(count: usize) -> io::Result<Vec<u16>> {
    let listeners = (0..count)
        .map(|_| TcpListener::bind((Ipv4Addr::LOCALHOST, 0)))
        .collect::<io::Result<Vec<_>>>()?;
    listeners
        .iter()
        .map(|l| l.local_addr().map(|a| a.port()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_are_distinct_and_nonzero() {
        let mut ports = free_loopback_ports(9).unwrap();
        assert!(ports.iter().all(|&p| p != 0));
        ports.sort_unstable();
        ports.dedup();
        assert_eq!(ports.len(), 9);
    }
}
