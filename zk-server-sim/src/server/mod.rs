//! The client-facing network I/O of the simulated servers: the listener and
//! one task per connection. What the bytes mean is the ensemble's business:
//! the tasks hand frames to a [`Backend`] and write what it queues, so this
//! module knows nothing of nodes, sessions or requests.

pub(crate) mod connection;
pub(crate) mod listener;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::{mpsc, watch};
use tokio::task::AbortHandle;

use crate::tree::ConnId;

/// Output for a connection's I/O task.
#[derive(Debug)]
pub(crate) enum Out {
    /// Bytes to write, already framed.
    Data(Bytes),
    /// Flush what came before, then close the socket.
    Close,
}

/// What the I/O tasks of a server ask of the ensemble behind them.
pub(crate) trait Backend: Send + Sync + 'static {
    /// The I/O handles of server `node`.
    fn io(&self, node: usize) -> Option<&NodeIo>;
    /// The largest frame a client may send.
    fn max_frame(&self) -> usize;
    /// A fresh connection id.
    fn next_conn(&self) -> ConnId;
    /// A connection was accepted; false when the server is down (the
    /// socket is then closed at once). `tx` carries its output.
    fn open(
        &self,
        node: usize,
        conn: ConnId,
        tx: mpsc::UnboundedSender<Out>,
        peer: SocketAddr,
    ) -> bool;
    /// Frames arrived on a connection, in order.
    fn receive(&self, node: usize, conn: ConnId, frames: Vec<Bytes>);
    /// The answer to a four-letter word sent as a connection's first bytes;
    /// the connection is forgotten afterwards.
    fn four_letter(&self, node: usize, conn: ConnId, word: &str) -> String;
    /// The connection's socket is gone.
    fn close(&self, node: usize, conn: ConnId);
}

/// The I/O side of one server: its address, its accept loop and the
/// switches its connection tasks obey. It owns its own crash.
#[derive(Debug)]
pub(crate) struct NodeIo {
    pub(crate) addr: SocketAddr,
    paused: watch::Sender<bool>,
    delay_ms: AtomicU64,
    listener: Mutex<Option<AbortHandle>>,
}

impl NodeIo {
    /// Handles for a server listening on `addr`, not yet accepting.
    pub(crate) fn new(addr: SocketAddr) -> Self {
        NodeIo {
            addr,
            paused: watch::channel(false).0,
            delay_ms: AtomicU64::new(0),
            listener: Mutex::new(None),
        }
    }

    /// Starts accepting on `listener` (replacing any earlier accept loop).
    pub(crate) fn serve<B: Backend>(
        &self,
        backend: std::sync::Arc<B>,
        node: usize,
        listener: tokio::net::TcpListener,
    ) {
        let handle = tokio::spawn(listener::accept_loop(backend, node, listener)).abort_handle();
        if let Some(old) = self
            .listener
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .replace(handle)
        {
            old.abort();
        }
    }

    /// A crash: the port closes and every connection task is dropped (their
    /// sockets reset); paused tasks are released so they can be dropped.
    pub(crate) fn crash(&self) {
        if let Some(h) = self
            .listener
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
        {
            h.abort();
        }
        self.set_paused(false);
    }

    /// Freezes (or thaws) every connection task: nothing read or written.
    pub(crate) fn set_paused(&self, paused: bool) {
        self.paused.send_replace(paused);
    }

    /// Delays every write to this server's clients by `d` (zero: none).
    pub(crate) fn set_delay(&self, d: Duration) {
        self.delay_ms.store(
            u64::try_from(d.as_millis()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
    }

    fn delay(&self) -> Duration {
        Duration::from_millis(self.delay_ms.load(Ordering::Relaxed))
    }

    fn paused(&self) -> watch::Receiver<bool> {
        self.paused.subscribe()
    }
}
