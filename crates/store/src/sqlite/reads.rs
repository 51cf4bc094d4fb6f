//! Read queries: filtered, sorted, keyset-paginated lists, and lookups by id.

use rusqlite::types::{Value as SqlValue, ValueRef};
use rusqlite::{Connection, Row, params_from_iter};
use wharf_model::query::{Condition, Cursor, ListQuery, Op, Operand, Page, Resource};

use super::rows;
use crate::Result;

#[derive(Clone, Copy)]
enum Column {
    Text(&'static str),
    /// Microseconds since the epoch.
    Micros(&'static str),
    /// Seconds since the epoch.
    Secs(&'static str),
}

impl Column {
    fn expr(self) -> &'static str {
        match self {
            Column::Text(e) | Column::Micros(e) | Column::Secs(e) => e,
        }
    }
}

struct Spec {
    select: String,
    from: &'static str,
    account_col: &'static str,
    id_col: &'static str,
    column: fn(&str) -> Option<Column>,
}

fn spec(resource: Resource) -> Spec {
    match resource {
        Resource::Profiles => Spec {
            select: rows::PROFILE_COLUMNS.to_string(),
            from: "profiles",
            account_col: "account_id",
            id_col: "id",
            column: |f| {
                Some(match f {
                    "id" => Column::Text("id"),
                    "email" => Column::Text("COALESCE(email, '')"),
                    "phone_number" => Column::Text("phone_number"),
                    "external_id" => Column::Text("external_id"),
                    "created" => Column::Micros("created"),
                    "updated" => Column::Micros("updated"),
                    _ => return None,
                })
            },
        },
        Resource::Events => Spec {
            select: rows::EVENT_COLUMNS.to_string(),
            from: "events e JOIN metrics m ON m.account_id = e.account_id AND m.id = e.metric_id",
            account_col: "e.account_id",
            id_col: "e.id",
            column: |f| {
                Some(match f {
                    "id" => Column::Text("e.id"),
                    "metric_id" => Column::Text("e.metric_id"),
                    "profile_id" => Column::Text("e.profile_id"),
                    "datetime" | "timestamp" => Column::Secs("e.time"),
                    _ => return None,
                })
            },
        },
        Resource::Metrics => Spec {
            select: rows::METRIC_COLUMNS.to_string(),
            from: "metrics",
            account_col: "account_id",
            id_col: "id",
            column: |f| {
                Some(match f {
                    "id" => Column::Text("id"),
                    "name" => Column::Text("name"),
                    "integration.name" => Column::Text("integration_name"),
                    "integration.category" => Column::Text("integration_category"),
                    "created" => Column::Micros("created"),
                    "updated" => Column::Micros("updated"),
                    _ => return None,
                })
            },
        },
    }
}

fn bind(column: Column, operand: &Operand) -> SqlValue {
    match (column, operand) {
        (Column::Micros(_), Operand::Time(t)) => SqlValue::Integer(rows::micros(*t)),
        (Column::Secs(_), Operand::Time(t)) => SqlValue::Integer(t.timestamp()),
        (Column::Micros(_), Operand::Int(i)) => SqlValue::Integer(i * 1_000_000),
        (_, Operand::Int(i)) => SqlValue::Integer(*i),
        (_, Operand::Text(s)) => SqlValue::Text(s.clone()),
        (_, Operand::Time(t)) => SqlValue::Text(t.to_rfc3339()),
        (_, Operand::List(_)) => SqlValue::Null,
    }
}

fn cursor_key(column: Column, key: &str) -> SqlValue {
    match column {
        Column::Text(_) => SqlValue::Text(key.to_string()),
        Column::Micros(_) | Column::Secs(_) => SqlValue::Integer(key.parse().unwrap_or(0)),
    }
}

fn key_string(v: ValueRef<'_>) -> String {
    match v {
        ValueRef::Integer(i) => i.to_string(),
        ValueRef::Text(t) => String::from_utf8_lossy(t).into_owned(),
        ValueRef::Real(f) => f.to_string(),
        _ => String::new(),
    }
}

/// Runs a list query; `map` turns a row's leading columns into an item.
pub(crate) fn list<T>(
    conn: &Connection,
    resource: Resource,
    account: &str,
    q: &ListQuery,
    map: fn(&Row<'_>) -> rusqlite::Result<T>,
) -> Result<Page<T>> {
    let s = spec(resource);
    let sort_col = (s.column)(q.sort.field).unwrap_or(Column::Text(s.id_col));
    let mut sql = format!(
        "SELECT {}, {} AS sort_key, {} AS sort_id FROM {} WHERE {} = ?",
        s.select,
        sort_col.expr(),
        s.id_col,
        s.from,
        s.account_col
    );
    let mut args: Vec<SqlValue> = vec![SqlValue::Text(account.to_string())];
    for Condition { field, op, value } in &q.conditions {
        let Some(col) = (s.column)(field) else {
            continue;
        };
        let e = col.expr();
        match (op, value) {
            (Op::Any, Operand::List(items)) | (Op::Equals, Operand::List(items)) => {
                if items.is_empty() {
                    sql.push_str(" AND 0");
                    continue;
                }
                sql.push_str(&format!(" AND {e} IN ({})", vec!["?"; items.len()].join(", ")));
                args.extend(items.iter().map(|v| bind(col, v)));
            }
            (op, v) => {
                let sym = match op {
                    Op::Equals | Op::Any => "=",
                    Op::GreaterThan => ">",
                    Op::LessThan => "<",
                    Op::GreaterOrEqual => ">=",
                    Op::LessOrEqual => "<=",
                };
                sql.push_str(&format!(" AND {e} {sym} ?"));
                args.push(bind(col, v));
            }
        }
    }
    let (cmp, dir) = if q.sort.descending { ("<", "DESC") } else { (">", "ASC") };
    if let Some(Cursor { key, id }) = &q.cursor {
        sql.push_str(&format!(
            " AND ({e} {cmp} ? OR ({e} = ? AND {id_col} {cmp} ?))",
            e = sort_col.expr(),
            id_col = s.id_col
        ));
        args.push(cursor_key(sort_col, key));
        args.push(cursor_key(sort_col, key));
        args.push(SqlValue::Text(id.clone()));
    }
    sql.push_str(&format!(" ORDER BY {} {dir}, {} {dir} LIMIT {}", sort_col.expr(), s.id_col, q.page_size + 1));

    let mut stmt = conn.prepare_cached(&sql)?;
    let n = stmt.column_count();
    let mut items = Vec::with_capacity(q.page_size + 1);
    let mut last_keys = Vec::with_capacity(q.page_size + 1);
    let mut rows = stmt.query(params_from_iter(args))?;
    while let Some(row) = rows.next()? {
        items.push(map(row)?);
        last_keys.push((key_string(row.get_ref(n - 2)?), key_string(row.get_ref(n - 1)?)));
    }
    let next = if items.len() > q.page_size {
        items.truncate(q.page_size);
        let (key, id) = last_keys.swap_remove(q.page_size - 1);
        Some(Cursor { key, id })
    } else {
        None
    };
    Ok(Page { items, next })
}
