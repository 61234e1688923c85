//! Records shared by many operations: Stat, Id, ACL, ClientInfo.

use crate::field::{record, NestedRecord};
use crate::Perms;

record! {
    /// A node's metadata: 11 fields, 68 bytes on the wire.
    pub struct Stat {
        /// zxid of the create.
        pub czxid: i64,
        /// zxid of the last setData (the create's if none).
        pub mzxid: i64,
        /// Create time, ms since the epoch.
        pub ctime: i64,
        /// Last modification time, ms since the epoch.
        pub mtime: i64,
        /// Data version.
        pub version: i32,
        /// Child version.
        pub cversion: i32,
        /// ACL version.
        pub aversion: i32,
        /// Owning session id for ephemerals, a container/TTL marker, or 0.
        pub ephemeral_owner: i64,
        /// Length of the data.
        pub data_length: i32,
        /// Number of children.
        pub num_children: i32,
        /// zxid of the last child create or delete.
        pub pzxid: i64,
    }
}

impl NestedRecord for Stat {
    const MIN_LEN: usize = 68;
}

record! {
    /// An identity: a scheme and an id within it (`world:anyone`, `digest:user:hash`, `ip:10.0.0.1`).
    pub struct Id {
        /// The scheme.
        pub scheme: String,
        /// The id within the scheme.
        pub id: String,
    }
}

impl NestedRecord for Id {
    const MIN_LEN: usize = 8;
}

impl Id {
    /// An id from its scheme and value.
    pub fn new(scheme: impl Into<String>, id: impl Into<String>) -> Self {
        Id {
            scheme: scheme.into(),
            id: id.into(),
        }
    }

    /// `world:anyone`.
    pub fn anyone() -> Self {
        Id::new("world", "anyone")
    }

    /// `auth:` — whoever is authenticated on the creating session.
    pub fn authenticated() -> Self {
        Id::new("auth", "")
    }
}

record! {
    /// One access-control entry: the permissions an id has.
    pub struct Acl {
        /// What the id may do.
        pub perms: Perms,
        /// Who.
        pub id: Id,
    }
}

impl NestedRecord for Acl {
    const MIN_LEN: usize = 12;
}

impl Acl {
    /// An entry from permissions and an id.
    pub fn new(perms: Perms, id: Id) -> Self {
        Acl { perms, id }
    }

    /// `OPEN_ACL_UNSAFE`: everything for `world:anyone`.
    pub fn open_unsafe() -> Vec<Acl> {
        vec![Acl::new(Perms::ALL, Id::anyone())]
    }

    /// `CREATOR_ALL_ACL`: everything for the creator's authenticated ids.
    pub fn creator_all() -> Vec<Acl> {
        vec![Acl::new(Perms::ALL, Id::authenticated())]
    }

    /// `READ_ACL_UNSAFE`: read for `world:anyone`.
    pub fn read_unsafe() -> Vec<Acl> {
        vec![Acl::new(Perms::READ, Id::anyone())]
    }
}

record! {
    /// One identity of a session as whoAmI reports it.
    pub struct ClientInfo {
        /// The auth scheme.
        pub auth_scheme: String,
        /// The user within it.
        pub user: String,
    }
}

impl NestedRecord for ClientInfo {
    const MIN_LEN: usize = 8;
}

/// `ephemeralOwner` marker of a container node.
pub const CONTAINER_EPHEMERAL_OWNER: i64 = i64::MIN;

/// The high byte that marks a TTL node's `ephemeralOwner`; the low 40 bits hold the TTL in ms.
pub const TTL_EPHEMERAL_OWNER_MARK: i64 = 0xFF00_0000_0000_0000_u64 as i64;

/// The largest TTL a server accepts, in ms (2^40 − 1).
pub const MAX_TTL_MS: i64 = (1 << 40) - 1;

/// What kind of node an `ephemeralOwner` value describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum EphemeralKind {
    /// Not ephemeral (0).
    Persistent,
    /// An ephemeral owned by this session id.
    Session(i64),
    /// A container node.
    Container,
    /// A TTL node with this TTL in ms.
    Ttl(i64),
}

impl EphemeralKind {
    /// Classifies an `ephemeralOwner`, as ZooKeeper's `EphemeralType` does.
    pub fn from_owner(owner: i64) -> Self {
        if owner == 0 {
            EphemeralKind::Persistent
        } else if owner == CONTAINER_EPHEMERAL_OWNER {
            EphemeralKind::Container
        } else if owner & TTL_EPHEMERAL_OWNER_MARK == TTL_EPHEMERAL_OWNER_MARK {
            EphemeralKind::Ttl(owner & MAX_TTL_MS)
        } else {
            EphemeralKind::Session(owner)
        }
    }

    /// The `ephemeralOwner` value for this kind.
    pub fn to_owner(self) -> i64 {
        match self {
            EphemeralKind::Persistent => 0,
            EphemeralKind::Session(id) => id,
            EphemeralKind::Container => CONTAINER_EPHEMERAL_OWNER,
            EphemeralKind::Ttl(ttl) => TTL_EPHEMERAL_OWNER_MARK | (ttl & MAX_TTL_MS),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Record;

    #[test]
    fn stat_is_68_bytes() {
        assert_eq!(Stat::default().to_bytes().len(), 68);
    }

    #[test]
    fn ephemeral_owner_markers() {
        assert_eq!(EphemeralKind::from_owner(0), EphemeralKind::Persistent);
        assert_eq!(
            EphemeralKind::from_owner(i64::MIN),
            EphemeralKind::Container
        );
        assert_eq!(
            EphemeralKind::from_owner(EphemeralKind::Ttl(5000).to_owner()),
            EphemeralKind::Ttl(5000)
        );
        assert_eq!(
            EphemeralKind::from_owner(0x1000_0000_0000_0001),
            EphemeralKind::Session(0x1000_0000_0000_0001)
        );
    }
}
