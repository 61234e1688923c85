//! The connect handshake (protocol.md §5, `ZooKeeperServer.processConnectRequest`).

use bytes::Bytes;
use zk_proto::{ConnectRequest, Record};

use crate::ensemble::core::Core;
use crate::ensemble::link::{Forwarded, Msg, Origin};
use crate::ensemble::node::{ConnState, Role};
use crate::ensemble::session::password;
use crate::history::Event;
use crate::tree::ConnId;

impl Core {
    /// Handles the first frame of a connection: a ConnectRequest.
    pub(crate) fn handshake(&mut self, node: usize, conn: ConnId, frame: Bytes) {
        let (min, max) = (
            self.cfg.min_session_timeout_ms,
            self.cfg.max_session_timeout_ms,
        );
        let secret = self.secret;
        let leader = self.leader_of(node);
        let Some(n) = self.nodes.get_mut(node) else {
            return;
        };
        let Ok(req) = ConnectRequest::from_bytes(frame) else {
            n.close_conn(conn);
            return;
        };
        let read_only = n.role == Role::ReadOnly;
        let accept = n.serving() || (read_only && req.read_only == Some(true));
        if !accept {
            tracing::debug!(node, conn, "refusing client: not serving");
            n.close_conn(conn);
            return;
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
            return;
        }
        let timeout_ms = req.timeout.clamp(min, max);
        let token = n.token();
        let Some(c) = n.conns.get_mut(&conn) else {
            return;
        };
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
                return;
            }
            let Some(l) = leader else {
                n.close_conn(conn);
                return;
            };
            self.send(
                node,
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
            );
            return;
        }
        if req.passwd != password(secret, req.session_id) {
            tracing::debug!(node, conn, "wrong session password");
            n.expire_handshake(conn);
            return;
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
            return;
        }
        let Some(l) = leader else {
            n.close_conn(conn);
            return;
        };
        self.send(
            node,
            l,
            Msg::Revalidate {
                origin,
                session_id: req.session_id,
            },
        );
    }
}
