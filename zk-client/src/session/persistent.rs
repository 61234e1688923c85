//! The task's registry of persistent and persistent-recursive watches.
//!
//! Delivery follows Java's `ZKWatchManager`: an event on server path `p`
//! goes to the persistent watches on `p` and to the recursive watches on
//! `p` and every ancestor of `p`, except that recursive watches never get
//! NodeChildrenChanged (a server sends one for a one-shot child watch set
//! by the same session; the recursive watch must not see it).

use std::collections::HashMap;

use zk_proto::EventType;

use super::submit::PersistentReg;
use crate::chroot::Chroot;
use crate::error::Error;
use crate::event::{PersistentEvent, PersistentSender};
use crate::event::{WatchKind, WatchedEvent};

struct Entry {
    path: String,
    recursive: bool,
    tx: PersistentSender,
}

#[derive(Default)]
pub(crate) struct Persistents {
    by_id: HashMap<u64, Entry>,
    by_path: HashMap<String, Vec<u64>>,
    recursive: usize,
}

impl Persistents {
    #[cfg(test)]
    pub(crate) fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }

    /// Registers a watch (when its addWatch is written).
    pub(crate) fn add(&mut self, reg: PersistentReg) {
        if reg.recursive {
            self.recursive += 1;
        }
        self.by_path
            .entry(reg.server_path.clone())
            .or_default()
            .push(reg.id);
        self.by_id.insert(
            reg.id,
            Entry {
                path: reg.server_path,
                recursive: reg.recursive,
                tx: reg.tx,
            },
        );
    }

    /// Forgets a watch; returns its path and mode.
    pub(crate) fn remove(&mut self, id: u64) -> Option<(String, bool)> {
        let e = self.by_id.remove(&id)?;
        if e.recursive {
            self.recursive = self.recursive.saturating_sub(1);
        }
        if let Some(ids) = self.by_path.get_mut(&e.path) {
            ids.retain(|i| *i != id);
            if ids.is_empty() {
                self.by_path.remove(&e.path);
            }
        }
        Some((e.path, e.recursive))
    }

    /// The path and mode of a watch.
    pub(crate) fn get(&self, id: u64) -> Option<(&str, bool)> {
        self.by_id.get(&id).map(|e| (e.path.as_str(), e.recursive))
    }

    /// Whether the watch is registered and its stream still held.
    pub(crate) fn is_live(&self, id: u64) -> bool {
        self.by_id.get(&id).is_some_and(|e| !e.tx.is_closed())
    }

    /// The modes registered on exactly `path`: (persistent, recursive).
    pub(crate) fn modes_on(&self, path: &str) -> (bool, bool) {
        let mut modes = (false, false);
        for id in self.by_path.get(path).into_iter().flatten() {
            if let Some(e) = self.by_id.get(id) {
                if e.recursive {
                    modes.1 = true;
                } else {
                    modes.0 = true;
                }
            }
        }
        modes
    }

    /// Whether a one-shot watch of `kind` on `path` is served by the
    /// persistent watch on the same path, so it need not (and, because of
    /// ZOOKEEPER-4466 on 3.8 servers, must not) be registered on the
    /// server: a persistent watch sees every event a one-shot one would, a
    /// recursive one every event except NodeChildrenChanged.
    pub(crate) fn covers(&self, path: &str, kind: WatchKind) -> bool {
        let (persistent, recursive) = self.modes_on(path);
        persistent || (recursive && kind != WatchKind::Child)
    }

    /// Every (path, recursive) pair with a live watch, once each.
    pub(crate) fn registrations(&self) -> Vec<(String, bool)> {
        let mut out = Vec::new();
        for (path, ids) in &self.by_path {
            let (mut p, mut r) = (false, false);
            for id in ids {
                if let Some(e) = self.by_id.get(id) {
                    if e.tx.is_closed() {
                        continue;
                    }
                    if e.recursive {
                        r = true;
                    } else {
                        p = true;
                    }
                }
            }
            if p {
                out.push((path.clone(), false));
            }
            if r {
                out.push((path.clone(), true));
            }
        }
        out
    }

    /// Ids whose streams were dropped (to remove).
    pub(crate) fn dead(&self) -> Vec<u64> {
        self.by_id
            .iter()
            .filter(|(_, e)| e.tx.is_closed())
            .map(|(id, _)| *id)
            .collect()
    }

    /// Delivers a node event; returns how many watches got it and the ids
    /// of watches whose streams are gone.
    pub(crate) fn fire(
        &mut self,
        event_type: EventType,
        server_path: &str,
        zxid: i64,
        chroot: &Chroot,
        dead: &mut Vec<u64>,
    ) -> usize {
        if self.by_id.is_empty() {
            return 0;
        }
        let children = event_type == EventType::NodeChildrenChanged;
        let mut targets: Vec<u64> = Vec::new();
        for id in self.by_path.get(server_path).into_iter().flatten() {
            if let Some(e) = self.by_id.get(id) {
                if !e.recursive || !children {
                    targets.push(*id);
                }
            }
        }
        if self.recursive > 0 && !children {
            let mut p = server_path;
            while let Some(parent) = zk_proto::parent(p) {
                for id in self.by_path.get(parent).into_iter().flatten() {
                    if self.by_id.get(id).is_some_and(|e| e.recursive) {
                        targets.push(*id);
                    }
                }
                if parent == "/" {
                    break;
                }
                p = parent;
            }
        }
        if targets.is_empty() {
            return 0;
        }
        let ev = WatchedEvent {
            event_type,
            path: chroot.strip(server_path.to_owned()),
            zxid,
        };
        let mut fired = 0;
        for id in targets {
            if let Some(e) = self.by_id.get(&id) {
                if e.tx.send(PersistentEvent::Node(ev.clone())).is_ok() {
                    fired += 1;
                } else {
                    dead.push(id);
                }
            }
        }
        fired
    }

    /// Tells every watch that events may have been missed.
    pub(crate) fn resync_all(&self) {
        for e in self.by_id.values() {
            let _ = e.tx.send(PersistentEvent::Resync);
        }
    }

    /// Tells the watches on exactly `path` that events may have been missed.
    pub(crate) fn resync_path(&self, path: &str) {
        for id in self.by_path.get(path).into_iter().flatten() {
            if let Some(e) = self.by_id.get(id) {
                let _ = e.tx.send(PersistentEvent::Resync);
            }
        }
    }

    /// Ends every watch with `err` (the session is over).
    pub(crate) fn fail_all(&mut self, err: &Error) {
        for (_, e) in self.by_id.drain() {
            let _ = e.tx.send(PersistentEvent::Closed(err.clone()));
        }
        self.by_path.clear();
        self.recursive = 0;
    }

    /// Ends one watch with `err` and forgets it (its addWatch failed).
    pub(crate) fn fail(&mut self, id: u64, err: Error) {
        if let Some(e) = self.by_id.get(&id) {
            let _ = e.tx.send(PersistentEvent::Closed(err));
        }
        self.remove(id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::sync::mpsc;

    fn reg(
        p: &mut Persistents,
        id: u64,
        path: &str,
        recursive: bool,
    ) -> mpsc::UnboundedReceiver<PersistentEvent> {
        let (tx, rx) = mpsc::unbounded_channel();
        p.add(PersistentReg {
            id,
            recursive,
            server_path: path.into(),
            tx,
        });
        rx
    }

    fn node(rx: &mut mpsc::UnboundedReceiver<PersistentEvent>) -> Option<(EventType, String)> {
        match rx.try_recv() {
            Ok(PersistentEvent::Node(ev)) => Some((ev.event_type, ev.path)),
            _ => None,
        }
    }

    #[test]
    fn exact_and_recursive_delivery_like_zkwatchmanager() {
        let mut p = Persistents::default();
        let chroot = Chroot::new(Some("/app"));
        let mut exact = reg(&mut p, 1, "/app/a", false);
        let mut rec = reg(&mut p, 2, "/app", true);
        let mut dead = Vec::new();
        assert_eq!(
            p.fire(
                EventType::NodeChildrenChanged,
                "/app/a",
                -1,
                &chroot,
                &mut dead
            ),
            1
        );
        assert_eq!(
            node(&mut exact),
            Some((EventType::NodeChildrenChanged, "/a".into()))
        );
        assert!(node(&mut rec).is_none(), "recursive: no child events");
        assert_eq!(
            p.fire(EventType::NodeCreated, "/app/a/b", -1, &chroot, &mut dead),
            1
        );
        assert_eq!(
            node(&mut rec),
            Some((EventType::NodeCreated, "/a/b".into()))
        );
        assert!(node(&mut exact).is_none(), "persistent: exact path only");
        assert_eq!(
            p.fire(EventType::NodeDataChanged, "/app", -1, &chroot, &mut dead),
            1
        );
        assert_eq!(
            node(&mut rec),
            Some((EventType::NodeDataChanged, "/".into()))
        );
        assert!(p.covers("/app/a", WatchKind::Child));
        assert!(p.covers("/app", WatchKind::Data));
        assert!(!p.covers("/app", WatchKind::Child));
        drop(exact);
        p.fire(EventType::NodeDataChanged, "/app/a", -1, &chroot, &mut dead);
        assert_eq!(dead, vec![1]);
        assert_eq!(p.registrations(), vec![("/app".to_owned(), true)]);
        p.fail_all(&Error::SessionExpired);
        assert_eq!(
            rec.try_recv().unwrap(),
            PersistentEvent::Node(WatchedEvent {
                event_type: EventType::NodeDataChanged,
                path: "/a".into(),
                zxid: -1
            })
        );
        assert_eq!(
            rec.try_recv().unwrap(),
            PersistentEvent::Closed(Error::SessionExpired)
        );
        assert!(p.is_empty());
    }
}
