//! Reads, answered from local state (`FinalRequestProcessor` in 3.8).

use zk_proto::{
    ClientInfo, ErrorCode, GetAclResponse, GetAllChildrenNumberResponse, GetChildren2Response,
    GetChildrenResponse, GetDataResponse, GetEphemeralsResponse, MultiOp, MultiResponse,
    MultiResult, Perms, Request, Response, StatResponse, SyncResponse, WhoAmIResponse,
};

use super::acl::{check_acl, redact};
use super::auth;
use super::data_tree::ROOT;
use super::node::Node;
use super::{Ctx, DataTree};

impl DataTree {
    /// Answers a read from this tree. Paths are looked up as given (ZooKeeper
    /// validates nothing on reads but exists' NUL check), then the ACL is checked:
    ///
    /// | request | checks |
    /// |---|---|
    /// | exists | NUL in path → BADARGUMENTS; NONODE; no ACL check |
    /// | getData, getChildren, getChildren2, getAllChildrenNumber | NONODE, then READ |
    /// | getACL | NONODE, then READ or ADMIN; without ADMIN digest hashes read `user:x` |
    /// | getEphemerals | the caller's ephemerals starting with the prefix (`""`/`/` = all) |
    /// | multiRead | each op on its own; failures become per-op errors |
    /// | whoAmI | `ctx.auth` as (scheme, user) pairs |
    /// | sync | echoes the path |
    ///
    /// Anything else is UNIMPLEMENTED. Register watches afterwards with
    /// [`WatchManager::register_after_read`](super::WatchManager::register_after_read).
    pub fn read(&self, ctx: &Ctx<'_>, req: &Request) -> Result<Response, ErrorCode> {
        match req {
            Request::Exists(r) => {
                if r.path.contains('\0') {
                    return Err(ErrorCode::BadArguments);
                }
                let node = self.node(&r.path).ok_or(ErrorCode::NoNode)?;
                Ok(Response::Stat(StatResponse {
                    stat: node.client_stat(),
                }))
            }
            Request::GetData(r) => self.get_data(ctx, &r.path).map(Response::GetData),
            Request::GetChildren(r) => self.readable(ctx, &r.path).map(|n| {
                Response::GetChildren(GetChildrenResponse {
                    children: n.child_names(),
                })
            }),
            Request::GetChildren2(r) => self.readable(ctx, &r.path).map(|n| {
                Response::GetChildren2(GetChildren2Response {
                    children: n.child_names(),
                    stat: n.client_stat(),
                })
            }),
            Request::GetAcl(r) => {
                let node = self.node(&r.path).ok_or(ErrorCode::NoNode)?;
                check_acl(&node.acl, Perms::READ | Perms::ADMIN, ctx.auth)?;
                let acl = if check_acl(&node.acl, Perms::ADMIN, ctx.auth).is_ok() {
                    node.acl.clone()
                } else {
                    redact(&node.acl)
                };
                Ok(Response::GetAcl(GetAclResponse {
                    acl,
                    stat: node.client_stat(),
                }))
            }
            Request::GetAllChildrenNumber(r) => {
                self.readable(ctx, &r.path)?;
                Ok(Response::GetAllChildrenNumber(
                    GetAllChildrenNumberResponse {
                        total_number: i32::try_from(self.all_children_number(&r.path))
                            .unwrap_or(i32::MAX),
                    },
                ))
            }
            Request::GetEphemerals(r) => {
                let prefix = r.prefix_path.trim_matches(|c: char| c <= ' ');
                let all = self.ephemerals(ctx.session_id);
                let ephemerals = if prefix.is_empty() || prefix == ROOT {
                    all
                } else {
                    all.into_iter()
                        .filter(|p| p.starts_with(&r.prefix_path))
                        .collect()
                };
                Ok(Response::GetEphemerals(GetEphemeralsResponse {
                    ephemerals,
                }))
            }
            Request::MultiRead(m) => {
                let mut results = Vec::with_capacity(m.ops.len());
                for op in &m.ops {
                    results.push(match op {
                        MultiOp::GetData(r) => match self.get_data(ctx, &r.path) {
                            Ok(d) => MultiResult::GetData(d),
                            Err(code) => MultiResult::Error(code),
                        },
                        MultiOp::GetChildren(r) => match self.readable(ctx, &r.path) {
                            Ok(n) => MultiResult::GetChildren(GetChildrenResponse {
                                children: n.child_names(),
                            }),
                            Err(code) => MultiResult::Error(code),
                        },
                        // Upstream throws an IOException ("Invalid type of op").
                        _ => return Err(ErrorCode::MarshallingError),
                    });
                }
                Ok(Response::Multi(MultiResponse { results }))
            }
            Request::WhoAmI => Ok(Response::WhoAmI(WhoAmIResponse {
                client_info: auth::java_order(ctx.auth)
                    .iter()
                    .map(|id| ClientInfo {
                        auth_scheme: id.scheme.clone(),
                        user: auth::user_name(&id.scheme, &id.id),
                    })
                    .collect(),
            })),
            Request::Sync(r) => Ok(Response::Sync(SyncResponse {
                path: r.path.clone(),
            })),
            _ => Err(ErrorCode::Unimplemented),
        }
    }

    fn get_data(&self, ctx: &Ctx<'_>, path: &str) -> Result<GetDataResponse, ErrorCode> {
        let node = self.readable(ctx, path)?;
        Ok(GetDataResponse {
            data: node.data.clone(),
            stat: node.client_stat(),
        })
    }

    /// NONODE, then READ permission.
    fn readable(&self, ctx: &Ctx<'_>, path: &str) -> Result<&Node, ErrorCode> {
        let node = self.node(path).ok_or(ErrorCode::NoNode)?;
        check_acl(&node.acl, Perms::READ, ctx.auth)?;
        Ok(node)
    }

    /// `DataTree.getAllChildrenNumber`: for `/` every node but the root; else
    /// the nodes whose path starts with `path + "/"` (ZooKeeper's map also
    /// holds `/` itself under `""`, which only `""` can see).
    fn all_children_number(&self, path: &str) -> usize {
        if path == ROOT {
            return self.nodes.len().saturating_sub(1);
        }
        let prefix = format!("{path}/");
        self.nodes
            .range(prefix.clone()..)
            .take_while(|(k, _)| k.starts_with(&prefix))
            .count()
    }
}
