//! The sequential-node queue shared by the mutex and the leader recipes:
//! Curator's sort order and predecessor choice.

/// The sort key of a contender node, as Curator's
/// `StandardLockInternalsDriver.fixForSorting`: the text after the last
/// occurrence of `name` (`lock-`, `latch-`), or the whole name without it.
pub(crate) fn sort_key<'a>(child: &'a str, name: &str) -> &'a str {
    match child.rfind(name) {
        Some(i) => child.get(i + name.len()..).unwrap_or(child),
        None => child,
    }
}

/// The children sorted as Curator sorts them (by [`sort_key`], as text).
pub(crate) fn sorted(mut children: Vec<String>, name: &str) -> Vec<String> {
    children.sort_by(|a, b| sort_key(a, name).cmp(sort_key(b, name)));
    children
}

/// Where `ours` stands among the sorted children.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Place {
    /// First: it holds the lock (or leads).
    First,
    /// Behind `predecessor`, the node to watch.
    Behind(String),
    /// Not among the children (deleted, or its session is gone).
    Missing,
}

/// Our place in the queue of `children` (unsorted) for node name `name`.
pub(crate) fn place(children: Vec<String>, ours: &str, name: &str) -> Place {
    let sorted = sorted(children, name);
    match sorted.iter().position(|c| c == ours) {
        None => Place::Missing,
        Some(0) => Place::First,
        Some(i) => sorted
            .get(i - 1)
            .map_or(Place::Missing, |p| Place::Behind(p.clone())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn curator_order_ignores_the_protected_prefix() {
        let children = vec![
            "_c_bbbbbbbb-0000-0000-0000-000000000000-lock-0000000002".to_owned(),
            "_c_aaaaaaaa-0000-0000-0000-000000000000-lock-0000000003".to_owned(),
            "lock-0000000001".to_owned(),
        ];
        let s = sorted(children.clone(), "lock-");
        assert_eq!(s.first().map(String::as_str), Some("lock-0000000001"));
        assert_eq!(
            place(
                children.clone(),
                "_c_aaaaaaaa-0000-0000-0000-000000000000-lock-0000000003",
                "lock-"
            ),
            Place::Behind("_c_bbbbbbbb-0000-0000-0000-000000000000-lock-0000000002".to_owned())
        );
        assert_eq!(
            place(children.clone(), "lock-0000000001", "lock-"),
            Place::First
        );
        assert_eq!(place(children, "lock-0000000009", "lock-"), Place::Missing);
        assert_eq!(sort_key("x-latch-0000000004", "latch-"), "0000000004");
        assert_eq!(sort_key("other", "latch-"), "other");
    }
}
