//! Dispatch of the frames a client connection receives: the handshake
//! first, then requests.

use bytes::Bytes;
use zk_proto::{decode_request, ErrorCode, ProtoError, Reader, Record, Request, RequestHeader};

use super::core::{wall_ms, Core};
use super::link::{Forwarded, Msg, Origin};
use super::node::{ConnState, Node, Pending, Role};
use crate::history::Event;
use crate::tree::{auth, ConnId};

impl Core {
    /// Handles one frame received on a connection.
    pub(crate) fn on_frame(&mut self, node: usize, conn: ConnId, frame: Bytes) {
        let Some(n) = self.nodes.get_mut(node) else {
            return;
        };
        n.stats.received += 1;
        let Some(c) = n.conns.get_mut(&conn) else {
            return;
        };
        c.received += 1;
        match c.state {
            ConnState::Fresh => {
                let leader = self.leader_of(node);
                let limits = (
                    self.cfg.min_session_timeout_ms,
                    self.cfg.max_session_timeout_ms,
                );
                let Some(n) = self.nodes.get_mut(node) else {
                    return;
                };
                if let Some((to, msg)) = n.handshake(conn, frame, leader, limits) {
                    self.send(node, to, msg);
                }
            }
            ConnState::Handshaking(_) => {
                // Held until the session exists, like ZooKeeper's disableRecv.
                c.early.push(frame);
                self.early.push((node, conn));
            }
            ConnState::Open => self.request(node, conn, frame),
        }
    }

    /// Processes frames held back during handshakes that have completed.
    /// Returns whether anything was processed.
    pub(crate) fn replay_early(&mut self) -> bool {
        if self.early.is_empty() {
            return false;
        }
        let mut waiting = Vec::new();
        let mut ready = Vec::new();
        for (node, conn) in std::mem::take(&mut self.early) {
            let state = self
                .nodes
                .get(node)
                .and_then(|n| n.conns.get(&conn))
                .map(|c| c.state);
            match state {
                Some(ConnState::Open) => ready.push((node, conn)),
                Some(_) => waiting.push((node, conn)),
                None => {}
            }
        }
        self.early = waiting;
        ready.dedup();
        let any = !ready.is_empty();
        for (node, conn) in ready {
            let frames = self
                .nodes
                .get_mut(node)
                .and_then(|n| n.conns.get_mut(&conn))
                .map(|c| std::mem::take(&mut c.early))
                .unwrap_or_default();
            for frame in frames {
                self.request(node, conn, frame);
            }
        }
        any
    }

    fn request(&mut self, node: usize, conn: ConnId, frame: Bytes) {
        let now = wall_ms();
        let leader = self.leader_of(node);
        let Some(n) = self.nodes.get_mut(node) else {
            return;
        };
        let (header, request) = match decode_request(frame.clone()) {
            Ok((header, _)) if null_path(header.op_type, &frame) => {
                // Real ZooKeeper reads a null path as Java null and fails
                // the request with MARSHALLINGERROR (the connection stays).
                n.push_error(conn, header.xid, ErrorCode::MarshallingError, false);
                n.pump(conn, now);
                return;
            }
            Ok(ok) => ok,
            Err(e) => {
                let Ok(header) = RequestHeader::decode(&mut Reader::new(frame)) else {
                    n.close_conn(conn);
                    return;
                };
                // UnimplementedRequestProcessor answers an unknown opcode,
                // then closes; a body that does not decode is a
                // MARSHALLINGERROR and the connection stays.
                let unknown = matches!(e, ProtoError::UnknownOpCode(_));
                tracing::debug!(xid = header.xid, op = header.op_type, error = %e, "undecodable request");
                let err = if unknown {
                    ErrorCode::Unimplemented
                } else {
                    ErrorCode::MarshallingError
                };
                n.push_error(conn, header.xid, err, unknown);
                n.pump(conn, now);
                return;
            }
        };
        let Some(c) = n.conns.get_mut(&conn) else {
            return;
        };
        let session_id = c.session;
        let xid = header.xid;
        c.last_xid = xid;
        c.last_op = op_name(&request);
        if n.history.enabled {
            n.history.push(
                conn,
                session_id,
                Event::Request {
                    xid,
                    op: request.op_code().code(),
                    path: request.path().map(str::to_owned),
                },
            );
        }
        match n.role {
            Role::Leading => {
                self.touch(node, session_id);
            }
            Role::Following(_) => {
                if let Some(n) = self.nodes.get_mut(node) {
                    n.touched.insert(session_id);
                }
            }
            _ => {}
        }
        let Some(n) = self.nodes.get_mut(node) else {
            return;
        };
        let read_only = n.role == Role::ReadOnly;
        match request {
            Request::Auth(packet) => {
                let Some(c) = n.conns.get_mut(&conn) else {
                    return;
                };
                // ZooKeeperServer.processPacket: the provider of the scheme
                // (digest, with the super digest; ip adds the peer's address)
                // runs at once, outside the request pipeline.
                let cfg = auth::AuthConfig::new(
                    Some(c.peer.ip().to_string()),
                    self.cfg.super_digest.clone(),
                );
                match auth::authenticate_with(&packet.scheme, &packet.auth, &cfg) {
                    Ok(ids) => {
                        for id in ids {
                            if !c.auth.contains(&id) {
                                c.auth.push(id);
                            }
                        }
                        let ids = c.auth.clone();
                        n.watches.set_auth(conn, &ids);
                        reply_zero(n, conn, xid, ErrorCode::Ok);
                    }
                    Err(_) => {
                        reply_zero(n, conn, xid, ErrorCode::AuthFailed);
                        n.close_conn(conn);
                    }
                }
                return;
            }
            Request::Sasl(_) => n.push_error(conn, xid, ErrorCode::Unimplemented, false),
            Request::CloseSession if read_only => {
                n.reply(conn, xid, &Ok(zk_proto::Response::Empty), None);
                n.close_conn(conn);
                return;
            }
            Request::Sync(req) if read_only => {
                push(
                    n,
                    conn,
                    Pending::Sync {
                        xid,
                        path: req.path,
                        token: 0,
                        zxid: Some(0),
                    },
                );
            }
            Request::Sync(req) => {
                let Some(l) = leader else {
                    n.close_conn(conn);
                    return;
                };
                let token = n.token();
                push(
                    n,
                    conn,
                    Pending::Sync {
                        xid,
                        path: req.path,
                        token,
                        zxid: None,
                    },
                );
                self.send(
                    node,
                    l,
                    Msg::Sync {
                        origin: Origin { node, conn, token },
                    },
                );
            }
            request if request.op_code().is_write() => {
                if read_only {
                    n.push_error(conn, xid, ErrorCode::NotReadOnly, false);
                } else {
                    let Some(l) = leader else {
                        n.close_conn(conn);
                        return;
                    };
                    let token = n.token();
                    let auth = n
                        .conns
                        .get(&conn)
                        .map(|c| c.auth.clone())
                        .unwrap_or_default();
                    push(
                        n,
                        conn,
                        Pending::Write {
                            xid,
                            token,
                            done: None,
                            silent_ok: matches!(request, Request::Check(_)),
                        },
                    );
                    let op = if request == Request::CloseSession {
                        Forwarded::CloseSession
                    } else {
                        Forwarded::Write(request)
                    };
                    self.send(
                        node,
                        l,
                        Msg::Forward {
                            origin: Origin { node, conn, token },
                            session_id,
                            auth,
                            op,
                        },
                    );
                }
            }
            request => {
                let idle = n.conns.get(&conn).is_some_and(|c| c.pending.is_empty());
                if idle {
                    n.run_local(conn, xid, &request, now, None);
                    return;
                }
                let auth = n
                    .conns
                    .get(&conn)
                    .map(|c| c.auth.clone())
                    .unwrap_or_default();
                push(n, conn, Pending::Local { xid, request, auth });
            }
        }
        if let Some(n) = self.nodes.get_mut(node) {
            n.pump(conn, now);
        }
    }
}

fn push(n: &mut Node, conn: ConnId, p: Pending) {
    if let Some(c) = n.conns.get_mut(&conn) {
        c.pending.push_back(p);
    }
}

/// Whether a read request's path (the first field of its body) is a jute
/// null string (length −1), which `decode_request` reads as `""`.
fn null_path(op: i32, frame: &[u8]) -> bool {
    // exists, getData, getACL, getChildren, getChildren2,
    // getAllChildrenNumber: read in FinalRequestProcessor, where a null
    // path fails the request.
    matches!(op, 3 | 4 | 6 | 8 | 12 | 104) && frame.get(8..12) == Some(&[0xff; 4][..])
}

/// Auth replies carry zxid 0.
fn reply_zero(n: &mut Node, conn: ConnId, xid: i32, err: ErrorCode) {
    if let Some(c) = n.conns.get_mut(&conn) {
        let header = zk_proto::ReplyHeader { xid, zxid: 0, err };
        let _ =
            zk_proto::encode_reply(&mut c.out, n.max_frame, &header, &zk_proto::Response::Empty);
        c.sent += 1;
        n.stats.sent += 1;
    }
    n.mark(conn);
}

/// The short operation name `cons` prints as `lop`.
fn op_name(r: &Request) -> &'static str {
    match r {
        Request::Create(_)
        | Request::Create2(_)
        | Request::CreateContainer(_)
        | Request::CreateTtl(_) => "CREA",
        Request::Delete(_) | Request::DeleteContainer(_) => "DELE",
        Request::Exists(_) => "EXIS",
        Request::GetData(_) => "GETD",
        Request::SetData(_) => "SETD",
        Request::GetAcl(_) => "GETA",
        Request::SetAcl(_) => "SETA",
        Request::GetChildren(_) => "GETC",
        Request::GetChildren2(_) => "GETC",
        Request::Sync(_) => "SYNC",
        Request::Ping => "PING",
        Request::Check(_) => "CHEC",
        Request::Multi(_) => "MULT",
        Request::MultiRead(_) => "MLTR",
        Request::SetWatches(_) | Request::SetWatches2(_) => "SETW",
        Request::CloseSession => "CLOS",
        Request::Auth(_) => "AUTH",
        _ => "UNKN",
    }
}
