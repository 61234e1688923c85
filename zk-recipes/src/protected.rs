//! Protected creates (Curator's protection mode): a node name carries a
//! fresh UUID, so that after a lost reply the client can find its node
//! again, and never adopts one another session owns.

use std::time::Duration;

use zk_client::retry::RetryPolicy;
use zk_client::{Client, CreateMode, CreateOptions, Stat};

use crate::error::{Error, Result};
use crate::guaranteed_delete::guaranteed_delete;
use crate::session::Session;

/// The prefix of protected names: `_c_`.
pub const PROTECTED_PREFIX: &str = "_c_";

/// The length of a protected name's prefix: `_c_`, a 36-character UUID, `-`.
const PROTECTED_LEN: usize = 40;

/// The protected prefix for `id`: `_c_<id>-`.
pub fn protected_prefix(id: &uuid::Uuid) -> String {
    format!("{PROTECTED_PREFIX}{}-", id.hyphenated())
}

/// Whether a node name is protected (as Curator's `ProtectedUtils`
/// decides: longer than 40 characters, `_c_` first, `-` at index 39).
pub fn is_protected(name: &str) -> bool {
    name.len() > PROTECTED_LEN
        && name.starts_with(PROTECTED_PREFIX)
        && name.as_bytes().get(PROTECTED_LEN - 1) == Some(&b'-')
}

/// The name without its protected prefix (unchanged if not protected).
pub fn strip_protected(name: &str) -> &str {
    if is_protected(name) {
        name.get(PROTECTED_LEN..).unwrap_or(name)
    } else {
        name
    }
}

/// The UUID text of a protected name.
pub fn protected_id(name: &str) -> Option<&str> {
    is_protected(name)
        .then(|| name.get(PROTECTED_PREFIX.len()..PROTECTED_LEN - 1))
        .flatten()
}

/// A node made by [`create_protected`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ProtectedNode {
    /// Its full path (with the sequence suffix for sequential modes).
    pub path: String,
    /// Its Stat (for an adopted node, as read back).
    pub stat: Stat,
    /// The client whose session made it (and owns it, for ephemerals).
    pub client: Client,
}

/// Splits `/a/b/name` into (`/a/b`, `name`).
pub(crate) fn split(path: &str) -> Result<(&str, &str)> {
    let idx = path
        .rfind('/')
        .ok_or_else(|| Error::InvalidArgument(format!("{path:?} is not an absolute path")))?;
    let parent = if idx == 0 {
        "/"
    } else {
        path.get(..idx).unwrap_or("/")
    };
    let name = path.get(idx + 1..).unwrap_or("");
    if !path.starts_with('/') || name.is_empty() {
        return Err(Error::InvalidArgument(format!(
            "{path:?} must be an absolute path ending in a node name"
        )));
    }
    Ok((parent, name))
}

/// `parent` joined with `name`.
pub(crate) fn join(parent: &str, name: &str) -> String {
    if parent == "/" {
        format!("/{name}")
    } else {
        format!("{parent}/{name}")
    }
}

/// Creates `path` with `data` and `mode`, creating missing parents as
/// container nodes.
///
/// The first create is sent when this is called (as every client call is),
/// so a request made right after it is ordered after it.
pub(crate) fn create_with_container_parents(
    client: &Client,
    path: &str,
    data: &[u8],
    mode: CreateMode,
) -> impl std::future::Future<Output = zk_client::Result<(String, Stat)>> + Send + 'static {
    client.create(
        path,
        data,
        CreateOptions::new(mode).with_container_parents(),
    )
}

/// The default policy of protected creates: backoff from 10 ms up to
/// 500 ms for at most 20 attempts.
pub(crate) fn default_policy() -> zk_client::retry::ExponentialBackoff {
    zk_client::retry::ExponentialBackoff::new(Duration::from_millis(10), Duration::from_millis(500))
        .max_attempts(20)
}

/// Creates `path` (`/parent/name`) in protection mode: as
/// `/parent/_c_<uuid>-name`, with container parents, using the session's
/// current client.
///
/// - The first attempt just creates. After ConnectionLoss or a request
///   timeout (the create may have been applied without our hearing), every
///   retry first lists the parent for a child starting with `_c_<uuid>-`; a
///   found node is adopted only if it is persistent or its `ephemeralOwner`
///   is this client's session (CURATOR-498); one owned by another session is
///   deleted in the background and a fresh create follows.
/// - Retries follow `policy`; when it gives up after an unknown outcome,
///   a background find-and-delete removes any node the create left behind
///   and [`Error::OutcomeUnknown`] is returned. The same cleanup runs if
///   the future is dropped mid-create.
/// - The session's end fails it with [`Error::SessionLost`] (an ephemeral
///   node made in it goes with it); a new session needs a new call.
pub async fn create_protected(
    session: &Session,
    path: &str,
    data: &[u8],
    mode: CreateMode,
    policy: &(impl RetryPolicy + ?Sized),
) -> Result<ProtectedNode> {
    create_protected_and_list(session, path, data, mode, policy, false)
        .await
        .map(|(node, _)| node)
}

/// [`create_protected`], and with `list` a listing of the parent's
/// children pipelined right behind the first create (one round trip for
/// both, where a lock recipe would otherwise list after the create's
/// reply). The listing is returned only when it was made after our node
/// was created: the first create succeeded and the listing names it.
pub(crate) async fn create_protected_and_list(
    session: &Session,
    path: &str,
    data: &[u8],
    mode: CreateMode,
    policy: &(impl RetryPolicy + ?Sized),
    list: bool,
) -> Result<(ProtectedNode, Option<Vec<String>>)> {
    let (parent, name) = split(path)?;
    let client = session.wait_connected().await?;
    let prefix = protected_prefix(&uuid::Uuid::new_v4());
    let full = join(parent, &format!("{prefix}{name}"));
    let mut cleanup = Cleanup {
        session: session.clone(),
        client: client.clone(),
        parent: parent.to_owned(),
        prefix: prefix.clone(),
        armed: false,
    };
    let start = tokio::time::Instant::now();
    let mut retries = 0u32;
    let mut unknown = false;
    loop {
        let error = if unknown {
            match find_ours(&client, parent, &prefix, mode).await {
                Ok(Found::Ours(path, stat)) => {
                    cleanup.armed = false;
                    return Ok((ProtectedNode { path, stat, client }, None));
                }
                Ok(Found::Foreign(path)) => {
                    tracing::info!(
                        path,
                        "protected create: found node of another session; deleting it"
                    );
                    let _ = guaranteed_delete(session, &client, &path);
                    unknown = false;
                    continue;
                }
                Ok(Found::Nothing) => {
                    unknown = false;
                    continue;
                }
                Err(e) => e,
            }
        } else {
            cleanup.armed = true;
            let create = create_with_container_parents(&client, &full, data, mode);
            // Sent behind the create: the server answers it after applying
            // the create (a session's requests are handled in order).
            let listing = (list && retries == 0).then(|| client.get_children(parent));
            match create.await {
                Ok((path, stat)) => {
                    cleanup.armed = false;
                    let children = match listing {
                        Some(listing) => listing.await.ok().filter(|children| {
                            split(&path).is_ok_and(|(_, ours)| children.iter().any(|c| c == ours))
                        }),
                        None => None,
                    };
                    return Ok((ProtectedNode { path, stat, client }, children));
                }
                Err(e) => {
                    if matches!(
                        e,
                        zk_client::Error::ConnectionLoss | zk_client::Error::RequestTimeout
                    ) {
                        unknown = true;
                    } else if !unknown {
                        cleanup.armed = false;
                    }
                    e
                }
            }
        };
        if error.is_terminal() {
            // An ephemeral node goes with the session; a persistent one
            // would need the cleanup on the next session.
            cleanup.armed = cleanup.armed && !mode.is_ephemeral();
            return Err(Error::from_client(error));
        }
        if !error.is_retriable() {
            return Err(Error::from_client(error));
        }
        match policy.next_delay(retries, start.elapsed(), &error) {
            Some(pause) => {
                tracing::debug!(error = %error, retries, "protected create: retrying");
                tokio::time::sleep(pause).await;
                retries = retries.saturating_add(1);
            }
            None if cleanup.armed => return Err(Error::OutcomeUnknown),
            None => return Err(Error::from_client(error)),
        }
    }
}

enum Found {
    Ours(String, Stat),
    Foreign(String),
    Nothing,
}

/// Looks for a child of `parent` named with `prefix`, and whose it is.
async fn find_ours(
    client: &Client,
    parent: &str,
    prefix: &str,
    mode: CreateMode,
) -> zk_client::Result<Found> {
    let children = match client.get_children(parent).await {
        Ok(c) => c,
        Err(zk_client::Error::NoNode) => return Ok(Found::Nothing),
        Err(e) => return Err(e),
    };
    let Some(name) = children.into_iter().find(|c| c.starts_with(prefix)) else {
        return Ok(Found::Nothing);
    };
    let path = join(parent, &name);
    match client.exists(&path).await? {
        None => Ok(Found::Nothing),
        Some(stat) if !mode.is_ephemeral() || stat.ephemeral_owner == client.session_id() => {
            Ok(Found::Ours(path, stat))
        }
        Some(_) => Ok(Found::Foreign(path)),
    }
}

/// Deletes, in the background, every child of `parent` named with `prefix`
/// (a protected create that gave up or was cancelled).
struct Cleanup {
    session: Session,
    client: Client,
    parent: String,
    prefix: String,
    armed: bool,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        let Ok(rt) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let session = self.session.clone();
        let client = self.client.clone();
        let parent = std::mem::take(&mut self.parent);
        let prefix = std::mem::take(&mut self.prefix);
        rt.spawn(async move {
            find_and_delete(&session, &client, &parent, &prefix).await;
        });
    }
}

async fn find_and_delete(session: &Session, client: &Client, parent: &str, prefix: &str) {
    let mut pause = Duration::from_millis(20);
    loop {
        match client.get_children(parent).await {
            Ok(children) => {
                for name in children.iter().filter(|c| c.starts_with(prefix)) {
                    let path = join(parent, name);
                    tracing::debug!(path, "protected create abandoned: deleting its node");
                    guaranteed_delete(session, client, &path).wait().await;
                }
                return;
            }
            Err(zk_client::Error::NoNode) => return,
            Err(e) if e.is_terminal() => return,
            Err(_) => {}
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_secs(1));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protected_names_follow_curator() {
        let id = uuid::Uuid::new_v4();
        let name = format!("{}lock-0000000001", protected_prefix(&id));
        assert!(is_protected(&name));
        assert_eq!(name.as_bytes().get(39), Some(&b'-'));
        assert_eq!(strip_protected(&name), "lock-0000000001");
        assert_eq!(
            protected_id(&name),
            Some(id.hyphenated().to_string().as_str())
        );
        assert!(!is_protected("lock-0000000001"));
        assert_eq!(strip_protected("lock-0000000001"), "lock-0000000001");
        assert!(!is_protected(&protected_prefix(&id)));
    }

    #[test]
    fn split_and_join() {
        assert_eq!(split("/a/b/lock-").ok(), Some(("/a/b", "lock-")));
        assert_eq!(split("/lock-").ok(), Some(("/", "lock-")));
        assert!(split("lock-").is_err());
        assert!(split("/a/").is_err());
        assert_eq!(join("/", "x"), "/x");
        assert_eq!(join("/a", "x"), "/a/x");
    }
}
