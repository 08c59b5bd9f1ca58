//! Newtype ids, so a pair name cannot be passed where a venue name is expected: marks are keyed
//! by `(VenueId, PairId)` and two venues quoting one pair never overwrite each other.

use std::fmt;

macro_rules! string_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            /// Wraps a configured name.
            pub fn new(name: impl Into<String>) -> Self {
                Self(name.into())
            }

            /// The name, as configured.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                Self(s.to_string())
            }
        }
    };
}

string_id!(
    /// A configured trading pair (`BTC-USD`).
    PairId
);
string_id!(
    /// A configured venue (paper exchange), e.g. `sim-a`.
    VenueId
);
