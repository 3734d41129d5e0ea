//! One definition for the API's enums that must not fail on values this SDK does not know yet.

/// Declares an enum of the values the API is known to send, plus `Unknown(String)` for any
/// other value, kept as sent: it decodes from a JSON string, encodes back to the same string,
/// and has `as_str` and `Display`. `compare` decides how a received value matches a listed
/// one (`str::eq`, or `str::eq_ignore_ascii_case` for servers that vary the case); each value
/// may have aliases after `|`, which decode to it but are never sent.
macro_rules! open_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident, compare $compare:path {
            $(
                $(#[$variant_meta:meta])*
                $variant:ident = $wire:literal $(| $alias:literal)*,
            )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash)]
        pub enum $name {
            $(
                $(#[$variant_meta])*
                $variant,
            )+
            /// A value this SDK does not know, kept as sent.
            Unknown(String),
        }

        impl $name {
            /// The value as the API writes it (an unknown one as it was received).
            pub fn as_str(&self) -> &str {
                match self {
                    $(Self::$variant => $wire,)+
                    Self::Unknown(value) => value,
                }
            }

            /// The listed value `value` stands for, else `Unknown(value)`.
            fn from_wire(value: String) -> Self {
                let compare: fn(&str, &str) -> bool = $compare;
                $(
                    if compare(&value, $wire) $(|| compare(&value, $alias))* {
                        return Self::$variant;
                    }
                )+
                Self::Unknown(value)
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                String::deserialize(d).map(Self::from_wire)
            }
        }
    };
}

pub(crate) use open_enum;
