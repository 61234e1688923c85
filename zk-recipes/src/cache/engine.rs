//! The task behind a cache: one persistent watch, complete reads that compare
//! stats, and per-path refreshes in between.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use futures::stream::{FuturesUnordered, StreamExt};
use futures::FutureExt;
use zk_client::{Client, Error, EventType, PersistentEvent, PersistentWatch};

use super::{CacheEvent, ChildData, Shared, TreeCacheBuilder};

/// Where the cache's clients come from.
pub(crate) enum Source {
    /// One client; the cache ends with its session.
    Fixed(Option<Client>),
    /// The current client of a changing series (a new one after each
    /// expiry); the cache ends when the sender is gone.
    Follow {
        clients: tokio::sync::watch::Receiver<Client>,
        started: bool,
    },
}

impl Source {
    /// The next client to run on, `None` when there is none.
    async fn next(&mut self) -> Option<Client> {
        match self {
            Source::Fixed(c) => c.take(),
            Source::Follow { clients, started } => {
                if *started {
                    clients.changed().await.ok()?;
                }
                *started = true;
                let c = clients.borrow_and_update().clone();
                Some(c)
            }
        }
    }
}

/// Resolves when a new client is published (never, once the sender is gone).
async fn replaced(clients: &mut tokio::sync::watch::Receiver<Client>) {
    if clients.changed().await.is_err() {
        futures::future::pending::<()>().await;
    }
}

/// How one session's run ended.
enum SessionEnd {
    /// The session is over with this error; a new client may follow.
    Over(Error),
}

pub(crate) async fn run(shared: Arc<Shared>, mut source: Source, opts: TreeCacheBuilder) {
    let mut last = Error::Closed;
    while let Some(client) = source.next().await {
        let end = match &source {
            Source::Fixed(_) => run_session(&shared, &client, &opts).await,
            // A new client may come while this one still lives (a session
            // declared lost locally): move to it at once.
            Source::Follow { clients, .. } => {
                let mut next = clients.clone();
                tokio::select! {
                    end = run_session(&shared, &client, &opts) => end,
                    () = replaced(&mut next) => SessionEnd::Over(Error::SessionExpired),
                }
            }
        };
        let SessionEnd::Over(e) = end;
        tracing::debug!(path = %opts.path, error = %e, "cache: session over");
        last = e;
        // Until the next session's complete read, the contents are stale.
        set_in_sync(&shared, false);
    }
    shared.status.send_modify(|s| {
        s.in_sync = false;
        s.closed = Some(last.clone());
    });
    let _ = shared.events.send(CacheEvent::Closed(last));
}

/// Backoff between failed attempts within one session.
fn backoff(failures: u32) -> Duration {
    Duration::from_millis(20u64.saturating_mul(1 << failures.min(5)).min(500))
}

async fn add_watch(client: &Client, opts: &TreeCacheBuilder) -> Result<PersistentWatch, Error> {
    let mut failures = 0;
    loop {
        let r = if opts.recursive {
            client.watch_persistent_recursive(&opts.path).await
        } else {
            client.watch_persistent(&opts.path).await
        };
        match r {
            Ok(w) => return Ok(w),
            Err(e) if e.is_retriable() => {
                tokio::time::sleep(backoff(failures)).await;
                failures += 1;
            }
            Err(e) => return Err(e),
        }
    }
}

async fn run_session(shared: &Shared, client: &Client, opts: &TreeCacheBuilder) -> SessionEnd {
    let mut watch = match add_watch(client, opts).await {
        Ok(w) => w,
        Err(e) => return SessionEnd::Over(e),
    };
    let mut dirty: BTreeSet<String> = BTreeSet::new();
    let mut need_full = true;
    let mut failures = 0u32;
    loop {
        // Take in every event already delivered, merged per path.
        while let Some(item) = watch.next().now_or_never() {
            match item {
                Some(ev) => {
                    if let Some(end) = note(ev, opts, &mut dirty, &mut need_full) {
                        return end;
                    }
                }
                None => return SessionEnd::Over(Error::Closed),
            }
        }
        if dirty.len() > opts.max_pending {
            tracing::debug!(path = %opts.path, pending = dirty.len(), "cache: too many pending changes, reading everything");
            dirty.clear();
            need_full = true;
        }
        if need_full {
            set_in_sync(shared, false);
            // Events from now on are covered by this read or applied after it.
            dirty.clear();
            match full_read(client, opts).await {
                Ok(tree) => {
                    need_full = false;
                    failures = 0;
                    apply_full(shared, tree);
                    continue;
                }
                Err(e) if e.is_terminal() => return SessionEnd::Over(e),
                Err(e) => {
                    tracing::debug!(path = %opts.path, error = %e, "cache: complete read failed, will retry");
                    failures += 1;
                    // A reconnect brings a Resync; wait for an event or a while.
                    if let Some(end) = wait_event(
                        &mut watch,
                        opts,
                        &mut dirty,
                        &mut need_full,
                        backoff(failures),
                    )
                    .await
                    {
                        return end;
                    }
                    need_full = true;
                    continue;
                }
            }
        }
        if !dirty.is_empty() {
            let paths = std::mem::take(&mut dirty);
            match refresh(shared, client, opts, paths).await {
                Ok(()) => {}
                Err(e) if e.is_terminal() => return SessionEnd::Over(e),
                Err(e) => {
                    tracing::debug!(path = %opts.path, error = %e, "cache: refresh failed, reading everything");
                    need_full = true;
                }
            }
            continue;
        }
        set_in_sync(shared, true);
        match watch.next().await {
            Some(ev) => {
                if let Some(end) = note(ev, opts, &mut dirty, &mut need_full) {
                    return end;
                }
            }
            None => return SessionEnd::Over(Error::Closed),
        }
    }
}

/// Waits up to `d` for one watch item and notes it.
async fn wait_event(
    watch: &mut PersistentWatch,
    opts: &TreeCacheBuilder,
    dirty: &mut BTreeSet<String>,
    need_full: &mut bool,
    d: Duration,
) -> Option<SessionEnd> {
    match tokio::time::timeout(d, watch.next()).await {
        Ok(Some(ev)) => note(ev, opts, dirty, need_full),
        Ok(None) => Some(SessionEnd::Over(Error::Closed)),
        Err(_) => None,
    }
}

/// Records what one watch item asks for.
fn note(
    ev: PersistentEvent,
    opts: &TreeCacheBuilder,
    dirty: &mut BTreeSet<String>,
    need_full: &mut bool,
) -> Option<SessionEnd> {
    match ev {
        PersistentEvent::Node(e) => {
            if !covers(opts, &e.path) {
                return None;
            }
            if matches!(
                e.event_type,
                EventType::NodeCreated | EventType::NodeDeleted
            ) {
                // The parent's cversion, pzxid and numChildren changed too.
                if let Some(parent) = zk_proto::parent(&e.path) {
                    if covers(opts, parent) {
                        dirty.insert(parent.to_string());
                    }
                }
            }
            dirty.insert(e.path);
            None
        }
        PersistentEvent::Resync => {
            *need_full = true;
            None
        }
        PersistentEvent::Closed(e) => Some(SessionEnd::Over(e)),
        // A kind of item this version does not know: be safe, read everything.
        _ => {
            *need_full = true;
            None
        }
    }
}

/// Whether `path` belongs in the cache.
fn covers(opts: &TreeCacheBuilder, path: &str) -> bool {
    if path == opts.path {
        return true;
    }
    if !opts.recursive {
        return false;
    }
    within(&opts.path, path)
}

/// Whether `path` is strictly below `root`.
fn within(root: &str, path: &str) -> bool {
    if root == "/" {
        return path.len() > 1 && path.starts_with('/');
    }
    path.len() > root.len() + 1
        && path.starts_with(root)
        && path.as_bytes().get(root.len()) == Some(&b'/')
}

fn child_path(parent: &str, name: &str) -> String {
    if parent == "/" {
        format!("/{name}")
    } else {
        format!("{parent}/{name}")
    }
}

/// Reads the whole subtree: getData on each node, getChildren on each node
/// that has children, `concurrency` reads in flight. A node that vanishes
/// between its parent's listing and its own read is left out.
async fn full_read(
    client: &Client,
    opts: &TreeCacheBuilder,
) -> Result<BTreeMap<String, ChildData>, Error> {
    let mut tree = BTreeMap::new();
    let mut queue = vec![opts.path.clone()];
    let mut inflight = FuturesUnordered::new();
    loop {
        while inflight.len() < opts.concurrency {
            let Some(path) = queue.pop() else { break };
            let c = client.clone();
            let recursive = opts.recursive;
            inflight.push(async move {
                let r = read_node(&c, &path, recursive).await;
                (path, r)
            });
        }
        let Some((path, r)) = inflight.next().await else {
            break;
        };
        match r? {
            None => {}
            Some((node, children)) => {
                for name in children {
                    queue.push(child_path(&path, &name));
                }
                tree.insert(path, node);
            }
        }
    }
    Ok(tree)
}

/// One node's data, stat and (when recursive and it has any) children;
/// `None` when it does not exist.
async fn read_node(
    client: &Client,
    path: &str,
    recursive: bool,
) -> Result<Option<(ChildData, Vec<String>)>, Error> {
    let (data, stat) = match client.get_data(path).await {
        Ok(r) => r,
        Err(Error::NoNode) => return Ok(None),
        Err(e) => return Err(e),
    };
    let children = if recursive && stat.num_children > 0 {
        match client.get_children(path).await {
            Ok(c) => c,
            // Deleted since the read: leave it to the delete's event.
            Err(Error::NoNode) => return Ok(None),
            Err(e) => return Err(e),
        }
    } else {
        Vec::new()
    };
    Ok(Some((
        ChildData {
            path: path.to_string(),
            data,
            stat,
        },
        children,
    )))
}

/// Replaces the cache's contents with a complete read, sending the
/// differences as events.
fn apply_full(shared: &Shared, tree: BTreeMap<String, ChildData>) {
    let mut nodes = shared
        .nodes
        .write()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let old = std::mem::take(&mut *nodes);
    for (path, was) in &old {
        match tree.get(path) {
            None => send(shared, CacheEvent::Removed(was.clone())),
            Some(now) if now.stat.czxid != was.stat.czxid => {
                send(shared, CacheEvent::Removed(was.clone()));
                send(shared, CacheEvent::Added(now.clone()));
            }
            Some(now) if now != was => send(
                shared,
                CacheEvent::Updated {
                    old: was.clone(),
                    new: now.clone(),
                },
            ),
            Some(_) => {}
        }
    }
    for (path, now) in &tree {
        if !old.contains_key(path) {
            send(shared, CacheEvent::Added(now.clone()));
        }
    }
    *nodes = tree;
    let first = !shared.status.borrow().initialized;
    shared.status.send_modify(|s| {
        s.initialized = true;
        s.full_reads += 1;
    });
    send(
        shared,
        if first {
            CacheEvent::Initialized
        } else {
            CacheEvent::Resynced
        },
    );
}

/// Re-reads the given paths (in order, pipelined) and applies each answer.
async fn refresh(
    shared: &Shared,
    client: &Client,
    opts: &TreeCacheBuilder,
    paths: BTreeSet<String>,
) -> Result<(), Error> {
    let mut answers = futures::stream::iter(paths.into_iter().map(|p| {
        let call = client.get_data(&p);
        async move { (p, call.await) }
    }))
    .buffered(opts.concurrency);
    while let Some((path, r)) = answers.next().await {
        match r {
            Ok((data, stat)) => upsert(shared, ChildData { path, data, stat }),
            Err(Error::NoNode) => remove_subtree(shared, &path),
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

fn upsert(shared: &Shared, node: ChildData) {
    let mut nodes = shared
        .nodes
        .write()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    match nodes.get(&node.path) {
        None => {
            send(shared, CacheEvent::Added(node.clone()));
            nodes.insert(node.path.clone(), node);
        }
        Some(was) if was.stat.czxid != node.stat.czxid => {
            // Deleted and re-created between two looks.
            send(shared, CacheEvent::Removed(was.clone()));
            send(shared, CacheEvent::Added(node.clone()));
            nodes.insert(node.path.clone(), node);
        }
        // An older answer than what is cached is never applied.
        Some(was) if was.stat.mzxid > node.stat.mzxid || was.stat.pzxid > node.stat.pzxid => {}
        Some(was) if *was != node => {
            send(
                shared,
                CacheEvent::Updated {
                    old: was.clone(),
                    new: node.clone(),
                },
            );
            nodes.insert(node.path.clone(), node);
        }
        Some(_) => {}
    }
}

fn remove_subtree(shared: &Shared, path: &str) {
    let mut nodes = shared
        .nodes
        .write()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let prefix = if path == "/" {
        "/".to_string()
    } else {
        format!("{path}/")
    };
    let mut gone: Vec<String> = vec![path.to_string()];
    gone.extend(
        nodes
            .range(prefix.clone()..)
            .take_while(|(p, _)| p.starts_with(&prefix))
            .map(|(p, _)| p.clone()),
    );
    // Deepest first, so that a subscriber sees children go before parents.
    for p in gone.iter().rev() {
        if let Some(was) = nodes.remove(p) {
            send(shared, CacheEvent::Removed(was));
        }
    }
}

fn send(shared: &Shared, ev: CacheEvent) {
    // No subscriber is fine: the contents are the cache's product.
    let _ = shared.events.send(ev);
}

fn set_in_sync(shared: &Shared, v: bool) {
    shared.status.send_if_modified(|s| {
        let changed = s.in_sync != v;
        s.in_sync = v;
        changed
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn within_and_child_paths() {
        assert!(within("/a", "/a/b"));
        assert!(within("/a", "/a/b/c"));
        assert!(!within("/a", "/ab"));
        assert!(!within("/a", "/a"));
        assert!(within("/", "/a"));
        assert!(!within("/", "/"));
        assert_eq!(child_path("/", "x"), "/x");
        assert_eq!(child_path("/a", "x"), "/a/x");
    }
}
