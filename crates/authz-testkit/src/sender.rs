//! Sender-constrained tokens (RFC 9449 DPoP, RFC 8705 certificate-bound) issued by the real
//! OpenID provider ([`OidcProvider`], oidc-provider's `features.dPoP` and `features.mTLS`) and
//! sent through a real REQUEST or HTTP authorizer binary: the scenarios (JWT access tokens,
//! and opaque ones the authorizer introspects) the `request-authorizer` and `http-authorizer`
//! tests both run, each with its own event shape.

use std::path::Path;

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use serde_json::{Value, json};

use crate::{
    IdpClient, LambdaProcess, MotoServer, OidcProvider, Outcome, TestCa, TestKey,
    fixtures::{
        AUDIENCE, STAGE_ARN, introspection_secret, last_reason, rest_statements, sample_event,
        unauthorized,
    },
    now,
};

/// Which API Gateway flavour's events an authorizer takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Api {
    /// REST API, REQUEST authorizer (`events/request/header.json`: `GET /pets/42` on stage
    /// `dev` of the default endpoint).
    Rest,
    /// HTTP API, payload 2.0 with simple responses (`events/http/asteroids.json`:
    /// `GET /asteroids` on stage `dev`).
    Http,
}

impl Api {
    /// The URL the sample event's client called, as it signs it in a DPoP proof (`htu`).
    pub const fn url(self) -> &'static str {
        match self {
            Api::Rest => "https://abcdef1234.execute-api.us-east-1.amazonaws.com/dev/pets/42",
            Api::Http => "https://solar12345.execute-api.us-east-1.amazonaws.com/dev/asteroids",
        }
    }

    /// The sample event with this `Authorization` value, a `DPoP` header when given, and the
    /// client certificate (PEM) where API Gateway puts a mutual-TLS client's (REST
    /// `requestContext.identity.clientCert`, HTTP `requestContext.authentication.clientCert`).
    pub fn event(self, authorization: &str, dpop: Option<&str>, cert_pem: Option<&str>) -> Value {
        let cert = cert_pem.map(|pem| {
            json!({"clientCertPem": pem, "issuerDN": "CN=authz-testkit private CA",
                   "serialNumber": "1", "subjectDN": "CN=client",
                   "validity": {"notBefore": "Jan 1 00:00:00 2026 GMT",
                                "notAfter": "Jan 1 00:00:00 2027 GMT"}})
        });
        match self {
            Api::Rest => {
                // Both header maps, as API Gateway sends them.
                let mut e = sample_event("request/header.json", "unused");
                e["headers"]["Authorization"] = json!(authorization);
                e["multiValueHeaders"]["Authorization"] = json!([authorization]);
                if let Some(proof) = dpop {
                    e["headers"]["DPoP"] = json!(proof);
                    e["multiValueHeaders"]["DPoP"] = json!([proof]);
                }
                if let Some(cert) = cert {
                    e["requestContext"]["identity"]["clientCert"] = cert;
                }
                e
            }
            Api::Http => {
                let mut e = sample_event("http/asteroids.json", "unused");
                e["headers"]["authorization"] = json!(authorization);
                if let Some(proof) = dpop {
                    e["headers"]["dpop"] = json!(proof);
                }
                if let Some(cert) = cert {
                    e["requestContext"]["authentication"] = json!({"clientCert": cert});
                }
                e
            }
        }
    }

    /// Whether `outcome` lets the event's request through: a REST policy allowing the event's
    /// method ARN (evaluated by the one policy reader), an HTTP `isAuthorized: true`.
    ///
    /// # Panics
    /// On an HTTP answer that is not a simple response.
    pub fn allowed(self, outcome: &Outcome) -> bool {
        match self {
            Api::Rest => rest_statements(outcome)
                .is_some_and(|s| authz_core::evaluate(&s, &format!("{STAGE_ARN}/GET/pets/42"))),
            Api::Http => match outcome {
                Outcome::Response(r) => r["isAuthorized"]
                    .as_bool()
                    .unwrap_or_else(|| panic!("not a simple response: {r}")),
                other => panic!("expected a simple response, got {other:?}"),
            },
        }
    }

    /// Asserts that `outcome` refuses as a failed verification does (REST `Unauthorized`, HTTP
    /// `isAuthorized: false`) and that `p` logged `reason` for it.
    pub async fn assert_refused(self, p: &LambdaProcess, outcome: &Outcome, reason: &str) {
        match self {
            Api::Rest => assert_eq!(outcome, &unauthorized(), "{reason}"),
            Api::Http => assert!(!self.allowed(outcome), "{reason}"),
        }
        assert_eq!(last_reason(p).await, reason);
    }
}

/// The claims of a JWT (its payload, not verified).
fn payload(jwt: &str) -> Value {
    let part = jwt.split('.').nth(1).expect("a JWT has a payload");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).expect("base64url payload"))
        .expect("a JSON payload")
}

/// The clients of the scenarios: `dpop-app` (tokens DPoP-bound when it sends a proof) and
/// `mtls-app` (tokens bound to its client certificate), both with scope `read`.
fn bound_clients() -> [IdpClient; 2] {
    [
        IdpClient::basic("dpop-app", "dpop-secret", "read"),
        IdpClient::basic("mtls-app", "mtls-secret", "read").certificate_bound(),
    ]
}

/// The real-IdP scenario: oidc-provider issues JWT access tokens (RFC 9068, audience
/// [`AUDIENCE`]) bound by DPoP to a client key and by RFC 8705 to a client certificate, and the
/// authorizer `binary` (taking `api` events) with `AUTHZ_SENDER_CONSTRAINED=require` lets each
/// through only with what it is bound to:
/// - DPoP-bound: allowed with a fresh proof of its key for the request; refused when that proof
///   is replayed (`dpop_replay`), as `Bearer` (`dpop_downgrade`), with a proof of another key
///   (`dpop_jkt_mismatch`);
/// - certificate-bound: allowed with its certificate in the event; refused with another
///   certificate of the same CA and subject (`mtls_cert_mismatch`) or none (`mtls_cert_missing`);
/// - a token of the same IdP bound to nothing: refused (`sender_constraint_required`).
///
/// # Panics
/// When the authorizer decides otherwise (a failed assertion), or a component does not start.
pub async fn real_idp_sender_constrained(binary: &Path, api: Api) {
    let idp = OidcProvider::start(&bound_clients(), "jwt", Some(AUDIENCE)).await;
    let issuer = idp.issuer();
    let p = LambdaProcess::spawn(
        binary,
        &[
            ("AUTHZ_ISSUER", issuer.as_str()),
            ("AUTHZ_AUDIENCE", AUDIENCE),
            ("AUTHZ_SENDER_CONSTRAINED", "require"),
        ],
    )
    .await;
    bound_tokens_need_what_they_are_bound_to(&idp, &p, api, true).await;
}

/// [`real_idp_sender_constrained`] with the provider's opaque tokens, which the authorizer
/// introspects (RFC 7662; its client credentials in Secrets Manager on [`MotoServer`]): the
/// binding is in the introspection answer (`token_type` `DPoP` with `cnf.jkt`, RFC 9449 §6.2;
/// `cnf.x5t#S256`, RFC 8705 §3.2). Same outcomes, same reasons.
///
/// # Panics
/// As [`real_idp_sender_constrained`].
pub async fn real_idp_opaque_sender_constrained(binary: &Path, api: Api) {
    let (id, secret) = ("introspector", "introspector-secret");
    let mut clients = bound_clients().to_vec();
    clients.push(IdpClient::basic(id, secret, ""));
    let moto = MotoServer::start().await;
    let arn = moto
        .put_secret("authz/introspection", &introspection_secret(id, secret))
        .await;
    let idp = OidcProvider::start(&clients, "opaque", Some(AUDIENCE)).await;
    let mut env = vec![
        ("AUTHZ_ISSUER".to_owned(), idp.issuer()),
        ("AUTHZ_AUDIENCE".to_owned(), AUDIENCE.to_owned()),
        ("AUTHZ_SENDER_CONSTRAINED".to_owned(), "require".to_owned()),
        ("AUTHZ_INTROSPECTION_SECRET_ARN".to_owned(), arn),
    ];
    env.extend(moto.sdk_env());
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let p = LambdaProcess::spawn(binary, &env).await;
    bound_tokens_need_what_they_are_bound_to(&idp, &p, api, false).await;
}

/// The body of both scenarios: tokens from `idp` (JWTs when `jwt`, whose claims are checked
/// too; else opaque) through the authorizer `p`.
async fn bound_tokens_need_what_they_are_bound_to(
    idp: &OidcProvider,
    p: &LambdaProcess,
    api: Api,
    jwt: bool,
) {
    // DPoP: the IdP binds the token to the key of the token request's proof.
    let client_key = TestKey::ec_p256("dpop-client");
    let token = idp
        .dpop_token("dpop-app", "dpop-secret", "read", &client_key)
        .await;
    if jwt {
        let claims = payload(&token);
        assert_eq!(claims["cnf"]["jkt"], client_key.jkt(), "{claims}");
        assert_eq!(claims["iss"], idp.issuer());
    }
    let dpop = format!("DPoP {token}");
    let proof = client_key.dpop_proof("GET", api.url(), &token, now(), "request-1");
    let event = api.event(&dpop, Some(&proof), None);
    let out = p.invoke(&event).await;
    assert!(api.allowed(&out), "fresh proof: {out:?}\n{:#?}", p.logs());
    let out = p.invoke(&event).await;
    api.assert_refused(p, &out, "dpop_replay").await;
    let fresh = client_key.dpop_proof("GET", api.url(), &token, now(), "request-2");
    let out = p
        .invoke(&api.event(&format!("Bearer {token}"), Some(&fresh), None))
        .await;
    api.assert_refused(p, &out, "dpop_downgrade").await;
    let out = p
        .invoke(&api.event(&format!("Bearer {token}"), None, None))
        .await;
    api.assert_refused(p, &out, "dpop_downgrade").await;
    // Another key: the test keys of one type are one key, whatever their `kid`.
    let stranger = TestKey::ed25519("stranger");
    assert_ne!(stranger.jkt(), client_key.jkt());
    let theirs = stranger.dpop_proof("GET", api.url(), &token, now(), "request-3");
    let out = p.invoke(&api.event(&dpop, Some(&theirs), None)).await;
    api.assert_refused(p, &out, "dpop_jkt_mismatch").await;
    // The client's own proof that was refused as Bearer was not spent: it still works.
    let out = p.invoke(&api.event(&dpop, Some(&fresh), None)).await;
    assert!(api.allowed(&out), "unspent proof: {out:?}");

    // Certificate-bound: the IdP binds the token to the certificate of the token request.
    let ca = TestCa::new();
    let (mine, other) = (ca.client_cert("mtls-app"), ca.client_cert("mtls-app"));
    let token = idp
        .certificate_bound_token("mtls-app", "mtls-secret", "read", &mine.der)
        .await;
    if jwt {
        let claims = payload(&token);
        assert!(claims["cnf"]["x5t#S256"].is_string(), "{claims}");
    }
    let bearer = format!("Bearer {token}");
    let out = p.invoke(&api.event(&bearer, None, Some(&mine.pem))).await;
    assert!(
        api.allowed(&out),
        "its certificate: {out:?}\n{:#?}",
        p.logs()
    );
    let out = p.invoke(&api.event(&bearer, None, Some(&other.pem))).await;
    api.assert_refused(p, &out, "mtls_cert_mismatch").await;
    let out = p.invoke(&api.event(&bearer, None, None)).await;
    api.assert_refused(p, &out, "mtls_cert_missing").await;

    // Bound to nothing: the same IdP's plain bearer token.
    let plain = idp.token("dpop-app", "dpop-secret", "read").await;
    if jwt {
        assert!(payload(&plain).get("cnf").is_none());
    }
    let out = p
        .invoke(&api.event(&format!("Bearer {plain}"), None, Some(&mine.pem)))
        .await;
    api.assert_refused(p, &out, "sender_constraint_required")
        .await;
}
