//! A cursor over a JSON document that remembers its JSON pointer, so every error names
//! exactly where it is.

use serde_json::{Map, Value};

use crate::InputError;
use wharf_model::limits;

#[derive(Clone, Copy)]
pub(crate) struct At<'a> {
    pub value: &'a Value,
    pointer_parent: Option<&'a At<'a>>,
    key: Key<'a>,
}

#[derive(Clone, Copy)]
enum Key<'a> {
    Root,
    Name(&'a str),
    Index(usize),
}

impl<'a> At<'a> {
    pub fn root(value: &'a Value) -> Self {
        At { value, pointer_parent: None, key: Key::Root }
    }

    pub fn pointer(&self) -> String {
        let mut parts = Vec::new();
        let mut cur = Some(self);
        while let Some(at) = cur {
            match at.key {
                Key::Root => {}
                Key::Name(n) => parts.push(n.replace('~', "~0").replace('/', "~1")),
                Key::Index(i) => parts.push(i.to_string()),
            }
            cur = at.pointer_parent;
        }
        parts.reverse();
        if parts.is_empty() { String::from("/") } else { format!("/{}", parts.join("/")) }
    }

    pub fn invalid(&self, detail: impl Into<String>) -> InputError {
        InputError::invalid(self.pointer(), detail)
    }

    pub fn object(&self) -> Result<&'a Map<String, Value>, InputError> {
        self.value.as_object().ok_or_else(|| self.invalid(format!("must be an object, found {}", kind(self.value))))
    }

    /// A child that must be present (and not null).
    pub fn required(&'a self, key: &'a str) -> Result<At<'a>, InputError> {
        match self.object()?.get(key) {
            Some(Value::Null) | None => Err(InputError::required(
                At { value: &Value::Null, pointer_parent: Some(self), key: Key::Name(key) }.pointer(),
                format!("'{key}' is required"),
            )),
            Some(v) => Ok(At { value: v, pointer_parent: Some(self), key: Key::Name(key) }),
        }
    }

    /// A child that may be absent; an explicit null is returned as a null value.
    pub fn optional(&'a self, key: &'a str) -> Result<Option<At<'a>>, InputError> {
        Ok(self.object()?.get(key).map(|v| At { value: v, pointer_parent: Some(self), key: Key::Name(key) }))
    }

    pub fn child_named(&'a self, key: &'a str, value: &'a Value) -> At<'a> {
        At { value, pointer_parent: Some(self), key: Key::Name(key) }
    }

    pub fn items(&'a self) -> Result<impl Iterator<Item = At<'a>> + 'a, InputError> {
        let arr = self
            .value
            .as_array()
            .ok_or_else(|| self.invalid(format!("must be an array, found {}", kind(self.value))))?;
        Ok(arr.iter().enumerate().map(move |(i, v)| At { value: v, pointer_parent: Some(self), key: Key::Index(i) }))
    }

    pub fn string(&self) -> Result<&'a str, InputError> {
        self.value.as_str().ok_or_else(|| self.invalid(format!("must be a string, found {}", kind(self.value))))
    }

    pub fn number(&self) -> Result<f64, InputError> {
        let n =
            self.value.as_f64().ok_or_else(|| self.invalid(format!("must be a number, found {}", kind(self.value))))?;
        if !n.is_finite() {
            return Err(self.invalid("must be a finite number"));
        }
        Ok(n)
    }

    /// Refuses keys outside `allowed`, so a misspelt field is an error rather than ignored.
    pub fn only_keys(&'a self, allowed: &[&str]) -> Result<(), InputError> {
        for (k, v) in self.object()? {
            if !allowed.contains(&k.as_str()) {
                return Err(self
                    .child_named(k, v)
                    .invalid(format!("'{k}' is not a valid field here; allowed: {}", allowed.join(", "))));
            }
        }
        Ok(())
    }

    /// Checks the size limits that apply to free-form JSON anywhere in a document.
    pub fn check_free_form(&self, depth: usize) -> Result<(), InputError> {
        // Only containers count as levels: a scalar inside the tenth object is fine.
        if depth > limits::MAX_NESTING_DEPTH && (self.value.is_object() || self.value.is_array()) {
            return Err(self.invalid(format!("nesting deeper than {} levels", limits::MAX_NESTING_DEPTH)));
        }
        match self.value {
            Value::String(s) => check_string(self, s),
            Value::Array(a) => {
                if a.len() > limits::MAX_ARRAY_ITEMS {
                    return Err(self.invalid(format!(
                        "array has {} items; at most {} allowed",
                        a.len(),
                        limits::MAX_ARRAY_ITEMS
                    )));
                }
                for item in self.items()? {
                    item.check_free_form(depth + 1)?;
                }
                Ok(())
            }
            Value::Object(m) => {
                for (k, v) in m {
                    let child = self.child_named(k, v);
                    check_string(&child, k)?;
                    child.check_free_form(depth + 1)?;
                }
                Ok(())
            }
            Value::Number(n) => {
                if n.as_f64().is_some_and(|f| !f.is_finite()) {
                    return Err(self.invalid("numbers must be finite"));
                }
                Ok(())
            }
            Value::Null | Value::Bool(_) => Ok(()),
        }
    }
}

fn check_string(at: &At<'_>, s: &str) -> Result<(), InputError> {
    if s.len() > limits::MAX_STRING_BYTES {
        return Err(at.invalid(format!("string of {} bytes; at most {} allowed", s.len(), limits::MAX_STRING_BYTES)));
    }
    Ok(())
}

pub(crate) fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Checks `data.type` (or any resource's `type`): missing is 400, wrong is 409.
pub(crate) fn expect_type(resource: &At<'_>, expected: &str) -> Result<(), InputError> {
    let t = resource.required("type")?;
    let s = t.string()?;
    if s != expected {
        return Err(InputError::wrong_type(t.pointer(), format!("type must be '{expected}', found '{s}'")));
    }
    Ok(())
}
