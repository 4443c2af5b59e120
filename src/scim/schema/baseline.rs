//! A saved baseline of a target's discovery documents: the directory
//! `scimport schema pull` writes (`schemas.json`, `resource_types.json`,
//! `service_provider_config.json`) and that `schema diff --baseline` and
//! `import`/`sync --schema-baseline` read back into a [`Discovery`].
//!
//! Owns the file names and their reading; comparing is `drift`'s, fetching the
//! live documents is the caller's.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::{Discovery, SchemaError, parse_patch_supported, parse_resource_types, parse_schemas};

/// The `/Schemas` document's file (required).
pub const SCHEMAS_FILE: &str = "schemas.json";
/// The `/ResourceTypes` document's file (optional).
pub const RESOURCE_TYPES_FILE: &str = "resource_types.json";
/// The `/ServiceProviderConfig` document's file (optional).
pub const SPC_FILE: &str = "service_provider_config.json";

/// Why a baseline directory could not be read.
#[derive(Debug, thiserror::Error)]
pub enum BaselineError {
    /// A file could not be read (`schemas.json` missing included).
    #[error(
        "cannot read the schema baseline {}: {source} (write one with `scimport schema pull --out DIR`)",
        path.display()
    )]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A file is not JSON.
    #[error("the schema baseline {} is not JSON: {source}", path.display())]
    Json {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: serde_json::Error,
    },
    /// A file is JSON but not the RFC 7643 document it should be.
    #[error("in the schema baseline {}: {source}", dir.display())]
    Malformed {
        /// The directory.
        dir: PathBuf,
        /// The cause.
        #[source]
        source: SchemaError,
    },
}

/// Parses the three documents as a target serves them (`None`: not served).
pub fn parse_documents(
    schemas: &Value,
    resource_types: Option<&Value>,
    spc: Option<&Value>,
) -> Result<Discovery, SchemaError> {
    Ok(Discovery {
        schemas: parse_schemas(schemas)?,
        resource_types: resource_types.map(parse_resource_types).transpose()?,
        patch_supported: spc.map(parse_patch_supported).transpose()?.flatten(),
    })
}

fn read_json(dir: &Path, name: &str) -> Result<Option<Value>, BaselineError> {
    let path = dir.join(name);
    match std::fs::read_to_string(&path) {
        Ok(text) => serde_json::from_str(&text)
            .map(Some)
            .map_err(|source| BaselineError::Json { path, source }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && name != SCHEMAS_FILE => Ok(None),
        Err(source) => Err(BaselineError::Read { path, source }),
    }
}

/// Reads a baseline directory.
pub fn load(dir: &Path) -> Result<Discovery, BaselineError> {
    let schemas = read_json(dir, SCHEMAS_FILE)?.unwrap_or(Value::Null);
    let resource_types = read_json(dir, RESOURCE_TYPES_FILE)?;
    let spc = read_json(dir, SPC_FILE)?;
    parse_documents(&schemas, resource_types.as_ref(), spc.as_ref()).map_err(|source| {
        BaselineError::Malformed {
            dir: dir.to_path_buf(),
            source,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_directory_names_the_command_that_writes_one() {
        let err = load(Path::new("/nonexistent/baseline")).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("schemas.json"), "{text}");
        assert!(text.contains("scimport schema pull"), "{text}");
    }

    #[test]
    fn optional_documents_may_be_absent_and_bad_json_is_named() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(SCHEMAS_FILE),
            r#"{"Resources":[{"id":"urn:x","attributes":[{"name":"a","type":"string"}]}]}"#,
        )
        .unwrap();
        let d = load(dir.path()).unwrap();
        assert_eq!(d.schemas.len(), 1);
        assert!(d.resource_types.is_none());
        std::fs::write(dir.path().join(RESOURCE_TYPES_FILE), "{not json").unwrap();
        let err = load(dir.path()).unwrap_err();
        assert!(matches!(err, BaselineError::Json { .. }), "{err}");
        assert!(err.to_string().contains(RESOURCE_TYPES_FILE));
    }
}
