//! Resolution tests: region table, precedence, https rule, redaction.
use super::*;

fn sources(env: &[(&str, &str)], dir: Option<&Path>) -> Sources {
    Sources {
        env: env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        dotenv_dir: dir.map(Path::to_path_buf),
    }
}

const CREDS: &[(&str, &str)] = &[(ENV_CLIENT_ID, "id-env"), (ENV_CLIENT_SECRET, "s3cret-env")];

#[test]
fn region_table_maps_hosts() {
    assert_eq!(region_domain("eu-west-1"), Some("mypurecloud.ie"));
    assert_eq!(region_domain("US-EAST-1"), Some("mypurecloud.com"));
    assert_eq!(region_domain("ap-southeast-2"), Some("mypurecloud.com.au"));
    assert_eq!(region_domain("mars-1"), None);
    let args = TargetArgs {
        region: Some("eu-central-1".into()),
        ..Default::default()
    };
    let t = resolve_from(&args, &sources(CREDS, None)).unwrap().unwrap();
    assert_eq!(t.api_url, "https://api.mypurecloud.de");
    assert_eq!(t.login_url, "https://login.mypurecloud.de");
    assert_eq!(t.token_url(), "https://login.mypurecloud.de/oauth/token");
    assert!(!t.is_emulator);
}

#[test]
fn no_target_means_none() {
    let t = resolve_from(&TargetArgs::default(), &sources(CREDS, None)).unwrap();
    assert!(t.is_none());
}

#[test]
fn unknown_region_is_an_error() {
    let args = TargetArgs {
        region: Some("mars-1".into()),
        ..Default::default()
    };
    let err = resolve_from(&args, &sources(CREDS, None)).unwrap_err();
    assert!(matches!(err, SettingsError::UnknownRegion { .. }));
}

#[test]
fn loopback_http_is_the_emulator_and_its_own_login_host() {
    let args = TargetArgs {
        api_url: Some("http://127.0.0.1:8080/".into()),
        ..Default::default()
    };
    let t = resolve_from(&args, &sources(CREDS, None)).unwrap().unwrap();
    assert_eq!(t.api_url, "http://127.0.0.1:8080");
    assert_eq!(t.login_url, "http://127.0.0.1:8080");
    assert!(t.is_emulator);
}

#[test]
fn plain_http_to_a_remote_host_is_refused() {
    let args = TargetArgs {
        api_url: Some("http://api.mypurecloud.com".into()),
        ..Default::default()
    };
    let err = resolve_from(&args, &sources(CREDS, None)).unwrap_err();
    assert!(err.to_string().contains("https is required"), "{err}");
}

#[test]
fn api_url_derives_login_host() {
    let args = TargetArgs {
        api_url: Some("https://api.usw2.pure.cloud".into()),
        ..Default::default()
    };
    let t = resolve_from(&args, &sources(CREDS, None)).unwrap().unwrap();
    assert_eq!(t.login_url, "https://login.usw2.pure.cloud");
    let args = TargetArgs {
        api_url: Some("https://scim.example.com".into()),
        ..Default::default()
    };
    assert!(resolve_from(&args, &sources(CREDS, None)).is_err());
}

#[test]
fn missing_secret_names_the_variable() {
    let args = TargetArgs {
        region: Some("eu-west-1".into()),
        ..Default::default()
    };
    let err = resolve_from(&args, &sources(&[(ENV_CLIENT_ID, "x")], None)).unwrap_err();
    assert!(err.to_string().contains(ENV_CLIENT_SECRET), "{err}");
}

#[test]
fn precedence_file_then_dotenv_then_env_then_flags() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("scimport.toml");
    std::fs::write(
        &cfg,
        "client_id = \"id-file\"\nclient_secret = \"secret-file\"\nregion = \"eu-west-1\"\n",
    )
    .unwrap();
    let args = TargetArgs {
        config: Some(cfg.clone()),
        ..Default::default()
    };
    // File only.
    let t = resolve_from(&args, &sources(&[], None)).unwrap().unwrap();
    assert_eq!(t.credentials.client_id, "id-file");
    assert_eq!(t.credentials.client_secret.expose_secret(), "secret-file");
    assert_eq!(t.api_url, "https://api.mypurecloud.ie");
    // .env beats the file.
    std::fs::write(
        dir.path().join(".env"),
        "GENESYS_CLIENT_ID=id-dotenv\nGENESYS_REGION=eu-central-1\n",
    )
    .unwrap();
    let t = resolve_from(&args, &sources(&[], Some(dir.path())))
        .unwrap()
        .unwrap();
    assert_eq!(t.credentials.client_id, "id-dotenv");
    assert_eq!(t.credentials.client_secret.expose_secret(), "secret-file");
    assert_eq!(t.api_url, "https://api.mypurecloud.de");
    // The environment beats .env.
    let t = resolve_from(&args, &sources(CREDS, Some(dir.path())))
        .unwrap()
        .unwrap();
    assert_eq!(t.credentials.client_id, "id-env");
    assert_eq!(t.credentials.client_secret.expose_secret(), "s3cret-env");
    // Flags beat everything.
    let args = TargetArgs {
        region: Some("ap-northeast-1".into()),
        config: Some(cfg),
        ..Default::default()
    };
    let t = resolve_from(&args, &sources(CREDS, Some(dir.path())))
        .unwrap()
        .unwrap();
    assert_eq!(t.api_url, "https://api.mypurecloud.jp");
}

#[test]
fn unknown_config_key_is_rejected_without_echoing_values() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("c.toml");
    std::fs::write(&cfg, "client_secret = \"hunter2\"\npassword = \"x\"\n").unwrap();
    let args = TargetArgs {
        config: Some(cfg),
        ..Default::default()
    };
    let err = resolve_from(&args, &sources(&[], None)).unwrap_err();
    let text = err.to_string();
    assert!(text.contains("password"), "{text}");
    assert!(!text.contains("hunter2"), "{text}");
}

#[test]
fn debug_never_shows_the_secret() {
    let t = Target::emulator("http://127.0.0.1:1", "id", "hunter2");
    let text = format!("{t:?}");
    assert!(!text.contains("hunter2"), "{text}");
    assert!(text.contains("id"));
}

#[test]
fn basic_header_encodes_id_and_secret() {
    let c = Credentials::new("test-client", "test-secret");
    assert_eq!(
        c.basic_auth_header().expose_secret(),
        "Basic dGVzdC1jbGllbnQ6dGVzdC1zZWNyZXQ="
    );
}
