//! Input limits of the ingest API (product.md §3). One place, so every enforcer agrees.

/// Largest accepted request body, decompressed.
pub const MAX_BODY_BYTES: usize = 5 * 1024 * 1024;
/// Largest serialized profile in a profile write.
pub const MAX_PROFILE_BYTES: usize = 100 * 1024;
/// Most top-level properties on one event.
pub const MAX_EVENT_PROPERTIES: usize = 400;
/// Longest string anywhere in a document, in bytes.
pub const MAX_STRING_BYTES: usize = 100 * 1024;
/// Most items in one JSON array.
pub const MAX_ARRAY_ITEMS: usize = 4000;
/// Deepest nesting of objects and arrays inside `properties`.
pub const MAX_NESTING_DEPTH: usize = 10;
/// Events per bulk-create request.
pub const MAX_BULK_EVENTS: usize = 1000;
/// Profiles per bulk-import request.
pub const MAX_BULK_PROFILES: usize = 10_000;
/// `unique_id` length bounds, in characters.
pub const UNIQUE_ID_CHARS: std::ops::RangeInclusive<usize> = 1..=255;
/// Longest metric name, in characters (Klaviyo: "< 128").
pub const MAX_METRIC_NAME_CHARS: usize = 127;
/// Longest email address, in characters.
pub const MAX_EMAIL_CHARS: usize = 100;
/// Earliest accepted event time: 2000-01-01T00:00:00Z.
pub const MIN_EVENT_EPOCH: i64 = 946_684_800;
/// How far in the future an event time may be.
pub const MAX_EVENT_FUTURE: chrono::TimeDelta = chrono::TimeDelta::days(365);
/// Page sizes of the list endpoints: (default, maximum).
pub const PROFILE_PAGE: (usize, usize) = (20, 100);
pub const EVENT_PAGE: (usize, usize) = (200, 1000);
pub const METRIC_PAGE: (usize, usize) = (200, 200);
pub const IMPORT_ERROR_PAGE: (usize, usize) = (100, 100);
