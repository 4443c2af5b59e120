//! The append-only, hash-chained JSONL audit log: one line per decision and per HTTP
//! call; `verify` detects any edit, removal or reordering.
