//! Watches, as ZooKeeper 3.8's `DataTree` and `WatchManager` keep and fire them.
//!
//! A server keeps two tables, **data** and **child** watches (an exist watch
//! is a data watch on a missing node). Each maps a path to the connections
//! watching it, and each remembers a *mode* per (connection, path): standard
//! (one-shot), persistent or persistent-recursive. `addWatch` puts a
//! connection in both tables. Firing a table for a path collects every
//! connection once (a set), so a connection gets at most one event per change
//! and table; NodeDeleted fires the data table, then the child table minus the
//! connections the data table already notified.
//!
//! **ZOOKEEPER-4466 (3.8 behaviour, fixed in 3.9):** the mode is one value per
//! (connection, path) and the last registration wins. A one-shot watch set on a
//! path where the same connection has a persistent watch turns it into a
//! one-shot watch (the persistent watch is lost after the next event); a
//! persistent watch added over a one-shot one absorbs it. The simulator does the same.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use zk_proto::{
    AddWatchMode, ErrorCode, EventType, Id, Perms, RemoveWatchesRequest, Request, Response,
    SetWatches2, WatcherEvent,
};

use super::acl::check_acl;
use super::{DataTree, TreeEvent};

/// Identifies one client connection on one server.
pub type ConnId = u64;

/// How a (connection, path) watch behaves when it fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Mode {
    /// One-shot: removed as it fires; exact path only.
    #[default]
    Standard,
    /// Stays; exact path only.
    Persistent,
    /// Stays; the path and its whole subtree, never NodeChildrenChanged.
    Recursive,
}

/// One of the two tables (`WatchManager` upstream).
#[derive(Debug, Clone, Default)]
struct Table {
    /// `watchTable`: path → connections.
    by_path: BTreeMap<String, BTreeSet<ConnId>>,
    /// `watch2Paths`: connection → paths. A connection stays listed (possibly
    /// with no paths) until it closes, as upstream.
    by_conn: BTreeMap<ConnId, BTreeSet<String>>,
    /// `WatcherModeManager`: only non-standard modes are stored.
    modes: HashMap<(ConnId, String), Mode>,
    /// How many stored modes are recursive (ancestors are only walked if any).
    recursive: usize,
}

impl Table {
    fn add(&mut self, conn: ConnId, path: &str, mode: Mode) {
        self.by_path
            .entry(path.to_owned())
            .or_default()
            .insert(conn);
        self.by_conn
            .entry(conn)
            .or_default()
            .insert(path.to_owned());
        self.set_mode(conn, path, mode);
    }

    fn set_mode(&mut self, conn: ConnId, path: &str, mode: Mode) {
        let old = if mode == Mode::Standard {
            self.modes.remove(&(conn, path.to_owned()))
        } else {
            self.modes.insert((conn, path.to_owned()), mode)
        };
        let was = old == Some(Mode::Recursive);
        let is = mode == Mode::Recursive;
        if was && !is {
            self.recursive = self.recursive.saturating_sub(1);
        } else if is && !was {
            self.recursive += 1;
        }
    }

    fn mode(&self, conn: ConnId, path: &str) -> Mode {
        self.modes
            .get(&(conn, path.to_owned()))
            .copied()
            .unwrap_or_default()
    }

    /// `triggerWatch`: the connections to notify; one-shot watches are removed.
    fn trigger(&mut self, path: &str, event: EventType) -> BTreeSet<ConnId> {
        let mut watchers = BTreeSet::new();
        let walk: Vec<String> = if self.recursive == 0 {
            vec![path.to_owned()]
        } else {
            path_and_parents(path)
        };
        for (level, local) in walk.iter().enumerate() {
            let at_parent = level > 0;
            let Some(conns) = self.by_path.get(local) else {
                continue;
            };
            let mut fired_once = Vec::new();
            for &conn in conns {
                match self.mode(conn, local) {
                    Mode::Recursive if event != EventType::NodeChildrenChanged => {
                        watchers.insert(conn);
                    }
                    Mode::Recursive => {}
                    mode if !at_parent => {
                        watchers.insert(conn);
                        if mode == Mode::Standard {
                            fired_once.push(conn);
                        }
                    }
                    _ => {}
                }
            }
            for conn in fired_once {
                if let Some(set) = self.by_path.get_mut(local) {
                    set.remove(&conn);
                }
                if let Some(paths) = self.by_conn.get_mut(&conn) {
                    paths.remove(local);
                }
            }
            if self.by_path.get(local).is_some_and(BTreeSet::is_empty) {
                self.by_path.remove(local);
            }
        }
        watchers
    }

    /// 3.8's `containsWatcher`: true when *any* connection watches exactly
    /// `path`, or when this connection's mode there is recursive. (Upstream
    /// checks the path's watcher set for being non-null, not for holding this
    /// connection; the simulator keeps that quirk.) Upstream walks the path with
    /// `PathParentIterator`, which computes each parent eagerly and throws on a
    /// component without '/' (e.g. `"a"`): that is a MARSHALLINGERROR reply.
    fn contains(&self, conn: ConnId, path: &str) -> Result<bool, ErrorCode> {
        let mode = self.mode(conn, path);
        let max_levels = if self.recursive == 0 { 1 } else { usize::MAX };
        let mut next = path.to_owned();
        let mut level = 0_usize;
        while !next.is_empty() && level < max_levels {
            let local = next.clone();
            if next == "/" {
                next.clear();
            } else {
                match next.rfind('/') {
                    None => return Err(ErrorCode::MarshallingError),
                    Some(0) => next = "/".to_owned(),
                    Some(i) => next.truncate(i),
                }
            }
            level += 1;
            if level == 1 && self.by_path.contains_key(&local) {
                return Ok(true);
            }
            if mode == Mode::Recursive {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// `removeWatcher(path, watcher)`.
    fn remove(&mut self, conn: ConnId, path: &str) -> bool {
        let Some(paths) = self.by_conn.get_mut(&conn) else {
            return false;
        };
        if !paths.remove(path) {
            return false;
        }
        let Some(set) = self.by_path.get_mut(path) else {
            return false;
        };
        if !set.remove(&conn) {
            return false;
        }
        if set.is_empty() {
            self.by_path.remove(path);
        }
        self.set_mode(conn, path, Mode::Standard);
        true
    }

    fn remove_connection(&mut self, conn: ConnId) {
        let Some(paths) = self.by_conn.remove(&conn) else {
            return;
        };
        for p in paths {
            if let Some(set) = self.by_path.get_mut(&p) {
                set.remove(&conn);
                if set.is_empty() {
                    self.by_path.remove(&p);
                }
            }
            self.set_mode(conn, &p, Mode::Standard);
        }
    }

    fn size(&self) -> usize {
        self.by_path.values().map(BTreeSet::len).sum()
    }
}

/// `PathParentIterator.forAll`: the path, then each ancestor up to `/`.
fn path_and_parents(path: &str) -> Vec<String> {
    std::iter::successors(Some(path).filter(|p| !p.is_empty()), |p| {
        zk_proto::parent(p)
    })
    .map(str::to_owned)
    .collect()
}

/// Counts for the `wchs` four-letter word (`WatchesSummary` of the data
/// watch table: 3.8's `DataTree.getWatchesSummary` leaves child watches out).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct WatchesSummary {
    /// Connections listed in the data watch table (one stays listed, maybe
    /// with no path, until it closes, as upstream).
    pub connections: usize,
    /// Paths with a data watch (exist watches and `addWatch` ones included).
    pub paths: usize,
    /// Data watch entries.
    pub total: usize,
}

/// The watches of one server.
///
/// Drive it as a server does: after a successful read call
/// [`register_after_read`](Self::register_after_read); after applying a txn call
/// [`trigger`](Self::trigger) with its events and queue the notifications on
/// each connection before any later reply; on close call
/// [`remove_connection`](Self::remove_connection).
#[derive(Debug, Clone)]
pub struct WatchManager {
    data: Table,
    child: Table,
    /// Each connection's authenticated ids, for the notification ACL filter.
    auth: BTreeMap<ConnId, Vec<Id>>,
    /// Whether notifications need READ on the node (ZOOKEEPER-4799).
    filter_by_acl: bool,
}

impl Default for WatchManager {
    fn default() -> Self {
        WatchManager {
            data: Table::default(),
            child: Table::default(),
            auth: BTreeMap::new(),
            filter_by_acl: true,
        }
    }
}

impl WatchManager {
    /// An empty manager.
    pub fn new() -> Self {
        WatchManager::default()
    }

    /// Records `conn`'s authenticated ids (the `ip` id from connect, then each
    /// auth packet's); call it whenever they change. A notification goes to a
    /// connection only if these ids grant READ on the node (see [`TreeEvent::acl`]).
    pub fn set_auth(&mut self, conn: ConnId, ids: &[Id]) {
        self.auth.insert(conn, ids.to_vec());
    }

    /// Whether notifications are filtered by the watcher's READ permission on
    /// the node (default true: ZooKeeper ≥ 3.8.4 and Debian's patched 3.8.0,
    /// ZOOKEEPER-4799 / CVE-2024-23944). `false` gives 3.8.0–3.8.3 as released.
    pub fn set_acl_filtering(&mut self, enabled: bool) {
        self.filter_by_acl = enabled;
    }

    /// After a read (or an exists that answered NONODE), registers the watch
    /// the request asked for: exists → a data watch (also on a missing node),
    /// getData → a data watch, getChildren/getChildren2 → a child watch, each
    /// only when the read succeeded; addWatch registers its persistent watch.
    /// multiRead never sets watches (3.8 drops its sub-ops' `watch` flags).
    pub fn register_after_read(
        &mut self,
        conn: ConnId,
        req: &Request,
        result: &Result<Response, ErrorCode>,
    ) {
        match req {
            Request::Exists(r) if r.watch => {
                if matches!(result, Ok(_) | Err(ErrorCode::NoNode)) {
                    self.data.add(conn, &r.path, Mode::Standard);
                }
            }
            Request::GetData(r) if r.watch && result.is_ok() => {
                self.data.add(conn, &r.path, Mode::Standard);
            }
            Request::GetChildren(r) | Request::GetChildren2(r) if r.watch && result.is_ok() => {
                self.child.add(conn, &r.path, Mode::Standard);
            }
            // multiRead sets no watches: upstream's MultiOperationRecord keeps
            // only the sub-ops' paths (Op.getData/getChildren), dropping `watch`.
            Request::AddWatch(r) => {
                if let Ok(mode) = r.mode() {
                    self.add_watch(conn, &r.path, mode);
                }
            }
            _ => {}
        }
    }

    /// `addWatch`: a persistent or persistent-recursive watch on `path` (the
    /// node need not exist). Like 3.8 it goes into both tables.
    pub fn add_watch(&mut self, conn: ConnId, path: &str, mode: AddWatchMode) {
        let mode = match mode {
            AddWatchMode::PersistentRecursive => Mode::Recursive,
            _ => Mode::Persistent,
        };
        self.data.add(conn, path, mode);
        self.child.add(conn, path, mode);
    }

    /// Fires the watches for a committed txn's events. Returns the
    /// notifications in order, each with the connection it goes to. One-shot
    /// watches are used up even when the ACL filter withholds their event.
    pub fn trigger(&mut self, events: &[TreeEvent]) -> Vec<(ConnId, WatcherEvent)> {
        let mut out = Vec::new();
        for ev in events {
            let fired = match ev.event_type {
                EventType::NodeCreated | EventType::NodeDataChanged => {
                    self.data.trigger(&ev.path, ev.event_type)
                }
                EventType::NodeChildrenChanged => self.child.trigger(&ev.path, ev.event_type),
                EventType::NodeDeleted => {
                    let mut by_data = self.data.trigger(&ev.path, ev.event_type);
                    let by_child = self.child.trigger(&ev.path, ev.event_type);
                    by_data.extend(by_child);
                    by_data
                }
                _ => BTreeSet::new(),
            };
            for conn in fired {
                if self.filter_by_acl {
                    let ids = self.auth.get(&conn).map(Vec::as_slice).unwrap_or_default();
                    if check_acl(&ev.acl, Perms::READ, ids).is_err() {
                        continue;
                    }
                }
                out.push((conn, WatcherEvent::node(ev.event_type, ev.path.clone())));
            }
        }
        out
    }

    /// SetWatches/SetWatches2 after a reconnect (`DataTree.setWatches`):
    /// returns the catch-up events for `conn`, in order, and re-arms the rest.
    /// Data watch: node gone → NodeDeleted, `mzxid > relativeZxid` →
    /// NodeDataChanged. Exist watch: node there → NodeCreated. Child watch:
    /// gone → NodeDeleted, `pzxid > relativeZxid` → NodeChildrenChanged.
    /// Persistent ones are re-added without catch-up. (SetWatches, opcode 101,
    /// is the same with empty persistent lists.)
    pub fn set_watches(
        &mut self,
        conn: ConnId,
        tree: &DataTree,
        req: &SetWatches2,
    ) -> Vec<WatcherEvent> {
        let rel = req.relative_zxid;
        let mut out = Vec::new();
        for path in &req.data_watches {
            match tree.node(path) {
                None => out.push(WatcherEvent::node(EventType::NodeDeleted, path.clone())),
                Some(n) if n.stat.mzxid > rel => {
                    out.push(WatcherEvent::node(EventType::NodeDataChanged, path.clone()));
                }
                Some(_) => self.data.add(conn, path, Mode::Standard),
            }
        }
        for path in &req.exist_watches {
            if tree.node(path).is_some() {
                out.push(WatcherEvent::node(EventType::NodeCreated, path.clone()));
            } else {
                self.data.add(conn, path, Mode::Standard);
            }
        }
        for path in &req.child_watches {
            match tree.node(path) {
                None => out.push(WatcherEvent::node(EventType::NodeDeleted, path.clone())),
                Some(n) if n.stat.pzxid > rel => {
                    out.push(WatcherEvent::node(
                        EventType::NodeChildrenChanged,
                        path.clone(),
                    ));
                }
                Some(_) => self.child.add(conn, path, Mode::Standard),
            }
        }
        for path in &req.persistent_watches {
            self.child.add(conn, path, Mode::Persistent);
            self.data.add(conn, path, Mode::Persistent);
        }
        for path in &req.persistent_recursive_watches {
            self.child.add(conn, path, Mode::Recursive);
            self.data.add(conn, path, Mode::Recursive);
        }
        out
    }

    /// checkWatches (17): OK when `conn` has such a watch by 3.8's rules, else
    /// NOWATCHER. Watcher types 4 and 5 do not exist in 3.8 (MARSHALLINGERROR).
    pub fn check(&self, conn: ConnId, req: &RemoveWatchesRequest) -> Result<(), ErrorCode> {
        let found = match req.watcher_type {
            1 => self.child.contains(conn, &req.path)?,
            2 => self.data.contains(conn, &req.path)?,
            3 => self.child.contains(conn, &req.path)? | self.data.contains(conn, &req.path)?,
            _ => return Err(ErrorCode::MarshallingError),
        };
        if found {
            Ok(())
        } else {
            Err(ErrorCode::NoWatcher)
        }
    }

    /// removeWatches (18): removes `conn`'s watch of the given type on the
    /// exact path (whatever its mode), or NOWATCHER when there is none.
    pub fn remove(&mut self, conn: ConnId, req: &RemoveWatchesRequest) -> Result<(), ErrorCode> {
        let removed = match req.watcher_type {
            1 => self.child.remove(conn, &req.path),
            2 => self.data.remove(conn, &req.path),
            3 => {
                let c = self.child.remove(conn, &req.path);
                let d = self.data.remove(conn, &req.path);
                c || d
            }
            _ => return Err(ErrorCode::MarshallingError),
        };
        if removed {
            Ok(())
        } else {
            Err(ErrorCode::NoWatcher)
        }
    }

    /// Drops every watch of a closed connection.
    pub fn remove_connection(&mut self, conn: ConnId) {
        self.auth.remove(&conn);
        self.data.remove_connection(conn);
        self.child.remove_connection(conn);
    }

    /// `mntr`'s `zk_watch_count`: watch entries in both tables.
    pub fn watch_count(&self) -> usize {
        self.data.size() + self.child.size()
    }

    /// The `wchs` counts: data watches only (exist watches and persistent
    /// ones included), as 3.8's `DataTree.getWatchesSummary` and
    /// `dumpWatches` use `dataWatches` alone; a real 3.8 server with a child
    /// watch and no data watch answers `0 connections watching 0 paths`.
    pub fn summary(&self) -> WatchesSummary {
        WatchesSummary {
            connections: self.data.by_conn.len(),
            paths: self.data.by_path.len(),
            total: self.data.by_conn.values().map(BTreeSet::len).sum(),
        }
    }

    /// `wchc`: per connection, the paths it has a data watch on (child
    /// watches are not listed, as in 3.8).
    pub fn paths_by_connection(&self) -> BTreeMap<ConnId, BTreeSet<String>> {
        self.data.by_conn.clone()
    }

    /// `wchp`: per path with a data watch, the watching connections (child
    /// watches are not listed, as in 3.8).
    pub fn connections_by_path(&self) -> BTreeMap<String, BTreeSet<ConnId>> {
        self.data.by_path.clone()
    }
}
