//! The accept loop of one simulated server.

use std::net::SocketAddr;
use std::sync::Arc;

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

/// Accepts connections for node `node` until aborted; aborting it drops the
/// join set and with it every connection task (a crashed server).
pub(crate) async fn accept_loop<B: Backend>(backend: Arc<B>, node: usize, listener: TcpListener) {
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, peer)) = accepted else {
                    continue;
                };
                let conn = backend.next_conn();
                conns.spawn(super::connection::serve(Arc::clone(&backend), node, conn, stream, peer));
            }
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
}
