//! `scimport emulator`: a Genesys-compatible SCIM 2.0 server held in memory, used by
//! tests, benchmarks and a new user's first run.
