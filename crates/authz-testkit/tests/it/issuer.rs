//! The loopback OIDC issuer: documents, counters, headers and every fault.

use std::time::{Duration, Instant};

use authz_testkit::{Fault, Issuer, TestCa, TestKey, issuer::basic_auth, now};
use base64::{Engine, engine::general_purpose::STANDARD};
use serde_json::{Value, json};

use super::{client, get_json, post};

async fn get(url: &str) -> Result<(u16, reqwest::header::HeaderMap, String), reqwest::Error> {
    let resp = client().get(url).send().await?;
    let (status, headers) = (resp.status().as_u16(), resp.headers().clone());
    Ok((status, headers, resp.text().await?))
}

#[tokio::test(flavor = "multi_thread")]
async fn serves_discovery_and_jwks_and_counts_fetches() {
    let issuer = Issuer::start().await;
    let url = issuer.url();
    assert!(
        url.starts_with("http://127.0.0.1:") && !url.ends_with('/'),
        "{url}"
    );
    assert_eq!(issuer.jwks_uri(), format!("{url}/jwks"));
    assert_eq!(
        issuer.discovery_url(),
        format!("{url}/.well-known/openid-configuration")
    );

    let doc = get_json(&issuer.discovery_url()).await;
    assert_eq!(doc["issuer"], url);
    assert_eq!(doc["jwks_uri"], issuer.jwks_uri());
    assert_eq!(doc["token_endpoint"], format!("{url}/token"));
    assert!(
        doc["id_token_signing_alg_values_supported"]
            .as_array()
            .unwrap()
            .contains(&json!("RS256"))
    );
    assert_eq!(get_json(&issuer.jwks_uri()).await, json!({"keys": []}));

    let keys = vec![TestKey::rsa("a").jwk(), TestKey::ec_p256("b").jwk()];
    issuer.set_keys(keys.clone());
    assert_eq!(get_json(&issuer.jwks_uri()).await["keys"], json!(keys));
    assert_eq!((issuer.discovery_fetches(), issuer.jwks_fetches()), (1, 2));

    let (status, _, _) = get(&format!("{url}/token")).await.unwrap();
    assert_eq!(status, 404);
    assert_eq!((issuer.discovery_fetches(), issuer.jwks_fetches()), (1, 2));

    // Keep-alive: one client, many requests; clones share state.
    let clone = issuer.clone();
    let c = client();
    for _ in 0..5 {
        assert_eq!(c.get(clone.jwks_uri()).send().await.unwrap().status(), 200);
    }
    assert_eq!(issuer.jwks_fetches(), 7);
}

#[tokio::test]
async fn jwks_headers_and_discovery_issuer_override() {
    let issuer = Issuer::start().await;
    let (_, headers, _) = get(&issuer.jwks_uri()).await.unwrap();
    assert_eq!(headers["content-type"], "application/json");
    assert!(headers.get("cache-control").is_none() && headers.get("expires").is_none());

    issuer.set_jwks_cache_control(Some("max-age=600"));
    issuer.set_jwks_expires(Some("Wed, 21 Oct 2037 07:28:00 GMT"));
    let (_, headers, _) = get(&issuer.jwks_uri()).await.unwrap();
    assert_eq!(headers["cache-control"], "max-age=600");
    assert_eq!(headers["expires"], "Wed, 21 Oct 2037 07:28:00 GMT");
    issuer.set_jwks_cache_control(None);
    let (_, headers, _) = get(&issuer.jwks_uri()).await.unwrap();
    assert!(headers.get("cache-control").is_none());

    issuer.set_discovery_issuer(Some("https://evil.example"));
    assert_eq!(
        get_json(&issuer.discovery_url()).await["issuer"],
        "https://evil.example"
    );
    issuer.set_discovery_issuer(None);
    assert_eq!(
        get_json(&issuer.discovery_url()).await["issuer"],
        issuer.url()
    );
}

#[tokio::test]
async fn each_fault_behaves_as_documented() {
    let issuer = Issuer::start().await;
    issuer.set_keys(vec![TestKey::rsa("a").jwk()]);
    let jwks = issuer.jwks_uri();

    issuer.set_jwks_fault(Fault::Status(503));
    let (status, _, body) = get(&jwks).await.unwrap();
    assert_eq!((status, body.len() < 100), (503, true));
    // Faults are per endpoint.
    assert_eq!(
        get_json(&issuer.discovery_url()).await["issuer"],
        issuer.url()
    );

    issuer.set_jwks_fault(Fault::Garbage);
    let (status, _, body) = get(&jwks).await.unwrap();
    assert_eq!(status, 200);
    assert!(serde_json::from_str::<Value>(&body).is_err(), "{body}");

    issuer.set_jwks_fault(Fault::Oversize(200_000));
    let (status, headers, body) = get(&jwks).await.unwrap();
    assert_eq!((status, body.len()), (200, 200_000));
    assert_eq!(headers["content-length"], "200000");
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap(),
        json!({"keys": []})
    );

    issuer.set_jwks_fault(Fault::Delay(Duration::from_millis(300)));
    let start = Instant::now();
    assert_eq!(get_json(&jwks).await["keys"][0]["kid"], "a");
    assert!(start.elapsed() >= Duration::from_millis(300));

    issuer.set_jwks_fault(Fault::Close);
    let err = get(&jwks).await.unwrap_err();
    assert!(!err.is_timeout() && !err.is_status(), "{err:?}");

    issuer.set_jwks_fault(Fault::None);
    assert_eq!(get_json(&jwks).await["keys"][0]["kid"], "a");

    issuer.set_discovery_fault(Fault::Status(500));
    assert_eq!(get(&issuer.discovery_url()).await.unwrap().0, 500);
    issuer.set_discovery_fault(Fault::None);
    assert_eq!((issuer.jwks_fetches(), issuer.discovery_fetches()), (6, 2));
}

#[tokio::test]
async fn down_closes_every_path_until_back_up() {
    let issuer = Issuer::start().await;
    issuer.set_down(true);
    for url in [
        issuer.jwks_uri(),
        issuer.discovery_url(),
        format!("{}/other", issuer.url()),
    ] {
        assert!(get(&url).await.is_err(), "{url} answered while down");
    }
    assert_eq!((issuer.jwks_fetches(), issuer.discovery_fetches()), (1, 1));
    issuer.set_down(false);
    assert_eq!(get_json(&issuer.jwks_uri()).await, json!({"keys": []}));
}

#[tokio::test]
async fn dropping_the_issuer_stops_the_server() {
    let issuer = Issuer::start().await;
    let url = issuer.jwks_uri();
    assert!(get(&url).await.is_ok());
    drop(issuer);
    tokio::task::yield_now().await;
    assert!(get(&url).await.is_err());
}

/// A client trusting only `ca_pem` (no platform roots).
fn client_trusting(ca_pem: &str) -> reqwest::Client {
    let ca = reqwest::Certificate::from_pem(ca_pem.as_bytes()).unwrap();
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(5))
        .tls_certs_only([ca])
        .build()
        .unwrap()
}

#[tokio::test]
async fn https_issuer_is_trusted_only_through_its_own_private_ca() {
    let issuer = Issuer::start_tls().await;
    let url = issuer.url();
    assert!(
        url.starts_with("https://127.0.0.1:") && !url.ends_with('/'),
        "{url}"
    );
    assert_eq!(issuer.jwks_uri(), format!("{url}/jwks"));
    let path = issuer.ca_pem_path().expect("a CA file for an HTTPS issuer");
    let pem = std::fs::read_to_string(&path).unwrap();
    assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"), "{pem}");
    assert_eq!(issuer.ca_pem().as_deref(), Some(pem.as_str()));

    // Trusting the issuer's CA: the certificate is valid for the IP address 127.0.0.1.
    let trusted = client_trusting(&pem);
    let resp = trusted.get(issuer.discovery_url()).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let doc: Value = serde_json::from_str(&resp.text().await.unwrap()).unwrap();
    assert_eq!(doc["issuer"], url);
    assert_eq!(doc["jwks_uri"], issuer.jwks_uri());
    issuer.set_keys(vec![TestKey::rsa("a").jwk()]);
    let resp = trusted.get(issuer.jwks_uri()).send().await.unwrap();
    let keys: Value = serde_json::from_str(&resp.text().await.unwrap()).unwrap();
    assert_eq!(keys["keys"][0]["kid"], "a");

    // Platform roots only, or another private CA: the handshake fails, nothing is counted.
    let err = get(&issuer.jwks_uri()).await.unwrap_err();
    assert!(err.is_connect(), "{err:?}");
    let other = TestCa::new();
    assert_ne!(other.pem(), pem);
    let err = client_trusting(other.pem())
        .get(issuer.jwks_uri())
        .send()
        .await
        .unwrap_err();
    assert!(err.is_connect(), "{err:?}");
    // Plain HTTP to the TLS port is not served either.
    let plain = url.replacen("https://", "http://", 1);
    assert!(client().get(format!("{plain}/jwks")).send().await.is_err());
    assert_eq!((issuer.discovery_fetches(), issuer.jwks_fetches()), (1, 1));

    // Faults work the same over TLS.
    issuer.set_jwks_fault(Fault::Status(503));
    let resp = trusted.get(issuer.jwks_uri()).send().await.unwrap();
    assert_eq!(resp.status(), 503);

    // Each HTTPS issuer has its own CA; the file goes with the last clone.
    let second = Issuer::start_tls().await;
    assert_ne!(second.ca_pem(), issuer.ca_pem());
    assert!(
        client_trusting(&pem)
            .get(second.jwks_uri())
            .send()
            .await
            .is_err()
    );
    let clone = issuer.clone();
    drop(issuer);
    assert!(path.is_file(), "a clone still holds the issuer");
    drop(clone);
    tokio::task::yield_now().await;
    assert!(!path.exists(), "CA file removed on drop");
    assert!(trusted.get(format!("{url}/jwks")).send().await.is_err());

    // A plain issuer has no CA.
    let plain = Issuer::start().await;
    assert_eq!((plain.ca_pem_path(), plain.ca_pem()), (None, None));
}

#[test]
fn test_ca_signs_loopback_server_certificates_and_writes_pem_files() {
    let ca = TestCa::new();
    assert!(ca.name().starts_with("authz-testkit private CA "));
    assert_ne!(ca.name(), TestCa::new().name());
    assert!(ca.pem().contains("-----BEGIN CERTIFICATE-----"));
    assert!(ca.der().len() > 100);
    let (chain, _key) = ca.server_cert("127.0.0.1".parse().unwrap());
    assert_eq!(chain.len(), 1, "the leaf only");
    let file = ca.write_pem();
    let path = file.path().to_owned();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), ca.pem());
    drop(file);
    assert!(!path.exists());
}

const CLIENT_ID: &str = "authz introspector";
/// Characters that RFC 6749 §2.3.1 form-encoding changes (`+`, `%`, `:`, `/`, `=`, space).
const SECRET: &str = "s3cr+t/%:= x";

/// Client-credentials grant at `issuer` with `secret`: the access token.
async fn access_token(issuer: &Issuer, secret: &str) -> String {
    let (status, body) = post(
        &issuer.token_endpoint(),
        Some(&basic_auth(CLIENT_ID, secret)),
        &[("grant_type", "client_credentials")],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body["access_token"].as_str().unwrap().to_owned()
}

async fn introspect(issuer: &Issuer, access_token: &str, token: &str) -> (u16, Value) {
    post(
        &issuer.introspection_endpoint(),
        Some(&format!("Bearer {access_token}")),
        &[("token", token), ("token_type_hint", "access_token")],
    )
    .await
}

#[tokio::test]
async fn oauth_endpoints_exist_only_in_bearer_mode() {
    let issuer = Issuer::start().await;
    assert_eq!(issuer.token_endpoint(), format!("{}/token", issuer.url()));
    assert_eq!(
        issuer.introspection_endpoint(),
        format!("{}/introspect", issuer.url())
    );
    let doc = get_json(&issuer.discovery_url()).await;
    assert!(doc.get("introspection_endpoint").is_none(), "{doc}");
    for url in [issuer.token_endpoint(), issuer.introspection_endpoint()] {
        assert_eq!(post(&url, None, &[]).await.0, 404);
    }
    assert_eq!(
        (issuer.token_requests(), issuer.introspection_requests()),
        (0, 0)
    );

    issuer.enable_bearer_introspection(CLIENT_ID, SECRET);
    let doc = get_json(&issuer.discovery_url()).await;
    assert_eq!(doc["token_endpoint"], issuer.token_endpoint());
    assert_eq!(
        doc["introspection_endpoint"],
        issuer.introspection_endpoint()
    );
    assert_eq!(doc["grant_types_supported"], json!(["client_credentials"]));
    let (status, headers, _) = get(&issuer.token_endpoint()).await.unwrap();
    assert_eq!((status, headers["allow"].to_str().unwrap()), (405, "POST"));
    assert_eq!(issuer.token_requests(), 1, "refused requests count too");
}

#[tokio::test]
async fn token_endpoint_authenticates_the_client_with_form_encoded_basic() {
    let issuer = Issuer::start().await;
    issuer.enable_bearer_introspection(CLIENT_ID, SECRET);
    let url = issuer.token_endpoint();
    let grant = [("grant_type", "client_credentials")];

    let (status, body) = post(&url, Some(&basic_auth(CLIENT_ID, SECRET)), &grant).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    assert!(body.get("scope").is_none());
    let token = body["access_token"].as_str().unwrap();
    assert!(token.len() > 40, "{token}");
    assert_eq!(issuer.access_tokens(), vec![token.to_owned()]);

    let with_scope = [
        ("grant_type", "client_credentials"),
        ("scope", "introspect"),
    ];
    let (status, body) = post(&url, Some(&basic_auth(CLIENT_ID, SECRET)), &with_scope).await;
    assert_eq!((status, &body["scope"]), (200, &json!("introspect")));
    assert_ne!(body["access_token"], token, "a new token per grant");

    // RFC 6749 §2.3.1: the raw (not form-encoded) secret is not the secret.
    let raw = format!("Basic {}", STANDARD.encode(format!("{CLIENT_ID}:{SECRET}")));
    let refused = [
        None,
        Some(raw),
        Some(basic_auth(CLIENT_ID, "wrong")),
        Some(basic_auth("someone-else", SECRET)),
        Some(format!("Bearer {token}")),
        Some("Basic %%%".to_owned()),
    ];
    for authorization in &refused {
        let resp = client()
            .post(&url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body("grant_type=client_credentials");
        let resp = match authorization {
            Some(value) => resp.header("authorization", value),
            None => resp,
        }
        .send()
        .await
        .unwrap();
        assert_eq!(resp.status(), 401, "{authorization:?}");
        assert!(
            resp.headers()["www-authenticate"]
                .to_str()
                .unwrap()
                .starts_with("Basic")
        );
        let body: Value = serde_json::from_str(&resp.text().await.unwrap()).unwrap();
        assert_eq!(body, json!({"error": "invalid_client"}));
    }
    let (status, body) = post(
        &url,
        Some(&basic_auth(CLIENT_ID, SECRET)),
        &[("grant_type", "password")],
    )
    .await;
    assert_eq!(
        (status, body),
        (400, json!({"error": "unsupported_grant_type"}))
    );
    assert_eq!(issuer.token_requests(), 9);
    assert_eq!(issuer.access_tokens().len(), 2);

    issuer.set_access_token_lifetime(60);
    let (_, body) = post(&url, Some(&basic_auth(CLIENT_ID, SECRET)), &grant).await;
    assert_eq!(body["expires_in"], 60);
}

#[tokio::test]
async fn introspection_requires_an_issued_access_token_and_answers_registered_tokens() {
    let issuer = Issuer::start().await;
    issuer.enable_bearer_introspection(CLIENT_ID, SECRET);
    let exp = now() + 300;
    issuer.add_opaque_token(
        "opaque-1",
        json!({"sub": "alice", "client_id": "pet-app", "scope": "read write", "exp": exp,
               "aud": ["petstore"]}),
    );
    issuer.add_opaque_token("opaque-expired", json!({"sub": "bob", "exp": now() - 1}));
    let at = access_token(&issuer, SECRET).await;

    let (status, body) = introspect(&issuer, &at, "opaque-1").await;
    assert_eq!(status, 200);
    assert_eq!(
        body,
        json!({"active": true, "iss": issuer.url(), "token_type": "Bearer", "sub": "alice",
               "client_id": "pet-app", "scope": "read write", "exp": exp, "aud": ["petstore"]})
    );
    for unknown in ["opaque-expired", "never-issued"] {
        assert_eq!(
            introspect(&issuer, &at, unknown).await,
            (200, json!({"active": false})),
            "{unknown}"
        );
    }
    issuer.remove_opaque_token("opaque-1");
    assert_eq!(
        introspect(&issuer, &at, "opaque-1").await,
        (200, json!({"active": false})),
        "revoked"
    );
    let url = issuer.introspection_endpoint();
    assert_eq!(
        post(&url, Some(&format!("bearer {at}")), &[]).await,
        (400, json!({"error": "invalid_request"})),
        "no token parameter; the scheme is case-insensitive"
    );

    // Without an access token issued here: 401 invalid_client (Basic is not accepted either).
    let form = [("token", "opaque-1")];
    for authorization in [
        None,
        Some("Bearer not-issued".to_owned()),
        Some(basic_auth(CLIENT_ID, SECRET)),
        Some(format!("Basic {at}")),
    ] {
        assert_eq!(
            post(&url, authorization.as_deref(), &form).await,
            (401, json!({"error": "invalid_client"})),
            "{authorization:?}"
        );
    }
    assert_eq!(
        (issuer.token_requests(), issuer.introspection_requests()),
        (1, 9)
    );

    // An expired access token stops working.
    issuer.set_access_token_lifetime(0);
    let short = access_token(&issuer, SECRET).await;
    assert_eq!(introspect(&issuer, &short, "x").await.0, 401);
    assert!(!issuer.access_tokens().contains(&short));
}

#[tokio::test]
async fn rotation_and_revocation_invalidate_access_tokens() {
    let issuer = Issuer::start().await;
    issuer.enable_bearer_introspection(CLIENT_ID, SECRET);
    issuer.add_opaque_token("opaque-1", json!({"sub": "alice"}));
    let first = access_token(&issuer, SECRET).await;
    assert_eq!(
        introspect(&issuer, &first, "opaque-1").await.1["active"],
        true
    );

    issuer.set_client_secret("rotated secret");
    assert!(issuer.access_tokens().is_empty());
    assert_eq!(
        introspect(&issuer, &first, "opaque-1").await,
        (401, json!({"error": "invalid_client"})),
        "tokens issued before the rotation stop working"
    );
    let grant = [("grant_type", "client_credentials")];
    let old = post(
        &issuer.token_endpoint(),
        Some(&basic_auth(CLIENT_ID, SECRET)),
        &grant,
    )
    .await;
    assert_eq!(old, (401, json!({"error": "invalid_client"})));
    let second = access_token(&issuer, "rotated secret").await;
    assert_eq!(
        introspect(&issuer, &second, "opaque-1").await.1["active"],
        true
    );

    // Revocation keeps the secret.
    issuer.revoke_access_tokens();
    assert_eq!(introspect(&issuer, &second, "opaque-1").await.0, 401);
    let third = access_token(&issuer, "rotated secret").await;
    assert_eq!(introspect(&issuer, &third, "opaque-1").await.0, 200);
}

#[tokio::test]
async fn oauth_endpoints_take_faults_and_go_down() {
    let issuer = Issuer::start().await;
    issuer.enable_bearer_introspection(CLIENT_ID, SECRET);
    let at = access_token(&issuer, SECRET).await;

    issuer.set_introspection_fault(Fault::Status(503));
    assert_eq!(introspect(&issuer, &at, "x").await.0, 503);
    issuer.set_introspection_fault(Fault::Garbage);
    let (status, body) = introspect(&issuer, &at, "x").await;
    assert!(status == 200 && body.is_string(), "{body}");
    issuer.set_introspection_fault(Fault::None);
    issuer.set_token_fault(Fault::Status(500));
    let grant = [("grant_type", "client_credentials")];
    let auth = basic_auth(CLIENT_ID, SECRET);
    assert_eq!(
        post(&issuer.token_endpoint(), Some(&auth), &grant).await.0,
        500
    );
    assert_eq!(
        introspect(&issuer, &at, "x").await.0,
        200,
        "faults are per endpoint"
    );
    issuer.set_token_fault(Fault::Delay(Duration::from_millis(200)));
    let start = Instant::now();
    access_token(&issuer, SECRET).await;
    assert!(start.elapsed() >= Duration::from_millis(200));
    issuer.set_token_fault(Fault::Close);
    assert!(
        client()
            .post(issuer.token_endpoint())
            .header("authorization", &auth)
            .body("grant_type=client_credentials")
            .send()
            .await
            .is_err()
    );
    issuer.set_token_fault(Fault::None);

    issuer.set_down(true);
    for url in [issuer.token_endpoint(), issuer.introspection_endpoint()] {
        assert!(client().post(url).send().await.is_err());
    }
    issuer.set_down(false);
    assert_eq!(introspect(&issuer, &at, "x").await.0, 200);
    assert_eq!(
        (issuer.token_requests(), issuer.introspection_requests()),
        (5, 5)
    );
}
