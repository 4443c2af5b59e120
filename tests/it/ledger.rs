//! End-to-end tests: ledger.
