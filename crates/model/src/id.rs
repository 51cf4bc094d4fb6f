//! Identifiers: 26-character Crockford base32 ULIDs, wrapped per kind so they cannot be mixed.

use std::fmt;

const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// Renders 48 bits of milliseconds and 80 bits of randomness as a ULID string.
///
/// The caller supplies both, so this stays pure; the store feeds it the clock and an RNG.
pub fn ulid_string(millis: u64, random: u128) -> String {
    let value: u128 = (u128::from(millis & 0xFFFF_FFFF_FFFF) << 80) | (random & ((1u128 << 80) - 1));
    let mut out = [0u8; 26];
    for (i, slot) in out.iter_mut().enumerate() {
        let shift = 125 - 5 * i as u32;
        *slot = CROCKFORD[((value >> shift) & 0x1F) as usize];
    }
    String::from_utf8(out.to_vec()).expect("crockford alphabet is ascii")
}

/// True when `s` has the shape of an id Wharf hands out (26 Crockford base32 characters).
pub fn is_ulid_shaped(s: &str) -> bool {
    s.len() == 26 && s.bytes().all(|b| CROCKFORD.contains(&b.to_ascii_uppercase()))
}

/// Formats the 128 bits of a ULID as a UUID string, for the event `uuid` attribute.
pub fn ulid_as_uuid(ulid: &str) -> String {
    let mut value: u128 = 0;
    for b in ulid.bytes() {
        let digit = CROCKFORD.iter().position(|c| *c == b.to_ascii_uppercase()).unwrap_or(0);
        value = (value << 5) | digit as u128;
    }
    let hex = format!("{value:032x}");
    format!("{}-{}-{}-{}-{}", &hex[0..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..32])
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub String);

        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0)
            }
        }

        impl From<String> for $name {
            fn from(s: String) -> Self {
                Self(s)
            }
        }
    };
}

id_type!(
    /// A tenant.
    AccountId
);
id_type!(
    /// A private API key's public identifier (never the secret).
    KeyId
);
id_type!(
    /// A customer profile.
    ProfileId
);
id_type!(
    /// An event type: (name, integration).
    MetricId
);
id_type!(
    /// One stored event.
    EventId
);
id_type!(
    /// A profile bulk-import job.
    ImportJobId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ulid_has_26_chars_and_sorts_by_time() {
        let a = ulid_string(1_700_000_000_000, 0xFFFF_FFFF);
        let b = ulid_string(1_700_000_000_001, 0);
        assert_eq!(a.len(), 26);
        assert!(is_ulid_shaped(&a));
        assert!(a < b, "{a} should sort before {b}");
    }

    #[test]
    fn uuid_rendering_is_stable() {
        let u = ulid_as_uuid("01ARZ3NDEKTSV4RRFFQ69G5FAV");
        assert_eq!(u, "01563e3a-b5d3-d676-4c61-efb99302bd5b");
    }
}
