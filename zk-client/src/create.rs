//! How a node is created: [`CreateOptions`], and the sequence suffix of
//! sequential names ([`parse_sequence`]).

use bytes::Bytes;
use zk_proto::{Acl, CreateMode, CreateRequest, CreateTtlRequest};

use crate::error::{Error, Result};

/// How [`Client::create`](crate::Client::create) creates a node: its mode,
/// ACL, TTL (TTL modes only), and whether missing parents are created too.
///
/// `create` and [`Transaction::create`](crate::Transaction::create) take
/// `impl Into<CreateOptions>`: a [`CreateMode`], a `CreateOptions` or a
/// `&CreateOptions`.
///
/// ```
/// use zk_client::{Acl, CreateMode, CreateOptions};
///
/// let persistent = CreateOptions::persistent();
/// let lock = CreateOptions::ephemeral_sequential();
/// let ttl = CreateOptions::ttl(60_000);
/// let private = CreateOptions::persistent().with_acl(Acl::creator_all());
/// // "/app/locks" and "/app" are created as containers if missing.
/// let deep = CreateOptions::ephemeral_sequential().with_container_parents();
/// assert_eq!(CreateOptions::from(CreateMode::Ephemeral), CreateOptions::ephemeral());
/// # let _ = (persistent, lock, ttl, private, deep);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateOptions {
    mode: CreateMode,
    acl: Vec<Acl>,
    ttl_ms: Option<i64>,
    parents: Option<Parents>,
}

/// How [`CreateOptions::with_parents`] creates missing parents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Parents {
    Persistent,
    Container,
}

impl Parents {
    pub(crate) fn mode(self) -> CreateMode {
        match self {
            Parents::Persistent => CreateMode::Persistent,
            Parents::Container => CreateMode::Container,
        }
    }
}

impl Default for CreateOptions {
    /// A persistent node with `OPEN_ACL_UNSAFE` (everything for `world:anyone`).
    fn default() -> Self {
        CreateOptions::new(CreateMode::Persistent)
    }
}

impl From<CreateMode> for CreateOptions {
    fn from(mode: CreateMode) -> Self {
        CreateOptions::new(mode)
    }
}

impl From<&CreateOptions> for CreateOptions {
    fn from(options: &CreateOptions) -> Self {
        options.clone()
    }
}

impl CreateOptions {
    /// Options for `mode`, with the `OPEN_ACL_UNSAFE` ACL.
    pub fn new(mode: CreateMode) -> Self {
        CreateOptions {
            mode,
            acl: Acl::open_unsafe(),
            ttl_ms: None,
            parents: None,
        }
    }

    /// A persistent node.
    pub fn persistent() -> Self {
        CreateOptions::new(CreateMode::Persistent)
    }

    /// A persistent node with a sequence suffix.
    pub fn persistent_sequential() -> Self {
        CreateOptions::new(CreateMode::PersistentSequential)
    }

    /// An ephemeral node (deleted when the session ends).
    pub fn ephemeral() -> Self {
        CreateOptions::new(CreateMode::Ephemeral)
    }

    /// An ephemeral node with a sequence suffix (lock and election nodes).
    pub fn ephemeral_sequential() -> Self {
        CreateOptions::new(CreateMode::EphemeralSequential)
    }

    /// A container node: the server deletes it once it has had children and
    /// has none left (ZooKeeper 3.5.3+).
    pub fn container() -> Self {
        CreateOptions::new(CreateMode::Container)
    }

    /// A persistent node that the server deletes once it has had no children
    /// and no change for `ttl_ms` milliseconds (the server must run with
    /// `zookeeper.extendedTypesEnabled=true`).
    pub fn ttl(ttl_ms: i64) -> Self {
        CreateOptions::new(CreateMode::PersistentWithTtl).with_ttl(ttl_ms)
    }

    /// Uses this ACL instead of `OPEN_ACL_UNSAFE`.
    pub fn with_acl(mut self, acl: Vec<Acl>) -> Self {
        self.acl = acl;
        self
    }

    /// Sets the TTL in milliseconds (TTL modes only). The server checks the
    /// range, (0, 2^40 − 1], and answers BADARGUMENTS outside it; a server
    /// without `zookeeper.extendedTypesEnabled` answers UNIMPLEMENTED.
    pub fn with_ttl(mut self, ttl_ms: i64) -> Self {
        self.ttl_ms = Some(ttl_ms);
        self
    }

    /// Creates missing parents as persistent nodes (with this ACL), as
    /// Curator's `creatingParentsIfNeeded` does: when the create answers
    /// NONODE, every missing ancestor is created (one that exists, or that
    /// another client creates meanwhile, is fine) and the create is sent
    /// again. Not available in a [`Transaction`](crate::Transaction).
    pub fn with_parents(mut self) -> Self {
        self.parents = Some(Parents::Persistent);
        self
    }

    /// Like [`with_parents`](Self::with_parents), but creates missing
    /// parents as container nodes, which the server removes once they are
    /// empty again (Curator's `creatingParentContainersIfNeeded`; the usual
    /// choice for the parents of lock and election nodes).
    pub fn with_container_parents(mut self) -> Self {
        self.parents = Some(Parents::Container);
        self
    }

    /// The mode.
    pub fn mode(&self) -> CreateMode {
        self.mode
    }

    /// The ACL the node gets.
    pub fn acl(&self) -> &[Acl] {
        &self.acl
    }

    pub(crate) fn parents(&self) -> Option<Parents> {
        self.parents
    }

    /// The options a missing parent is created with.
    pub(crate) fn parent_options(&self, parents: Parents) -> CreateOptions {
        CreateOptions::new(parents.mode()).with_acl(self.acl.clone())
    }

    /// Builds the wire request for `server_path`.
    pub(crate) fn request(&self, server_path: String, data: Bytes) -> Result<CreateBody> {
        let body = CreateRequest {
            path: server_path,
            data: data.into(),
            acl: self.acl.clone(),
            flags: self.mode.code(),
        };
        match (self.mode.is_ttl(), self.ttl_ms) {
            (true, Some(ttl)) => Ok(CreateBody::Ttl(CreateTtlRequest {
                path: body.path,
                data: body.data,
                acl: body.acl,
                flags: body.flags,
                ttl,
            })),
            (true, None) => Err(Error::InvalidArgument(format!(
                "create mode {} needs a TTL",
                self.mode
            ))),
            (false, Some(_)) => Err(Error::InvalidArgument(format!(
                "a TTL was given with create mode {}, which is not a TTL mode",
                self.mode
            ))),
            (false, None) if self.mode.is_container() => Ok(CreateBody::Container(body)),
            (false, None) => Ok(CreateBody::Plain(body)),
        }
    }
}

/// The three wire shapes of a create.
pub(crate) enum CreateBody {
    Plain(CreateRequest),
    Container(CreateRequest),
    Ttl(CreateTtlRequest),
}

/// The client paths of the ancestors of `path` below the root, outermost
/// first: `/a/b/c` → `["/a", "/a/b"]`; for a sequential prefix ending in
/// `/` (`/a/b/`), `["/a", "/a/b"]` too.
pub(crate) fn ancestors(path: &str) -> Vec<&str> {
    let parent = path.get(..path.rfind('/').unwrap_or(0)).unwrap_or("");
    parent
        .match_indices('/')
        .map(|(i, _)| i)
        .filter(|&i| i > 0)
        .filter_map(|i| parent.get(..i))
        .chain((!parent.is_empty()).then_some(parent))
        .collect()
}

/// The sequence number ZooKeeper appended to a sequential node's name: the
/// last 10 characters, `%010d` of the parent's signed 32-bit counter (so
/// `"lock-0000000042"` → 42, and after the counter wrapped past 2^31 − 1,
/// `"lock--000000007"` → −7). Works on a bare name or a whole path; `None`
/// when the name does not end in such a suffix. Counters below
/// −999,999,999 print as 11 characters and are not told apart from a
/// positive suffix after a `-`; it takes over three billion creates under
/// one parent to reach them.
///
/// ```
/// assert_eq!(zk_client::parse_sequence("/locks/lock-0000000042"), Some(42));
/// assert_eq!(zk_client::parse_sequence("x-2147483647"), Some(i32::MAX));
/// assert_eq!(zk_client::parse_sequence("x--000000001"), Some(-1));
/// assert_eq!(zk_client::parse_sequence("lock-42"), None);
/// ```
pub fn parse_sequence(name: &str) -> Option<i32> {
    const LEN: usize = 10;
    let bytes = name.as_bytes();
    let start = bytes.len().checked_sub(LEN)?;
    let suffix = bytes.get(start..)?;
    let digits = match suffix.split_first() {
        Some((b'-', rest)) => rest,
        _ => suffix,
    };
    if !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    // All ASCII from `start` on, so `start` is a char boundary.
    name.get(start..)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ancestors_of_paths() {
        assert_eq!(ancestors("/a"), Vec::<&str>::new());
        assert_eq!(ancestors("/a/b/c"), vec!["/a", "/a/b"]);
        assert_eq!(ancestors("/a/b/"), vec!["/a", "/a/b"]);
        assert_eq!(ancestors("/a/"), vec!["/a"]);
        assert_eq!(ancestors("/"), Vec::<&str>::new());
    }

    #[test]
    fn sequence_suffixes() {
        assert_eq!(parse_sequence("0000000000"), Some(0));
        assert_eq!(parse_sequence("n-0000000010"), Some(10));
        assert_eq!(parse_sequence("n--999999999"), Some(-999_999_999));
        assert_eq!(parse_sequence("n-9999999999"), None); // out of i32
        assert_eq!(parse_sequence("n-00000000x1"), None);
        assert_eq!(parse_sequence("n000000001"), None);
        assert_eq!(parse_sequence("000000001"), None);
        assert_eq!(parse_sequence("ü-000000001é"), None);
        assert_eq!(parse_sequence("é0000000001"), Some(1));
    }
}
