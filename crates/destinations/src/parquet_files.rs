//! Rows → Parquet: the columns of product.md §4 with proper types (timestamps as UTC
//! timestamps, JSON as strings), zstd-compressed. Shared by every file-based destination.

use std::sync::Arc;

use arrow_array::builder::{Float64Builder, Int64Builder, StringBuilder, TimestampMicrosecondBuilder};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema, TimeUnit};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use wharf_model::Timestamp;
use wharf_model::warehouse::Rows;

/// Columns that hold JSON text: high-cardinality blobs where dictionaries and statistics
/// cost time and bytes for nothing.
const JSON_COLUMNS: &[&str] = &["event_properties", "location", "properties"];

fn ts() -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
}

fn field(name: &str, ty: DataType, nullable: bool) -> Field {
    Field::new(name, ty, nullable)
}

/// The Arrow schema of a table's files.
pub fn schema(table: wharf_model::warehouse::Table) -> Schema {
    use DataType::{Float64, Int64, Utf8};
    use wharf_model::warehouse::Table;
    match table {
        Table::Event => Schema::new(vec![
            field("id", Utf8, false),
            field("profile_id", Utf8, false),
            field("metric_id", Utf8, false),
            field("metric_name", Utf8, false),
            field("integration_name", Utf8, false),
            field("datetime", ts(), false),
            field("timestamp", Int64, false),
            field("uuid", Utf8, false),
            field("value", Float64, true),
            field("value_currency", Utf8, true),
            field("unique_id", Utf8, true),
            field("event_properties", Utf8, false),
            field("_synced_at", ts(), false),
        ]),
        Table::Profile => Schema::new(vec![
            field("id", Utf8, false),
            field("email", Utf8, true),
            field("phone_number", Utf8, true),
            field("external_id", Utf8, true),
            field("first_name", Utf8, true),
            field("last_name", Utf8, true),
            field("organization", Utf8, true),
            field("title", Utf8, true),
            field("image", Utf8, true),
            field("locale", Utf8, true),
            field("location", Utf8, false),
            field("properties", Utf8, false),
            field("created", ts(), false),
            field("updated", ts(), false),
            field("last_event_date", ts(), true),
            field("_synced_at", ts(), false),
        ]),
        Table::Metric => Schema::new(vec![
            field("id", Utf8, false),
            field("name", Utf8, false),
            field("integration_name", Utf8, false),
            field("integration_category", Utf8, false),
            field("created", ts(), false),
            field("updated", ts(), false),
            field("_synced_at", ts(), false),
        ]),
    }
}

fn strings<'a>(values: impl Iterator<Item = Option<&'a str>>) -> ArrayRef {
    let mut b = StringBuilder::new();
    for v in values {
        b.append_option(v);
    }
    Arc::new(b.finish())
}

fn times(values: impl Iterator<Item = Option<Timestamp>>) -> ArrayRef {
    let mut b = TimestampMicrosecondBuilder::new().with_timezone("UTC");
    for v in values {
        b.append_option(v.map(|t| t.timestamp_micros()));
    }
    Arc::new(b.finish())
}

/// Builds the record batch of a run's rows.
pub fn record_batch(rows: &Rows) -> RecordBatch {
    let schema = Arc::new(schema(rows.table()));
    let columns: Vec<ArrayRef> = match rows {
        Rows::Events(r) => {
            let mut value = Float64Builder::new();
            let mut timestamp = Int64Builder::new();
            for e in r {
                value.append_option(e.value);
                timestamp.append_value(e.timestamp);
            }
            vec![
                strings(r.iter().map(|e| Some(e.id.as_str()))),
                strings(r.iter().map(|e| Some(e.profile_id.as_str()))),
                strings(r.iter().map(|e| Some(e.metric_id.as_str()))),
                strings(r.iter().map(|e| Some(e.metric_name.as_str()))),
                strings(r.iter().map(|e| Some(e.integration_name.as_str()))),
                times(r.iter().map(|e| Some(e.datetime))),
                Arc::new(timestamp.finish()),
                strings(r.iter().map(|e| Some(e.uuid.as_str()))),
                Arc::new(value.finish()),
                strings(r.iter().map(|e| e.value_currency.as_deref())),
                strings(r.iter().map(|e| e.unique_id.as_deref())),
                strings(r.iter().map(|e| Some(e.event_properties.as_str()))),
                times(r.iter().map(|e| Some(e.synced_at))),
            ]
        }
        Rows::Profiles(r) => vec![
            strings(r.iter().map(|p| Some(p.id.as_str()))),
            strings(r.iter().map(|p| p.email.as_deref())),
            strings(r.iter().map(|p| p.phone_number.as_deref())),
            strings(r.iter().map(|p| p.external_id.as_deref())),
            strings(r.iter().map(|p| p.first_name.as_deref())),
            strings(r.iter().map(|p| p.last_name.as_deref())),
            strings(r.iter().map(|p| p.organization.as_deref())),
            strings(r.iter().map(|p| p.title.as_deref())),
            strings(r.iter().map(|p| p.image.as_deref())),
            strings(r.iter().map(|p| p.locale.as_deref())),
            strings(r.iter().map(|p| Some(p.location.as_str()))),
            strings(r.iter().map(|p| Some(p.properties.as_str()))),
            times(r.iter().map(|p| Some(p.created))),
            times(r.iter().map(|p| Some(p.updated))),
            times(r.iter().map(|p| p.last_event_date)),
            times(r.iter().map(|p| Some(p.synced_at))),
        ],
        Rows::Metrics(r) => vec![
            strings(r.iter().map(|m| Some(m.id.as_str()))),
            strings(r.iter().map(|m| Some(m.name.as_str()))),
            strings(r.iter().map(|m| Some(m.integration_name.as_str()))),
            strings(r.iter().map(|m| Some(m.integration_category.as_str()))),
            times(r.iter().map(|m| Some(m.created))),
            times(r.iter().map(|m| Some(m.updated))),
            times(r.iter().map(|m| Some(m.synced_at))),
        ],
    };
    RecordBatch::try_new(schema, columns).expect("columns match the table schema")
}

fn properties() -> WriterProperties {
    let mut p = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::try_new(3).expect("valid level")))
        .set_max_row_group_row_count(Some(128 * 1024));
    for c in JSON_COLUMNS {
        p = p
            .set_column_dictionary_enabled((*c).into(), false)
            .set_column_statistics_enabled((*c).into(), EnabledStatistics::None);
    }
    p.build()
}

/// Encodes a run's rows as one Parquet file.
pub fn encode(rows: &Rows) -> Result<Vec<u8>, parquet::errors::ParquetError> {
    let batch = record_batch(rows);
    let mut out = Vec::new();
    let mut writer = ArrowWriter::try_new(&mut out, batch.schema(), Some(properties()))?;
    writer.write(&batch)?;
    writer.close()?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use parquet::file::reader::{FileReader, SerializedFileReader};
    use wharf_model::warehouse::EventRow;

    #[test]
    fn events_round_trip_through_parquet() {
        let t = chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let rows = Rows::Events(
            (0..3)
                .map(|i| EventRow {
                    id: format!("E{i}"),
                    profile_id: "P".into(),
                    metric_id: "M".into(),
                    metric_name: "Placed Order".into(),
                    integration_name: "Shopify".into(),
                    datetime: t,
                    timestamp: t.timestamp(),
                    uuid: "u".into(),
                    value: (i > 0).then_some(9.5),
                    value_currency: None,
                    unique_id: Some(format!("u{i}")),
                    event_properties: r#"{"$value":9.5}"#.into(),
                    synced_at: t,
                })
                .collect(),
        );
        let bytes = encode(&rows).unwrap();
        let reader = SerializedFileReader::new(bytes::Bytes::from(bytes)).unwrap();
        let meta = reader.metadata();
        assert_eq!(meta.file_metadata().num_rows(), 3);
        let schema = meta.file_metadata().schema_descr();
        assert_eq!(schema.column(5).name(), "datetime");
        assert_eq!(schema.num_columns(), 13);
    }
}
