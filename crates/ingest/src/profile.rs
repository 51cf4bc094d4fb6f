//! Profile documents: create, upsert (profile-import), PATCH, bulk import, and the
//! profile embedded in an event.

use serde_json::Value;
use wharf_model::{Patch, ProfileId, ProfileWrite, limits, profile::LocationChanges};

use crate::json::{At, expect_type, kind};
use crate::{InputError, normalize_email, normalize_phone};

/// What an explicit `null` means in this write path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NullMeans {
    /// Single-profile writes: `null` clears the field.
    Clear,
    /// Bulk import (and CSV): Klaviyo does not clear on `null`, it leaves the field alone.
    Absent,
}

/// Where the profile's `id` may come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum IdRule {
    /// `POST /api/profiles`: the server assigns ids.
    Forbidden,
    /// Upserts and events: an `id` targets that profile.
    Optional,
}

const ATTRIBUTES: &[&str] = &[
    "email",
    "phone_number",
    "external_id",
    "anonymous_id",
    "_kx",
    "first_name",
    "last_name",
    "organization",
    "locale",
    "title",
    "image",
    "location",
    "properties",
];

const LOCATION: &[&str] =
    &["address1", "address2", "city", "country", "region", "zip", "timezone", "ip", "latitude", "longitude"];

/// Which single-profile endpoint a document is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProfileDocument<'a> {
    /// `POST /api/profiles`.
    Create,
    /// `POST /api/profile-import`.
    Upsert,
    /// `PATCH /api/profiles/{id}`: the document's `data.id` must be this id.
    Patch(&'a str),
}

/// Parses a single-profile request document (`{"data": {"type": "profile", ...}}`).
pub fn parse_profile_document(doc: &Value, endpoint: ProfileDocument<'_>) -> Result<ProfileWrite, InputError> {
    let root = At::root(doc);
    root.only_keys(&["data"])?;
    let data = root.required("data")?;
    let rule = match endpoint {
        ProfileDocument::Create => IdRule::Forbidden,
        ProfileDocument::Upsert | ProfileDocument::Patch(_) => IdRule::Optional,
    };
    let mut write = parse_profile_resource(&data, NullMeans::Clear, rule)?;
    if let ProfileDocument::Patch(path_id) = endpoint {
        match &write.identifiers.id {
            Some(id) if id.as_str() == path_id => {}
            Some(id) => {
                return Err(InputError::invalid(
                    "/data/id",
                    format!("data.id '{id}' does not match the id in the path '{path_id}'"),
                ));
            }
            None => {
                return Err(InputError::required("/data/id", "'id' is required and must match the path"));
            }
        }
    } else if write.identifiers.is_empty() {
        return Err(InputError::required(
            "/data/attributes",
            "a profile needs at least one identifier: email, phone_number or external_id",
        ));
    }
    if let ProfileDocument::Patch(_) = endpoint {
        // The id alone identifies the profile; identifiers in attributes are changes.
        write.identifiers.email = None;
        write.identifiers.phone_number = None;
        write.identifiers.external_id = None;
    }
    Ok(write)
}

/// Parses `POST /api/profile-bulk-import-jobs`: up to 10,000 profiles. A malformed document
/// is an error; a malformed profile inside it is that profile's own error (it becomes an
/// import error of the job, as in Klaviyo) and the others still import.
pub fn parse_bulk_import_profiles(doc: &Value) -> Result<Vec<Result<ProfileWrite, InputError>>, InputError> {
    let root = At::root(doc);
    root.only_keys(&["data"])?;
    let data = root.required("data")?;
    data.only_keys(&["type", "attributes", "relationships"])?;
    expect_type(&data, "profile-bulk-import-job")?;
    let attrs = data.required("attributes")?;
    attrs.only_keys(&["profiles"])?;
    let profiles = attrs.required("profiles")?;
    profiles.only_keys(&["data"])?;
    let list = profiles.required("data")?;
    let items: Vec<At<'_>> = list.items()?.collect();
    if items.is_empty() {
        return Err(list.invalid("at least one profile is required"));
    }
    if items.len() > limits::MAX_BULK_PROFILES {
        return Err(list.invalid(format!("{} profiles; at most {} per job", items.len(), limits::MAX_BULK_PROFILES)));
    }
    Ok(items
        .iter()
        .map(|item| {
            let w = parse_profile_resource(item, NullMeans::Absent, IdRule::Optional)?;
            if w.identifiers.is_empty() {
                return Err(InputError::required(
                    format!("{}/attributes", item.pointer()),
                    "a profile needs at least one identifier: email, phone_number or external_id",
                ));
            }
            Ok(w)
        })
        .collect())
}

/// Parses one `{"type": "profile", "id"?, "attributes": {...}, "meta"?}` resource.
pub(crate) fn parse_profile_resource(res: &At<'_>, nulls: NullMeans, rule: IdRule) -> Result<ProfileWrite, InputError> {
    res.only_keys(&["type", "id", "attributes", "meta", "relationships"])?;
    expect_type(res, "profile")?;
    let serialized = serde_json::to_vec(res.value).map(|v| v.len()).unwrap_or(usize::MAX);
    if serialized > limits::MAX_PROFILE_BYTES {
        return Err(
            res.invalid(format!("profile is {serialized} bytes; at most {} allowed", limits::MAX_PROFILE_BYTES))
        );
    }
    let mut w = ProfileWrite::default();
    if let Some(id) = res.optional("id")?
        && !id.value.is_null()
    {
        if rule == IdRule::Forbidden {
            return Err(id.invalid("'id' is assigned by the server; use POST /api/profile-import to update by id"));
        }
        let s = id.string()?;
        if s.is_empty() || s.len() > 64 {
            return Err(id.invalid("'id' must be a profile id"));
        }
        w.identifiers.id = Some(ProfileId(s.to_string()));
    }
    let attrs_at = res.optional("attributes")?;
    if let Some(attrs) = attrs_at.as_ref().filter(|a| !a.value.is_null()) {
        parse_attributes(attrs, nulls, &mut w)?;
    }
    if let Some(meta) = res.optional("meta")? {
        parse_meta(&meta, &mut w)?;
    }
    Ok(w)
}

fn parse_attributes(attrs: &At<'_>, nulls: NullMeans, w: &mut ProfileWrite) -> Result<(), InputError> {
    attrs.only_keys(ATTRIBUTES)?;
    let c = &mut w.changes;
    if let Some(at) = attrs.optional("email")? {
        c.email = text(&at, nulls, normalize_email)?;
        w.identifiers.email = c.email.set_value().cloned();
    }
    if let Some(at) = attrs.optional("phone_number")? {
        c.phone_number = text(&at, nulls, normalize_phone)?;
        w.identifiers.phone_number = c.phone_number.set_value().cloned();
    }
    if let Some(at) = attrs.optional("external_id")? {
        c.external_id = text(&at, nulls, |s| bounded(s, 1, 255, "external_id"))?;
        w.identifiers.external_id = c.external_id.set_value().cloned();
    }
    for (key, slot) in [
        ("first_name", &mut c.first_name),
        ("last_name", &mut c.last_name),
        ("organization", &mut c.organization),
        ("title", &mut c.title),
        ("image", &mut c.image),
        ("locale", &mut c.locale),
    ] {
        if let Some(at) = attrs.optional(key)? {
            *slot = text(&at, nulls, |s| bounded(s, 0, 1024, key))?;
        }
    }
    for key in ["anonymous_id", "_kx"] {
        if let Some(at) = attrs.optional(key)?
            && !at.value.is_null()
        {
            at.string()?;
        }
    }
    if let Some(loc) = attrs.optional("location")? {
        parse_location(&loc, nulls, &mut c.location)?;
    }
    if let Some(props) = attrs.optional("properties")? {
        match (props.value, nulls) {
            (Value::Null, NullMeans::Clear) => c.clear_properties = true,
            (Value::Null, NullMeans::Absent) => {}
            (Value::Object(map), _) => {
                props.check_free_form(1)?;
                for (k, v) in map {
                    let change = match (v, nulls) {
                        (Value::Null, NullMeans::Clear) => Patch::Clear,
                        (Value::Null, NullMeans::Absent) => continue,
                        (v, _) => Patch::Set(v.clone()),
                    };
                    c.properties.push((k.clone(), change));
                }
            }
            (other, _) => {
                return Err(props.invalid(format!("must be an object, found {}", kind(other))));
            }
        }
    }
    Ok(())
}

fn parse_location(loc: &At<'_>, nulls: NullMeans, out: &mut LocationChanges) -> Result<(), InputError> {
    if loc.value.is_null() {
        if nulls == NullMeans::Clear {
            *out = LocationChanges::clear_all();
        }
        return Ok(());
    }
    loc.only_keys(LOCATION)?;
    for (key, slot) in [
        ("address1", &mut out.address1),
        ("address2", &mut out.address2),
        ("city", &mut out.city),
        ("country", &mut out.country),
        ("region", &mut out.region),
        ("zip", &mut out.zip),
        ("timezone", &mut out.timezone),
        ("ip", &mut out.ip),
    ] {
        if let Some(at) = loc.optional(key)? {
            *slot = text(&at, nulls, |s| bounded(s, 0, 1024, key))?;
        }
    }
    for (key, slot, range) in [("latitude", &mut out.latitude, 90.0), ("longitude", &mut out.longitude, 180.0)] {
        if let Some(at) = loc.optional(key)? {
            *slot = match (at.value, nulls) {
                (Value::Null, NullMeans::Clear) => Patch::Clear,
                (Value::Null, NullMeans::Absent) => Patch::Absent,
                // Klaviyo accepts coordinates as numbers or numeric strings.
                (Value::String(s), _) => {
                    Patch::Set(s.trim().parse::<f64>().map_err(|_| at.invalid(format!("'{s}' is not a number")))?)
                }
                _ => Patch::Set(at.number()?),
            };
            if let Patch::Set(v) = slot
                && v.abs() > range
            {
                return Err(at.invalid(format!("{key} must be between -{range} and {range}")));
            }
        }
    }
    Ok(())
}

fn parse_meta(meta: &At<'_>, w: &mut ProfileWrite) -> Result<(), InputError> {
    if meta.value.is_null() {
        return Ok(());
    }
    meta.only_keys(&["patch_properties"])?;
    let Some(pp) = meta.optional("patch_properties")? else {
        return Ok(());
    };
    if pp.value.is_null() {
        return Ok(());
    }
    pp.only_keys(&["unset"])?;
    if let Some(unset) = pp.optional("unset")? {
        let keys: Vec<String> = match unset.value {
            Value::String(s) => vec![s.clone()],
            Value::Array(_) => unset.items()?.map(|k| k.string().map(str::to_string)).collect::<Result<_, _>>()?,
            Value::Null => vec![],
            other => {
                return Err(unset.invalid(format!("must be a string or an array of strings, found {}", kind(other))));
            }
        };
        w.changes.properties.extend(keys.into_iter().map(|k| (k, Patch::Clear)));
    }
    Ok(())
}

fn text(
    at: &At<'_>,
    nulls: NullMeans,
    check: impl Fn(&str) -> Result<String, String>,
) -> Result<Patch<String>, InputError> {
    match at.value {
        Value::Null => Ok(if nulls == NullMeans::Clear { Patch::Clear } else { Patch::Absent }),
        _ => {
            let s = at.string()?;
            check(s).map(Patch::Set).map_err(|e| at.invalid(e))
        }
    }
}

fn bounded(s: &str, min: usize, max: usize, field: &str) -> Result<String, String> {
    let n = s.chars().count();
    if n < min || n > max {
        return Err(format!("{field} must be {min} to {max} characters, found {n}"));
    }
    Ok(s.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn upsert(attrs: Value) -> Result<ProfileWrite, InputError> {
        parse_profile_document(&json!({"data": {"type": "profile", "attributes": attrs}}), ProfileDocument::Upsert)
    }

    #[test]
    fn sdk_upsert_body_parses_with_null_clearing() {
        let w = upsert(json!({"email": "Sarah.Mason@klaviyo-demo.com", "first_name": "Sarah",
            "location": {"city": "Boston"}, "properties": {"Favorite coffee flavor": "hazelnut"}, "last_name": null}))
        .unwrap();
        assert_eq!(w.identifiers.email.as_deref(), Some("sarah.mason@klaviyo-demo.com"));
        assert_eq!(w.changes.last_name, Patch::Clear);
        assert_eq!(w.changes.first_name, Patch::Set("Sarah".into()));
        assert_eq!(w.changes.location.city, Patch::Set("Boston".into()));
        assert!(w.changes.title.is_absent());
    }

    #[test]
    fn errors_point_at_the_field() {
        let e = upsert(json!({"email": "nope"})).unwrap_err();
        assert_eq!((e.status, e.pointer.as_str()), (400, "/data/attributes/email"));
        let e = upsert(json!({"email": "a@b.co", "first_name": 5})).unwrap_err();
        assert_eq!(e.pointer, "/data/attributes/first_name");
        let e = upsert(json!({"first_name": "X"})).unwrap_err();
        assert_eq!(e.pointer, "/data/attributes");
        let e = upsert(json!({"email": "a@b.co", "location": {"latitude": 91}})).unwrap_err();
        assert_eq!(e.pointer, "/data/attributes/location/latitude");
        let e = upsert(json!({"email": "a@b.co", "favourite": 1})).unwrap_err();
        assert_eq!(e.pointer, "/data/attributes/favourite");
        let e = parse_profile_document(&json!({"data": {"type": "event", "attributes": {}}}), ProfileDocument::Upsert)
            .unwrap_err();
        assert_eq!((e.status, e.pointer.as_str()), (409, "/data/type"));
        let e = parse_profile_document(&json!({"data": {"attributes": {}}}), ProfileDocument::Upsert).unwrap_err();
        assert_eq!((e.status, e.pointer.as_str()), (400, "/data/type"));
    }

    #[test]
    fn bulk_import_null_leaves_unchanged() {
        let doc = json!({"data": {"type": "profile-bulk-import-job", "attributes": {"profiles": {"data": [
            {"type": "profile", "attributes": {"email": "a@b.co", "first_name": null, "properties": {"k": null, "j": 1}}}
        ]}}}});
        let ws = parse_bulk_import_profiles(&doc).unwrap();
        let w = ws[0].as_ref().unwrap();
        assert!(w.changes.first_name.is_absent());
        assert_eq!(w.changes.properties, vec![("j".to_string(), Patch::Set(json!(1)))]);
    }

    #[test]
    fn bulk_import_reports_one_bad_profile_with_its_index() {
        let doc = json!({"data": {"type": "profile-bulk-import-job", "attributes": {"profiles": {"data": [
            {"type": "profile", "attributes": {"email": "a@b.co"}},
            {"type": "profile", "attributes": {"email": "bad"}}
        ]}}}});
        let ws = parse_bulk_import_profiles(&doc).unwrap();
        assert!(ws[0].is_ok());
        assert_eq!(ws[1].as_ref().unwrap_err().pointer, "/data/attributes/profiles/data/1/attributes/email");
        let not_a_job = json!({"data": {"type": "profile-bulk-import-job", "attributes": {"profiles": {"data": "x"}}}});
        assert_eq!(parse_bulk_import_profiles(&not_a_job).unwrap_err().pointer, "/data/attributes/profiles/data");
    }

    #[test]
    fn patch_requires_matching_id() {
        let doc = json!({"data": {"type": "profile", "id": "A", "attributes": {"first_name": "X"}}});
        assert!(parse_profile_document(&doc, ProfileDocument::Patch("A")).is_ok());
        let e = parse_profile_document(&doc, ProfileDocument::Patch("B")).unwrap_err();
        assert_eq!(e.pointer, "/data/id");
    }
}
