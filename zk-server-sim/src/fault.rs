//! Fault injection on a running [`Ensemble`].
//!
//! | call | effect |
//! |---|---|
//! | [`Ensemble::kill`] | crash: port closed, connections reset, logged state kept |
//! | [`Ensemble::restart`] | start a killed (or running) node again, optionally with a wiped disk; it resyncs from the leader |
//! | [`Ensemble::pause`] / [`Ensemble::resume`] | a GC pause: sockets stay open, nothing is read, written or processed; peers notice after `sync_limit` ticks |
//! | [`Ensemble::partition`] / [`Ensemble::isolate`] / [`Ensemble::heal`] | cut or restore peer links; a side without quorum stops serving |
//! | [`Ensemble::hold`] / [`Ensemble::release`] | delay one direction of a peer link: a held follower lags (stale reads, slow syncs) |
//! | [`Ensemble::drop_client_connections`] | close every client connection of a node |
//! | [`Ensemble::drop_session_connection`] | close one session's client connection |
//! | [`Ensemble::delay_replies`] | hold every write to a node's clients for a while |
//! | [`Ensemble::apply_then_drop`] | perform the node's next client write, then drop the connection instead of replying |
//! | [`Ensemble::expire_session`] | a real server-side expiry, now |
//! | [`Ensemble::force_election`] | the leader steps down; a new epoch begins |

use std::time::Duration;

use crate::ensemble::{Ensemble, Role};
use crate::server::listener;

impl Ensemble {
    /// Crashes server `i`: its port closes and its client connections are
    /// reset; its log and tree survive for [`Ensemble::restart`].
    pub fn kill(&self, i: usize) {
        tracing::info!(node = i, "fault: kill");
        if let Some(io) = self.shared().io.get(i) {
            io.crash();
        }
        self.with_core(|c| c.crash(i));
    }

    /// Starts server `i` again on its old port (killing it first if it is
    /// running). With `wipe`, its data is lost and it resyncs from the
    /// leader with a snapshot. Waits (up to about 5 s) for the old port to
    /// be released by the crashed incarnation.
    pub async fn restart(&self, i: usize, wipe: bool) -> std::io::Result<()> {
        if self.role(i) != Some(Role::Down) {
            self.kill(i);
        }
        tracing::info!(node = i, wipe, "fault: restart");
        let mut attempts = 0;
        let listener = loop {
            match listener::bind(self.addr(i)) {
                Ok(l) => break l,
                Err(e) if e.kind() == std::io::ErrorKind::AddrInUse && attempts < 500 => {
                    attempts += 1;
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                Err(e) => return Err(e),
            }
        };
        self.with_core(|c| c.restart(i, wipe));
        if let Some(io) = self.shared().io.get(i) {
            io.serve(std::sync::Arc::clone(self.shared()), i, listener);
        }
        Ok(())
    }

    /// Freezes server `i` like a long GC pause.
    pub fn pause(&self, i: usize) {
        tracing::info!(node = i, "fault: pause");
        if let Some(io) = self.shared().io.get(i) {
            io.set_paused(true);
        }
        self.with_core(|c| c.pause(i));
    }

    /// Ends a [`Ensemble::pause`]. If the peers noticed the pause, the node
    /// finds itself out of the quorum, drops its clients and resyncs;
    /// otherwise it catches up on the messages that waited for it.
    pub fn resume(&self, i: usize) {
        tracing::info!(node = i, "fault: resume");
        self.with_core(|c| c.resume(i));
        if let Some(io) = self.shared().io.get(i) {
            io.set_paused(false);
        }
    }

    /// Cuts every link between `side` and the other servers.
    pub fn partition(&self, side: &[usize]) {
        tracing::info!(?side, "fault: partition");
        self.with_core(|c| {
            c.links.partition(side);
            c.reconfigure();
        });
    }

    /// Cuts server `i` off from every peer.
    pub fn isolate(&self, i: usize) {
        self.partition(&[i]);
    }

    /// Restores every peer link.
    pub fn heal(&self) {
        tracing::info!("fault: heal");
        self.with_core(|c| {
            c.links.heal();
            c.reconfigure();
        });
    }

    /// Holds every message from server `from` to server `to` until
    /// [`Ensemble::release`]: with `hold(leader, f)`, follower `f` stops
    /// learning of proposals and commits, so its reads go stale and its
    /// clients' writes and syncs wait. Failure detection ignores held links
    /// (a slow network, not a dead one).
    pub fn hold(&self, from: usize, to: usize) {
        tracing::info!(from, to, "fault: hold link");
        self.with_core(|c| c.links.hold(from, to));
    }

    /// Delivers what [`Ensemble::hold`] kept, in order, and stops holding
    /// `from → to`; `None` releases every link.
    pub fn release(&self, link: Option<(usize, usize)>) {
        tracing::info!(?link, "fault: release");
        self.with_core(|c| {
            match link {
                Some((from, to)) => c.links.release(from, to),
                None => c.links.release_all(),
            }
            c.unhold();
        });
    }

    /// Closes every client connection of server `i`.
    pub fn drop_client_connections(&self, i: usize) {
        tracing::info!(node = i, "fault: drop client connections");
        self.with_core(|c| {
            if let Some(n) = c.nodes.get_mut(i) {
                n.close_all();
            }
        });
    }

    /// Closes the client connection of session `id`, on whichever server it
    /// is (the session lives on; its client reconnects). False when no server
    /// has an established connection of that session.
    pub fn drop_session_connection(&self, id: i64) -> bool {
        tracing::info!(
            session = format_args!("{id:#x}"),
            "fault: drop session connection"
        );
        self.with_core(|c| {
            let mut found = false;
            for n in &mut c.nodes {
                let ids: Vec<_> = n
                    .conns
                    .iter()
                    .filter(|(_, conn)| {
                        conn.session == id && conn.state == crate::ensemble::node::ConnState::Open
                    })
                    .map(|(conn_id, _)| *conn_id)
                    .collect();
                for conn_id in ids {
                    n.close_conn(conn_id);
                    found = true;
                }
            }
            found
        })
    }

    /// Delays every write to server `i`'s clients by `d` (zero to stop).
    pub fn delay_replies(&self, i: usize, d: Duration) {
        if let Some(io) = self.shared().io.get(i) {
            io.set_delay(d);
        }
    }

    /// The next client write on server `i` is performed, but its connection
    /// is dropped instead of sending the reply.
    pub fn apply_then_drop(&self, i: usize) {
        self.with_core(|c| {
            if let Some(n) = c.nodes.get_mut(i) {
                n.faults.apply_then_drop = true;
            }
        });
    }

    /// Expires session `id` now through the leader (ephemerals deleted,
    /// watches fired on every node, connections closed). False when the
    /// session is unknown or there is no leader.
    pub fn expire_session(&self, id: i64) -> bool {
        tracing::info!(session = format_args!("{id:#x}"), "fault: expire session");
        self.with_core(|c| c.expire_now(id))
    }

    /// Makes the leader step down; a new election in a new epoch follows.
    pub fn force_election(&self) {
        tracing::info!("fault: force election");
        self.with_core(|c| {
            if let Some(l) = c.leader.take() {
                c.go_looking(l);
            }
            c.reconfigure();
        });
    }
}
