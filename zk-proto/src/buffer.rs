//! [`Data`]: a node's data as the wire carries it, null included.

use std::fmt;
use std::ops::Deref;

use bytes::Bytes;

/// A jute `buffer` that may be null: the data of create, setData and
/// getData (and their multi forms).
///
/// ZooKeeper keeps a node created with null data as null: getData answers
/// a buffer of length −1, not an empty one. `Data` carries that
/// distinction; everywhere else it behaves as its bytes (null reads as
/// empty through [`Deref`], [`Data::as_bytes`] and [`Data::to_bytes`]).
/// Build it with `.into()` from `Bytes`, `Vec<u8>`, `&'static [u8]`,
/// `&'static str` or `String`, or as [`Data::null`]. The default is empty,
/// not null.
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct Data(Option<Bytes>);

impl Data {
    /// Null data (encoded as length −1).
    pub const fn null() -> Self {
        Data(None)
    }

    /// Whether this is null (as opposed to empty).
    pub fn is_null(&self) -> bool {
        self.0.is_none()
    }

    /// The bytes; null is empty.
    pub fn as_bytes(&self) -> &[u8] {
        self.0.as_deref().unwrap_or_default()
    }

    /// The bytes as `Bytes` (a cheap clone); null is empty.
    pub fn to_bytes(&self) -> Bytes {
        self.0.clone().unwrap_or_default()
    }

    /// The bytes as `Bytes`; null is empty.
    pub fn into_bytes(self) -> Bytes {
        self.0.unwrap_or_default()
    }

    /// The bytes, or `None` for null.
    pub fn as_option(&self) -> Option<&Bytes> {
        self.0.as_ref()
    }

    /// The bytes, or `None` for null.
    pub fn into_option(self) -> Option<Bytes> {
        self.0
    }
}

impl fmt::Debug for Data {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Some(b) => fmt::Debug::fmt(b, f),
            None => f.write_str("null"),
        }
    }
}

impl Deref for Data {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl AsRef<[u8]> for Data {
    fn as_ref(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl From<Bytes> for Data {
    fn from(b: Bytes) -> Self {
        Data(Some(b))
    }
}

impl From<Option<Bytes>> for Data {
    fn from(b: Option<Bytes>) -> Self {
        Data(b)
    }
}

impl From<Vec<u8>> for Data {
    fn from(b: Vec<u8>) -> Self {
        Data(Some(b.into()))
    }
}

impl From<&'static [u8]> for Data {
    fn from(b: &'static [u8]) -> Self {
        Data(Some(Bytes::from_static(b)))
    }
}

impl<const N: usize> From<&'static [u8; N]> for Data {
    fn from(b: &'static [u8; N]) -> Self {
        Data(Some(Bytes::from_static(b)))
    }
}

impl From<&'static str> for Data {
    fn from(s: &'static str) -> Self {
        Data(Some(Bytes::from_static(s.as_bytes())))
    }
}

impl From<String> for Data {
    fn from(s: String) -> Self {
        Data(Some(s.into()))
    }
}

impl From<Data> for Bytes {
    /// Null becomes empty.
    fn from(d: Data) -> Self {
        d.into_bytes()
    }
}

impl PartialEq<[u8]> for Data {
    /// Null equals no byte string (not even the empty one).
    fn eq(&self, other: &[u8]) -> bool {
        self.0.as_deref() == Some(other)
    }
}

impl PartialEq<&[u8]> for Data {
    fn eq(&self, other: &&[u8]) -> bool {
        self.0.as_deref() == Some(*other)
    }
}

impl<const N: usize> PartialEq<&[u8; N]> for Data {
    fn eq(&self, other: &&[u8; N]) -> bool {
        self.0.as_deref() == Some(&other[..])
    }
}

impl PartialEq<Bytes> for Data {
    fn eq(&self, other: &Bytes) -> bool {
        self.0.as_ref() == Some(other)
    }
}

impl PartialEq<Vec<u8>> for Data {
    fn eq(&self, other: &Vec<u8>) -> bool {
        self.0.as_deref() == Some(other.as_slice())
    }
}

impl PartialEq<&str> for Data {
    fn eq(&self, other: &&str) -> bool {
        self.0.as_deref() == Some(other.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jute::{Reader, Record};
    use crate::GetDataResponse;

    #[test]
    fn null_and_empty_stay_distinct_on_the_wire() {
        for (data, len) in [(Data::null(), -1i32), (Data::from(""), 0)] {
            let resp = GetDataResponse {
                data: data.clone(),
                stat: Default::default(),
            };
            let bytes = resp.to_bytes();
            assert_eq!(bytes[..4], len.to_be_bytes());
            let back = GetDataResponse::decode(&mut Reader::new(bytes)).unwrap();
            assert_eq!(back.data, data);
            assert_eq!(back.data.is_null(), len == -1);
            assert!(back.data.is_empty());
        }
        assert_ne!(Data::null(), Data::from(""));
        assert_eq!(Data::from("ab"), "ab");
        assert_eq!(Data::null().into_bytes(), Bytes::new());
    }
}
