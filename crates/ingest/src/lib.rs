//! Parsing and validation of Klaviyo-shaped JSON:API request documents.
//!
//! Input is a `serde_json::Value` the API decoded; output is a model write ready for the
//! store, or an [`InputError`] that names the offending field by JSON pointer. Every limit
//! of product.md §3 is checked here, before anything is stored, so a request is stored
//! whole or not at all.

mod error;
mod event;
mod fields;
mod json;
mod profile;

pub use error::InputError;
pub use event::{parse_bulk_create_events, parse_create_event};
pub use fields::{normalize_email, normalize_phone, parse_datetime};
pub use profile::{NullMeans, ProfileDocument, parse_bulk_import_profiles, parse_profile_document};
