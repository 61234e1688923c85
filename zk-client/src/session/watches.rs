//! The task's registry of one-shot watches, keyed by server path and kind.

use std::collections::{BTreeMap, HashMap};

use zk_proto::{EventType, Request, SetWatches, SetWatches2};

use crate::chroot::Chroot;
use crate::error::Error;
use crate::event::{WatchKind, WatchSender, WatchedEvent, WatcherKind};

/// Java's `SET_WATCHES_MAX_LENGTH`: path bytes per SetWatches batch.
const SET_WATCHES_MAX_LENGTH: usize = 128 * 1024;

/// Path bytes per batch: Java's 128 KiB, or less if the frame limit is so
/// small that a batch might not fit (each path costs at most 5 bytes per
/// byte of path: itself and a 4-byte length).
pub(crate) fn batch_limit(max_frame: usize) -> usize {
    SET_WATCHES_MAX_LENGTH
        .min(max_frame.saturating_sub(64) / 5)
        .max(1)
}

#[derive(Default)]
struct PathWatches {
    data: Vec<WatchSender>,
    exist: Vec<WatchSender>,
    child: Vec<WatchSender>,
}

impl PathWatches {
    fn slot(&mut self, kind: WatchKind) -> &mut Vec<WatchSender> {
        match kind {
            WatchKind::Data => &mut self.data,
            WatchKind::Exist => &mut self.exist,
            WatchKind::Child => &mut self.child,
        }
    }

    fn prune(&mut self) {
        for v in [&mut self.data, &mut self.exist, &mut self.child] {
            v.retain(|tx| !tx.is_closed());
        }
    }

    fn is_empty(&self) -> bool {
        self.data.is_empty() && self.exist.is_empty() && self.child.is_empty()
    }
}

/// A batch as SetWatches (101) when it has no persistent watches (servers
/// before 3.6 know only that), else SetWatches2 (105).
fn finish(b: SetWatches2) -> Request {
    if b.persistent_watches.is_empty() && b.persistent_recursive_watches.is_empty() {
        Request::SetWatches(SetWatches {
            relative_zxid: b.relative_zxid,
            data_watches: b.data_watches,
            exist_watches: b.exist_watches,
            child_watches: b.child_watches,
        })
    } else {
        Request::SetWatches2(b)
    }
}

/// Every one-shot watch the session holds (server paths, chroot included).
#[derive(Default)]
pub(crate) struct Watches {
    by_path: HashMap<String, PathWatches>,
}

impl Watches {
    /// Registers a watcher; several watchers of one path and kind all fire.
    pub(crate) fn add(&mut self, kind: WatchKind, server_path: String, tx: WatchSender) {
        if tx.is_closed() {
            return;
        }
        let slot = self.by_path.entry(server_path).or_default().slot(kind);
        // Lazily forget watchers whose futures were dropped.
        slot.retain(|t| !t.is_closed());
        slot.push(tx);
    }

    /// Delivers a node event to the watchers it triggers, and forgets them.
    pub(crate) fn fire(
        &mut self,
        event_type: EventType,
        server_path: &str,
        zxid: i64,
        chroot: &Chroot,
    ) -> usize {
        let Some(entry) = self.by_path.get_mut(server_path) else {
            return 0;
        };
        let mut fired = 0;
        let path = chroot.strip(server_path.to_owned());
        for &kind in WatchKind::triggered_by(event_type) {
            for tx in entry.slot(kind).drain(..) {
                let ev = WatchedEvent {
                    event_type,
                    path: path.clone(),
                    zxid,
                };
                if tx.send(Ok(ev)).is_ok() {
                    fired += 1;
                }
            }
        }
        if entry.is_empty() {
            self.by_path.remove(server_path);
        }
        fired
    }

    /// Ends every watch with `err` (the session is over).
    pub(crate) fn fail_all(&mut self, err: &Error) {
        for (_, mut w) in self.by_path.drain() {
            for v in [&mut w.data, &mut w.exist, &mut w.child] {
                for tx in v.drain(..) {
                    let _ = tx.send(Err(err.clone()));
                }
            }
        }
    }

    /// Whether any live one-shot watcher is waiting, on any path.
    pub(crate) fn any_live(&self) -> bool {
        self.by_path.values().any(|w| {
            [&w.data, &w.exist, &w.child]
                .iter()
                .any(|v| v.iter().any(|t| !t.is_closed()))
        })
    }

    /// Whether any live one-shot watcher of `kind` is waiting on `server_path`.
    pub(crate) fn has(&self, server_path: &str, kind: WatchKind) -> bool {
        self.by_path.get(server_path).is_some_and(|w| {
            let v = match kind {
                WatchKind::Data => &w.data,
                WatchKind::Exist => &w.exist,
                WatchKind::Child => &w.child,
            };
            v.iter().any(|tx| !tx.is_closed())
        })
    }

    /// Whether any live one-shot watcher on `server_path` needs the
    /// server-side watch of the table `kind`.
    pub(crate) fn has_table(&self, server_path: &str, kind: WatcherKind) -> bool {
        [WatchKind::Data, WatchKind::Exist, WatchKind::Child]
            .into_iter()
            .any(|k| k.removed_by(kind) && self.has(server_path, k))
    }

    /// Removes every watcher of `kind` on `server_path`, telling each it was
    /// removed (a `DataWatchRemoved` or `ChildWatchRemoved` event, as Java's
    /// client delivers); returns how many live ones there were.
    pub(crate) fn remove_kind(
        &mut self,
        server_path: &str,
        kind: WatcherKind,
        chroot: &Chroot,
    ) -> usize {
        let Some(entry) = self.by_path.get_mut(server_path) else {
            return 0;
        };
        let path = chroot.strip(server_path.to_owned());
        let mut removed = 0;
        for k in [WatchKind::Data, WatchKind::Exist, WatchKind::Child] {
            if !k.removed_by(kind) {
                continue;
            }
            for tx in entry.slot(k).drain(..) {
                let ev = WatchedEvent {
                    event_type: k.removed_event(),
                    path: path.clone(),
                    zxid: -1,
                };
                if tx.send(Ok(ev)).is_ok() {
                    removed += 1;
                }
            }
        }
        if entry.is_empty() {
            self.by_path.remove(server_path);
        }
        removed
    }

    /// A SetWatches that re-arms the one-shot watches on `server_path` of
    /// the given kinds (after a removeWatches or an addWatch on that path
    /// clobbered their server-side registration), or `None` if there are none.
    pub(crate) fn rearm(
        &self,
        server_path: &str,
        kinds: &[WatchKind],
        relative_zxid: i64,
    ) -> Option<SetWatches> {
        let mut sw = SetWatches {
            relative_zxid,
            ..SetWatches::default()
        };
        for &kind in kinds {
            if self.has(server_path, kind) {
                match kind {
                    WatchKind::Data => sw.data_watches.push(server_path.to_owned()),
                    WatchKind::Exist => sw.exist_watches.push(server_path.to_owned()),
                    WatchKind::Child => sw.child_watches.push(server_path.to_owned()),
                }
            }
        }
        let empty = sw.data_watches.is_empty()
            && sw.exist_watches.is_empty()
            && sw.child_watches.is_empty();
        (!empty).then_some(sw)
    }

    /// The SetWatches / SetWatches2 requests that re-arm every live watch
    /// on a new connection (server paths, `relativeZxid` = the last zxid
    /// seen), each batch at most 128 KiB of path bytes as Java batches
    /// them. A batch with persistent watches is a SetWatches2 (105), one
    /// without a SetWatches (101), as Java does.
    ///
    /// All registrations of one path go in one batch, and the server applies
    /// a batch's lists in the order data, exist, child, persistent,
    /// recursive. On a 3.8 server the last registration of a path decides
    /// its mode (ZOOKEEPER-4466), so a persistent watch beats the one-shot
    /// ones on its path, which it serves anyway. The exception is a one-shot
    /// child watch on a path with only a recursive watch (which never sees
    /// NodeChildrenChanged): those go last, in SetWatches batches of their own.
    pub(crate) fn set_watches(
        &mut self,
        relative_zxid: i64,
        persistent: &[(String, bool)],
        limit: usize,
    ) -> Vec<Request> {
        self.by_path.retain(|_, w| {
            w.prune();
            !w.is_empty()
        });
        #[derive(Default)]
        struct Group {
            data: bool,
            exist: bool,
            child: bool,
            persistent: bool,
            recursive: bool,
        }
        let mut groups: BTreeMap<&str, Group> = BTreeMap::new();
        for (path, w) in &self.by_path {
            let g = groups.entry(path.as_str()).or_default();
            g.data = !w.data.is_empty();
            g.exist = !w.exist.is_empty();
            g.child = !w.child.is_empty();
        }
        for (path, recursive) in persistent {
            let g = groups.entry(path.as_str()).or_default();
            if *recursive {
                g.recursive = true;
            } else {
                g.persistent = true;
            }
        }
        let mut batches = Vec::new();
        let mut cur = SetWatches2 {
            relative_zxid,
            ..SetWatches2::default()
        };
        let mut size = 0;
        let mut trailing: Vec<&str> = Vec::new();
        for (path, mut g) in groups {
            if g.child && g.recursive && !g.persistent {
                g.child = false;
                trailing.push(path);
            }
            let n = [g.data, g.exist, g.child, g.persistent, g.recursive]
                .iter()
                .filter(|b| **b)
                .count();
            if n == 0 {
                continue;
            }
            let len = path.len() * n;
            if size + len > limit && size > 0 {
                batches.push(finish(std::mem::replace(
                    &mut cur,
                    SetWatches2 {
                        relative_zxid,
                        ..SetWatches2::default()
                    },
                )));
                size = 0;
            }
            size += len;
            for (on, list) in [
                (g.data, &mut cur.data_watches),
                (g.exist, &mut cur.exist_watches),
                (g.child, &mut cur.child_watches),
                (g.persistent, &mut cur.persistent_watches),
                (g.recursive, &mut cur.persistent_recursive_watches),
            ] {
                if on {
                    list.push(path.to_owned());
                }
            }
        }
        if size > 0 {
            batches.push(finish(cur));
        }
        let mut cur = SetWatches {
            relative_zxid,
            ..SetWatches::default()
        };
        let mut size = 0;
        for path in trailing {
            if size + path.len() > limit && size > 0 {
                batches.push(Request::SetWatches(std::mem::replace(
                    &mut cur,
                    SetWatches {
                        relative_zxid,
                        ..SetWatches::default()
                    },
                )));
                size = 0;
            }
            size += path.len();
            cur.child_watches.push(path.to_owned());
        }
        if size > 0 {
            batches.push(Request::SetWatches(cur));
        }
        batches
    }

    /// Number of live watchers (for tests).
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.by_path
            .values()
            .map(|w| w.data.len() + w.exist.len() + w.child.len())
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::sync::oneshot;

    #[test]
    fn fires_by_kind_and_batches() {
        let mut w = Watches::default();
        let chroot = Chroot::new(Some("/r"));
        let (d1, mut d1r) = oneshot::channel();
        let (d2, mut d2r) = oneshot::channel();
        let (c1, mut c1r) = oneshot::channel();
        let (dropped, dropped_rx) = oneshot::channel();
        w.add(WatchKind::Data, "/r/a".into(), d1);
        w.add(WatchKind::Data, "/r/a".into(), d2);
        w.add(WatchKind::Child, "/r/a".into(), c1);
        w.add(WatchKind::Exist, "/r/b".into(), dropped);
        drop(dropped_rx);
        assert_eq!(w.fire(EventType::NodeDataChanged, "/r/a", -1, &chroot), 2);
        let ev = d1r.try_recv().unwrap().unwrap();
        assert_eq!(ev.path, "/a");
        assert!(d2r.try_recv().unwrap().is_ok());
        assert!(c1r.try_recv().is_err());
        let batches = w.set_watches(7, &[], SET_WATCHES_MAX_LENGTH);
        assert_eq!(batches.len(), 1);
        let Request::SetWatches(b) = &batches[0] else {
            panic!("{batches:?}")
        };
        assert_eq!(b.child_watches, vec!["/r/a".to_owned()]);
        assert!(b.exist_watches.is_empty());
        assert_eq!(w.len(), 1);
        w.fail_all(&Error::SessionExpired);
        assert_eq!(c1r.try_recv().unwrap(), Err(Error::SessionExpired));
    }

    #[test]
    fn batches_split_at_128k() {
        let mut w = Watches::default();
        let mut keep = Vec::new();
        for i in 0..300 {
            let (tx, rx) = oneshot::channel();
            keep.push(rx);
            w.add(WatchKind::Data, format!("/{i:01000}"), tx);
        }
        let batches = w.set_watches(1, &[("/p".to_owned(), false)], batch_limit(1 << 20));
        assert_eq!(batches.len(), 3);
        let mut data = 0;
        let mut persistent = 0;
        for b in &batches {
            match b {
                Request::SetWatches(b) => data += b.data_watches.len(),
                Request::SetWatches2(b) => {
                    data += b.data_watches.len();
                    persistent += b.persistent_watches.len();
                }
                other => panic!("{other:?}"),
            }
        }
        assert_eq!((data, persistent), (300, 1));
        // Only the batch holding the persistent watch is a SetWatches2.
        assert_eq!(
            batches
                .iter()
                .filter(|b| matches!(b, Request::SetWatches2(_)))
                .count(),
            1
        );
    }

    #[test]
    fn a_small_frame_limit_makes_small_batches() {
        let mut w = Watches::default();
        let mut keep = Vec::new();
        for i in 0..100 {
            let (tx, rx) = oneshot::channel();
            keep.push(rx);
            w.add(WatchKind::Child, format!("/{i:099}"), tx);
        }
        let max_frame = 4096;
        let batches = w.set_watches(1, &[], batch_limit(max_frame));
        assert!(batches.len() >= 10, "{}", batches.len());
        for b in &batches {
            let mut buf = bytes::BytesMut::new();
            zk_proto::encode_request(&mut buf, max_frame, -8, b).unwrap();
        }
    }

    #[test]
    fn one_path_stays_in_one_batch_and_child_under_recursive_goes_last() {
        let mut w = Watches::default();
        let (d, _dr) = oneshot::channel();
        let (c, _cr) = oneshot::channel();
        w.add(WatchKind::Data, "/a".into(), d);
        w.add(WatchKind::Child, "/a".into(), c);
        let batches = w.set_watches(3, &[("/a".to_owned(), true)], SET_WATCHES_MAX_LENGTH);
        assert_eq!(batches.len(), 2, "{batches:?}");
        let Request::SetWatches2(first) = &batches[0] else {
            panic!("{batches:?}")
        };
        assert_eq!(first.data_watches, vec!["/a".to_owned()]);
        assert!(first.child_watches.is_empty());
        assert_eq!(first.persistent_recursive_watches, vec!["/a".to_owned()]);
        let Request::SetWatches(last) = &batches[1] else {
            panic!("{batches:?}")
        };
        assert_eq!(last.child_watches, vec!["/a".to_owned()]);
        assert_eq!(last.relative_zxid, 3);
    }
}
