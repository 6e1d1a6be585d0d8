//! Tests of the configuration: the environment and the document, read into a [`Config`].
#![allow(clippy::unwrap_used)]
use jsonwebtoken::Algorithm;
use serde_json::Value;

use super::env::without_value;
use super::*;
use crate::alg::SUPPORTED_ALGORITHMS;
use crate::outbound::TlsRoots;

fn load(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
    let map: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| ((*k).into(), (*v).into()))
        .collect();
    Config::from_lookup(|k| map.get(k).cloned())
}

fn load_err(vars: &[(&str, &str)]) -> String {
    load(vars).unwrap_err().0
}

const BASE: [(&str, &str); 2] = [
    ("AUTHZ_ISSUER", "https://idp.example.com"),
    ("AUTHZ_AUDIENCE", "api"),
];

#[test]
fn flat_minimal_has_safe_defaults() {
    let c = load(&BASE).unwrap();
    assert_eq!(c.issuers.len(), 1);
    assert_eq!(c.issuers[0].audiences, vec!["api"]);
    assert_eq!(c.issuers[0].algorithms, SUPPORTED_ALGORITHMS.to_vec());
    assert_eq!(c.leeway, Duration::from_secs(5));
    assert!(!c.accept_bare_token);
    assert_eq!(c.jwks.cooldown, Duration::from_secs(10));
    assert_eq!(c.http.timeout, Duration::from_secs(2));
    assert!(c.issuers[0].jwks_uri.is_none());
}

#[test]
fn missing_required_values_name_the_variable() {
    assert!(load_err(&[]).contains("AUTHZ_ISSUER"));
    assert!(load_err(&[("AUTHZ_ISSUER", "https://idp.example.com")]).contains("AUTHZ_AUDIENCE"));
}

#[test]
fn bad_values_name_the_variable() {
    let with = |k: &'static str, v: &'static str| {
        let mut vars = BASE.to_vec();
        vars.push((k, v));
        load_err(&vars)
    };
    assert!(with("AUTHZ_ALGORITHMS", "HS256").contains("AUTHZ_ALGORITHMS"));
    assert!(with("AUTHZ_ALGORITHMS", "none").contains("never `none`"));
    assert!(with("AUTHZ_LEEWAY_SECONDS", "abc").contains("AUTHZ_LEEWAY_SECONDS"));
    assert!(with("AUTHZ_LEEWAY_SECONDS", "100000").contains("AUTHZ_LEEWAY_SECONDS"));
    assert!(with("AUTHZ_ACCEPT_BARE_TOKEN", "maybe").contains("AUTHZ_ACCEPT_BARE_TOKEN"));
    assert!(with("AUTHZ_HTTP_TIMEOUT_SECONDS", "30").contains("AUTHZ_HTTP_TIMEOUT_SECONDS"));
    assert!(
        with("AUTHZ_ALLOWED_API_ARNS", "arn:aws:s3:::bucket").contains("AUTHZ_ALLOWED_API_ARNS")
    );
    assert!(with("AUTHZ_CONTEXT_CLAIMS", "sub").contains("AUTHZ_CONTEXT_CLAIMS"));
    assert!(with("AUTHZ_JWKS_URI", "http://keys.example.com/jwks").contains("AUTHZ_JWKS_URI"));
    assert!(
        load_err(&[
            ("AUTHZ_ISSUER", "http://idp.example.com"),
            ("AUTHZ_AUDIENCE", "a")
        ])
        .contains("https")
    );
}

#[test]
fn http_allowed_only_on_loopback() {
    let c = load(&[
        ("AUTHZ_ISSUER", "http://127.0.0.1:8080"),
        ("AUTHZ_AUDIENCE", "a"),
    ])
    .unwrap();
    assert_eq!(c.issuers[0].issuer, "http://127.0.0.1:8080");
    assert!(crate::outbound::check_url("http://127.0.0.1.evil.com/x", "X").is_err());
    assert!(crate::outbound::check_url("http://localhost", "X").is_ok());
}

#[test]
fn multi_issuer_and_jwks_pairs() {
    let c = load(&[
        (
            "AUTHZ_ISSUER",
            "https://a.example.com, https://b.example.com",
        ),
        ("AUTHZ_AUDIENCE", "api1,api2"),
        (
            "AUTHZ_JWKS_URI",
            "https://b.example.com=https://keys.example.com/b.json",
        ),
        ("AUTHZ_ALGORITHMS", "RS256,ES256"),
    ])
    .unwrap();
    assert_eq!(c.issuers.len(), 2);
    assert_eq!(c.issuers[0].jwks_uri, None);
    assert_eq!(
        c.issuers[1].jwks_uri.as_deref(),
        Some("https://keys.example.com/b.json")
    );
    assert_eq!(
        c.issuers[1].algorithms,
        vec![Algorithm::RS256, Algorithm::ES256]
    );
    assert_eq!(c.issuers[1].audiences, vec!["api1", "api2"]);
}

#[test]
fn bare_jwks_uri_with_query_for_single_issuer() {
    let mut vars = BASE.to_vec();
    vars.push(("AUTHZ_JWKS_URI", "https://keys.example.com/k?appid=1"));
    let c = load(&vars).unwrap();
    assert_eq!(
        c.issuers[0].jwks_uri.as_deref(),
        Some("https://keys.example.com/k?appid=1")
    );
    let e = load_err(&[
        (
            "AUTHZ_ISSUER",
            "https://a.example.com,https://b.example.com",
        ),
        ("AUTHZ_AUDIENCE", "x"),
        ("AUTHZ_JWKS_URI", "https://keys.example.com/k"),
    ]);
    assert!(e.contains("AUTHZ_JWKS_URI"), "{e}");
}

#[test]
fn structured_form_with_per_issuer_settings() {
    let doc = r#"{"issuers":[{"issuer":"https://a.example.com","audiences":["x"],"algorithms":["ES256"]},
                             {"issuer":"https://b.example.com"}],
                  "audiences":["default"], "jwks":{"cooldown_seconds":0.5}, "context_claims":["email"]}"#;
    let c = load(&[("AUTHZ_CONFIG", doc)]).unwrap();
    assert_eq!(c.issuers[0].audiences, vec!["x"]);
    assert_eq!(c.issuers[0].algorithms, vec![Algorithm::ES256]);
    assert_eq!(c.issuers[1].audiences, vec!["default"]);
    assert_eq!(c.jwks.cooldown, Duration::from_millis(500));
    assert_eq!(c.context_claims, vec!["email"]);
}

#[test]
fn structured_errors_name_the_key() {
    let e = load_err(&[(
        "AUTHZ_CONFIG",
        r#"{"issuers":[{"issuer":"https://a.example.com","audience":["x"]}]}"#,
    )]);
    assert!(e.contains("AUTHZ_CONFIG") && e.contains("audience"), "{e}");
    let e = load_err(&[(
        "AUTHZ_CONFIG",
        r#"{"issuers":[],"jwks":{"max_bytes":"big"}}"#,
    )]);
    assert!(e.contains("jwks.max_bytes"), "{e}");
    assert!(load_err(&[("AUTHZ_CONFIG", "[1]")]).contains("JSON object"));
    assert!(load_err(&[("AUTHZ_CONFIG", "{")]).contains("invalid JSON"));
}

#[test]
fn errors_name_the_place_but_never_quote_the_value() {
    let secret = r#"s3cret, expected "x" `y`"#;
    let doc = |key: &str| {
        let mut doc = serde_json::json!({"issuers": [{"issuer": "https://a.example.com"}],
                                         "audiences": ["x"]});
        doc[key] = Value::from(secret);
        doc.to_string()
    };
    let with = |name: &str, value: &str| {
        let mut vars = BASE.to_vec();
        vars.push((name, value));
        load_err(&vars)
    };
    for (e, place, expected) in [
        (
            load_err(&[("AUTHZ_CONFIG", &doc("leeway_seconds"))]),
            "AUTHZ_CONFIG key `leeway_seconds`",
            "invalid type: string, expected f64",
        ),
        (
            load_err(&[("AUTHZ_CONFIG", &doc("audiences"))]),
            "`audiences`",
            "invalid type: string, expected a sequence",
        ),
        (
            with("AUTHZ_LEEWAY_SECONDS", secret),
            "AUTHZ_LEEWAY_SECONDS",
            "non-negative number",
        ),
        (
            with("AUTHZ_ACCEPT_BARE_TOKEN", secret),
            "AUTHZ_ACCEPT_BARE_TOKEN",
            "true or false",
        ),
        (
            with(
                "AUTHZ_ROUTES",
                &format!("[{{\"route\": 5, \"x\": {:?}}}]", secret),
            ),
            "AUTHZ_ROUTES",
            "routes[0]",
        ),
    ] {
        assert!(e.contains(place) && e.contains(expected), "{e}");
        assert!(!e.contains("s3cret"), "{e}");
    }
    assert_eq!(
        without_value("invalid value: integer `-1`, expected usize"),
        "invalid value: integer, expected usize"
    );
    assert_eq!(
        without_value("unknown variant `s3cret`, expected one of `a`, `b`"),
        "unknown variant, expected one of `a`, `b`"
    );
    assert_eq!(
        without_value("missing field `issuer`"),
        "missing field `issuer`"
    );
}

#[test]
fn setting_a_key_twice_is_an_error() {
    let e = load_err(&[
        (
            "AUTHZ_CONFIG",
            r#"{"issuers":[{"issuer":"https://a.example.com"}],"audiences":["x"]}"#,
        ),
        ("AUTHZ_AUDIENCE", "y"),
    ]);
    assert!(
        e.contains("AUTHZ_AUDIENCE") && e.contains("both set"),
        "{e}"
    );
    let e = load_err(&[
        (
            "AUTHZ_CONFIG",
            r#"{"issuers":[{"issuer":"https://a.example.com"}],"audiences":["x"]}"#,
        ),
        ("AUTHZ_ISSUER", "https://b.example.com"),
    ]);
    assert!(e.contains("AUTHZ_ISSUER"), "{e}");
}

#[test]
fn route_rules_are_validated_naming_the_rule() {
    let mut vars = BASE.to_vec();
    vars.push(("AUTHZ_ROUTES", r#"[{"route":"GET /planets","scopes":["silver","gold"]},{"route":"ANY /pets/{petId}","claims":{"groups":"admins"}}]"#));
    let c = load(&vars).unwrap();
    assert_eq!(c.routes.as_ref().unwrap().0.len(), 2);
    for (bad, want) in [
        (r#"[{"route":"GET planets"}]"#, "rule #1 (`GET planets`)"),
        (
            r#"[{"route":"GET /a"},{"route":"FETCH /b"}]"#,
            "rule #2 (`FETCH /b`)",
        ),
        (r#"[{"route":"GET /{proxy+}/x"}]"#, "greedy"),
        (r#"[{"route":"GET /a"},{"route":"GET /a"}]"#, "twice"),
        (r#"[{"route":"GET /a","scope":["x"]}]"#, "unknown field"),
        (
            r#"[{"route":"GET /a","claims":{"groups":["a"]}}]"#,
            "string, number or boolean",
        ),
        (r#"{"route":"GET /a"}"#, "AUTHZ_ROUTES: at `routes`"),
        ("[", "AUTHZ_ROUTES: invalid JSON"),
    ] {
        let mut vars = BASE.to_vec();
        vars.push(("AUTHZ_ROUTES", bad));
        let e = load_err(&vars);
        assert!(e.contains(want), "{bad}: {e}");
    }
}

#[test]
fn request_options() {
    let mut vars = BASE.to_vec();
    vars.extend([
        ("AUTHZ_TOKEN_HEADER", "X-Api-Token"),
        ("AUTHZ_TOKEN_QUERY_PARAM", "access_token"),
        ("AUTHZ_BIND_HEADER", "X-Tenant-Id"),
        ("AUTHZ_BIND_CLAIM", "tenant"),
        (
            "AUTHZ_ROUTE_SETS",
            r#"{"strict":[{"route":"GET /a","scopes":["admin"]}]}"#,
        ),
    ]);
    let c = load(&vars).unwrap();
    assert_eq!(c.token_header, "x-api-token");
    assert_eq!(c.token_query_param.as_deref(), Some("access_token"));
    assert_eq!(
        c.binding,
        Some(Binding {
            header: "x-tenant-id".into(),
            claim: "tenant".into()
        })
    );
    assert!(c.route_sets.contains_key("strict"));
    let mut vars = BASE.to_vec();
    vars.push(("AUTHZ_BIND_HEADER", "x-tenant-id"));
    assert!(load_err(&vars).contains("AUTHZ_BIND_CLAIM"));
    let mut vars = BASE.to_vec();
    vars.push(("AUTHZ_ROUTE_SETS", r#"{"bad name":[]}"#));
    assert!(load_err(&vars).contains("AUTHZ_ROUTE_SETS"));
}

#[test]
fn introspection_settings() {
    let mut vars = BASE.to_vec();
    vars.push((
        "AUTHZ_INTROSPECTION_SECRET_ARN",
        "arn:aws:secretsmanager:us-east-1:1:secret:intro",
    ));
    let c = load(&vars).unwrap();
    assert_eq!(
        c.issuers[0].token_format,
        TokenFormat::Auto,
        "auto by default with a secret"
    );
    let i = c.issuers[0].introspection.as_ref().unwrap();
    assert_eq!(i.auth, ClientAuth::ClientSecretBasic);
    assert_eq!(i.cache_ttl, Duration::from_secs(300));
    vars.extend([
        ("AUTHZ_TOKEN_FORMAT", "opaque"),
        ("AUTHZ_INTROSPECTION_AUTH", "bearer"),
    ]);
    let c = load(&vars).unwrap();
    assert_eq!(c.issuers[0].token_format, TokenFormat::Opaque);
    assert_eq!(
        c.issuers[0].introspection.as_ref().unwrap().auth,
        ClientAuth::Bearer
    );
    let mut vars = BASE.to_vec();
    vars.push(("AUTHZ_TOKEN_FORMAT", "opaque"));
    assert!(load_err(&vars).contains("AUTHZ_INTROSPECTION_SECRET_ARN"));
    let mut vars = BASE.to_vec();
    vars.extend([
        ("AUTHZ_INTROSPECTION_SECRET_ARN", "s"),
        ("AUTHZ_INTROSPECTION_AUTH", "mtls"),
    ]);
    assert!(load_err(&vars).contains("AUTHZ_INTROSPECTION_AUTH"));
    let e = load_err(&[
        (
            "AUTHZ_ISSUER",
            "https://a.example.com,https://b.example.com",
        ),
        ("AUTHZ_AUDIENCE", "x"),
        ("AUTHZ_INTROSPECTION_SECRET_ARN", "s"),
    ]);
    assert!(
        e.contains("AUTHZ_INTROSPECTION_SECRET_ARN") && e.contains("single issuer"),
        "{e}"
    );
    let two = r#"{"audiences":["x"],"issuers":[
        {"issuer":"https://a.example.com","introspection":{"secret_arn":"s"}},
        {"issuer":"https://b.example.com","token_format":"opaque","introspection":{"secret_arn":"t"}}]}"#;
    assert!(load_err(&[("AUTHZ_CONFIG", two)]).contains("at most one issuer"));
}

#[test]
fn tls_roots_are_builtin_by_default_and_only_builtin_or_system() {
    assert_eq!(load(&BASE).unwrap().http.roots, TlsRoots::Builtin);
    for (value, roots) in [("builtin", TlsRoots::Builtin), ("system", TlsRoots::System)] {
        let mut vars = BASE.to_vec();
        vars.push(("AUTHZ_TLS_ROOTS", value));
        assert_eq!(load(&vars).unwrap().http.roots, roots);
    }
    for bad in ["System", "none", "webpki"] {
        let mut vars = BASE.to_vec();
        vars.push(("AUTHZ_TLS_ROOTS", bad));
        let e = load_err(&vars);
        assert!(e.contains("AUTHZ_TLS_ROOTS") && e.contains(bad), "{e}");
    }
    let e = load_err(&[(
        "AUTHZ_CONFIG",
        r#"{"issuers":[{"issuer":"https://idp.example.com","audiences":["a"]}],"http":{"tls_roots":"any"}}"#,
    )]);
    assert!(e.contains("http.tls_roots"), "{e}");
}

#[test]
fn ca_bundle_must_be_a_readable_pem() {
    let mut vars = BASE.to_vec();
    vars.push(("AUTHZ_CA_BUNDLE", "/nonexistent/ca.pem"));
    assert!(load_err(&vars).contains("AUTHZ_CA_BUNDLE"));
    let path = std::env::temp_dir().join(format!("authz-ca-{}", std::process::id()));
    std::fs::write(&path, "not a certificate").unwrap();
    let mut vars = BASE.to_vec();
    vars.push(("AUTHZ_CA_BUNDLE", path.to_str().unwrap()));
    assert!(load_err(&vars).contains("no PEM certificate"));
    let pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
    std::fs::write(&path, pem).unwrap();
    let c = load(&vars).unwrap();
    std::fs::remove_file(&path).unwrap();
    // Read once, at load: the bytes travel with the configuration.
    let bundle = c.http.ca_bundle.unwrap();
    assert_eq!(bundle.pem, pem.as_bytes());
    assert_eq!(bundle.path, path.to_str().unwrap());
    assert_eq!(format!("{bundle:?}").matches("MIIB").count(), 0);
    assert!(
        CaBundle::load("/nonexistent/ca.pem".into(), settings::CA_BUNDLE.variable)
            .unwrap_err()
            .0
            .contains("AUTHZ_CA_BUNDLE")
    );
}

#[test]
fn client_ids_replace_or_add_to_the_audience() {
    let iss = (
        "AUTHZ_ISSUER",
        "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Ab",
    );
    let c = load(&[iss, ("AUTHZ_CLIENT_ID", "app1, app2")]).unwrap();
    assert_eq!(c.issuers[0].client_ids, vec!["app1", "app2"]);
    assert!(c.issuers[0].audiences.is_empty());
    let c = load(&[iss, ("AUTHZ_CLIENT_ID", "app1"), ("AUTHZ_AUDIENCE", "api")]).unwrap();
    assert_eq!(c.issuers[0].audiences, vec!["api"]);
    let e = load_err(&[iss]);
    assert!(e.contains("AUTHZ_AUDIENCE or AUTHZ_CLIENT_ID"), "{e}");
    let doc = r#"{"issuers":[{"issuer":"https://a.example.com","client_ids":["x"]},
                             {"issuer":"https://b.example.com","audiences":["y"]}]}"#;
    let c = load(&[("AUTHZ_CONFIG", doc)]).unwrap();
    assert_eq!(c.issuers[0].client_ids, vec!["x"]);
    assert!(c.issuers[1].client_ids.is_empty());
}

#[test]
fn token_kind_and_scope_claims() {
    let c = load(&BASE).unwrap();
    assert!(!c.issuers[0].accept_id_tokens);
    assert_eq!(c.issuers[0].scope_claims, vec!["scope", "scp"]);
    let mut vars = BASE.to_vec();
    vars.extend([
        ("AUTHZ_ACCEPT_ID_TOKENS", "true"),
        (
            "AUTHZ_SCOPE_CLAIMS",
            "scope,permissions,/realm_access/roles",
        ),
    ]);
    let c = load(&vars).unwrap();
    assert!(c.issuers[0].accept_id_tokens);
    assert_eq!(
        c.issuers[0].scope_claims,
        vec!["scope", "permissions", "/realm_access/roles"]
    );
    for (name, value) in [
        ("AUTHZ_SCOPE_CLAIMS", "/a~2"),
        ("AUTHZ_CONTEXT_CLAIMS", "/realm_access/roles~"),
        (
            "AUTHZ_ROUTES",
            r#"[{"route":"GET /a","claims":{"/x~9":"y"}}]"#,
        ),
    ] {
        let mut vars = BASE.to_vec();
        vars.push((name, value));
        let e = load_err(&vars);
        assert!(e.contains(name) && e.contains("RFC 6901"), "{e}");
    }
    let mut vars = BASE.to_vec();
    vars.push(("AUTHZ_CONTEXT_CLAIMS", "/realm_access/roles,cognito:groups"));
    assert!(load(&vars).is_ok());
}

#[test]
fn tenant_templates_expand_to_one_issuer_per_tenant_and_never_any() {
    let v2 = (
        "AUTHZ_ISSUER",
        "https://login.microsoftonline.com/{tenantid}/v2.0",
    );
    let aud = ("AUTHZ_AUDIENCE", "api://petstore");
    let c = load(&[v2, aud, ("AUTHZ_TENANTS", "t-1,t-2")]).unwrap();
    let issuers: Vec<(&str, Option<&str>)> = c
        .issuers
        .iter()
        .map(|i| (i.issuer.as_str(), i.tenant.as_deref()))
        .collect();
    assert_eq!(
        issuers,
        vec![
            ("https://login.microsoftonline.com/t-1/v2.0", Some("t-1")),
            ("https://login.microsoftonline.com/t-2/v2.0", Some("t-2")),
        ]
    );
    for (vars, want) in [
        (vec![v2, aud], "needs AUTHZ_TENANTS"),
        (vec![v2, aud, ("AUTHZ_TENANTS", "common")], "not a tenant"),
        (
            vec![v2, aud, ("AUTHZ_TENANTS", "Organizations")],
            "not a tenant",
        ),
        (vec![v2, aud, ("AUTHZ_TENANTS", "*")], "not a tenant id"),
        (vec![v2, aud, ("AUTHZ_TENANTS", "a/b")], "not a tenant id"),
        (
            vec![BASE[0], aud, ("AUTHZ_TENANTS", "t-1")],
            "no issuer has one",
        ),
        (vec![v2, aud, ("AUTHZ_TENANTS", "t-1,t-1")], "listed twice"),
    ] {
        let e = load_err(&vars);
        assert!(e.contains(want), "{vars:?}: {e}");
    }
    let doc = r#"{"audiences":["api"],"issuers":[
        {"issuer":"https://sts.windows.net/{tenantid}/","tenants":["t-1"],
         "jwks_uri":"https://login.microsoftonline.com/common/discovery/keys"},
        {"issuer":"https://login.microsoftonline.com/{tenantid}/v2.0","tenants":[]}]}"#;
    let e = load_err(&[("AUTHZ_CONFIG", doc)]);
    assert!(e.contains("`tenants` is an empty list"), "{e}");
    let doc = r#"{"audiences":["api"],"issuers":[
        {"issuer":"https://a.example.com","tenants":["t-1"]}]}"#;
    assert!(load_err(&[("AUTHZ_CONFIG", doc)]).contains("has no `{tenantid}`"));
}

#[test]
fn config_file_is_read() {
    let dir = std::env::temp_dir().join(format!("authz-config-{}", std::process::id()));
    std::fs::write(
        &dir,
        r#"{"issuers":[{"issuer":"https://a.example.com","audiences":["x"]}]}"#,
    )
    .unwrap();
    let c = load(&[("AUTHZ_CONFIG_FILE", dir.to_str().unwrap())]).unwrap();
    assert_eq!(c.issuers[0].issuer, "https://a.example.com");
    std::fs::remove_file(&dir).unwrap();
    assert!(
        load_err(&[("AUTHZ_CONFIG_FILE", "/nonexistent/x.json")]).contains("AUTHZ_CONFIG_FILE")
    );
}

/// Review finding: what reads as "unset" though it was set would widen access (no rules,
/// any API, no client check, no `typ` requirement); each is refused, naming the setting.
#[test]
fn set_but_blank_null_or_empty_is_refused() {
    let with = |k: &'static str, v: &'static str| {
        let mut vars = BASE.to_vec();
        vars.push((k, v));
        load_err(&vars)
    };
    for (k, v, want) in [
        (
            "AUTHZ_ROUTES",
            "null",
            "AUTHZ_ROUTES: at `routes`: null is not a value",
        ),
        ("AUTHZ_ROUTES", " ", "AUTHZ_ROUTES is set but empty"),
        (
            "AUTHZ_REQUIRED_TYP",
            " ",
            "AUTHZ_REQUIRED_TYP is set but empty",
        ),
        (
            "AUTHZ_ALLOWED_API_ARNS",
            ",",
            "`allowed_api_arns` is an empty list",
        ),
        ("AUTHZ_CLIENT_ID", ",", "`client_ids` is an empty list"),
    ] {
        let e = with(k, v);
        assert!(e.contains(want), "{k}={v:?}: {e}");
    }
    for (doc, want) in [
        (
            r#"{"issuers":[{"issuer":"https://a.example.com"}],"audiences":["x"],"routes":null}"#,
            "AUTHZ_CONFIG key `routes`: at `routes`: null is not a value",
        ),
        (
            r#"{"issuers":[{"issuer":"https://a.example.com"}],"audiences":["x"],"allowed_api_arns":[]}"#,
            "`allowed_api_arns` is an empty list",
        ),
        (
            r#"{"issuers":[{"issuer":"https://a.example.com","client_ids":[]}],"audiences":["x"]}"#,
            "`client_ids` is an empty list",
        ),
    ] {
        let e = load_err(&[("AUTHZ_CONFIG", doc)]);
        assert!(e.contains(want), "{doc}: {e}");
    }
}

#[test]
fn the_fapi2_profile_requires_what_it_says() {
    let with = |extra: &[(&'static str, &'static str)]| {
        let mut vars = BASE.to_vec();
        vars.push(("AUTHZ_PROFILE", "fapi2"));
        vars.extend_from_slice(extra);
        vars
    };
    let c = load(&with(&[])).unwrap();
    let fapi = [Algorithm::PS256, Algorithm::ES256, Algorithm::EdDSA];
    assert_eq!(c.sender_constrained, SenderConstraint::Require);
    assert_eq!(c.proof_algorithms, fapi);
    assert_eq!(c.issuers[0].algorithms, fapi);
    let c = load(&with(&[
        ("AUTHZ_ALGORITHMS", "ES256"),
        ("AUTHZ_SENDER_CONSTRAINED", "require"),
    ]))
    .unwrap();
    assert_eq!(c.issuers[0].algorithms, [Algorithm::ES256]);
    for (extra, needle) in [
        (
            ("AUTHZ_ALGORITHMS", "RS256,ES256"),
            "RS256 is not allowed by AUTHZ_PROFILE fapi2",
        ),
        (
            ("AUTHZ_SENDER_CONSTRAINED", "accept"),
            "AUTHZ_SENDER_CONSTRAINED `accept`",
        ),
        (
            ("AUTHZ_SENDER_CONSTRAINED", "off"),
            "requires sender-constrained tokens",
        ),
        (
            ("AUTHZ_TOKEN_QUERY_PARAM", "access_token"),
            "AUTHZ_TOKEN_QUERY_PARAM",
        ),
        (("AUTHZ_ACCEPT_ID_TOKENS", "true"), "AUTHZ_ACCEPT_ID_TOKENS"),
    ] {
        let e = load_err(&with(&[extra]));
        assert!(e.contains(needle), "{needle}: {e}");
    }
    let mut vars = BASE.to_vec();
    vars.push(("AUTHZ_PROFILE", "fapi"));
    assert!(load_err(&vars).contains("AUTHZ_PROFILE"));
    // Without the profile: every asymmetric algorithm, proofs included; sender constraints off.
    let c = load(&BASE).unwrap();
    assert_eq!(c.proof_algorithms, SUPPORTED_ALGORITHMS);
    assert_eq!(c.sender_constrained, SenderConstraint::Off);
}

#[cfg(not(feature = "cedar"))]
#[test]
fn cedar_settings_and_rules_without_the_feature_fail_naming_them() {
    let e = load_err(&[BASE[0], BASE[1], ("AUTHZ_CEDAR_NAMESPACE", "N")]);
    assert!(
        e.contains("AUTHZ_CEDAR_NAMESPACE") && e.contains("`cedar` feature"),
        "{e}"
    );
    let routes = r#"[{"route": "GET /pets", "cedar": true}]"#;
    let e = load_err(&[BASE[0], BASE[1], ("AUTHZ_ROUTES", routes)]);
    assert!(
        e.contains("AUTHZ_ROUTES: rule #1 (`GET /pets`)") && e.contains("`cedar` feature"),
        "{e}"
    );
    let e = load_err(&[BASE[0], BASE[1], ("AUTHZ_CEDAR_TEMPLATE_LINKS", "l.json")]);
    assert!(
        e.contains("AUTHZ_CEDAR_TEMPLATE_LINKS") && e.contains("`cedar` feature"),
        "{e}"
    );
}

#[cfg(feature = "cedar")]
#[test]
fn cedar_settings_go_together() {
    let routes = r#"[{"route": "GET /pets", "cedar": true}]"#;
    let e = load_err(&[BASE[0], BASE[1], ("AUTHZ_ROUTES", routes)]);
    assert!(
        e.contains("rule #1 (`GET /pets`)") && e.contains("needs AUTHZ_CEDAR_POLICIES"),
        "{e}"
    );
    let e = load_err(&[BASE[0], BASE[1], ("AUTHZ_CEDAR_GROUPS_CLAIM", "groups")]);
    assert!(
        e.contains("AUTHZ_CEDAR_GROUPS_CLAIM: set without AUTHZ_CEDAR_POLICIES"),
        "{e}"
    );
    let e = load_err(&[
        BASE[0],
        BASE[1],
        ("AUTHZ_CEDAR_POLICIES", "/nonexistent/p.cedar"),
    ]);
    assert!(
        e.contains("AUTHZ_CEDAR_SCHEMA is required with AUTHZ_CEDAR_POLICIES"),
        "{e}"
    );
    let e = load_err(&[
        BASE[0],
        BASE[1],
        ("AUTHZ_CEDAR_POLICIES", "/nonexistent/p.cedar"),
        ("AUTHZ_CEDAR_SCHEMA", "/nonexistent/s.cedarschema"),
        ("AUTHZ_CEDAR_NAMESPACE", "N"),
    ]);
    assert!(
        e.contains("AUTHZ_CEDAR_POLICIES: cannot read `/nonexistent/p.cedar`"),
        "{e}"
    );
}

/// The template links file: read at load, linked into the policies the Cedar rules decide with;
/// a bad link, or templates without the setting, fail the load naming the setting and the file.
#[cfg(feature = "cedar")]
#[test]
fn cedar_template_links_are_read_and_checked_at_load() {
    let dir = std::env::temp_dir().join(format!("authz-cedar-links-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = |name: &str| dir.join(name).to_str().unwrap().to_owned();
    std::fs::write(
        path("s.cedarschema"),
        "namespace N { entity UserGroup; entity User in [UserGroup]; entity Application; \
         action \"post /pets\" appliesTo { principal: [User], resource: [Application] }; }",
    )
    .unwrap();
    std::fs::write(
        path("p.cedar"),
        r#"@id("group-writes") permit(principal in ?principal, action, resource);"#,
    )
    .unwrap();
    let link = |group: &str| {
        format!(
            r#"[{{"policyId": "writers", "policyTemplateId": "group-writes",
                 "principal": {{"entityType": "{group}", "entityId": "writers"}}}}]"#
        )
    };
    std::fs::write(path("good.json"), link("N::UserGroup")).unwrap();
    std::fs::write(path("bad.json"), link("N::Group")).unwrap();
    let (policies, schema) = (path("p.cedar"), path("s.cedarschema"));
    let vars = |links: Option<String>| {
        let mut vars = vec![
            (
                "AUTHZ_ROUTES",
                r#"[{"route": "POST /pets", "cedar": true}]"#.to_owned(),
            ),
            ("AUTHZ_CEDAR_POLICIES", policies.clone()),
            ("AUTHZ_CEDAR_SCHEMA", schema.clone()),
            ("AUTHZ_CEDAR_NAMESPACE", "N".to_owned()),
            ("AUTHZ_CEDAR_GROUPS_CLAIM", "groups".to_owned()),
        ];
        vars.extend(links.map(|l| ("AUTHZ_CEDAR_TEMPLATE_LINKS", l)));
        let map: HashMap<String, String> = BASE
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .chain(vars.into_iter().map(|(k, v)| (k.to_owned(), v)))
            .collect();
        Config::from_lookup(|k| map.get(k).cloned())
    };
    let (good, bad) = (path("good.json"), path("bad.json"));
    let c = vars(Some(good.clone())).unwrap();
    let rule = c
        .routes
        .as_ref()
        .unwrap()
        .for_route_key("POST /pets")
        .unwrap();
    let caller = |groups: Value| crate::claims::Claims {
        iss: "https://idp.example.com".into(),
        sub: Some("u".into()),
        client_id: None,
        scopes: Vec::new(),
        all: serde_json::json!({ "groups": groups })
            .as_object()
            .unwrap()
            .clone(),
    };
    assert!(rule.check(&caller(serde_json::json!(["writers"]))).is_ok());
    assert!(rule.check(&caller(serde_json::json!(["readers"]))).is_err());
    let e = vars(Some(bad.clone())).unwrap_err().0;
    assert!(
        e.starts_with(&format!(
            "AUTHZ_CEDAR_TEMPLATE_LINKS: {bad}: link #1 (`writers`)"
        )) && e.contains("`N::Group`"),
        "{e}"
    );
    let e = vars(None).unwrap_err().0;
    assert!(
        e.contains(&format!(
            "AUTHZ_CEDAR_POLICIES: `{policies}` holds policy templates (`group-writes`)"
        )) && e.contains("set AUTHZ_CEDAR_TEMPLATE_LINKS"),
        "{e}"
    );
    let e = vars(Some("/nonexistent/links.json".into())).unwrap_err().0;
    assert!(
        e.contains("AUTHZ_CEDAR_TEMPLATE_LINKS: cannot read `/nonexistent/links.json`"),
        "{e}"
    );
    let e = load_err(&[
        BASE[0],
        BASE[1],
        ("AUTHZ_CEDAR_TEMPLATE_LINKS", good.as_str()),
    ]);
    assert!(
        e.contains("AUTHZ_CEDAR_TEMPLATE_LINKS: set without AUTHZ_CEDAR_POLICIES"),
        "{e}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
