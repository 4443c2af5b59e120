//! Starting an emulator and talking to it.
#![allow(dead_code)]

use reqwest::{Method, RequestBuilder, Response};
use scimport::emulator::{EmulatorConfig, EmulatorHandle, spawn};
use serde_json::{Value, json};

/// A running emulator with a token.
pub struct Emu {
    pub handle: EmulatorHandle,
    pub http: reqwest::Client,
    pub token: String,
}

pub fn client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder().build().unwrap()
}

pub async fn token_for(http: &reqwest::Client, handle: &EmulatorHandle) -> String {
    let r = http
        .post(format!("{}/oauth/token", handle.url()))
        .basic_auth(handle.client_id(), Some(handle.client_secret()))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    v["access_token"].as_str().unwrap().to_string()
}

impl Emu {
    pub async fn start() -> Self {
        Self::with(EmulatorConfig::for_tests()).await
    }
    pub async fn with(cfg: EmulatorConfig) -> Self {
        let handle = spawn(cfg).await.unwrap();
        let http = client();
        let token = token_for(&http, &handle).await;
        Self {
            handle,
            http,
            token,
        }
    }
    /// A request to `path` under the SCIM base (or absolute when it starts with `/api`).
    pub fn req(&self, method: Method, path: &str) -> RequestBuilder {
        let url = if path.starts_with("/api")
            || path.starts_with("/oauth")
            || path.starts_with("/emulator")
        {
            format!("{}{path}", self.handle.url())
        } else {
            format!("{}{path}", self.handle.scim_url())
        };
        self.http.request(method, url).bearer_auth(&self.token)
    }
    pub async fn send_json(&self, method: Method, path: &str, body: Value) -> Response {
        self.req(method, path)
            .header("content-type", "application/scim+json")
            .body(body.to_string())
            .send()
            .await
            .unwrap()
    }
    pub async fn get(&self, path: &str) -> Response {
        self.req(Method::GET, path).send().await.unwrap()
    }
    /// Creates a user and returns its JSON.
    pub async fn create(&self, body: Value) -> Value {
        let r = self.send_json(Method::POST, "/users", body).await;
        let status = r.status();
        let v: Value = r.json().await.unwrap();
        assert_eq!(status, 201, "{v}");
        v
    }
    pub async fn patch(&self, path: &str, ops: Value) -> Response {
        self.send_json(
            Method::PATCH,
            path,
            json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": ops}),
        )
        .await
    }
}

/// A minimal valid user body.
pub fn user(name: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": format!("{name}@example.com"),
        "displayName": name,
        "externalId": format!("ext-{name}"),
    })
}

/// Asserts a SCIM error with this scimType: a SCIM Error body (string status), or,
/// for a 400 under the default `--error-shape platform`, the platform ErrorBody
/// (`bad.request`) carrying the scimType in `messageParams.scimType`.
pub async fn assert_scim_error(r: Response, status: u16, scim_type: &str) -> Value {
    assert_eq!(r.status().as_u16(), status);
    let v: Value = r.json().await.unwrap();
    if status == 400 && scim_type != "invalidVers" {
        assert_eq!(v["status"], json!(400), "{v}");
        assert_eq!(v["code"], "bad.request", "{v}");
        assert_eq!(v["messageParams"]["scimType"], scim_type, "{v}");
        return v;
    }
    assert_eq!(v["status"], json!(status.to_string()), "{v}");
    assert_eq!(v["scimType"], scim_type, "{v}");
    assert_eq!(
        v["schemas"][0],
        "urn:ietf:params:scim:api:messages:2.0:Error"
    );
    v
}

/// Asserts a platform ErrorBody (integer status) with this code.
pub async fn assert_platform_error(r: Response, status: u16, code: &str) -> Value {
    assert_eq!(r.status().as_u16(), status);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["status"], json!(status), "{v}");
    assert_eq!(v["code"], code, "{v}");
    v
}

/// Lists users with these query parameters (asserting 200).
pub async fn list(e: &Emu, query: &[(&str, &str)]) -> Value {
    let r = e
        .req(Method::GET, "/users")
        .query(query)
        .send()
        .await
        .unwrap();
    let status = r.status();
    let v: Value = r.json().await.unwrap();
    assert_eq!(status, 200, "{v}");
    v
}

pub fn names(v: &Value) -> Vec<String> {
    v["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["userName"].as_str().unwrap().to_string())
        .collect()
}
