//! Authentication schemes: what an auth packet adds to a connection, and how
//! an ACL entry's id matches a connection's ids.
//!
//! Mirrors ZooKeeper 3.8's default providers (`server/auth/DigestAuthenticationProvider.java`,
//! `server/auth/IPAuthenticationProvider.java`): `digest` and `ip` are the
//! registered schemes; `world:anyone` and `auth` are handled by the ACL code;
//! a `super` id (from a digest equal to the configured super digest) passes
//! every ACL check.

use base64::Engine as _;
use sha1::{Digest as _, Sha1};
use zk_proto::{ErrorCode, Id};

use super::java_hash::java_string_hash;

/// The `digest` scheme's name.
pub const DIGEST: &str = "digest";
/// The `ip` scheme's name.
pub const IP: &str = "ip";
/// The scheme of the id a super user gets; it passes every ACL check.
pub const SUPER: &str = "super";

/// The digest of `"user:password"` as `DigestAuthenticationProvider.generateDigest`
/// computes it: `user:` + base64(sha1(whole string)). Without a colon the whole
/// string is both the user and the hashed text.
pub fn digest(user_password: &str) -> String {
    let user = user_password.split(':').next().unwrap_or("");
    let hash = Sha1::digest(user_password.as_bytes());
    format!(
        "{user}:{}",
        base64::engine::general_purpose::STANDARD.encode(hash)
    )
}

/// The digest scheme's id for `"user:password"`: `Id("digest", user:base64(sha1(..)))`.
pub fn digest_id(user_password: &str) -> Id {
    Id::new(DIGEST, digest(user_password))
}

/// An auth packet → the id to add to the connection, or AUTHFAILED for an
/// unknown scheme. Only `digest` is accepted here; use [`authenticate_with`] for
/// `ip` (needs the peer address) and the super digest.
pub fn authenticate(scheme: &str, auth: &[u8]) -> Result<Id, ErrorCode> {
    let ids = authenticate_with(scheme, auth, &AuthConfig::default())?;
    ids.into_iter().last().ok_or(ErrorCode::AuthFailed)
}

/// Server-wide settings the providers need.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct AuthConfig {
    /// The peer's IPv4 address as text (for an `ip` auth packet), if known.
    pub peer_ip: Option<String>,
    /// `zookeeper.DigestAuthenticationProvider.superDigest`: `super:<base64 sha1>`.
    pub super_digest: Option<String>,
}

impl AuthConfig {
    /// Settings with the given peer address and super digest.
    pub fn new(peer_ip: Option<String>, super_digest: Option<String>) -> Self {
        AuthConfig {
            peer_ip,
            super_digest,
        }
    }
}

/// An auth packet → every id it adds, in the order ZooKeeper adds them
/// (`super:""` first when the digest equals the super digest). The connection
/// appends each id it does not hold yet. Unknown scheme → AUTHFAILED.
pub fn authenticate_with(
    scheme: &str,
    auth: &[u8],
    config: &AuthConfig,
) -> Result<Vec<Id>, ErrorCode> {
    match scheme {
        DIGEST => {
            let text = String::from_utf8_lossy(auth);
            let d = digest(&text);
            let mut ids = Vec::with_capacity(2);
            if config.super_digest.as_deref() == Some(d.as_str()) {
                ids.push(Id::new(SUPER, ""));
            }
            ids.push(Id::new(DIGEST, d));
            Ok(ids)
        }
        IP => match &config.peer_ip {
            Some(ip) => Ok(vec![Id::new(IP, ip.clone())]),
            None => Err(ErrorCode::AuthFailed),
        },
        _ => Err(ErrorCode::AuthFailed),
    }
}

/// The id every connection gets at connect time: `ip:<peer address>`.
pub fn ip_id(peer_ip: &str) -> Id {
    Id::new(IP, peer_ip)
}

/// A connection's ids in the order ZooKeeper iterates them: `ServerCnxn`
/// keeps them in a `ConcurrentHashMap`-backed set, so whoAmI and the `auth`
/// ACL expansion see them by hash bucket (jute `Id.hashCode`), then in
/// insertion order. (Bins are not reordered by resizes here; a connection
/// with 12 or more ids may differ.)
pub fn java_order(ids: &[Id]) -> Vec<Id> {
    let mut cap: usize = 16;
    while ids.len() >= cap / 4 * 3 {
        cap *= 2;
    }
    let bucket = |id: &Id| {
        let h = 37_i32
            .wrapping_mul(
                37_i32
                    .wrapping_mul(17)
                    .wrapping_add(java_string_hash(&id.scheme)),
            )
            .wrapping_add(java_string_hash(&id.id)) as u32;
        ((h ^ (h >> 16)) & 0x7fff_ffff) as usize & (cap - 1)
    };
    let mut out = ids.to_vec();
    out.sort_by_key(bucket);
    out
}

/// Whether `scheme` has a registered provider (ZooKeeper's `ProviderRegistry`).
pub(crate) fn is_known_scheme(scheme: &str) -> bool {
    scheme == DIGEST || scheme == IP
}

/// Whether the provider of `scheme` counts as "authenticated" for the `auth`
/// ACL scheme (`isAuthenticated()`: digest yes, ip no).
pub(crate) fn is_authenticated_scheme(scheme: &str) -> bool {
    scheme == DIGEST
}

/// The provider's `isValid(id)` for an ACL entry of a known scheme.
pub(crate) fn is_valid_id(scheme: &str, id: &str) -> bool {
    match scheme {
        DIGEST => java_split(id, ':').len() == 2,
        IP => parse_ip_expr(id).is_some(),
        _ => false,
    }
}

/// The provider's `matches(authId, aclId)`.
pub(crate) fn matches(scheme: &str, auth_id: &str, acl_id: &str) -> bool {
    match scheme {
        DIGEST => auth_id == acl_id,
        IP => ip_matches(auth_id, acl_id),
        _ => false,
    }
}

/// `AuthenticationProvider.getUserName`, for whoAmI: digest → the user part,
/// ip → the address, unknown schemes → "".
pub(crate) fn user_name(scheme: &str, id: &str) -> String {
    match scheme {
        DIGEST => java_split(id, ':').first().cloned().unwrap_or_default(),
        IP => id.to_owned(),
        _ => String::new(),
    }
}

/// Java's `String.split(regex)` for a single literal character: trailing empty
/// strings are removed; a string without the separator gives itself.
fn java_split(s: &str, sep: char) -> Vec<String> {
    let mut parts: Vec<String> = s.split(sep).map(str::to_owned).collect();
    while parts.len() > 1 && parts.last().is_some_and(String::is_empty) {
        parts.pop();
    }
    // "".split(":") is [""], and ":".split(":") is [] in Java.
    if parts.len() == 1 && parts.first().is_some_and(String::is_empty) && !s.is_empty() {
        parts.clear();
    }
    parts
}

/// `IPAuthenticationProvider.v4addr2Bytes` (3.8 knows only IPv4).
fn parse_v4(addr: &str) -> Option<[u8; 4]> {
    let parts: Vec<&str> = addr.split('.').collect();
    if parts.len() != 4 {
        return None;
    }
    let mut out = [0_u8; 4];
    for (slot, part) in out.iter_mut().zip(parts) {
        let v: i32 = java_parse_int(part)?;
        *slot = u8::try_from(v).ok()?;
    }
    Some(out)
}

/// Java's `Integer.parseInt`: an optional sign, then ASCII digits.
fn java_parse_int(s: &str) -> Option<i32> {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// An ACL ip expression `a.b.c.d[/bits]` → (address, mask bits).
fn parse_ip_expr(expr: &str) -> Option<([u8; 4], u32)> {
    let (addr, bits) = match expr.split_once('/') {
        Some((a, b)) => (a, Some(b)),
        None => (expr, None),
    };
    let addr = parse_v4(addr)?;
    let bits = match bits {
        Some(b) => u32::try_from(java_parse_int(b)?)
            .ok()
            .filter(|b| *b <= 32)?,
        None => 32,
    };
    Some((addr, bits))
}

fn mask(addr: [u8; 4], bits: u32) -> u32 {
    let v = u32::from_be_bytes(addr);
    if bits == 0 {
        0
    } else {
        v & (u32::MAX << (32 - bits))
    }
}

/// `IPAuthenticationProvider.matches`: the peer address against `a.b.c.d[/bits]`.
fn ip_matches(peer: &str, acl_expr: &str) -> bool {
    let Some((acl_addr, bits)) = parse_ip_expr(acl_expr) else {
        return false;
    };
    let Some(peer) = parse_v4(peer) else {
        return false;
    };
    mask(acl_addr, bits) == mask(peer, bits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_matches_zookeeper() {
        // DigestAuthenticationProvider.main("super:test") prints this value.
        assert_eq!(digest("super:test"), "super:D/InIHSb7yEEbrWz8b9l71RjZJU=");
        assert_eq!(digest_id("u:p").scheme, "digest");
        assert!(digest("nocolon").starts_with("nocolon:"));
    }

    #[test]
    fn authenticate_schemes() {
        assert_eq!(authenticate("digest", b"u:p").unwrap(), digest_id("u:p"));
        assert_eq!(authenticate("bogus", b"x"), Err(ErrorCode::AuthFailed));
        let cfg = AuthConfig::new(Some("127.0.0.1".into()), Some(digest("super:test")));
        let ids = authenticate_with("digest", b"super:test", &cfg).unwrap();
        assert_eq!(ids.first().unwrap(), &Id::new("super", ""));
        assert_eq!(
            authenticate_with("ip", b"", &cfg).unwrap(),
            vec![Id::new("ip", "127.0.0.1")]
        );
    }

    #[test]
    fn digest_validity_follows_java_split() {
        assert!(is_valid_id("digest", "a:b"));
        assert!(is_valid_id("digest", ":b"));
        assert!(is_valid_id("digest", "a:b:"));
        assert!(!is_valid_id("digest", "a:"));
        assert!(!is_valid_id("digest", "a"));
        assert!(!is_valid_id("digest", "a:b:c"));
        assert!(!is_valid_id("digest", ""));
        assert_eq!(user_name("digest", "bob:xyz"), "bob");
    }

    #[test]
    fn ip_masks() {
        assert!(is_valid_id("ip", "10.0.0.0/8"));
        assert!(is_valid_id("ip", "127.0.0.1"));
        assert!(!is_valid_id("ip", "10.0.0.0/33"));
        assert!(!is_valid_id("ip", "10.0.0/8"));
        assert!(!is_valid_id("ip", "::1"));
        assert!(!is_valid_id("ip", "256.0.0.1"));
        assert!(matches("ip", "10.1.2.3", "10.0.0.0/8"));
        assert!(!matches("ip", "11.1.2.3", "10.0.0.0/8"));
        assert!(matches("ip", "11.1.2.3", "10.0.0.0/0"));
        assert!(matches("ip", "127.0.0.1", "127.0.0.1"));
        assert!(!matches("ip", "127.0.0.2", "127.0.0.1"));
        assert!(matches("ip", "127.0.0.1", "127.0.0.0/31"));
    }
}
