//! The write-ahead journal that makes an import crash-safe and resumable.
