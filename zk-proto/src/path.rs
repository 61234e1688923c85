//! ZooKeeper path rules (as Java's `PathUtils.validatePath` applies them) and path helpers.

use thiserror::Error;

/// A path that breaks ZooKeeper's rules, with the reason and the offending position.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("invalid path {path:?}: {reason}")]
pub struct PathError {
    /// The path as given.
    pub path: String,
    /// Why it is invalid (ZooKeeper's wording, with a character index where it has one).
    pub reason: String,
}

fn invalid(path: &str, reason: impl Into<String>) -> PathError {
    PathError {
        path: path.to_owned(),
        reason: reason.into(),
    }
}

/// Whether ZooKeeper forbids this character in a path.
///
/// Java checks UTF-16 units, so every character outside the Basic
/// Multilingual Plane (a surrogate pair in Java) is forbidden too.
fn forbidden_char(c: char) -> bool {
    matches!(c,
        '\u{1}'..='\u{1f}'
        | '\u{7f}'..='\u{9f}'
        | '\u{e000}'..='\u{f8ff}'
        | '\u{fff0}'..='\u{10ffff}')
}

/// Checks `path` against ZooKeeper's rules: absolute, no empty segment, no
/// trailing slash (except the root), no `.` or `..` segment, no NUL and no
/// forbidden character.
///
/// ```
/// use zk_proto::validate_path;
///
/// assert!(validate_path("/app/config").is_ok());
/// assert!(validate_path("/app/").is_err());
/// assert!(validate_path("relative").is_err());
/// assert!(validate_path("/a/../b").is_err());
/// ```
pub fn validate_path(path: &str) -> Result<(), PathError> {
    // The common case in one pass over the bytes; anything else (non-ASCII,
    // the root, an invalid path) takes the full check, which also words
    // the error.
    if plainly_valid(path) {
        return Ok(());
    }
    check_fully(path)
}

/// Java's rules one by one, with Java's wording of the first one broken.
fn check_fully(path: &str) -> Result<(), PathError> {
    if path.is_empty() {
        return Err(invalid(path, "Path length must be > 0"));
    }
    if !path.starts_with('/') {
        return Err(invalid(path, "Path must start with / character"));
    }
    if path.len() == 1 {
        return Ok(());
    }
    if path.ends_with('/') {
        return Err(invalid(path, "Path must not end with / character"));
    }
    for (i, segment) in path.split('/').enumerate().skip(1) {
        match segment {
            "" => {
                return Err(invalid(
                    path,
                    format!("empty node name specified @{}", segment_start(path, i)),
                ))
            }
            "." | ".." => {
                return Err(invalid(
                    path,
                    format!("relative paths not allowed @{}", segment_start(path, i)),
                ))
            }
            _ => {}
        }
    }
    for (i, c) in path.chars().enumerate() {
        if c == '\0' {
            return Err(invalid(path, format!("null character not allowed @{i}")));
        }
        if forbidden_char(c) {
            return Err(invalid(path, format!("invalid character @{i}")));
        }
    }
    Ok(())
}

/// Whether `path` is a valid path of printable ASCII other than the root:
/// starts with `/`, and every segment is non-empty and not `.` or `..`.
/// `false` says nothing (the full check decides).
fn plainly_valid(path: &str) -> bool {
    let mut bytes = path.bytes();
    if bytes.next() != Some(b'/') {
        return false;
    }
    // One pass: each segment's length and whether it is all dots.
    let (mut len, mut dots) = (0usize, 0usize);
    for c in bytes {
        if c == b'/' {
            if len == 0 || (len == dots && len <= 2) {
                return false;
            }
            (len, dots) = (0, 0);
        } else if (0x20..0x7f).contains(&c) {
            len += 1;
            dots += usize::from(c == b'.');
        } else {
            return false;
        }
    }
    len > 0 && !(len == dots && len <= 2)
}

fn segment_start(path: &str, index: usize) -> usize {
    path.split('/')
        .take(index)
        .map(|s| s.chars().count() + 1)
        .sum()
}

/// Checks the path of a create: for sequential modes the server appends a
/// number, so a prefix ending in `/` is allowed (as Java validates `path + "1"`).
pub fn validate_create_path(path: &str, sequential: bool) -> Result<(), PathError> {
    if sequential {
        validate_path(&format!("{path}1")).map_err(|e| PathError {
            path: path.to_owned(),
            reason: e.reason,
        })
    } else {
        validate_path(path)
    }
}

/// The parent of a valid path: `"/a/b"` → `"/a"`, `"/a"` → `"/"`, `"/"` → `None`.
pub fn parent(path: &str) -> Option<&str> {
    if path == "/" {
        return None;
    }
    match path.rfind('/') {
        Some(0) => Some("/"),
        Some(i) => path.get(..i),
        None => None,
    }
}

/// The last segment of a path: `"/a/b"` → `"b"`, `"/"` → `""`.
pub fn node_name(path: &str) -> &str {
    match path.rfind('/') {
        Some(i) => path.get(i + 1..).unwrap_or(""),
        None => path,
    }
}

/// Joins a parent path and a child name: `("/", "a")` → `"/a"`, `("/a", "b")` → `"/a/b"`.
pub fn join(parent: &str, child: &str) -> String {
    if parent.ends_with('/') {
        format!("{parent}{child}")
    } else {
        format!("{parent}/{child}")
    }
}

/// The sequence suffix the server appends: a 10-digit zero-padded counter
/// (`%010d`; negative once the parent's cversion has wrapped).
pub fn sequence_suffix(counter: i32) -> String {
    format!("{counter:010}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_rules() {
        for ok in [
            "/",
            "/a",
            "/a/b",
            "/a.b",
            "/..a",
            "/a..",
            "/zookeeper",
            "/é",
            "/a b",
            "/\u{ff00}",
        ] {
            assert!(validate_path(ok).is_ok(), "{ok}");
        }
        for (bad, reason) in [
            ("", "Path length must be > 0"),
            ("a", "Path must start with / character"),
            ("/a/", "Path must not end with / character"),
            ("//", "Path must not end with / character"),
            ("//a", "empty node name specified @1"),
            ("/a//b", "empty node name specified @3"),
            ("/.", "relative paths not allowed @1"),
            ("/a/./b", "relative paths not allowed @3"),
            ("/a/..", "relative paths not allowed @3"),
            ("/a\0b", "null character not allowed @2"),
            ("/a\u{1}", "invalid character @2"),
            ("/\u{7f}", "invalid character @1"),
            ("/\u{e000}", "invalid character @1"),
            ("/\u{1f600}", "invalid character @1"),
            ("/\u{fff0}", "invalid character @1"),
        ] {
            assert_eq!(validate_path(bad).unwrap_err().reason, reason, "{bad:?}");
        }
    }

    /// The one-pass check accepts only what the full check accepts, and
    /// every valid path but the root: all paths of up to 7 characters over
    /// `/`, `.`, `a`, and a control character.
    #[test]
    fn the_fast_path_agrees_with_the_full_check() {
        let alphabet = ['/', '.', 'a', '\u{1}'];
        let mut paths = vec![String::new()];
        for _ in 0..7 {
            let longer: Vec<String> = paths
                .iter()
                .filter(|p| p.len() == paths.last().map_or(0, String::len))
                .flat_map(|p| alphabet.iter().map(move |c| format!("{p}{c}")))
                .collect();
            paths.extend(longer);
        }
        for p in &paths {
            let full = check_fully(p).is_ok();
            if plainly_valid(p) {
                assert!(full, "fast path accepted {p:?}");
            } else {
                assert!(!full || p == "/", "fast path refused valid {p:?}");
            }
        }
    }

    #[test]
    fn sequential_prefixes() {
        assert!(validate_create_path("/q/", true).is_ok());
        assert!(validate_create_path("/q/", false).is_err());
        assert!(validate_create_path("/q/item-", true).is_ok());
        assert!(validate_create_path("/q//", true).is_err());
    }

    #[test]
    fn helpers() {
        assert_eq!(parent("/a/b"), Some("/a"));
        assert_eq!(parent("/a"), Some("/"));
        assert_eq!(parent("/"), None);
        assert_eq!(node_name("/a/b"), "b");
        assert_eq!(join("/", "a"), "/a");
        assert_eq!(join("/a", "b"), "/a/b");
        assert_eq!(sequence_suffix(7), "0000000007");
        assert_eq!(sequence_suffix(-5), "-000000005");
    }
}
