//! plan.parquet's Arrow schema: the pinned columns first (`run_id`, `row`,
//! `external_id`, `user_name`, `action`, `path`, `before`, `after`), then what
//! exact application needs (`scim_id`, `version`, `op`). Repeated strings
//! (`run_id`, `action`, `path`) are dictionary-encoded.

use std::sync::Arc;

use arrow_schema::{DataType, Field, Schema, SchemaRef};

fn dict() -> DataType {
    DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8))
}

/// The file's schema.
pub fn schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("run_id", dict(), false),
        Field::new("row", DataType::UInt64, true),
        Field::new("external_id", DataType::Utf8, true),
        Field::new("user_name", DataType::Utf8, true),
        Field::new("action", dict(), false),
        Field::new("path", dict(), true),
        Field::new("before", DataType::Utf8, true),
        Field::new("after", DataType::Utf8, true),
        Field::new("scim_id", DataType::Utf8, true),
        Field::new("version", DataType::Utf8, true),
        Field::new("op", DataType::Utf8, true),
    ]))
}
