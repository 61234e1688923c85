//! While connected to a read-only server: look for a read-write one with the
//! `isro` four-letter word, as Java's `ClientCnxn.pingRwServer` does.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tracing::{debug, trace};

use crate::config::HostPort;

/// First pause between probe rounds; doubled after each round up to [`MAX_BACKOFF`].
const MIN_BACKOFF: Duration = Duration::from_millis(100);
/// Java's `maxPingRwTimeout`.
const MAX_BACKOFF: Duration = Duration::from_secs(60);
/// How long one probe may take.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// Asks every host but `current` whether it serves read-write, round after
/// round with a growing pause, until one does; returns that host. Never
/// ends otherwise (the caller drops it when the connection ends).
pub(crate) async fn find_read_write(hosts: Vec<HostPort>, current: Option<HostPort>) -> HostPort {
    let mut backoff = MIN_BACKOFF;
    loop {
        tokio::time::sleep(backoff).await;
        for host in hosts.iter().filter(|h| Some(*h) != current.as_ref()) {
            match tokio::time::timeout(PROBE_TIMEOUT, isro(host)).await {
                Ok(Some(answer)) if answer == "rw" => {
                    debug!(%host, "read-write server found");
                    return host.clone();
                }
                Ok(answer) => trace!(%host, ?answer, "isro"),
                Err(_) => trace!(%host, "isro timed out"),
            }
        }
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

/// The answer to `isro` (`rw`, `ro`, or `null`), if any.
async fn isro(host: &HostPort) -> Option<String> {
    let mut s = tokio::net::TcpStream::connect((host.host.as_str(), host.port))
        .await
        .ok()?;
    s.write_all(b"isro").await.ok()?;
    let mut buf = Vec::with_capacity(8);
    let mut limited = (&mut s).take(64);
    limited.read_to_end(&mut buf).await.ok()?;
    Some(String::from_utf8_lossy(&buf).trim().to_owned())
}
