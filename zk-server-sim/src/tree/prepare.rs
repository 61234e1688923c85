//! Leader side: a write request → a [`Txn`], with ZooKeeper's checks in
//! ZooKeeper's order (`PrepRequestProcessor.pRequest2Txn` in 3.8).

use zk_proto::{
    sequence_suffix, validate_path, Acl, CreateMode, Data, EphemeralKind, ErrorCode, MultiOp,
    Perms, Request, CONTAINER_EPHEMERAL_OWNER, MAX_TTL_MS,
};

use super::acl::{check_acl, fixup_acl};
use super::apply::split_path;
use super::data_tree::{CONFIG, PROC, QUOTA, ROOT};
use super::{CreateReply, CreateTxn, Ctx, DataTree, Txn};

/// Which create opcode a create came in as (it decides the node kind).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CreateOp {
    /// create (1): the reply has only the path.
    Create,
    /// create2 (15).
    Create2,
    /// createContainer (19): always a container, whatever the flags.
    Container,
    /// createTTL (21).
    Ttl,
}

/// The fields of a create request, whatever its record.
struct CreateArgs<'a> {
    path: &'a str,
    data: &'a Data,
    acl: &'a [Acl],
    flags: i32,
    /// −1 when the request has no ttl field.
    ttl: i64,
}

impl DataTree {
    /// Decides the [`Txn`] for a write request against the current state,
    /// running ZooKeeper's checks in ZooKeeper's order; a failed check gives
    /// [`Txn::Error`] (or [`Txn::MultiError`] for a multi), which still takes a
    /// zxid when applied. Never panics.
    ///
    /// Writes: create, create2, createContainer, createTTL, delete, setData,
    /// setACL, check, multi, deleteContainer, reconfig (→ RECONFIGDISABLED, as
    /// a default 3.8 server) and closeSession (→ [`Txn::CloseSession`] for
    /// `ctx.session_id`). Any other request gives `Txn::Error(UNIMPLEMENTED)`.
    ///
    /// The leader keeps a speculative tree: `prepare`, then at once
    /// [`apply`](Self::apply) the txn with the zxid it assigned, so that later
    /// prepares see earlier, not yet committed changes.
    pub fn prepare(&self, ctx: &Ctx<'_>, req: &Request) -> Txn {
        let decided = match req {
            Request::Create(r) => self.prep_create(ctx, CreateOp::Create, &create_args(r)),
            Request::Create2(r) => self.prep_create(ctx, CreateOp::Create2, &create_args(r)),
            Request::CreateContainer(r) => {
                self.prep_create(ctx, CreateOp::Container, &create_args(r))
            }
            Request::CreateTtl(r) => self.prep_create(
                ctx,
                CreateOp::Ttl,
                &CreateArgs {
                    path: &r.path,
                    data: &r.data,
                    acl: &r.acl,
                    flags: r.flags,
                    ttl: r.ttl,
                },
            ),
            Request::Delete(r) => self.prep_delete(ctx, &r.path, r.version),
            Request::DeleteContainer(r) => self.prep_delete_container(&r.path),
            Request::SetData(r) => self.prep_set_data(ctx, &r.path, &r.data, r.version),
            Request::SetAcl(r) => self.prep_set_acl(ctx, &r.path, &r.acl, r.version),
            Request::Check(r) => self.prep_check(ctx, &r.path, r.version),
            Request::Multi(m) => return self.prep_multi(ctx, &m.ops),
            Request::Reconfig(_) => Err(ErrorCode::ReconfigDisabled),
            Request::CloseSession => Ok(Txn::CloseSession {
                session_id: ctx.session_id,
            }),
            _ => Err(ErrorCode::Unimplemented),
        };
        decided.unwrap_or_else(Txn::Error)
    }

    /// `pRequest2TxnCreate`.
    fn prep_create(
        &self,
        ctx: &Ctx<'_>,
        op: CreateOp,
        a: &CreateArgs<'_>,
    ) -> Result<Txn, ErrorCode> {
        let mode = CreateMode::try_from(a.flags).map_err(|_| ErrorCode::BadArguments)?;
        // validateCreateRequest: TTL enabled?, then EphemeralType.validateTTL.
        if mode.is_ttl() && !ctx.extended_types {
            return Err(ErrorCode::Unimplemented);
        }
        if mode.is_ttl() {
            if a.ttl <= 0 || a.ttl > MAX_TTL_MS {
                return Err(ErrorCode::BadArguments);
            }
        } else if a.ttl >= 0 {
            return Err(ErrorCode::BadArguments);
        }
        // (Session checks belong to the ensemble.)
        // validatePathForCreate: a '/' somewhere and no NUL; the parent is what precedes the last '/'.
        let parent_path = create_parent(a.path)?;
        let acl = fixup_acl(ctx.auth, a.acl)?;
        let parent = self.node(parent_path).ok_or(ErrorCode::NoNode)?;
        check_acl(&parent.acl, Perms::CREATE, ctx.auth)?;
        let parent_cversion = parent.stat.cversion;
        let path = if mode.is_sequential() {
            format!("{}{}", a.path, sequence_suffix(parent_cversion))
        } else {
            a.path.to_owned()
        };
        validate_path(&path).map_err(|_| ErrorCode::BadArguments)?;
        if self.node(&path).is_some() {
            return Err(ErrorCode::NodeExists);
        }
        if matches!(parent.kind(), EphemeralKind::Session(_)) {
            return Err(ErrorCode::NoChildrenForEphemerals);
        }
        // The applied node's kind follows the txn type, i.e. the opcode:
        // create/create2 give a session ephemeral or a persistent node (flags 4
        // with opcode 1 is a plain persistent node), createContainer always a container.
        let owner = match op {
            CreateOp::Container => CONTAINER_EPHEMERAL_OWNER,
            CreateOp::Ttl => {
                if !mode.is_ttl() {
                    // Upstream applies a CreateTTLTxn with ttl −1, which throws
                    // inside DataTree; refuse it here instead.
                    return Err(ErrorCode::BadArguments);
                }
                EphemeralKind::Ttl(a.ttl).to_owner()
            }
            CreateOp::Create | CreateOp::Create2 => {
                if mode.is_ephemeral() {
                    ctx.session_id
                } else {
                    0
                }
            }
        };
        let reply = if op == CreateOp::Create {
            CreateReply::Path
        } else {
            CreateReply::PathAndStat
        };
        Ok(Txn::Create(CreateTxn::new(
            path,
            a.data.clone(),
            acl,
            owner,
            parent_cversion.wrapping_add(1),
            reply,
        )))
    }

    /// The delete branch of `pRequest2Txn`.
    fn prep_delete(&self, ctx: &Ctx<'_>, path: &str, version: i32) -> Result<Txn, ErrorCode> {
        let parent_path = delete_parent(path)?;
        let parent = self.node(parent_path).ok_or(ErrorCode::NoNode)?;
        check_acl(&parent.acl, Perms::DELETE, ctx.auth)?;
        let node = self.node(path).ok_or(ErrorCode::NoNode)?;
        check_version(node.stat.version, version)?;
        if !node.children.is_empty() {
            return Err(ErrorCode::NotEmpty);
        }
        Ok(Txn::Delete {
            path: path.to_owned(),
        })
    }

    /// The deleteContainer branch: no ACL check; refuses normal ephemerals
    /// with BADVERSION as upstream does.
    fn prep_delete_container(&self, path: &str) -> Result<Txn, ErrorCode> {
        let parent_path = delete_parent(path)?;
        let node = self.node(path).ok_or(ErrorCode::NoNode)?;
        if !node.children.is_empty() {
            return Err(ErrorCode::NotEmpty);
        }
        if matches!(node.kind(), EphemeralKind::Session(_)) {
            return Err(ErrorCode::BadVersion);
        }
        self.node(parent_path).ok_or(ErrorCode::NoNode)?;
        Ok(Txn::DeleteContainer {
            path: path.to_owned(),
        })
    }

    fn prep_set_data(
        &self,
        ctx: &Ctx<'_>,
        path: &str,
        data: &Data,
        version: i32,
    ) -> Result<Txn, ErrorCode> {
        validate_path(path).map_err(|_| ErrorCode::BadArguments)?;
        let node = self.node(path).ok_or(ErrorCode::NoNode)?;
        check_acl(&node.acl, Perms::WRITE, ctx.auth)?;
        check_version(node.stat.version, version)?;
        Ok(Txn::SetData {
            path: path.to_owned(),
            data: data.clone(),
            version: node.stat.version.wrapping_add(1),
        })
    }

    fn prep_set_acl(
        &self,
        ctx: &Ctx<'_>,
        path: &str,
        acl: &[Acl],
        version: i32,
    ) -> Result<Txn, ErrorCode> {
        validate_path(path).map_err(|_| ErrorCode::BadArguments)?;
        let acl = fixup_acl(ctx.auth, acl)?;
        let node = self.node(path).ok_or(ErrorCode::NoNode)?;
        check_acl(&node.acl, Perms::ADMIN, ctx.auth)?;
        check_version(node.stat.aversion, version)?;
        Ok(Txn::SetAcl {
            path: path.to_owned(),
            acl,
            version: node.stat.aversion.wrapping_add(1),
        })
    }

    fn prep_check(&self, ctx: &Ctx<'_>, path: &str, version: i32) -> Result<Txn, ErrorCode> {
        validate_path(path).map_err(|_| ErrorCode::BadArguments)?;
        let node = self.node(path).ok_or(ErrorCode::NoNode)?;
        check_acl(&node.acl, Perms::READ, ctx.auth)?;
        check_version(node.stat.version, version)?;
        Ok(Txn::Check {
            path: path.to_owned(),
            version: node.stat.version.wrapping_add(1),
        })
    }

    /// A multi: each op is checked against the state left by the ops before it;
    /// the first failure makes the whole multi a [`Txn::MultiError`].
    ///
    /// A read op (getData, getChildren) in a write multi fails the whole
    /// request with MARSHALLINGERROR, as upstream's `MultiOperationRecord`
    /// refuses to decode it (an error txn: it still takes a zxid).
    fn prep_multi(&self, ctx: &Ctx<'_>, ops: &[MultiOp]) -> Txn {
        if ops
            .iter()
            .any(|op| matches!(op, MultiOp::GetData(_) | MultiOp::GetChildren(_)))
        {
            return Txn::Error(ErrorCode::MarshallingError);
        }
        let mut scratch: Option<DataTree> = None;
        let mut txns = Vec::with_capacity(ops.len());
        for (i, op) in ops.iter().enumerate() {
            let view = scratch.as_ref().unwrap_or(self);
            match view.prep_multi_op(ctx, op) {
                Ok(txn) => {
                    if i + 1 < ops.len() {
                        let tree = scratch.get_or_insert_with(|| self.clone());
                        let zxid = tree.last_zxid.wrapping_add(1);
                        // Just validated against this very state, so it applies.
                        let _ = tree.apply_sub(zxid, ctx.now_ms, &txn, &mut Vec::new());
                    }
                    txns.push(txn);
                }
                Err(code) => {
                    let mut codes = vec![ErrorCode::Ok; i];
                    codes.push(code);
                    codes.resize(ops.len(), ErrorCode::RuntimeInconsistency);
                    return Txn::MultiError(codes);
                }
            }
        }
        Txn::Multi(txns)
    }

    /// One multi sub-op. As upstream (`MultiOperationRecord` → `Op.create`),
    /// a create's type comes from its flags, not its sub-op code: flags 4 is
    /// a container, 5/6 a TTL node, anything else a plain create whose result
    /// carries only the path.
    fn prep_multi_op(&self, ctx: &Ctx<'_>, op: &MultiOp) -> Result<Txn, ErrorCode> {
        match op {
            MultiOp::Create(r) | MultiOp::Create2(r) | MultiOp::CreateContainer(r) => {
                let kind = match r.flags {
                    4 => CreateOp::Container,
                    // Upstream casts the CreateRequest to a CreateTTLRequest
                    // and fails outside KeeperException handling.
                    5 | 6 => return Err(ErrorCode::MarshallingError),
                    _ => CreateOp::Create,
                };
                self.prep_create(ctx, kind, &create_args(r))
            }
            MultiOp::CreateTtl(r) => {
                let kind = match r.flags {
                    5 | 6 => CreateOp::Ttl,
                    4 => CreateOp::Container,
                    _ => CreateOp::Create,
                };
                let ttl = if kind == CreateOp::Ttl { r.ttl } else { -1 };
                self.prep_create(
                    ctx,
                    kind,
                    &CreateArgs {
                        path: &r.path,
                        data: &r.data,
                        acl: &r.acl,
                        flags: r.flags,
                        ttl,
                    },
                )
            }
            MultiOp::Delete(r) => self.prep_delete(ctx, &r.path, r.version),
            MultiOp::SetData(r) => self.prep_set_data(ctx, &r.path, &r.data, r.version),
            MultiOp::Check(r) => self.prep_check(ctx, &r.path, r.version),
            _ => Err(ErrorCode::Unimplemented),
        }
    }
}

fn create_args(r: &zk_proto::CreateRequest) -> CreateArgs<'_> {
    CreateArgs {
        path: &r.path,
        data: &r.data,
        acl: &r.acl,
        flags: r.flags,
        ttl: -1,
    }
}

/// `validatePathForCreate`: BADARGUMENTS without a '/' or with a NUL; the
/// parent is everything before the last '/' (`""` means the root).
fn create_parent(path: &str) -> Result<&str, ErrorCode> {
    if path.contains('\0') {
        return Err(ErrorCode::BadArguments);
    }
    split_path(path).map(|(parent, _)| parent)
}

/// `getParentPathAndValidate`: as [`create_parent`], and the special paths
/// (`/`, `/zookeeper`, `/zookeeper/quota`, `/zookeeper/config`) can't be deleted.
fn delete_parent(path: &str) -> Result<&str, ErrorCode> {
    if [ROOT, PROC, QUOTA, CONFIG].contains(&path) {
        return Err(ErrorCode::BadArguments);
    }
    create_parent(path)
}

/// `checkAndIncVersion`: −1 matches any version.
fn check_version(current: i32, expected: i32) -> Result<(), ErrorCode> {
    if expected != -1 && expected != current {
        Err(ErrorCode::BadVersion)
    } else {
        Ok(())
    }
}
