//! The chroot: prefixed to every outgoing path, stripped from every incoming one.

use crate::error::Error;

/// A client's chroot (`None` when there is none).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Chroot(Option<String>);

impl Chroot {
    pub(crate) fn new(prefix: Option<&str>) -> Self {
        Chroot(prefix.filter(|p| *p != "/").map(str::to_owned))
    }

    /// Validates a client path and turns it into the server path.
    pub(crate) fn to_server(&self, path: &str) -> Result<String, Error> {
        zk_proto::validate_path(path)?;
        Ok(self.prefix(path))
    }

    /// Validates a create path (sequential prefixes may end in `/`) and turns it into the server path.
    pub(crate) fn to_server_create(&self, path: &str, sequential: bool) -> Result<String, Error> {
        zk_proto::validate_create_path(path, sequential)?;
        Ok(self.prefix(path))
    }

    fn prefix(&self, path: &str) -> String {
        match &self.0 {
            None => path.to_owned(),
            Some(root) if path == "/" => root.clone(),
            Some(root) => {
                let mut s = String::with_capacity(root.len() + path.len());
                s.push_str(root);
                s.push_str(path);
                s
            }
        }
    }

    /// The chroot, if any.
    pub(crate) fn prefix_str(&self) -> Option<&str> {
        self.0.as_deref()
    }

    /// Like [`Chroot::strip`], but `None` for a path outside the chroot.
    pub(crate) fn strip_inside(&self, server_path: String) -> Option<String> {
        match &self.0 {
            None => Some(server_path),
            Some(root) => match server_path.strip_prefix(root.as_str()) {
                Some("") => Some("/".to_owned()),
                Some(rest) if rest.starts_with('/') => Some(rest.to_owned()),
                _ => None,
            },
        }
    }

    /// Turns a server path into a client path. A path outside the chroot
    /// (which a well-behaved server never sends) is returned unchanged.
    pub(crate) fn strip(&self, server_path: String) -> String {
        match &self.0 {
            None => server_path,
            Some(root) => match server_path.strip_prefix(root.as_str()) {
                Some("") => "/".to_owned(),
                Some(rest) if rest.starts_with('/') => rest.to_owned(),
                _ => server_path,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_and_strip() {
        let c = Chroot::new(Some("/app"));
        assert_eq!(c.to_server("/").unwrap(), "/app");
        assert_eq!(c.to_server("/x/y").unwrap(), "/app/x/y");
        assert_eq!(c.to_server_create("/q/", true).unwrap(), "/app/q/");
        assert!(c.to_server("x").is_err());
        assert_eq!(c.strip("/app".into()), "/");
        assert_eq!(c.strip("/app/x".into()), "/x");
        assert_eq!(c.strip("/apple".into()), "/apple");
        assert_eq!(c.strip("/other".into()), "/other");
        let none = Chroot::new(Some("/"));
        assert_eq!(none.to_server("/a").unwrap(), "/a");
        assert_eq!(none.strip("/a".into()), "/a");
    }
}
