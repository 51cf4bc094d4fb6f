//! List queries: filters, sort, cursor pagination. The API parses them from the wire,
//! the store runs them; both agree on what each resource allows through [`Resource`].

use crate::Timestamp;

/// Comparison functions of Klaviyo's `filter=` syntax that Wharf supports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Equals,
    Any,
    GreaterThan,
    LessThan,
    GreaterOrEqual,
    LessOrEqual,
}

impl Op {
    pub fn parse(name: &str) -> Option<Op> {
        Some(match name {
            "equals" => Op::Equals,
            "any" => Op::Any,
            "greater-than" => Op::GreaterThan,
            "less-than" => Op::LessThan,
            "greater-or-equal" => Op::GreaterOrEqual,
            "less-or-equal" => Op::LessOrEqual,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Op::Equals => "equals",
            Op::Any => "any",
            Op::GreaterThan => "greater-than",
            Op::LessThan => "less-than",
            Op::GreaterOrEqual => "greater-or-equal",
            Op::LessOrEqual => "less-or-equal",
        }
    }
}

/// The kind of value a filterable field holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldKind {
    Text,
    Time,
    EpochSeconds,
}

/// A typed filter operand.
#[derive(Clone, Debug, PartialEq)]
pub enum Operand {
    Text(String),
    Time(Timestamp),
    Int(i64),
    List(Vec<Operand>),
}

/// One `function(field, value)` term; a filter is the conjunction of its terms.
#[derive(Clone, Debug, PartialEq)]
pub struct Condition {
    pub field: &'static str,
    pub op: Op,
    pub value: Operand,
}

/// The list endpoints and what each allows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resource {
    Profiles,
    Events,
    Metrics,
}

impl Resource {
    /// Filterable fields with their kinds and allowed functions.
    pub fn filters(self) -> &'static [(&'static str, FieldKind, &'static [Op])] {
        const IDENT: &[Op] = &[Op::Equals, Op::Any];
        const RANGE: &[Op] = &[Op::Equals, Op::GreaterThan, Op::LessThan, Op::GreaterOrEqual, Op::LessOrEqual];
        match self {
            Resource::Profiles => &[
                ("id", FieldKind::Text, IDENT),
                ("email", FieldKind::Text, IDENT),
                ("phone_number", FieldKind::Text, IDENT),
                ("external_id", FieldKind::Text, IDENT),
                ("created", FieldKind::Time, RANGE),
                ("updated", FieldKind::Time, RANGE),
            ],
            Resource::Events => &[
                ("id", FieldKind::Text, IDENT),
                ("metric_id", FieldKind::Text, IDENT),
                ("profile_id", FieldKind::Text, IDENT),
                ("datetime", FieldKind::Time, RANGE),
                ("timestamp", FieldKind::EpochSeconds, RANGE),
            ],
            Resource::Metrics => {
                &[("integration.name", FieldKind::Text, IDENT), ("integration.category", FieldKind::Text, IDENT)]
            }
        }
    }

    /// Sortable fields; the first is the default.
    pub fn sorts(self) -> &'static [&'static str] {
        match self {
            Resource::Profiles => &["id", "created", "updated", "email"],
            Resource::Events => &["datetime", "timestamp", "id"],
            Resource::Metrics => &["id", "name", "created", "updated"],
        }
    }

    /// (default, maximum) page size.
    pub fn page_size(self) -> (usize, usize) {
        match self {
            Resource::Profiles => crate::limits::PROFILE_PAGE,
            Resource::Events => crate::limits::EVENT_PAGE,
            Resource::Metrics => crate::limits::METRIC_PAGE,
        }
    }
}

/// Sort order: a field of [`Resource::sorts`], ascending or descending; ties break on id.
#[derive(Clone, Debug, PartialEq)]
pub struct Sort {
    pub field: &'static str,
    pub descending: bool,
}

/// Where a page starts: just after this (sort key, id).
#[derive(Clone, Debug, PartialEq)]
pub struct Cursor {
    pub key: String,
    pub id: String,
}

impl Cursor {
    /// An opaque, URL-safe token.
    pub fn encode(&self) -> String {
        let raw = format!("{}\u{1f}{}", self.key, self.id);
        raw.bytes().map(|b| format!("{b:02x}")).collect()
    }

    pub fn decode(token: &str) -> Option<Cursor> {
        if !token.len().is_multiple_of(2) || token.len() > 4096 {
            return None;
        }
        let bytes: Option<Vec<u8>> =
            (0..token.len()).step_by(2).map(|i| u8::from_str_radix(token.get(i..i + 2)?, 16).ok()).collect();
        let raw = String::from_utf8(bytes?).ok()?;
        let (key, id) = raw.split_once('\u{1f}')?;
        Some(Cursor { key: key.to_string(), id: id.to_string() })
    }
}

/// A validated list query.
#[derive(Clone, Debug, PartialEq)]
pub struct ListQuery {
    pub conditions: Vec<Condition>,
    pub sort: Sort,
    pub page_size: usize,
    pub cursor: Option<Cursor>,
}

impl ListQuery {
    /// Everything, in the resource's default order.
    pub fn all(resource: Resource) -> Self {
        ListQuery {
            conditions: Vec::new(),
            sort: Sort { field: resource.sorts()[0], descending: false },
            page_size: resource.page_size().0,
            cursor: None,
        }
    }
}

/// One page of results and where the next one starts.
#[derive(Clone, Debug, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<Cursor>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn cursor_round_trips(key in "[^\u{1f}]{0,40}", id in "[0-9A-Z]{0,26}") {
            let c = Cursor { key, id };
            let token = c.encode();
            prop_assert!(token.bytes().all(|b| b.is_ascii_hexdigit()));
            prop_assert_eq!(Cursor::decode(&token), Some(c));
        }

        #[test]
        fn garbage_cursors_are_refused_not_panicked(s in ".{0,64}") {
            let _ = Cursor::decode(&s);
        }
    }
}
