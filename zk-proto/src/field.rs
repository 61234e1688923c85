//! How each field type of a record is read and written, and the `record!` macro
//! that turns a field list into a struct with a [`Record`] impl.

use bytes::{Bytes, BytesMut};

use crate::jute::{self, Reader, Record};
use crate::{ErrorCode, Perms, ProtoError};

/// A type that can be a field of a jute record.
pub(crate) trait Field: Sized {
    /// The fewest bytes one encoded value takes (bounds vector counts).
    const MIN_LEN: usize;
    fn write(&self, buf: &mut BytesMut);
    fn read(r: &mut Reader) -> Result<Self, ProtoError>;
}

impl Field for bool {
    const MIN_LEN: usize = 1;
    fn write(&self, buf: &mut BytesMut) {
        jute::write_bool(buf, *self);
    }
    fn read(r: &mut Reader) -> Result<Self, ProtoError> {
        r.read_bool()
    }
}

impl Field for i32 {
    const MIN_LEN: usize = 4;
    fn write(&self, buf: &mut BytesMut) {
        jute::write_i32(buf, *self);
    }
    fn read(r: &mut Reader) -> Result<Self, ProtoError> {
        r.read_i32()
    }
}

impl Field for i64 {
    const MIN_LEN: usize = 8;
    fn write(&self, buf: &mut BytesMut) {
        jute::write_i64(buf, *self);
    }
    fn read(r: &mut Reader) -> Result<Self, ProtoError> {
        r.read_i64()
    }
}

impl Field for String {
    const MIN_LEN: usize = 4;
    fn write(&self, buf: &mut BytesMut) {
        jute::write_string(buf, self);
    }
    fn read(r: &mut Reader) -> Result<Self, ProtoError> {
        r.read_string()
    }
}

impl Field for Bytes {
    const MIN_LEN: usize = 4;
    fn write(&self, buf: &mut BytesMut) {
        jute::write_buffer(buf, self);
    }
    fn read(r: &mut Reader) -> Result<Self, ProtoError> {
        r.read_buffer()
    }
}

impl Field for crate::Data {
    const MIN_LEN: usize = 4;
    fn write(&self, buf: &mut BytesMut) {
        match self.as_option() {
            Some(b) => jute::write_buffer(buf, b),
            None => jute::write_i32(buf, -1),
        }
    }
    fn read(r: &mut Reader) -> Result<Self, ProtoError> {
        Ok(r.read_nullable_buffer()?.into())
    }
}

impl Field for Perms {
    const MIN_LEN: usize = 4;
    fn write(&self, buf: &mut BytesMut) {
        jute::write_i32(buf, self.bits());
    }
    fn read(r: &mut Reader) -> Result<Self, ProtoError> {
        Ok(Perms::from_bits_retain(r.read_i32()?))
    }
}

impl Field for ErrorCode {
    const MIN_LEN: usize = 4;
    fn write(&self, buf: &mut BytesMut) {
        jute::write_i32(buf, self.code());
    }
    fn read(r: &mut Reader) -> Result<Self, ProtoError> {
        Ok(ErrorCode::from(r.read_i32()?))
    }
}

impl<T: Field> Field for Vec<T> {
    const MIN_LEN: usize = 4;
    fn write(&self, buf: &mut BytesMut) {
        jute::write_vec(buf, self, |b, v| v.write(b));
    }
    fn read(r: &mut Reader) -> Result<Self, ProtoError> {
        r.read_vec(T::MIN_LEN, T::read)
    }
}

/// Marks a record usable as a field (nested records such as Stat, Id, ACL).
pub(crate) trait NestedRecord: Record {
    const MIN_LEN: usize;
}

impl<R: NestedRecord> Field for R {
    const MIN_LEN: usize = <R as NestedRecord>::MIN_LEN;
    fn write(&self, buf: &mut BytesMut) {
        self.encode(buf);
    }
    fn read(r: &mut Reader) -> Result<Self, ProtoError> {
        R::decode(r)
    }
}

/// Declares a jute record: a plain struct whose fields are encoded in order.
///
/// Records are not `#[non_exhaustive]`: their layout is fixed by the wire
/// protocol, and both clients and servers build them with struct literals.
macro_rules! record {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $( $(#[$fmeta:meta])* pub $field:ident : $ty:ty, )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Default)]
        #[cfg_attr(any(test, feature = "arbitrary"), derive(arbitrary::Arbitrary))]
        pub struct $name {
            $( $(#[$fmeta])* pub $field : $ty, )*
        }

        impl $crate::jute::Record for $name {
            #[allow(unused_variables)]
            fn encode(&self, buf: &mut bytes::BytesMut) {
                $( $crate::field::Field::write(&self.$field, buf); )*
            }

            #[allow(unused_variables)]
            fn decode(r: &mut $crate::jute::Reader) -> Result<Self, $crate::ProtoError> {
                Ok($name {
                    $( $field: <$ty as $crate::field::Field>::read(r)?, )*
                })
            }
        }
    };
}

pub(crate) use record;

/// The `with` function for `Bytes` fields under `arbitrary`.
#[cfg(any(test, feature = "arbitrary"))]
pub(crate) fn arb_bytes(u: &mut arbitrary::Unstructured<'_>) -> arbitrary::Result<Bytes> {
    Ok(Bytes::from(<Vec<u8> as arbitrary::Arbitrary>::arbitrary(
        u,
    )?))
}

/// The `with` function for [`Data`](crate::Data) fields under `arbitrary`:
/// null about one time in eight.
#[cfg(any(test, feature = "arbitrary"))]
pub(crate) fn arb_data(u: &mut arbitrary::Unstructured<'_>) -> arbitrary::Result<crate::Data> {
    if u.ratio(1u8, 8u8)? {
        return Ok(crate::Data::null());
    }
    Ok(arb_bytes(u)?.into())
}
