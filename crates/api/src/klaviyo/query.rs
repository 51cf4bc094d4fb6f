//! Query strings of the list and get endpoints: `filter`, `sort`, `page[…]`, `fields[…]`.

use std::collections::HashMap;

use wharf_model::query::{Condition, Cursor, FieldKind, ListQuery, Op, Operand, Resource, Sort};

use crate::ApiError;

/// Sparse fieldsets: resource type → requested attribute names (`location.city` allowed).
pub type Fields = HashMap<String, Vec<String>>;

/// Decoded `key=value` pairs in order.
pub fn pairs(raw: Option<&str>) -> Vec<(String, String)> {
    raw.map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect()).unwrap_or_default()
}

/// Parses the parameters of a single-resource GET: only `fields[…]`.
pub fn parse_get(raw: Option<&str>) -> Result<Fields, ApiError> {
    let mut fields = Fields::new();
    for (k, v) in pairs(raw) {
        if !take_fields(&k, &v, &mut fields) {
            return Err(unknown(&k));
        }
    }
    Ok(fields)
}

/// Parses the parameters of a list endpoint.
pub fn parse_list(resource: Resource, raw: Option<&str>) -> Result<(ListQuery, Fields), ApiError> {
    let mut q = ListQuery::all(resource);
    let mut fields = Fields::new();
    let (_, max) = resource.page_size();
    for (k, v) in pairs(raw) {
        match k.as_str() {
            "filter" => q.conditions.extend(parse_filter(resource, &v)?),
            "sort" => q.sort = parse_sort(resource, &v)?,
            "page[size]" => {
                q.page_size = v.trim().parse::<usize>().ok().filter(|n| (1..=max).contains(n)).ok_or_else(|| {
                    ApiError::invalid_parameter("page[size]", format!("page[size] must be an integer from 1 to {max}"))
                })?;
            }
            "page[cursor]" => {
                let token = normalize_cursor(&v);
                if !token.is_empty() {
                    q.cursor = Some(Cursor::decode(&token).ok_or_else(|| {
                        ApiError::invalid_parameter("page[cursor]", "the page cursor is not valid; use links.next")
                    })?);
                }
            }
            _ if take_fields(&k, &v, &mut fields) => {}
            _ => return Err(unknown(&k)),
        }
    }
    Ok((q, fields))
}

fn unknown(k: &str) -> ApiError {
    let hint = if k == "include" || k.starts_with("additional-fields") {
        " (Wharf does not support included resources or additional fields)"
    } else {
        ""
    };
    ApiError::invalid_parameter(k, format!("'{k}' is not a supported query parameter{hint}"))
}

pub fn take_fields(k: &str, v: &str, fields: &mut Fields) -> bool {
    match k.strip_prefix("fields[").and_then(|r| r.strip_suffix(']')) {
        Some(ty) => {
            fields
                .insert(ty.to_string(), v.split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect());
            true
        }
        None => false,
    }
}

/// The official SDK sometimes sends a whole `links.next` URL, or the cursor with a leading
/// `=`, as `page[cursor]`; take the token out of either.
fn normalize_cursor(raw: &str) -> String {
    let mut s = raw.to_string();
    for marker in ["page[cursor]=", "page%5Bcursor%5D="] {
        if let Some(i) = s.find(marker) {
            s = s[i + marker.len()..].split('&').next().unwrap_or_default().to_string();
        }
    }
    s.trim_start_matches('=').to_string()
}

fn parse_sort(resource: Resource, v: &str) -> Result<Sort, ApiError> {
    let (descending, name) = match v.trim().strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, v.trim()),
    };
    resource.sorts().iter().find(|s| **s == name).map(|field| Sort { field, descending }).ok_or_else(|| {
        ApiError::invalid_parameter(
            "sort",
            format!(
                "'{v}' is not a valid sort; use one of {} (prefix '-' for descending)",
                resource.sorts().join(", ")
            ),
        )
    })
}

/// Parses `equals(email,"a@b.co")`, `and(…, …)` and top-level comma-separated terms.
pub fn parse_filter(resource: Resource, text: &str) -> Result<Vec<Condition>, ApiError> {
    let mut p = Parser { s: text.as_bytes(), i: 0 };
    let mut out = Vec::new();
    p.terms(resource, &mut out)?;
    p.ws();
    if p.i != p.s.len() {
        return Err(p.err("unexpected text after the filter"));
    }
    if out.is_empty() {
        return Err(p.err("empty filter"));
    }
    Ok(out)
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn err(&self, what: &str) -> ApiError {
        ApiError::invalid_parameter("filter", format!("invalid filter at character {}: {what}", self.i))
    }

    fn ws(&mut self) {
        while self.i < self.s.len() && self.s[self.i].is_ascii_whitespace() {
            self.i += 1;
        }
    }

    fn eat(&mut self, c: u8) -> bool {
        self.ws();
        if self.s.get(self.i) == Some(&c) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, c: u8) -> Result<(), ApiError> {
        if self.eat(c) { Ok(()) } else { Err(self.err(&format!("expected '{}'", c as char))) }
    }

    fn ident(&mut self) -> String {
        self.ws();
        let start = self.i;
        while self.i < self.s.len() && (self.s[self.i].is_ascii_alphanumeric() || b"-_.".contains(&self.s[self.i])) {
            self.i += 1;
        }
        String::from_utf8_lossy(&self.s[start..self.i]).into_owned()
    }

    fn terms(&mut self, resource: Resource, out: &mut Vec<Condition>) -> Result<(), ApiError> {
        loop {
            self.term(resource, out)?;
            if !self.eat(b',') {
                return Ok(());
            }
        }
    }

    fn term(&mut self, resource: Resource, out: &mut Vec<Condition>) -> Result<(), ApiError> {
        if out.len() > 32 {
            return Err(self.err("too many terms"));
        }
        let func = self.ident();
        self.expect(b'(')?;
        if func == "and" {
            self.terms(resource, out)?;
            return self.expect(b')');
        }
        let op = Op::parse(&func).ok_or_else(|| self.err(&format!("'{func}' is not a supported function")))?;
        let field = self.ident();
        let Some((name, kind, ops)) = resource.filters().iter().find(|(n, _, _)| *n == field) else {
            return Err(self.err(&format!("'{field}' cannot be filtered on")));
        };
        if !ops.contains(&op) {
            return Err(self.err(&format!("'{}' is not allowed on '{field}'", op.name())));
        }
        self.expect(b',')?;
        let value = if op == Op::Any {
            self.expect(b'[')?;
            let mut items = Vec::new();
            if !self.eat(b']') {
                loop {
                    items.push(self.scalar(name, *kind)?);
                    if self.eat(b']') {
                        break;
                    }
                    self.expect(b',')?;
                }
            }
            if items.len() > 100 {
                return Err(self.err("at most 100 values in any()"));
            }
            Operand::List(items)
        } else {
            self.scalar(name, *kind)?
        };
        self.expect(b')')?;
        out.push(Condition { field: name, op, value });
        Ok(())
    }

    fn scalar(&mut self, field: &str, kind: FieldKind) -> Result<Operand, ApiError> {
        self.ws();
        let raw = if self.s.get(self.i) == Some(&b'"') {
            self.i += 1;
            let mut out = Vec::new();
            loop {
                match self.s.get(self.i) {
                    None => return Err(self.err("unterminated string")),
                    Some(b'"') => {
                        self.i += 1;
                        break;
                    }
                    Some(b'\\') if self.i + 1 < self.s.len() => {
                        out.push(self.s[self.i + 1]);
                        self.i += 2;
                    }
                    Some(c) => {
                        out.push(*c);
                        self.i += 1;
                    }
                }
            }
            String::from_utf8(out).map_err(|_| self.err("invalid UTF-8"))?
        } else {
            let start = self.i;
            while self.i < self.s.len() && !b",)]".contains(&self.s[self.i]) {
                self.i += 1;
            }
            // An unencoded '+' of a UTC offset arrives as a space.
            String::from_utf8_lossy(&self.s[start..self.i]).trim().replace(' ', "+")
        };
        match kind {
            // Compare identifiers the way they are stored: emails lower-cased, phones in E.164.
            FieldKind::Text if field == "email" => Ok(Operand::Text(raw.trim().to_lowercase())),
            FieldKind::Text if field == "phone_number" => {
                Ok(Operand::Text(wharf_ingest::normalize_phone(&raw).unwrap_or(raw)))
            }
            FieldKind::Text => Ok(Operand::Text(raw)),
            FieldKind::Time => wharf_ingest::parse_datetime(&raw).map(Operand::Time).map_err(|e| self.err(&e)),
            FieldKind::EpochSeconds => {
                raw.parse::<i64>().map(Operand::Int).map_err(|_| self.err(&format!("'{raw}' is not an integer")))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_as_the_sdk_sends_them() {
        let c = parse_filter(Resource::Profiles, r#"equals(email,"A@B.org")"#).unwrap();
        assert_eq!(c, vec![Condition { field: "email", op: Op::Equals, value: Operand::Text("a@b.org".into()) }]);
        let c = parse_filter(Resource::Profiles, r#"any(phone_number,["+1 (500) 555-0006"])"#).unwrap();
        assert_eq!(c[0].value, Operand::List(vec![Operand::Text("+15005550006".into())]));
        let c = parse_filter(
            Resource::Profiles,
            r#"and(any(email,["a@b.org","c@d.org"]),greater-than(updated,2024-01-01T00:00:00Z))"#,
        )
        .unwrap();
        assert_eq!(c.len(), 2);
        assert!(matches!(&c[0].value, Operand::List(v) if v.len() == 2));
        let c = parse_filter(
            Resource::Events,
            "greater-or-equal(datetime,2024-01-01T00:00:00 00:00),equals(metric_id,\"M\")",
        )
        .unwrap();
        assert_eq!(c.len(), 2);
        let c = parse_filter(Resource::Events, "less-than(timestamp,1700000000)").unwrap();
        assert_eq!(c[0].value, Operand::Int(1_700_000_000));
    }

    #[test]
    fn bad_filters_are_clear_errors() {
        for bad in [
            "equals(first_name,\"x\")",
            "greater-than(email,\"x\")",
            "contains(email,\"x\")",
            "equals(email,\"x\"",
            "equals(updated,yesterday)",
            "",
            "equals(email,\"x\") trailing",
        ] {
            let e = parse_filter(Resource::Profiles, bad).unwrap_err();
            assert_eq!(e.source, crate::error::Source::Parameter("filter".into()), "{bad}");
        }
    }

    #[test]
    fn cursor_forms_of_the_sdk() {
        assert_eq!(normalize_cursor("abc"), "abc");
        assert_eq!(normalize_cursor("=abc"), "abc");
        assert_eq!(normalize_cursor("http://127.0.0.1:1/api/profiles?page[cursor]=abc&page[size]=2"), "abc");
        assert_eq!(normalize_cursor("http://h/api/profiles?page%5Bcursor%5D=abc"), "abc");
    }

    proptest::proptest! {
        #[test]
        fn filter_parser_never_panics(s in "\\PC{0,80}") {
            let _ = parse_filter(Resource::Events, &s);
            let _ = parse_filter(Resource::Profiles, &s);
        }
    }
}
