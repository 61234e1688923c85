//! Every replica: apply a decided [`Txn`] (`DataTree.processTxn` in 3.8).

use zk_proto::{
    Create2Response, CreateResponse, EphemeralKind, ErrorCode, EventType, MultiResponse,
    MultiResult, Response, StatResponse,
};

use super::java_hash::JavaHashSet;
use super::node::Node;
use super::{CreateReply, CreateTxn, DataTree, TreeEvent, Txn, TxnResult};

/// A session's ephemerals live in `new HashSet<String>()` (16 buckets).
const EPHEMERALS_INITIAL_CAPACITY: usize = 16;

impl DataTree {
    /// Applies a decided txn at `zxid` with the leader's `time_ms`, updating
    /// every Stat field as ZooKeeper does, and returns the client's reply and
    /// the node events. Deterministic; never panics. A txn whose preconditions
    /// no longer hold (which prepare-then-apply never produces) changes what
    /// ZooKeeper would change and reports the error.
    pub fn apply(&mut self, zxid: i64, time_ms: i64, txn: &Txn) -> TxnResult {
        let mut events = Vec::new();
        let response = match txn {
            Txn::Multi(txns) => {
                let results = txns
                    .iter()
                    .map(|t| match self.apply_sub(zxid, time_ms, t, &mut events) {
                        Ok(r) => multi_result(t, r),
                        Err(code) => MultiResult::Error(code),
                    })
                    .collect();
                Ok(Response::Multi(MultiResponse { results }))
            }
            Txn::MultiError(codes) => Ok(Response::Multi(MultiResponse {
                results: codes.iter().map(|c| MultiResult::Error(*c)).collect(),
            })),
            other => self.apply_sub(zxid, time_ms, other, &mut events),
        };
        if zxid > self.last_zxid {
            self.last_zxid = zxid;
        }
        TxnResult { response, events }
    }

    /// Applies one (sub-)txn; `Multi` inside a multi is not a thing and is refused.
    pub(crate) fn apply_sub(
        &mut self,
        zxid: i64,
        time_ms: i64,
        txn: &Txn,
        events: &mut Vec<TreeEvent>,
    ) -> Result<Response, ErrorCode> {
        match txn {
            Txn::CreateSession {
                session_id,
                timeout_ms,
            } => {
                self.sessions.insert(*session_id, *timeout_ms);
                Ok(Response::Empty)
            }
            Txn::CloseSession { session_id } => {
                self.close_session(*session_id, zxid, events);
                Ok(Response::Empty)
            }
            Txn::Create(c) => self.create_node(c, zxid, time_ms, events),
            Txn::Delete { path } | Txn::DeleteContainer { path } => {
                self.delete_node(path, zxid, events)?;
                Ok(Response::Empty)
            }
            Txn::SetData {
                path,
                data,
                version,
            } => {
                let node = self.node_mut(path).ok_or(ErrorCode::NoNode)?;
                node.data = data.clone();
                node.stat.mtime = time_ms;
                node.stat.mzxid = zxid;
                node.stat.version = *version;
                let stat = node.client_stat();
                events.push(TreeEvent::new(
                    path.clone(),
                    EventType::NodeDataChanged,
                    node.acl.clone(),
                ));
                Ok(Response::Stat(StatResponse { stat }))
            }
            Txn::SetAcl { path, acl, version } => {
                let node = self.node_mut(path).ok_or(ErrorCode::NoNode)?;
                node.stat.aversion = *version;
                node.acl = acl.clone();
                Ok(Response::Stat(StatResponse {
                    stat: node.client_stat(),
                }))
            }
            Txn::Check { path, .. } => {
                // Upstream answers a standalone check with SetDataResponse(null);
                // the simulator gives the node's Stat when it still exists.
                let stat = self.stat(path).unwrap_or_default();
                Ok(Response::Stat(StatResponse { stat }))
            }
            Txn::Error(code) => Err(*code),
            Txn::Multi(_) | Txn::MultiError(_) => Err(ErrorCode::MarshallingError),
        }
    }

    /// `DataTree.createNode`.
    fn create_node(
        &mut self,
        c: &CreateTxn,
        zxid: i64,
        time_ms: i64,
        events: &mut Vec<TreeEvent>,
    ) -> Result<Response, ErrorCode> {
        let (parent_path, child) = split_path(&c.path)?;
        let parent = self.node_mut(parent_path).ok_or(ErrorCode::NoNode)?;
        if parent.children.contains(child) {
            return Err(ErrorCode::NodeExists);
        }
        if c.parent_cversion > parent.stat.cversion {
            parent.stat.cversion = c.parent_cversion;
            parent.stat.pzxid = zxid;
        }
        parent.children.insert(child);
        let parent_acl = parent.acl.clone();
        let node = Node::new(
            c.data.clone(),
            c.acl.clone(),
            zxid,
            time_ms,
            c.ephemeral_owner,
        );
        let stat = node.client_stat();
        if let EphemeralKind::Session(id) = node.kind() {
            self.ephemerals
                .entry(id)
                .or_insert_with(|| JavaHashSet::with_capacity(EPHEMERALS_INITIAL_CAPACITY))
                .insert(&c.path);
        }
        self.nodes.insert(c.path.clone(), node);
        events.push(TreeEvent::new(
            c.path.clone(),
            EventType::NodeCreated,
            c.acl.clone(),
        ));
        events.push(TreeEvent::new(
            display_parent(parent_path),
            EventType::NodeChildrenChanged,
            parent_acl,
        ));
        Ok(match c.reply {
            CreateReply::Path => Response::Create(CreateResponse {
                path: c.path.clone(),
            }),
            CreateReply::PathAndStat => Response::Create2(Create2Response {
                path: c.path.clone(),
                stat,
            }),
        })
    }

    /// `DataTree.deleteNode`: the parent's pzxid moves (its cversion does not),
    /// then the node goes; NodeDeleted, then NodeChildrenChanged on the parent.
    fn delete_node(
        &mut self,
        path: &str,
        zxid: i64,
        events: &mut Vec<TreeEvent>,
    ) -> Result<(), ErrorCode> {
        let (parent_path, child) = split_path(path)?;
        let parent = self.node_mut(parent_path).ok_or(ErrorCode::NoNode)?;
        parent.children.remove(child);
        if zxid > parent.stat.pzxid {
            parent.stat.pzxid = zxid;
        }
        let parent_acl = parent.acl.clone();
        let node = self.nodes.remove(path).ok_or(ErrorCode::NoNode)?;
        if let EphemeralKind::Session(id) = node.kind() {
            if let Some(set) = self.ephemerals.get_mut(&id) {
                set.remove(path);
            }
        }
        events.push(TreeEvent::new(path, EventType::NodeDeleted, node.acl));
        events.push(TreeEvent::new(
            display_parent(parent_path),
            EventType::NodeChildrenChanged,
            parent_acl,
        ));
        Ok(())
    }

    /// closeSession: deletes the session's ephemerals in the order of
    /// `new ArrayList<>(getEphemerals(session))` (a clone of its `HashSet`),
    /// as 3.8's `CloseSessionTxn` lists them.
    fn close_session(&mut self, session_id: i64, zxid: i64, events: &mut Vec<TreeEvent>) {
        let paths = self.ephemerals(session_id);
        self.ephemerals.remove(&session_id);
        self.sessions.remove(&session_id);
        for path in paths {
            // Upstream logs and ignores NONODE here.
            let _ = self.delete_node(&path, zxid, events);
        }
    }
}

/// A committed sub-txn's reply → its multi result.
fn multi_result(txn: &Txn, response: Response) -> MultiResult {
    match (txn, response) {
        (_, Response::Create(r)) => MultiResult::Create(r),
        (_, Response::Create2(r)) => MultiResult::Create2(r),
        (Txn::Check { .. }, _) => MultiResult::Check,
        (Txn::SetData { .. }, Response::Stat(r)) => MultiResult::SetData(r),
        (Txn::Delete { .. } | Txn::DeleteContainer { .. }, _) => MultiResult::Delete,
        _ => MultiResult::Error(ErrorCode::MarshallingError),
    }
}

/// `path.substring(0, lastSlash)` and the child name after it.
pub(super) fn split_path(path: &str) -> Result<(&str, &str), ErrorCode> {
    let slash = path.rfind('/').ok_or(ErrorCode::BadArguments)?;
    let parent = path.get(..slash).ok_or(ErrorCode::BadArguments)?;
    let child = path.get(slash + 1..).ok_or(ErrorCode::BadArguments)?;
    Ok((parent, child))
}

/// The path watches see for a parent: `""` is the root `/`.
fn display_parent(parent: &str) -> String {
    if parent.is_empty() {
        "/".to_owned()
    } else {
        parent.to_owned()
    }
}
