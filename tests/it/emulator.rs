//! End-to-end tests: emulator.
