//! The receive low-water mark of a plain TCP connection (`SO_RCVLOWAT`,
//! Linux): how many bytes must be waiting before the kernel wakes the
//! session task to read them.
//!
//! With a deep pipeline, ZooKeeper answers one reply per TCP segment, and a
//! client that reads each as it lands is woken once or twice per reply;
//! those wakeups are most of its CPU. Raising the mark lets replies gather
//! in the socket and be read many to a wakeup. The session decides the
//! mark (never more than the replies it is owed must bring, see
//! `session::live`); this module only holds the socket and sets it.

use std::os::fd::{AsFd, OwnedFd};

use nix::{setsockopt_impl, sockopt_impl};

sockopt_impl!(
    /// `SO_RCVLOWAT`, defined with nix's generator for socket options that
    /// nix does not name itself (nix makes the call; this workspace writes
    /// no `unsafe`).
    RcvLowat, SetOnly, libc::SOL_SOCKET, libc::SO_RCVLOWAT, usize);

/// A handle on one TCP connection's receive low-water mark.
#[derive(Debug)]
pub(crate) struct LowWater {
    /// A duplicate of the connection's socket (the same socket, so setting
    /// the option through it sets it for the connection).
    socket: OwnedFd,
    /// The mark as last set (1 is the kernel's default).
    current: usize,
}

impl LowWater {
    /// A handle on `tcp`'s mark, or `None` when the socket cannot be
    /// duplicated (then the connection simply keeps the default).
    pub(crate) fn of(tcp: &tokio::net::TcpStream) -> Option<LowWater> {
        let socket = tcp.as_fd().try_clone_to_owned().ok()?;
        Some(LowWater { socket, current: 1 })
    }

    /// The mark as last set.
    pub(crate) fn current(&self) -> usize {
        self.current
    }

    /// Sets the mark to `bytes` (at least 1) unless it is already that.
    /// Returns `false` when the kernel refused, after which the caller
    /// should stop using this handle.
    pub(crate) fn set(&mut self, bytes: usize) -> bool {
        let bytes = bytes.max(1);
        if bytes == self.current {
            return true;
        }
        match nix::sys::socket::setsockopt(&self.socket, RcvLowat, &bytes) {
            Ok(()) => {
                self.current = bytes;
                true
            }
            Err(e) => {
                tracing::debug!(error = %e, bytes, "cannot set SO_RCVLOWAT");
                false
            }
        }
    }
}
