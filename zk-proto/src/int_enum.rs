//! A macro for the protocol's `int`-valued enums.

/// Declares an `i32`-backed enum with `code()`, `TryFrom<i32>` and `Display`.
macro_rules! int_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident : $what:literal {
            $( $(#[$vmeta:meta])* $variant:ident = $value:literal => $text:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[cfg_attr(any(test, feature = "arbitrary"), derive(arbitrary::Arbitrary))]
        #[non_exhaustive]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The value's wire number.
            pub fn code(self) -> i32 {
                match self {
                    $( $name::$variant => $value, )+
                }
            }

            /// The name ZooKeeper's Java sources use for it.
            pub fn name(self) -> &'static str {
                match self {
                    $( $name::$variant => $text, )+
                }
            }
        }

        impl TryFrom<i32> for $name {
            type Error = $crate::ProtoError;

            fn try_from(value: i32) -> Result<Self, $crate::ProtoError> {
                match value {
                    $( $value => Ok($name::$variant), )+
                    _ => Err($crate::ProtoError::InvalidEnum { what: $what, value }),
                }
            }
        }

        impl From<$name> for i32 {
            fn from(v: $name) -> i32 {
                v.code()
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.name())
            }
        }
    };
}

pub(crate) use int_enum;
