//! End-to-end tests: import.
