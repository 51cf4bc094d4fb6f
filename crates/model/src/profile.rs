//! Customer profiles and the writes that create or change them.

use serde_json::{Map, Value};

use crate::{Patch, ProfileId, Timestamp};

/// A profile's postal and geographic location. Every field is optional.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Location {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address1: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address2: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub zip: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latitude: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub longitude: Option<f64>,
}

impl Location {
    pub fn is_empty(&self) -> bool {
        *self == Location::default()
    }
}

/// A stored profile, as the store returns it.
#[derive(Clone, Debug, PartialEq)]
pub struct Profile {
    pub id: ProfileId,
    pub email: Option<String>,
    pub phone_number: Option<String>,
    pub external_id: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub organization: Option<String>,
    pub title: Option<String>,
    pub image: Option<String>,
    pub locale: Option<String>,
    pub location: Location,
    pub properties: Map<String, Value>,
    pub created: Timestamp,
    pub updated: Timestamp,
    pub last_event_date: Option<Timestamp>,
}

/// The identifiers a write may carry; identity resolution works on these.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ProfileIdentifiers {
    pub id: Option<ProfileId>,
    /// Lower-cased and trimmed by the parser.
    pub email: Option<String>,
    /// E.164, normalised by the parser.
    pub phone_number: Option<String>,
    pub external_id: Option<String>,
}

impl ProfileIdentifiers {
    pub fn is_empty(&self) -> bool {
        self.id.is_none() && self.email.is_none() && self.phone_number.is_none() && self.external_id.is_none()
    }
}

/// Field changes of a write. Identifiers are patches too: `null` clears one.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ProfileChanges {
    pub email: Patch<String>,
    pub phone_number: Patch<String>,
    pub external_id: Patch<String>,
    pub first_name: Patch<String>,
    pub last_name: Patch<String>,
    pub organization: Patch<String>,
    pub title: Patch<String>,
    pub image: Patch<String>,
    pub locale: Patch<String>,
    /// Per-field location changes; `location: null` clears every field.
    pub location: LocationChanges,
    /// Per-key property changes: `Set` merges the key, `Clear` removes it.
    pub properties: Vec<(String, Patch<Value>)>,
    /// `properties: null`: drop every custom property before applying `properties`.
    pub clear_properties: bool,
}

/// Per-field changes to a profile's location.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LocationChanges {
    pub address1: Patch<String>,
    pub address2: Patch<String>,
    pub city: Patch<String>,
    pub country: Patch<String>,
    pub region: Patch<String>,
    pub zip: Patch<String>,
    pub timezone: Patch<String>,
    pub ip: Patch<String>,
    pub latitude: Patch<f64>,
    pub longitude: Patch<f64>,
}

impl LocationChanges {
    /// The changes that `location: null` means.
    pub fn clear_all() -> Self {
        LocationChanges {
            address1: Patch::Clear,
            address2: Patch::Clear,
            city: Patch::Clear,
            country: Patch::Clear,
            region: Patch::Clear,
            zip: Patch::Clear,
            timezone: Patch::Clear,
            ip: Patch::Clear,
            latitude: Patch::Clear,
            longitude: Patch::Clear,
        }
    }

    pub fn apply_to(self, loc: &mut Location) {
        self.address1.apply_to(&mut loc.address1);
        self.address2.apply_to(&mut loc.address2);
        self.city.apply_to(&mut loc.city);
        self.country.apply_to(&mut loc.country);
        self.region.apply_to(&mut loc.region);
        self.zip.apply_to(&mut loc.zip);
        self.timezone.apply_to(&mut loc.timezone);
        self.ip.apply_to(&mut loc.ip);
        self.latitude.apply_to(&mut loc.latitude);
        self.longitude.apply_to(&mut loc.longitude);
    }
}

/// One profile write: who (identifiers, used for lookup) and what changes.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ProfileWrite {
    pub identifiers: ProfileIdentifiers,
    pub changes: ProfileChanges,
}

impl ProfileWrite {
    /// Applies the changes to a profile, returning whether anything visible changed.
    pub fn apply_to(&self, p: &mut Profile) -> bool {
        let before = p.clone();
        let c = self.changes.clone();
        c.email.apply_to(&mut p.email);
        c.phone_number.apply_to(&mut p.phone_number);
        c.external_id.apply_to(&mut p.external_id);
        c.first_name.apply_to(&mut p.first_name);
        c.last_name.apply_to(&mut p.last_name);
        c.organization.apply_to(&mut p.organization);
        c.title.apply_to(&mut p.title);
        c.image.apply_to(&mut p.image);
        c.locale.apply_to(&mut p.locale);
        c.location.apply_to(&mut p.location);
        if c.clear_properties {
            p.properties.clear();
        }
        for (key, change) in c.properties {
            match change {
                Patch::Absent => {}
                Patch::Clear => {
                    p.properties.remove(&key);
                }
                Patch::Set(v) => {
                    p.properties.insert(key, v);
                }
            }
        }
        *p != before
    }
}

impl ProfileChanges {
    /// True when nothing but identifiers is set (and nothing is cleared): the common case
    /// of an event naming its profile, which the store can often answer without a load.
    pub fn only_sets_identifiers(&self) -> bool {
        !matches!(self.email, Patch::Clear)
            && !matches!(self.phone_number, Patch::Clear)
            && !matches!(self.external_id, Patch::Clear)
            && self.first_name.is_absent()
            && self.last_name.is_absent()
            && self.organization.is_absent()
            && self.title.is_absent()
            && self.image.is_absent()
            && self.locale.is_absent()
            && self.location == LocationChanges::default()
            && self.properties.is_empty()
            && !self.clear_properties
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn profile() -> Profile {
        let t = chrono::Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap();
        Profile {
            id: ProfileId("01".into()),
            email: Some("a@b.co".into()),
            phone_number: None,
            external_id: None,
            first_name: Some("Ana".into()),
            last_name: Some("Lima".into()),
            organization: None,
            title: None,
            image: None,
            locale: None,
            location: Location { city: Some("Porto".into()), ..Default::default() },
            properties: serde_json::json!({"a": 1, "b": 2}).as_object().unwrap().clone(),
            created: t,
            updated: t,
            last_event_date: None,
        }
    }

    #[test]
    fn absent_leaves_null_clears_set_replaces() {
        let mut p = profile();
        let w = ProfileWrite {
            changes: ProfileChanges {
                first_name: Patch::Set("Bia".into()),
                last_name: Patch::Clear,
                properties: vec![("a".into(), Patch::Clear), ("c".into(), Patch::Set(3.into()))],
                ..Default::default()
            },
            ..Default::default()
        };
        assert!(w.apply_to(&mut p));
        assert_eq!(p.first_name.as_deref(), Some("Bia"));
        assert_eq!(p.last_name, None);
        assert_eq!(p.email.as_deref(), Some("a@b.co"));
        assert_eq!(p.location.city.as_deref(), Some("Porto"));
        assert_eq!(serde_json::Value::Object(p.properties), serde_json::json!({"b": 2, "c": 3}));
    }

    #[test]
    fn a_write_that_changes_nothing_reports_no_change() {
        let mut p = profile();
        let w = ProfileWrite {
            changes: ProfileChanges { first_name: Patch::Set("Ana".into()), ..Default::default() },
            ..Default::default()
        };
        assert!(!w.apply_to(&mut p));
    }
}
