//! Field-level parsers shared by every write path (API now, CSV import later).

use chrono::{DateTime, NaiveDateTime, Utc};
use wharf_model::{Timestamp, limits};

/// Lower-cases and trims an email address, or says why it is not one.
///
/// Deliberately simple: one `@`, a non-empty local part, a dotted domain, no whitespace.
pub fn normalize_email(raw: &str) -> Result<String, String> {
    let email = raw.trim().to_lowercase();
    if email.chars().count() > limits::MAX_EMAIL_CHARS {
        return Err(format!("email must be at most {} characters", limits::MAX_EMAIL_CHARS));
    }
    let valid = match email.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.contains('@')
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !domain.contains("..")
                && !email.chars().any(|c| c.is_whitespace() || c.is_control())
        }
        None => false,
    };
    if valid { Ok(email) } else { Err(format!("'{raw}' is not a valid email address")) }
}

/// Normalises a phone number to E.164 (`+` then 8–15 digits), allowing the usual
/// separators (spaces, dashes, dots, parentheses) in the input.
pub fn normalize_phone(raw: &str) -> Result<String, String> {
    let trimmed = raw.trim();
    let Some(rest) = trimmed.strip_prefix('+') else {
        return Err(format!("'{raw}' is not a valid phone number: use E.164, e.g. +15005550006"));
    };
    let mut digits = String::with_capacity(rest.len() + 1);
    digits.push('+');
    for c in rest.chars() {
        match c {
            '0'..='9' => digits.push(c),
            ' ' | '-' | '.' | '(' | ')' => {}
            _ => {
                return Err(format!("'{raw}' is not a valid phone number: use E.164, e.g. +15005550006"));
            }
        }
    }
    let n = digits.len() - 1;
    if !(8..=15).contains(&n) || digits.as_bytes()[1] == b'0' {
        return Err(format!("'{raw}' is not a valid phone number: use E.164, e.g. +15005550006"));
    }
    Ok(digits)
}

/// Parses an ISO 8601 / RFC 3339 date-time; without an offset it is UTC.
/// Accepts what the official SDK sends (`+00:00`, microseconds) and `Z`.
pub fn parse_datetime(raw: &str) -> Result<Timestamp, String> {
    let s = raw.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc));
    }
    for fmt in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, fmt) {
            return Ok(t.and_utc());
        }
    }
    if let Ok(d) = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return Ok(d.and_hms_opt(0, 0, 0).expect("midnight exists").and_utc());
    }
    Err(format!("'{raw}' is not an ISO 8601 date-time, e.g. 2024-05-10T13:34:08+00:00"))
}

/// Truncates to whole seconds, the precision events are stored at.
pub(crate) fn to_second(t: Timestamp) -> Timestamp {
    DateTime::from_timestamp(t.timestamp(), 0).expect("in range")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn emails() {
        assert_eq!(normalize_email(" Sarah.Mason@Klaviyo-Demo.com ").unwrap(), "sarah.mason@klaviyo-demo.com");
        for bad in ["", "no-at", "a@b", "a@@b.co", "@b.co", "a b@c.co", "a@.co", "a@b.co."] {
            assert!(normalize_email(bad).is_err(), "{bad:?} should be refused");
        }
        assert!(normalize_email(&format!("{}@b.co", "a".repeat(100))).is_err());
    }

    #[test]
    fn phones() {
        assert_eq!(normalize_phone("+1 (500) 555-0006").unwrap(), "+15005550006");
        for bad in ["15005550006", "+0123456789", "+12", "+1500555000612345", "+1-500-CALL", ""] {
            assert!(normalize_phone(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn datetimes_as_the_sdk_sends_them() {
        let want = chrono::DateTime::parse_from_rfc3339("2022-11-08T00:00:00Z").unwrap();
        assert_eq!(parse_datetime("2022-11-08T00:00:00+00:00").unwrap(), want);
        assert_eq!(parse_datetime("2022-11-08T00:00:00Z").unwrap(), want);
        assert_eq!(parse_datetime("2022-11-08T00:00:00").unwrap(), want);
        assert_eq!(parse_datetime("2022-11-08T02:00:00+02:00").unwrap(), want);
        assert_eq!(to_second(parse_datetime("2022-11-08T00:00:00.123456+00:00").unwrap()), want);
        assert!(parse_datetime("yesterday").is_err());
        assert!(parse_datetime("2022-13-40T00:00:00Z").is_err());
    }

    proptest! {
        #[test]
        fn email_normalisation_is_idempotent(s in "[a-zA-Z0-9._%+-]{1,20}@[a-zA-Z0-9-]{1,20}\\.[a-zA-Z]{2,6}") {
            let once = normalize_email(&s).unwrap();
            prop_assert_eq!(normalize_email(&once).unwrap(), once.clone());
        }

        #[test]
        fn phone_parser_never_panics_and_output_is_e164(s in "\\PC{0,24}") {
            if let Ok(p) = normalize_phone(&s) {
                prop_assert!(p.starts_with('+'));
                prop_assert!(p[1..].bytes().all(|b| b.is_ascii_digit()));
                prop_assert!((9..=16).contains(&p.len()));
            }
        }

        #[test]
        fn datetime_parser_never_panics(s in "\\PC{0,40}") {
            let _ = parse_datetime(&s);
        }
    }
}
