//! ACL resolution and checks, as `PrepRequestProcessor.fixupACL` and
//! `ZooKeeperServer.checkACL` do them in ZooKeeper 3.8.

use zk_proto::{Acl, ErrorCode, Id, Perms};

use super::auth;

/// Resolves a request's ACL list: removes duplicates, expands the `auth`
/// scheme to the caller's authenticated ids, and rejects an empty list, an
/// unknown scheme, an invalid id or `auth` without an authenticated id with
/// INVALIDACL.
pub(crate) fn fixup_acl(auth_ids: &[Id], acls: &[Acl]) -> Result<Vec<Acl>, ErrorCode> {
    let mut unique: Vec<&Acl> = Vec::with_capacity(acls.len());
    for a in acls {
        if !unique.contains(&a) {
            unique.push(a);
        }
    }
    if unique.is_empty() {
        return Err(ErrorCode::InvalidAcl);
    }
    let mut out = Vec::with_capacity(unique.len());
    for a in unique {
        let id = &a.id;
        if id.scheme == "world" && id.id == "anyone" {
            out.push(a.clone());
        } else if id.scheme == "auth" {
            let mut any = false;
            for cid in &auth::java_order(auth_ids) {
                if auth::is_authenticated_scheme(&cid.scheme) {
                    any = true;
                    out.push(Acl::new(a.perms, cid.clone()));
                }
            }
            if !any {
                return Err(ErrorCode::InvalidAcl);
            }
        } else if auth::is_known_scheme(&id.scheme) && auth::is_valid_id(&id.scheme, &id.id) {
            out.push(a.clone());
        } else {
            return Err(ErrorCode::InvalidAcl);
        }
    }
    Ok(out)
}

/// Whether `auth_ids` grant any of `perm` on a node with `acl`
/// (`ZooKeeperServer.checkACL`): an empty ACL allows everything, a `super` id
/// passes, `world:anyone` matches everyone, other schemes ask their provider.
pub(crate) fn check_acl(acl: &[Acl], perm: Perms, auth_ids: &[Id]) -> Result<(), ErrorCode> {
    if acl.is_empty() || auth_ids.iter().any(|i| i.scheme == auth::SUPER) {
        return Ok(());
    }
    for a in acl {
        if !a.perms.intersects(perm) {
            continue;
        }
        if a.id.scheme == "world" && a.id.id == "anyone" {
            return Ok(());
        }
        if auth::is_known_scheme(&a.id.scheme)
            && auth_ids
                .iter()
                .any(|i| i.scheme == a.id.scheme && auth::matches(&i.scheme, &i.id, &a.id.id))
        {
            return Ok(());
        }
    }
    Err(ErrorCode::NoAuth)
}

/// getACL without ADMIN: digest ids lose their hash (`id.replaceAll(":.*", ":x")`).
pub(crate) fn redact(acl: &[Acl]) -> Vec<Acl> {
    acl.iter()
        .map(|a| {
            if a.id.scheme == auth::DIGEST {
                let id = match a.id.id.split_once(':') {
                    Some((user, _)) => format!("{user}:x"),
                    None => a.id.id.clone(),
                };
                Acl::new(a.perms, Id::new(a.id.scheme.clone(), id))
            } else {
                a.clone()
            }
        })
        .collect()
}
