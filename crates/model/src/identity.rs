//! Identity resolution: which stored profile a write refers to.
//!
//! The rule (documented in docs/api-compatibility.md):
//! 1. With an `id`, the write targets that profile; an unknown id is an error.
//! 2. Otherwise the first of `email`, `phone_number`, `external_id` (in that order) that
//!    matches a stored profile picks it.
//! 3. Otherwise the write creates a profile.
//!
//! Any other identifier in the write that already belongs to a *different* profile is a
//! conflict. The caller chooses what a conflict means: profile endpoints answer 409; event
//! writes keep the event and leave that identifier where it is.

use crate::ProfileId;

/// The identifier fields, in resolution priority order after `id`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IdentifierField {
    Id,
    Email,
    PhoneNumber,
    ExternalId,
}

impl IdentifierField {
    pub fn name(self) -> &'static str {
        match self {
            IdentifierField::Id => "id",
            IdentifierField::Email => "email",
            IdentifierField::PhoneNumber => "phone_number",
            IdentifierField::ExternalId => "external_id",
        }
    }
}

/// What the store found for each identifier the write carries.
/// `None` means the write did not carry that identifier; `Some(None)` that nothing matched.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct IdentityMatches {
    pub id: Option<Option<ProfileId>>,
    pub email: Option<Option<ProfileId>>,
    pub phone_number: Option<Option<ProfileId>>,
    pub external_id: Option<Option<ProfileId>>,
}

/// The outcome of resolution.
#[derive(Clone, Debug, PartialEq)]
pub struct Resolution {
    /// The profile the write applies to; `None` creates one.
    pub target: Option<ProfileId>,
    /// Identifiers the write carries that belong to another profile.
    pub conflicts: Vec<(IdentifierField, ProfileId)>,
}

/// Resolution cannot pick a profile.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum ResolveError {
    #[error("no profile has id {0}")]
    UnknownId(String),
    #[error("the profile carries no identifier")]
    NoIdentifier,
}

/// Applies the rule above to what the store found.
pub fn resolve(requested_id: Option<&str>, m: &IdentityMatches) -> Result<Resolution, ResolveError> {
    let ordered = [
        (IdentifierField::Email, &m.email),
        (IdentifierField::PhoneNumber, &m.phone_number),
        (IdentifierField::ExternalId, &m.external_id),
    ];
    let target = match &m.id {
        Some(Some(found)) => Some(found.clone()),
        Some(None) => {
            return Err(ResolveError::UnknownId(requested_id.unwrap_or_default().to_string()));
        }
        None => {
            if ordered.iter().all(|(_, found)| found.is_none()) {
                return Err(ResolveError::NoIdentifier);
            }
            ordered.iter().find_map(|(_, found)| (*found).clone().flatten())
        }
    };
    let conflicts = ordered
        .iter()
        .filter_map(|(field, found)| match (found, &target) {
            (Some(Some(other)), Some(t)) if other != t => Some((*field, other.clone())),
            _ => None,
        })
        .collect();
    Ok(Resolution { target, conflicts })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn p(s: &str) -> ProfileId {
        ProfileId(s.into())
    }

    #[test]
    fn email_wins_over_phone_and_phone_owner_is_a_conflict() {
        let m = IdentityMatches { email: Some(Some(p("A"))), phone_number: Some(Some(p("B"))), ..Default::default() };
        let r = resolve(None, &m).unwrap();
        assert_eq!(r.target, Some(p("A")));
        assert_eq!(r.conflicts, vec![(IdentifierField::PhoneNumber, p("B"))]);
    }

    #[test]
    fn unmatched_email_falls_through_to_phone() {
        let m = IdentityMatches { email: Some(None), phone_number: Some(Some(p("B"))), ..Default::default() };
        assert_eq!(resolve(None, &m).unwrap(), Resolution { target: Some(p("B")), conflicts: vec![] });
    }

    #[test]
    fn nothing_matched_creates() {
        let m = IdentityMatches { email: Some(None), external_id: Some(None), ..Default::default() };
        assert_eq!(resolve(None, &m).unwrap(), Resolution { target: None, conflicts: vec![] });
    }

    #[test]
    fn unknown_id_and_no_identifier_are_errors() {
        let m = IdentityMatches { id: Some(None), email: Some(Some(p("A"))), ..Default::default() };
        assert_eq!(resolve(Some("X"), &m), Err(ResolveError::UnknownId("X".into())));
        assert_eq!(resolve(None, &IdentityMatches::default()), Err(ResolveError::NoIdentifier));
    }

    fn found() -> impl Strategy<Value = Option<Option<ProfileId>>> {
        prop_oneof![Just(None), Just(Some(None)), "[ABC]".prop_map(|s| Some(Some(ProfileId(s))))]
    }

    proptest! {
        #[test]
        fn resolution_is_consistent(email in found(), phone in found(), ext in found()) {
            let m = IdentityMatches { id: None, email: email.clone(), phone_number: phone.clone(), external_id: ext.clone() };
            match resolve(None, &m) {
                Err(ResolveError::NoIdentifier) => prop_assert!(email.is_none() && phone.is_none() && ext.is_none()),
                Err(e) => prop_assert!(false, "unexpected {e}"),
                Ok(r) => {
                    // The target is the first match in priority order.
                    let first = [&email, &phone, &ext].into_iter().find_map(|f| f.clone().flatten());
                    prop_assert_eq!(&r.target, &first);
                    // Every conflict names a different profile than the target, and every
                    // match that differs from the target is reported.
                    for (_, other) in &r.conflicts {
                        prop_assert!(Some(other) != r.target.as_ref());
                    }
                    let differing = [&email, &phone, &ext].into_iter()
                        .filter(|f| matches!(f, Some(Some(x)) if Some(x) != r.target.as_ref())).count();
                    prop_assert_eq!(r.conflicts.len(), differing);
                }
            }
        }
    }
}
