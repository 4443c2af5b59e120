//! The SCIM 2.0 wire model as Genesys Cloud speaks it, and the HTTP side of talking
//! to a tenant: token cache (`auth`), filter building with escaping (`filter`) and
//! the client (`client`), which reads
//! at most 16 MiB of any answer (`body`). Used by both the importer and the emulator.

pub mod auth;
pub mod body;
pub mod client;
pub mod extensions;
pub mod filter;
pub mod model;
pub mod schema;
pub mod target;

pub use target::{Credentials, Target};
