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

// ---- issue 15: --profile generic ----

fn generic(api_url: &str) -> TargetArgs {
    TargetArgs {
        profile: Some(Profile::Generic),
        api_url: Some(api_url.into()),
        ..Default::default()
    }
}

#[test]
fn profile_defaults_to_genesys_and_keeps_its_urls() {
    let args = TargetArgs {
        api_url: Some("https://api.mypurecloud.ie".into()),
        ..Default::default()
    };
    let env = [
        CREDS[0],
        CREDS[1],
        (ENV_BEARER_TOKEN, "ignored-for-genesys"),
    ];
    let t = resolve_from(&args, &sources(&env, None)).unwrap().unwrap();
    assert_eq!(t.profile, Profile::Genesys);
    assert_eq!(t.scim_base(), "https://api.mypurecloud.ie/api/v2/scim/v2");
    assert_eq!(t.token_url(), "https://login.mypurecloud.ie/oauth/token");
    assert!(t.bearer.is_none());
}

#[test]
fn generic_api_url_is_the_scim_base_and_the_bearer_comes_from_the_environment() {
    let env = [(ENV_BEARER_TOKEN, "static-bearer-1")];
    let t = resolve_from(
        &generic("https://idp.example.com/scim/v2/"),
        &sources(&env, None),
    )
    .unwrap()
    .unwrap();
    assert_eq!(t.profile, Profile::Generic);
    assert_eq!(t.scim_base(), "https://idp.example.com/scim/v2");
    assert_eq!(
        t.bearer.as_ref().unwrap().expose_secret(),
        "static-bearer-1"
    );
    // The static token is known to the redactor by value from here on.
    let scrubbed = crate::secrets::redact("got static-bearer-1 back");
    assert!(!scrubbed.contains("static-bearer-1"), "{scrubbed}");
    assert!(!format!("{t:?}").contains("static-bearer-1"));
}

#[test]
fn generic_bearer_from_dotenv_and_config_file() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("c.toml");
    std::fs::write(
        &cfg,
        "profile = \"generic\"\napi_url = \"https://scim.example.org\"\nbearer_token = \"file-bearer\"\n",
    )
    .unwrap();
    let args = TargetArgs {
        config: Some(cfg),
        ..Default::default()
    };
    // The file alone sets the profile, the URL and the token.
    let t = resolve_from(&args, &sources(&[], None)).unwrap().unwrap();
    assert_eq!(t.profile, Profile::Generic);
    assert_eq!(t.bearer.as_ref().unwrap().expose_secret(), "file-bearer");
    // .env beats the file.
    std::fs::write(
        dir.path().join(".env"),
        "SCIMPORT_BEARER_TOKEN=dotenv-bearer\n",
    )
    .unwrap();
    let t = resolve_from(&args, &sources(&[], Some(dir.path())))
        .unwrap()
        .unwrap();
    assert_eq!(t.bearer.as_ref().unwrap().expose_secret(), "dotenv-bearer");
}

#[test]
fn generic_token_url_means_client_credentials() {
    let mut args = generic("https://scim.example.org/v2");
    args.token_url = Some("https://auth.example.org/oauth2/token".into());
    let t = resolve_from(&args, &sources(CREDS, None)).unwrap().unwrap();
    assert!(t.bearer.is_none());
    assert_eq!(t.token_url(), "https://auth.example.org/oauth2/token");
    assert_eq!(t.credentials.client_id, "id-env");
    // Without the client id the error names the variable.
    let err = resolve_from(&args, &sources(&[(ENV_CLIENT_SECRET, "s")], None)).unwrap_err();
    assert!(err.to_string().contains(ENV_CLIENT_ID), "{err}");
}

#[test]
fn generic_token_url_flag_beats_a_bearer_in_the_environment() {
    let mut args = generic("https://scim.example.org/v2");
    args.token_url = Some("https://auth.example.org/token".into());
    let env = [CREDS[0], CREDS[1], (ENV_BEARER_TOKEN, "env-bearer")];
    let t = resolve_from(&args, &sources(&env, None)).unwrap().unwrap();
    assert!(t.bearer.is_none(), "the flag is the highest layer");
    assert_eq!(t.token_url(), "https://auth.example.org/token");
    // The same level configuring both is ambiguous.
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("c.toml");
    std::fs::write(
        &cfg,
        "token_url = \"https://auth.example.org/token\"\nbearer_token = \"b\"\n",
    )
    .unwrap();
    let mut args = generic("https://scim.example.org/v2");
    args.config = Some(cfg);
    let err = resolve_from(&args, &sources(CREDS, None)).unwrap_err();
    assert!(err.to_string().contains(ENV_BEARER_TOKEN), "{err}");
}

#[test]
fn generic_without_credentials_names_both_ways() {
    let err =
        resolve_from(&generic("https://scim.example.org"), &sources(CREDS, None)).unwrap_err();
    assert!(matches!(err, SettingsError::MissingGenericAuth), "{err}");
    let text = err.to_string();
    assert!(
        text.contains(ENV_BEARER_TOKEN) && text.contains("--token-url"),
        "{text}"
    );
}

#[test]
fn generic_rejects_a_region_and_plain_http_off_loopback() {
    let args = TargetArgs {
        profile: Some(Profile::Generic),
        region: Some("eu-west-1".into()),
        ..Default::default()
    };
    let env = [(ENV_BEARER_TOKEN, "b")];
    let err = resolve_from(&args, &sources(&env, None)).unwrap_err();
    assert!(err.to_string().contains("--api-url"), "{err}");
    let err = resolve_from(&generic("http://scim.example.org"), &sources(&env, None)).unwrap_err();
    assert!(matches!(err, SettingsError::BadUrl { .. }), "{err}");
}

#[test]
fn profile_flag_parses_both_names() {
    use clap::Parser;
    #[derive(clap::Parser)]
    struct Cli {
        #[command(flatten)]
        target: TargetArgs,
    }
    let cli = Cli::try_parse_from(["x", "--profile", "generic"]).unwrap();
    assert_eq!(cli.target.profile, Some(Profile::Generic));
    let cli = Cli::try_parse_from(["x", "--profile", "genesys"]).unwrap();
    assert_eq!(cli.target.profile, Some(Profile::Genesys));
    assert!(Cli::try_parse_from(["x", "--profile", "okta"]).is_err());
}

/// Every target flag is one a printed retry repeats: `ledger::runs` rebuilds the
/// retry of a recorded run from this list, so a new target flag must join it.
#[test]
fn every_target_flag_is_repeated_by_a_recorded_runs_retry() {
    let cmd = <TargetArgs as clap::Args>::augment_args(clap::Command::new("t"));
    let flags: Vec<String> = cmd
        .get_arguments()
        .filter_map(|a| a.get_long().map(|l| format!("--{l}")))
        .collect();
    assert!(flags.len() >= 6, "{flags:?}");
    for f in &flags {
        assert!(
            crate::ledger::runs::TARGET_FLAGS.contains(&f.as_str()),
            "{f} is missing from ledger::runs::TARGET_FLAGS"
        );
    }
}
