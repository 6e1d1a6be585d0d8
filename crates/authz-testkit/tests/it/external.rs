//! The real external components: oidc-provider (token, introspection, revocation, restarts,
//! outages) and moto_server (Secrets Manager). Needs `scripts/test-tools.sh` to have run.

use std::time::Duration;

use authz_testkit::{IdpClient, MotoServer, OidcProvider, fixtures::introspection_secret, now};
use serde_json::{Value, json};

use super::{client, get_json, jwt_part, post};

const SCOPES: &str = "read write bronze silver gold";
/// A secret that must be form-urlencoded inside `client_secret_basic`.
const ODD_SECRET: &str = "s3cr3t+/=%&: ~x";

fn clients() -> Vec<IdpClient> {
    vec![
        IdpClient::basic("authorizer-basic", ODD_SECRET, SCOPES),
        IdpClient::post("authorizer-post", "post-secret", SCOPES),
        IdpClient::basic("reader", "reader-secret", "read"),
    ]
}

#[tokio::test(flavor = "multi_thread")]
async fn provider_discovery_lists_the_endpoints() {
    let idp = OidcProvider::start(&clients(), "opaque", None).await;
    let issuer = idp.issuer();
    assert_eq!(issuer, format!("http://127.0.0.1:{}", idp.port()));
    let doc = get_json(&format!("{issuer}/.well-known/openid-configuration")).await;
    assert_eq!(doc["issuer"], issuer);
    assert_eq!(doc["token_endpoint"], format!("{issuer}/token"));
    assert_eq!(
        doc["introspection_endpoint"],
        format!("{issuer}/token/introspection")
    );
    assert_eq!(
        doc["revocation_endpoint"],
        format!("{issuer}/token/revocation")
    );
    assert_eq!(doc["jwks_uri"], format!("{issuer}/jwks"));
    let grants = doc["grant_types_supported"].as_array().unwrap();
    assert!(grants.contains(&json!("client_credentials")), "{doc}");
    let jwks = get_json(&format!("{issuer}/jwks")).await;
    let key = &jwks["keys"][0];
    assert_eq!((&key["kty"], &key["alg"]), (&json!("RSA"), &json!("RS256")));
    assert!(key.get("d").is_none(), "private part published: {key}");
    let logs = idp.logs();
    assert!(
        logs.iter().any(|l| l.contains("\"ready\":true")),
        "{logs:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn token_then_introspection_is_active_with_scope() {
    let idp = OidcProvider::start(&clients(), "opaque", Some("petstore")).await;
    // Basic auth with a secret full of reserved characters, introspected by another client
    // that authenticates with client_secret_post.
    let token = idp
        .token("authorizer-basic", ODD_SECRET, "read write")
        .await;
    assert!(!token.contains('.'), "opaque token expected: {token}");
    let (status, body) = idp
        .introspect("authorizer-post", "post-secret", &token)
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["active"], true, "{body}");
    assert_eq!(body["scope"], "read write");
    assert_eq!(body["client_id"], "authorizer-basic");
    assert_eq!(body["iss"], idp.issuer());
    assert_eq!(body["aud"], "petstore");
    assert_eq!(body["token_type"], "Bearer");
    let exp = body["exp"].as_i64().unwrap();
    assert!(exp > now() + 290 && exp <= now() + 301, "{body}");

    // The other way round; a client may introspect its own token too.
    let token = idp.token("authorizer-post", "post-secret", "gold").await;
    let (status, body) = idp.introspect("authorizer-basic", ODD_SECRET, &token).await;
    assert_eq!((status, &body["scope"]), (200, &json!("gold")), "{body}");
    let (_, body) = idp
        .introspect("authorizer-post", "post-secret", &token)
        .await;
    assert_eq!(body["active"], true, "{body}");

    // Unknown tokens are inactive, nothing else.
    let (status, body) = idp
        .introspect("reader", "reader-secret", "no-such-token")
        .await;
    assert_eq!((status, body), (200, json!({"active": false})));
}

#[tokio::test(flavor = "multi_thread")]
async fn without_an_audience_tokens_name_the_default_resource() {
    let idp = OidcProvider::start(&clients(), "opaque", None).await;
    let token = idp.token("reader", "reader-secret", "read").await;
    let (_, body) = idp.introspect("reader", "reader-secret", &token).await;
    assert_eq!(body["active"], true, "{body}");
    assert_eq!(body["aud"], "urn:authz-test:api");
    // No scope asked, no scope granted (no default to the client's scopes).
    let token = idp.token("reader", "reader-secret", "").await;
    let (_, body) = idp.introspect("reader", "reader-secret", &token).await;
    assert_eq!(body["active"], true, "{body}");
    assert!(body.get("scope").is_none(), "{body}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_scope_outside_the_client_is_refused() {
    let idp = OidcProvider::start(&clients(), "opaque", None).await;
    let grant = [
        ("grant_type", "client_credentials"),
        ("scope", "read write"),
        ("client_id", "reader"),
        ("client_secret", "reader-secret"),
    ];
    let (status, body) = post(&format!("{}/token", idp.issuer()), None, &grant).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"], "invalid_scope", "{body}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_secret_is_invalid_client() {
    let idp = OidcProvider::start(&clients(), "opaque", None).await;
    let token = idp.token("reader", "reader-secret", "read").await;
    let expected =
        json!({"error": "invalid_client", "error_description": "client authentication failed"});
    for (id, secret) in [
        ("authorizer-basic", "wrong"),
        ("authorizer-post", "wrong"),
        ("unknown-client", "whatever"),
    ] {
        let (status, body) = idp.introspect(id, secret, &token).await;
        assert_eq!((status, &body), (401, &expected), "{id}");
    }
    // A wrong secret at the token endpoint: same answer (raw request, `token` would panic).
    let grant = [
        ("grant_type", "client_credentials"),
        ("client_id", "authorizer-post"),
        ("client_secret", "nope"),
    ];
    let (status, body) = post(&format!("{}/token", idp.issuer()), None, &grant).await;
    assert_eq!(status, 401);
    assert_eq!(body, expected);
    let logs = idp.logs().join("\n");
    assert!(logs.contains("\"status\":401"), "{logs}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_revoked_token_is_inactive() {
    let idp = OidcProvider::start(&clients(), "opaque", Some("petstore")).await;
    let token = idp.token("authorizer-post", "post-secret", "read").await;
    let (_, body) = idp.introspect("authorizer-basic", ODD_SECRET, &token).await;
    assert_eq!(body["active"], true, "{body}");
    idp.revoke("authorizer-post", "post-secret", &token).await;
    let (status, body) = idp.introspect("authorizer-basic", ODD_SECRET, &token).await;
    assert_eq!((status, body), (200, json!({"active": false})));
}

#[tokio::test(flavor = "multi_thread")]
async fn tokens_expire_after_the_ttl() {
    // 3 s: the first introspection must come before expiry even on a loaded 2-core machine
    // (1 s was the likeliest cause of one unexplained failure of this file under load).
    let idp = OidcProvider::start_with_ttl(&clients(), "opaque", None, 3).await;
    let token = idp.token("reader", "reader-secret", "read").await;
    let (_, body) = idp.introspect("reader", "reader-secret", &token).await;
    assert_eq!(body["active"], true, "{body}");
    let exp = body["exp"].as_i64().unwrap();
    // Poll past `exp` (bounded): inactive from then on.
    let mut body = body;
    for _ in 0..40 {
        tokio::time::sleep(Duration::from_millis(200)).await;
        body = idp.introspect("reader", "reader-secret", &token).await.1;
        if body["active"] != true {
            break;
        }
    }
    assert_eq!(body, json!({"active": false}));
    assert!(now() >= exp, "inactive only once expired");
}

#[tokio::test(flavor = "multi_thread")]
async fn restart_with_a_rotated_secret() {
    let mut idp = OidcProvider::start(&clients(), "opaque", None).await;
    let (issuer, port) = (idp.issuer(), idp.port());
    let old_token = idp.token("authorizer-post", "post-secret", "read").await;

    let mut rotated = clients();
    rotated[1].client_secret = "post-secret-2".into();
    idp.restart(&rotated).await;
    assert_eq!((idp.issuer(), idp.port()), (issuer, port));
    assert_eq!(idp.clients()[1].client_secret, "post-secret-2");

    let token = idp.token("reader", "reader-secret", "read").await;
    let (status, body) = idp
        .introspect("authorizer-post", "post-secret", &token)
        .await;
    assert_eq!(
        (status, &body["error"]),
        (401, &json!("invalid_client")),
        "{body}"
    );
    let (status, body) = idp
        .introspect("authorizer-post", "post-secret-2", &token)
        .await;
    assert_eq!((status, &body["active"]), (200, &json!(true)), "{body}");
    // Tokens issued before the restart are forgotten.
    let (_, body) = idp
        .introspect("authorizer-post", "post-secret-2", &old_token)
        .await;
    assert_eq!(body, json!({"active": false}));
}

#[tokio::test(flavor = "multi_thread")]
async fn stop_refuses_connections_and_resume_serves_again() {
    let mut idp = OidcProvider::start(&clients(), "opaque", None).await;
    let jwks = get_json(&format!("{}/jwks", idp.issuer())).await;
    idp.stop().await;
    let refused = tokio::net::TcpStream::connect(("127.0.0.1", idp.port())).await;
    let error = refused.expect_err("the port must be closed while stopped");
    assert_eq!(error.kind(), std::io::ErrorKind::ConnectionRefused);
    let failed = client()
        .get(format!("{}/jwks", idp.issuer()))
        .send()
        .await
        .expect_err("IdP is down");
    assert!(failed.is_connect(), "{failed:?}");
    idp.stop().await; // idempotent

    idp.resume().await;
    idp.resume().await; // idempotent
    let token = idp.token("reader", "reader-secret", "read").await;
    let (_, body) = idp.introspect("reader", "reader-secret", &token).await;
    assert_eq!(body["active"], true, "{body}");
    // Same signing key after the outage.
    assert_eq!(get_json(&format!("{}/jwks", idp.issuer())).await, jwks);
    let ready = idp
        .logs()
        .iter()
        .filter(|l| l.contains("\"ready\":true"))
        .count();
    assert_eq!(ready, 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn jwt_access_tokens_carry_the_audience_and_are_not_introspectable() {
    let idp = OidcProvider::start(&clients(), "jwt", Some("petstore")).await;
    let token = idp
        .token("authorizer-post", "post-secret", "read silver")
        .await;
    let header = jwt_part(&token, 0);
    let claims = jwt_part(&token, 1);
    assert_eq!(header["typ"], "at+jwt");
    assert_eq!(header["alg"], "RS256");
    assert_eq!(claims["aud"], "petstore");
    assert_eq!(claims["iss"], idp.issuer());
    assert_eq!(claims["scope"], "read silver");
    assert_eq!(claims["client_id"], "authorizer-post");
    assert_eq!(claims["sub"], "authorizer-post");

    // The signature verifies with the published key.
    let jwks = get_json(&format!("{}/jwks", idp.issuer())).await;
    assert_eq!(jwks["keys"][0]["kid"], header["kid"]);
    let jwk: jsonwebtoken::jwk::Jwk = serde_json::from_value(jwks["keys"][0].clone()).unwrap();
    let key = jsonwebtoken::DecodingKey::from_jwk(&jwk).unwrap();
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    validation.set_audience(&["petstore"]);
    validation.set_issuer(&[idp.issuer()]);
    jsonwebtoken::decode::<Value>(&token, &key, &validation).unwrap();

    // oidc-provider does not introspect structured tokens.
    let (status, body) = idp
        .introspect("authorizer-post", "post-secret", &token)
        .await;
    assert_eq!(
        (status, &body["error"]),
        (400, &json!("unsupported_token_type")),
        "{body}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn moto_creates_updates_and_reads_secrets() {
    let moto = MotoServer::start().await;
    let endpoint = moto.endpoint();
    assert!(endpoint.starts_with("http://127.0.0.1:"), "{endpoint}");

    let v1 = introspection_secret("authorizer-post", "post-secret");
    let arn = moto.put_secret("authz/introspection", &v1).await;
    assert!(
        arn.starts_with(
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:authz/introspection-"
        ),
        "{arn}"
    );
    let v2 = introspection_secret("authorizer-post", "post-secret-2");
    assert_eq!(moto.put_secret("authz/introspection", &v2).await, arn);

    for id in ["authz/introspection", arn.as_str()] {
        let (status, body) = moto.call("GetSecretValue", &json!({"SecretId": id})).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["SecretString"], v2.as_str());
        assert_eq!(body["ARN"], arn.as_str());
        assert_eq!(body["VersionStages"], json!(["AWSCURRENT"]));
    }
    let (status, body) = moto
        .call("GetSecretValue", &json!({"SecretId": "missing"}))
        .await;
    // moto answers 404 here where AWS answers 400; the error type is the same.
    assert_eq!(status, 404, "{body}");
    assert_eq!(body["__type"], "ResourceNotFoundException", "{body}");

    let env = moto.sdk_env();
    let get = |k: &str| env.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    assert_eq!(
        get("AWS_ENDPOINT_URL_SECRETS_MANAGER"),
        Some(endpoint.as_str())
    );
    assert_eq!(get("AWS_REGION"), Some("us-east-1"));
    assert!(get("AWS_ACCESS_KEY_ID").is_some() && get("AWS_SECRET_ACCESS_KEY").is_some());
    assert!(!moto.logs().is_empty());
}

/// Issue 26: the provider binds opaque tokens as RFC 9449 §6.2 and RFC 8705 §3.2 say an
/// introspection answer carries them (what the authorizer's introspection path reads): a DPoP
/// proof at the token endpoint gives `token_type` `DPoP` and `cnf.jkt` = the proof key's RFC 7638
/// thumbprint; a certificate-bound client's certificate gives `cnf.x5t#S256` = its SHA-256, the
/// same as authz-core computes; without a certificate such a client gets no token, and a token
/// request without a proof gets a plain bearer token.
#[tokio::test(flavor = "multi_thread")]
async fn sender_constrained_tokens_are_bound_in_introspection_answers() {
    let clients = [
        IdpClient::basic("dpop-app", "dpop-secret", "read"),
        IdpClient::basic("mtls-app", "mtls-secret", "read").certificate_bound(),
    ];
    let idp = OidcProvider::start(&clients, "opaque", None).await;
    let key = authz_testkit::TestKey::ec_p256("client");
    let token = idp
        .dpop_token("dpop-app", "dpop-secret", "read", &key)
        .await;
    let (status, body) = idp.introspect("dpop-app", "dpop-secret", &token).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["active"], true, "{body}");
    assert_eq!(body["token_type"], "DPoP", "{body}");
    assert_eq!(body["cnf"], json!({"jkt": key.jkt()}), "{body}");

    let cert = authz_testkit::TestCa::new().client_cert("mtls-app");
    let token = idp
        .certificate_bound_token("mtls-app", "mtls-secret", "read", &cert.der)
        .await;
    let (_, body) = idp.introspect("mtls-app", "mtls-secret", &token).await;
    assert_eq!(body["token_type"], "Bearer", "{body}");
    let x5t = authz_core::internals::certificate_thumbprint(&cert.pem).unwrap();
    assert_eq!(body["cnf"], json!({"x5t#S256": x5t}), "{body}");
    let (status, body) = idp
        .token_request("mtls-app", "mtls-secret", "read", &[])
        .await;
    assert_eq!(
        (status, &body["error"]),
        (400, &json!("invalid_grant")),
        "{body}"
    );

    let plain = idp.token("dpop-app", "dpop-secret", "read").await;
    let (_, body) = idp.introspect("dpop-app", "dpop-secret", &plain).await;
    assert_eq!(body["token_type"], "Bearer", "{body}");
    assert!(body.get("cnf").is_none(), "{body}");
}
