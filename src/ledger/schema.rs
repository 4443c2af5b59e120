//! The ledger's Arrow schema, defined here and nowhere else.
//!
//! Column names and types are pinned: analysts' queries depend on them.

use std::sync::{Arc, LazyLock};

use arrow_schema::{DataType, Field, FieldRef, Schema, SchemaRef, TimeUnit};

/// Column `run_id` (Utf8).
pub const RUN_ID: &str = "run_id";
/// Column `row` (UInt64, 1-based data row of the input; null for a user a sync
/// deactivates because the source no longer has it).
pub const ROW: &str = "row";
/// Column `external_id` (Utf8, nullable).
pub const EXTERNAL_ID: &str = "external_id";
/// Column `user_name` (Utf8, nullable).
pub const USER_NAME: &str = "user_name";
/// Column `action` (Utf8).
pub const ACTION: &str = "action";
/// Column `outcome` (Utf8).
pub const OUTCOME: &str = "outcome";
/// Column `http_status` (Int32, null when no call was made).
pub const HTTP_STATUS: &str = "http_status";
/// Column `scim_id` (Utf8, nullable).
pub const SCIM_ID: &str = "scim_id";
/// Column `attempts` (UInt32).
pub const ATTEMPTS: &str = "attempts";
/// Column `latency_ms` (Float64).
pub const LATENCY_MS: &str = "latency_ms";
/// Column `error_kind` (Utf8, null on success).
pub const ERROR_KIND: &str = "error_kind";
/// Column `error` (Utf8, null on success).
pub const ERROR: &str = "error";
/// Column `changed_fields` (List<Utf8>).
pub const CHANGED_FIELDS: &str = "changed_fields";
/// Column `source_hash` (Utf8).
pub const SOURCE_HASH: &str = "source_hash";
/// Column `finished_at` (Timestamp(Microsecond, "UTC")).
pub const FINISHED_AT: &str = "finished_at";

/// Column `webhook` (Utf8, nullable): `delivered`, `failed` or `pending` for a row
/// whose outcome sent a webhook event; null when it sent none. Added in issue 17,
/// after the pinned columns (ledgers written before it lack it).
pub const WEBHOOK: &str = "webhook";

/// Column `warning` (Utf8, nullable): `kind: detail` for a row that succeeded with
/// something its user should know (`manager_unresolved: …`). Added in issue 19,
/// after `webhook` (ledgers written before it lack it).
pub const WARNING: &str = "warning";

/// Column `wait_ms` (Float64): milliseconds the row spent waiting (for the rate
/// limiter, between retries) rather than in its own calls, which `latency_ms`
/// measures. Added in issue 19, after `warning`.
pub const WAIT_MS: &str = "wait_ms";

/// The time zone of `finished_at`.
pub const TIME_ZONE: &str = "UTC";

/// Every column, in file order.
pub const COLUMNS: [&str; 18] = [
    RUN_ID,
    ROW,
    EXTERNAL_ID,
    USER_NAME,
    ACTION,
    OUTCOME,
    HTTP_STATUS,
    SCIM_ID,
    ATTEMPTS,
    LATENCY_MS,
    ERROR_KIND,
    ERROR,
    CHANGED_FIELDS,
    SOURCE_HASH,
    FINISHED_AT,
    WEBHOOK,
    WARNING,
    WAIT_MS,
];

/// The element field of `changed_fields` (non-null strings).
pub fn changed_fields_item() -> FieldRef {
    static ITEM: LazyLock<FieldRef> =
        LazyLock::new(|| Arc::new(Field::new("item", DataType::Utf8, false)));
    ITEM.clone()
}

/// The ledger schema.
pub fn schema() -> SchemaRef {
    static SCHEMA: LazyLock<SchemaRef> = LazyLock::new(|| {
        Arc::new(Schema::new(vec![
            Field::new(RUN_ID, DataType::Utf8, false),
            Field::new(ROW, DataType::UInt64, true),
            Field::new(EXTERNAL_ID, DataType::Utf8, true),
            Field::new(USER_NAME, DataType::Utf8, true),
            Field::new(ACTION, DataType::Utf8, false),
            Field::new(OUTCOME, DataType::Utf8, false),
            Field::new(HTTP_STATUS, DataType::Int32, true),
            Field::new(SCIM_ID, DataType::Utf8, true),
            Field::new(ATTEMPTS, DataType::UInt32, false),
            Field::new(LATENCY_MS, DataType::Float64, false),
            Field::new(ERROR_KIND, DataType::Utf8, true),
            Field::new(ERROR, DataType::Utf8, true),
            Field::new(CHANGED_FIELDS, DataType::List(changed_fields_item()), false),
            Field::new(SOURCE_HASH, DataType::Utf8, false),
            Field::new(
                FINISHED_AT,
                DataType::Timestamp(TimeUnit::Microsecond, Some(TIME_ZONE.into())),
                false,
            ),
            Field::new(WEBHOOK, DataType::Utf8, true),
            Field::new(WARNING, DataType::Utf8, true),
            Field::new(WAIT_MS, DataType::Float64, false),
        ]))
    });
    SCHEMA.clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_list_matches_schema_order() {
        let s = schema();
        let names: Vec<&str> = s.fields().iter().map(|f| f.name().as_str()).collect();
        assert_eq!(names, COLUMNS);
    }
}
