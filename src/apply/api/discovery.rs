//! The discovery GETs the pre-flight sends (`/schemas`, `/resourcetypes`,
//! `/serviceproviderconfig`), and the `POST /schemas` of `scimport schema extend`:
//! through the same limiter, retries and audit as every call, row-less. What they mean is `scim::schema`'s; when they are sent is
//! `engine::preflight`'s.

use serde_json::Value;

use super::{Api, ApiError, decode};
use crate::scim::client::{Method, Request};

impl Api {
    /// GETs a discovery document at `path` (under the SCIM base URL). `Ok(None)`
    /// when the server does not serve it (404, 405 or 501).
    pub async fn discover(&self, path: &str) -> Result<Option<Value>, ApiError> {
        match self
            .execute_plain(None, &Request::get(path, Vec::new()))
            .await
        {
            Ok((resp, _, _)) => decode(&resp).map(Some),
            Err(ApiError::Http {
                status: 404 | 405 | 501,
                ..
            }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// POSTs the Schema resource `schema` to `path` (a custom extension). `Ok(None)`
    /// when the server does not accept schema creation (404, 405 or 501).
    pub async fn create_schema(
        &self,
        path: &str,
        schema: &Value,
    ) -> Result<Option<Value>, ApiError> {
        let req =
            Request::with_json(Method::Post, path, schema, None).map_err(|e| ApiError::Setup {
                detail: format!("serialising the schema: {e}"),
            })?;
        match self.execute_plain(None, &req).await {
            Ok((resp, _, _)) => decode(&resp).map(Some),
            Err(ApiError::Http {
                status: 404 | 405 | 501,
                ..
            }) => Ok(None),
            Err(e) => Err(e),
        }
    }
}
