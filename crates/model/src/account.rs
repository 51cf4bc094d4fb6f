//! Tenants and their private API keys.

use crate::{AccountId, KeyId, Timestamp};

/// A tenant. Everything else in Wharf belongs to exactly one account.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Account {
    pub id: AccountId,
    pub name: String,
    pub created: Timestamp,
}

/// What may be shown about a private API key: never the secret, only its id and a prefix.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct ApiKeyInfo {
    pub id: KeyId,
    pub account_id: AccountId,
    pub label: String,
    /// The first characters of the secret, so a person can tell keys apart.
    pub prefix: String,
    pub created: Timestamp,
    pub revoked: Option<Timestamp>,
}
