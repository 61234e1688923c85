//! The accept loop of one simulated server.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpSocket};
use tokio::task::JoinSet;

use super::Backend;

/// Binds `addr` with `SO_REUSEADDR`, so a restarted node gets its port back
/// even while old connections linger in TIME_WAIT.
pub(crate) fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = TcpSocket::new_v4()?;
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(1024)
}

/// First and longest pause after a failed accept.
const ACCEPT_BACKOFF: (Duration, Duration) =
    (Duration::from_millis(10), Duration::from_millis(500));

/// Accepts connections for node `node` until aborted; aborting it drops the
/// join set and with it every connection task (a crashed server).
///
/// A failed accept (descriptors exhausted, say) would fail again at once, as
/// the pending connection stays queued: the loop pauses, 10 ms doubling up
/// to 500 ms, and logs the error once per run of failures (real ZooKeeper
/// pauses 10 ms and logs every failure).
pub(crate) async fn accept_loop<B: Backend>(backend: Arc<B>, node: usize, listener: TcpListener) {
    let mut conns = JoinSet::new();
    let mut backoff: Option<Duration> = None;
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(ok) => ok,
                    Err(e) => {
                        let pause = match backoff {
                            None => {
                                tracing::warn!(node, error = %e, "accept failed; backing off until it succeeds");
                                ACCEPT_BACKOFF.0
                            }
                            Some(p) => (p * 2).min(ACCEPT_BACKOFF.1),
                        };
                        backoff = Some(pause);
                        tokio::time::sleep(pause).await;
                        continue;
                    }
                };
                if backoff.take().is_some() {
                    tracing::info!(node, "accepting connections again");
                }
                let conn = backend.next_conn();
                conns.spawn(super::connection::serve(Arc::clone(&backend), node, conn, stream, peer));
            }
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
}
