//! Routing skills and languages where they land: the tenant's catalogue judged
//! against what a mapping and its rows name ([`catalogue`], with the closest
//! existing names from [`suggest`]), and `scimport skills verify` ([`verify`]):
//! each user of a run read back through Genesys's platform API and compared with
//! what the mapping asked for.
//!
//! The judgements are pure. The reads go through `apply::api::Api` (the run's
//! limiter, retries and audit): the catalogue is read by the pre-flight
//! (`engine`), the users by [`verify::run`]. Mapping HR columns to skills is
//! `mapping`'s.

pub mod catalogue;
pub mod suggest;
pub mod verify;

pub use catalogue::{Catalogue, Kind, MappingName, Unknown};
