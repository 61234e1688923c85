//! The connect handshake (protocol.md §5, `ZooKeeperServer.processConnectRequest`).

use bytes::Bytes;
use zk_proto::{ConnectRequest, Record};

use super::link::{Forwarded, Msg, Origin};
use super::node::{ConnState, Node, Role};
use super::session::password;
use crate::history::Event;
use crate::tree::ConnId;

impl Node {
    /// Handles the first frame of a connection: a ConnectRequest, with
    /// timeouts clamped into `[min, max]` ms. `leader` is the node this one
    /// forwards to; returns the message to send it, if any.
    pub(crate) fn handshake(
        &mut self,
        conn: ConnId,
        frame: Bytes,
        leader: Option<usize>,
        (min, max): (i32, i32),
    ) -> Option<(usize, Msg)> {
        let node = self.id;
        let secret = self.secret;
        let n = self;
        let Ok(req) = ConnectRequest::from_bytes(frame) else {
            n.close_conn(conn);
            return None;
        };
        let read_only = n.role == Role::ReadOnly;
        let accept = n.serving() || (read_only && req.read_only == Some(true));
        if !accept {
            tracing::debug!(node, conn, "refusing client: not serving");
            n.close_conn(conn);
            return None;
        }
        if req.last_zxid_seen > n.last_zxid() {
            tracing::debug!(
                node,
                conn,
                client = format_args!("{:#x}", req.last_zxid_seen),
                server = format_args!("{:#x}", n.last_zxid()),
                "refusing client: zxid ahead, client must try another server"
            );
            n.close_conn(conn);
            return None;
        }
        let timeout_ms = req.timeout.clamp(min, max);
        let token = n.token();
        let c = n.conns.get_mut(&conn)?;
        c.ro_byte = req.read_only;
        c.timeout_ms = timeout_ms;
        c.state = ConnState::Handshaking(token);
        n.history.push(
            conn,
            req.session_id,
            Event::Connect {
                session_id: req.session_id,
                last_zxid_seen: req.last_zxid_seen,
            },
        );
        let origin = Origin { node, conn, token };
        if req.session_id == 0 {
            let session_id = n.next_session;
            n.next_session += 1;
            if read_only {
                // A read-only server's sessions are local and never replicated.
                n.finish_handshake(conn, token, session_id, timeout_ms);
                return None;
            }
            let Some(l) = leader else {
                n.close_conn(conn);
                return None;
            };
            return Some((
                l,
                Msg::Forward {
                    origin,
                    session_id,
                    auth: Vec::new(),
                    op: Forwarded::CreateSession {
                        session_id,
                        timeout_ms,
                    },
                },
            ));
        }
        if req.passwd != password(secret, req.session_id) {
            tracing::debug!(node, conn, "wrong session password");
            n.expire_handshake(conn);
            return None;
        }
        let others: Vec<ConnId> = n
            .conns
            .iter()
            .filter(|(id, c)| **id != conn && c.session == req.session_id)
            .map(|(id, _)| *id)
            .collect();
        for other in others {
            n.close_conn(other);
        }
        if read_only {
            if n.sessions.contains_key(&req.session_id) {
                n.finish_handshake(conn, token, req.session_id, timeout_ms);
            } else {
                n.expire_handshake(conn);
            }
            return None;
        }
        let Some(l) = leader else {
            n.close_conn(conn);
            return None;
        };
        Some((
            l,
            Msg::Revalidate {
                origin,
                session_id: req.session_id,
            },
        ))
    }
}
