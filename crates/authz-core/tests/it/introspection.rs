//! RFC 7662 introspection through the real authorizer against a real loopback IdP (the
//! testkit issuer, or an introspection endpoint served by its fallback), with the client
//! credentials from an injected [`SecretSource`] instead of Secrets Manager: no moto here
//! (the end-to-end path with moto is in token-authorizer's tests).

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use authz_core::{
    Authorizer, AuthzError, ClientCredentials, Config, SecretFuture, SecretSource, Trace,
};
use authz_testkit::{Issuer, now, server::response};
use base64::{Engine, engine::general_purpose::STANDARD};
use http::{Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::json;

/// Client credentials held in memory, replaceable (a rotation), counting reads.
#[derive(Debug)]
struct MemorySecret {
    current: Mutex<(String, String)>,
    reads: AtomicUsize,
}

impl MemorySecret {
    fn new(id: &str, secret: &str) -> Arc<MemorySecret> {
        Arc::new(MemorySecret {
            current: Mutex::new((id.into(), secret.into())),
            reads: AtomicUsize::new(0),
        })
    }
    fn rotate(&self, secret: &str) {
        self.current.lock().unwrap().1 = secret.into();
    }
    fn reads(&self) -> usize {
        self.reads.load(Ordering::SeqCst)
    }
}

impl SecretSource for MemorySecret {
    fn fetch(&self) -> SecretFuture<'_> {
        Box::pin(async move {
            self.reads.fetch_add(1, Ordering::SeqCst);
            let (client_id, client_secret) = self.current.lock().unwrap().clone();
            Ok(ClientCredentials {
                client_id,
                client_secret,
            })
        })
    }
}

/// Just past the cool-down of [`authorizer`] (0.3 s), after which the secret may be re-read.
const PAUSE: Duration = Duration::from_millis(350);

fn authorizer(issuer: &Issuer, auth: &str, secret: Arc<MemorySecret>) -> Authorizer {
    authorizer_with(issuer, auth, secret, "0.3")
}

/// [`authorizer`] with another cool-down (seconds).
fn authorizer_with(
    issuer: &Issuer,
    auth: &str,
    secret: Arc<MemorySecret>,
    cooldown: &str,
) -> Authorizer {
    authorizer_extra(issuer, auth, secret, cooldown, &[])
}

/// [`authorizer_with`] with `extra` settings.
fn authorizer_extra(
    issuer: &Issuer,
    auth: &str,
    secret: Arc<MemorySecret>,
    cooldown: &str,
    extra: &[(&str, &str)],
) -> Authorizer {
    let mut vars = vec![
        ("AUTHZ_ISSUER", issuer.url()),
        ("AUTHZ_AUDIENCE", "api".to_owned()),
        ("AUTHZ_TOKEN_FORMAT", "opaque".to_owned()),
        (
            "AUTHZ_INTROSPECTION_SECRET_ARN",
            "arn:aws:secretsmanager:us-east-1:1:secret:unused".to_owned(),
        ),
        ("AUTHZ_INTROSPECTION_AUTH", auth.to_owned()),
        ("AUTHZ_JWKS_COOLDOWN_SECONDS", cooldown.to_owned()),
    ];
    vars.extend(extra.iter().map(|(k, v)| (*k, (*v).to_owned())));
    let config =
        Config::from_lookup(|k| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone()))
            .unwrap();
    Authorizer::with_secret_source(config, secret).unwrap()
}

async fn check(a: &Authorizer, token: &str) -> Result<String, AuthzError> {
    a.verify_bearer(Some(&format!("Bearer {token}")), &mut Trace::default())
        .await
        .map(|c| c.principal().to_owned())
}

/// What the fallback introspection endpoint saw: the `Authorization` header and the form.
type Seen = Arc<Mutex<Vec<(Option<String>, HashMap<String, String>)>>>;

/// An RFC 7662 endpoint at `/introspect` accepting only `client_id` / `secret` the way `auth`
/// says (`client_secret_basic`: Basic over the form-encoded pair; `client_secret_post`: in
/// the form), answering every token active for `alice`.
fn serve_introspection(issuer: &Issuer, auth: &'static str, secret: Arc<Mutex<String>>) -> Seen {
    let seen: Seen = Arc::default();
    let (log, url) = (Arc::clone(&seen), issuer.url());
    issuer.set_discovery_extra(json!({"introspection_endpoint": format!("{url}/introspect")}));
    issuer.set_fallback(Arc::new(move |req: Request<hyper::body::Incoming>| {
        let (log, secret, url) = (Arc::clone(&log), Arc::clone(&secret), url.clone());
        Box::pin(async move {
            let authorization = req
                .headers()
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            let path = req.uri().path().to_owned();
            let body = req.into_body().collect().await.unwrap().to_bytes();
            let form: HashMap<String, String> =
                form_urlencoded::parse(&body).into_owned().collect();
            log.lock()
                .unwrap()
                .push((authorization.clone(), form.clone()));
            let secret = secret.lock().unwrap().clone();
            let enc = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
            let basic = format!("Basic {}", STANDARD.encode(format!("cid:{}", enc(&secret))));
            let ok = path == "/introspect"
                && match auth {
                    "client_secret_basic" => authorization.as_deref() == Some(basic.as_str()),
                    _ => {
                        authorization.is_none()
                            && form.get("client_id").map(String::as_str) == Some("cid")
                            && form.get("client_secret") == Some(&secret)
                    }
                };
            if !ok {
                return Ok(response(
                    StatusCode::UNAUTHORIZED,
                    "application/json",
                    r#"{"error":"invalid_client"}"#,
                ));
            }
            let answer = json!({"active": true, "iss": url, "sub": "alice", "aud": "api",
                "scope": "read", "exp": now() + 300});
            Ok(response(
                StatusCode::OK,
                "application/json",
                answer.to_string(),
            ))
        })
    }));
    seen
}

#[tokio::test]
async fn client_secret_basic_sends_the_form_encoded_pair() {
    let issuer = Issuer::start().await;
    let idp_secret = Arc::new(Mutex::new("p@ss w/rd".to_owned()));
    let seen = serve_introspection(&issuer, "client_secret_basic", Arc::clone(&idp_secret));
    let secret = MemorySecret::new("cid", "p@ss w/rd");
    let a = authorizer(&issuer, "client_secret_basic", Arc::clone(&secret));
    assert_eq!(a.warm().await, 1);
    assert_eq!(check(&a, "opaque-basic").await, Ok("alice".into()));
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 1);
    let (auth, form) = &seen[0];
    assert!(auth.as_deref().is_some_and(|a| a.starts_with("Basic ")));
    assert_eq!(form.get("token").map(String::as_str), Some("opaque-basic"));
    assert_eq!(
        form.get("token_type_hint").map(String::as_str),
        Some("access_token")
    );
    assert!(!form.contains_key("client_secret"), "not in the form");
    assert_eq!(secret.reads(), 1);
}

#[tokio::test]
async fn client_secret_post_sends_the_pair_in_the_form_and_answers_are_cached() {
    let issuer = Issuer::start().await;
    let idp_secret = Arc::new(Mutex::new("s3cret".to_owned()));
    let seen = serve_introspection(&issuer, "client_secret_post", Arc::clone(&idp_secret));
    let secret = MemorySecret::new("cid", "s3cret");
    let a = authorizer(&issuer, "client_secret_post", Arc::clone(&secret));
    assert_eq!(check(&a, "opaque-post").await, Ok("alice".into()));
    assert_eq!(check(&a, "opaque-post").await, Ok("alice".into()));
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 1, "the second answer came from the cache");
    assert_eq!(seen[0].0, None, "no Authorization header");
    assert_eq!(
        seen[0].1.get("client_secret").map(String::as_str),
        Some("s3cret")
    );
}

#[tokio::test]
async fn invalid_client_re_reads_the_secret_once_and_heals_a_rotation() {
    let issuer = Issuer::start().await;
    let idp_secret = Arc::new(Mutex::new("old".to_owned()));
    let seen = serve_introspection(&issuer, "client_secret_basic", Arc::clone(&idp_secret));
    let secret = MemorySecret::new("cid", "old");
    let a = authorizer(&issuer, "client_secret_basic", Arc::clone(&secret));
    assert_eq!(a.warm().await, 1);
    assert_eq!(check(&a, "t1").await, Ok("alice".into()));
    // Rotation: the IdP has the new secret, the source too, the authorizer still the old one.
    *idp_secret.lock().unwrap() = "new".into();
    secret.rotate("new");
    tokio::time::sleep(PAUSE).await;
    assert_eq!(check(&a, "t2").await, Ok("alice".into()));
    assert_eq!(secret.reads(), 2, "re-read once on invalid_client");
    assert_eq!(seen.lock().unwrap().len(), 3, "refused once, then retried");
    // The IdP rotates again but the source still has the previous secret: fail closed.
    *idp_secret.lock().unwrap() = "newer".into();
    tokio::time::sleep(PAUSE).await;
    assert_eq!(check(&a, "t3").await, Err(AuthzError::IntrospectionFailed));
    assert_eq!(secret.reads(), 3, "re-read once, not in a loop");
    assert_eq!(
        seen.lock().unwrap().len(),
        5,
        "one retry after the re-read, then no more"
    );
}

#[tokio::test]
async fn bearer_mode_gets_an_access_token_and_refreshes_it_when_refused() {
    let issuer = Issuer::start().await;
    issuer.enable_bearer_introspection("cid", "s3cret");
    for t in ["op-1", "op-2"] {
        issuer.add_opaque_token(
            t,
            json!({"sub": "alice", "aud": ["api"], "scope": "read", "exp": now() + 300}),
        );
    }
    let secret = MemorySecret::new("cid", "s3cret");
    let a = authorizer(&issuer, "bearer", Arc::clone(&secret));
    assert_eq!(a.warm().await, 1);
    let first = issuer.access_tokens();
    assert_eq!(first.len(), 1, "access token fetched at cold start");
    assert_eq!(check(&a, "op-1").await, Ok("alice".into()));
    assert_eq!(check(&a, "unknown").await, Err(AuthzError::InactiveToken));
    // The IdP revokes the access token: the next call is refused, a new one is fetched.
    issuer.revoke_access_tokens();
    tokio::time::sleep(PAUSE).await;
    assert_eq!(check(&a, "op-2").await, Ok("alice".into()));
    let second = issuer.access_tokens();
    assert_eq!(second.len(), 1);
    assert_ne!(second, first, "a new access token");
    assert_eq!(secret.reads(), 2, "the secret is re-read too (unchanged)");
}

/// Issue 13, item 5: RFC 7662 §2.1 lets the server ignore `token_type_hint`, so an active answer
/// for a refresh (or ID) token must be refused, however the IdP spells its kind; access tokens
/// still pass. Item 7: a number from the IdP never panics (`exp: 1e20` is cached, twice served).
#[tokio::test]
async fn only_access_tokens_pass_and_no_idp_number_panics() {
    let issuer = Issuer::start().await;
    issuer.enable_bearer_introspection("cid", "s3cret");
    let claims = |extra: serde_json::Value| {
        let mut c = json!({"sub": "alice", "aud": ["api"], "scope": "read", "exp": now() + 300});
        for (k, v) in extra.as_object().unwrap() {
            c[k] = v.clone();
        }
        c
    };
    let refused = [
        ("rfc7662-refresh", json!({"token_type": "refresh_token"})),
        (
            "rfc8693-refresh",
            json!({"token_type": "urn:ietf:params:oauth:token-type:refresh_token"}),
        ),
        ("hydra-refresh", json!({"token_use": "refresh_token"})),
        ("cognito-id", json!({"token_use": "id"})),
        ("keycloak-refresh", json!({"typ": "Refresh"})),
        ("keycloak-offline", json!({"typ": "Offline"})),
        ("keycloak-id", json!({"typ": "ID"})),
        // Issue 22, item 5: a security event token (back-channel logout) is never one.
        (
            "backchannel-logout",
            json!({"sid": "s-1", "token_type": "Bearer",
                   "events": {"http://schemas.openid.net/event/backchannel-logout": {}}}),
        ),
        ("type-not-a-string", json!({"token_type": 1})),
    ];
    let accepted = [
        ("rfc7662-bearer", json!({"token_type": "bearer"})),
        (
            "hydra-access",
            json!({"token_use": "access_token", "token_type": "Bearer"}),
        ),
        ("cognito-access", json!({"token_use": "access"})),
        ("keycloak-access", json!({"typ": "Bearer"})),
        // Review finding: accepted by the introspection check, then refused by the claim check.
        ("rfc9068-typ", json!({"typ": "at+jwt"})),
        ("far-future-exp", json!({"exp": 1e20})),
        ("huge-exp", json!({"exp": 1.7e308})),
    ];
    for (token, extra) in refused.iter().chain(&accepted) {
        issuer.add_opaque_token(token, claims(extra.clone()));
    }
    let a = authorizer(&issuer, "bearer", MemorySecret::new("cid", "s3cret"));
    assert_eq!(a.warm().await, 1);
    for (token, extra) in &refused {
        assert_eq!(
            check(&a, token).await,
            Err(AuthzError::NotAccessToken),
            "{extra}"
        );
    }
    for (token, extra) in &accepted {
        assert_eq!(check(&a, token).await, Ok("alice".into()), "{extra}");
    }
    let before = issuer.introspection_requests();
    for (token, _) in &accepted {
        assert_eq!(check(&a, token).await, Ok("alice".into()), "from the cache");
    }
    assert_eq!(
        issuer.introspection_requests(),
        before,
        "answers were cached"
    );
}

/// Issue 13, item 8: while discovery fails, opaque tokens do not each trigger a discovery GET:
/// one attempt per cool-down (5 s here: far longer than 20 refused tokens take), shared by
/// everything that needs the document.
#[tokio::test]
async fn discovery_failures_are_cooled_down() {
    let issuer = Issuer::start().await;
    serve_introspection(
        &issuer,
        "client_secret_basic",
        Arc::new(Mutex::new("s3cret".to_owned())),
    );
    issuer.set_discovery_fault(authz_testkit::Fault::Status(503));
    let a = authorizer_with(
        &issuer,
        "client_secret_basic",
        MemorySecret::new("cid", "s3cret"),
        "5",
    );
    for i in 0..20 {
        assert_eq!(
            check(&a, &format!("opaque-{i}")).await,
            Err(AuthzError::IntrospectionFailed)
        );
    }
    assert_eq!(issuer.discovery_fetches(), 1, "20 tokens, 1 discovery GET");
    // The IdP heals: within the cool-down nothing is fetched; after it, the next token tries
    // again and succeeds.
    issuer.set_discovery_fault(authz_testkit::Fault::None);
    assert_eq!(
        check(&a, "opaque-soon").await,
        Err(AuthzError::IntrospectionFailed)
    );
    assert_eq!(issuer.discovery_fetches(), 1);
    tokio::time::sleep(Duration::from_millis(5050)).await;
    assert_eq!(check(&a, "opaque-after").await, Ok("alice".into()));
    assert_eq!(issuer.discovery_fetches(), 2);
    assert_eq!(check(&a, "opaque-later").await, Ok("alice".into()));
    assert_eq!(issuer.discovery_fetches(), 2, "a good document is kept");
}

/// The REQUEST authorizer `a` on the sample REST event with this `Authorization`, `DPoP` header
/// and client certificate: `Ok` when it answered with a policy.
async fn rest_request(
    a: &Authorizer,
    auth: &str,
    proof: Option<&str>,
    cert: Option<&str>,
) -> Result<(), AuthzError> {
    let event = authz_testkit::sender::Api::Rest.event(auth, proof, cert);
    a.request(&event.to_string()).await.map(|_| ())
}

/// Issue 26, item 3: an opaque token bound by its introspection answer (`cnf.jkt` with
/// `token_type` `DPoP`, RFC 9449 §6.2; `cnf.x5t#S256`, RFC 8705 §3.2) gets the same
/// sender-constraint checks as a bound JWT, through the REQUEST authorizer's whole path.
#[tokio::test]
async fn introspected_bindings_are_checked_like_a_jwts() {
    use authz_testkit::{TestCa, TestKey, sender::Api};
    let issuer = Issuer::start().await;
    issuer.enable_bearer_introspection("cid", "s3cret");
    let (client, stranger) = (TestKey::ec_p256("client"), TestKey::ed25519("stranger"));
    let ca = TestCa::new();
    let (mine, other) = (ca.client_cert("client"), ca.client_cert("client"));
    let x5t = authz_core::internals::certificate_thumbprint(&mine.pem).unwrap();
    let answer = |extra: serde_json::Value| {
        let mut c = json!({"sub": "alice", "aud": ["api"], "scope": "read", "exp": now() + 300});
        for (k, v) in extra.as_object().unwrap() {
            c[k] = v.clone();
        }
        c
    };
    issuer.add_opaque_token(
        "dpop-bound",
        answer(json!({"token_type": "DPoP", "cnf": {"jkt": client.jkt()}})),
    );
    issuer.add_opaque_token("dpop-unknown-key", answer(json!({"token_type": "DPoP"})));
    issuer.add_opaque_token("cert-bound", answer(json!({"cnf": {"x5t#S256": x5t}})));
    issuer.add_opaque_token("unbound", answer(json!({})));
    let secret = MemorySecret::new("cid", "s3cret");
    let modes = ["require", "off"].map(|mode| {
        let extra = [("AUTHZ_SENDER_CONSTRAINED", mode)];
        authorizer_extra(&issuer, "bearer", Arc::clone(&secret), "0.3", &extra)
    });
    let [require, off] = &modes;
    assert_eq!(require.warm().await, 1);
    let api = Api::Rest;
    let ask = rest_request;
    let proof =
        |key: &TestKey, jti: &str| key.dpop_proof("GET", api.url(), "dpop-bound", now(), jti);

    let fresh = proof(&client, "1");
    assert_eq!(
        ask(require, "DPoP dpop-bound", Some(&fresh), None).await,
        Ok(())
    );
    assert_eq!(
        ask(require, "DPoP dpop-bound", Some(&fresh), None).await,
        Err(AuthzError::DpopReplay)
    );
    let cases = [
        (
            "Bearer dpop-bound",
            Some(proof(&client, "2")),
            None,
            AuthzError::DpopDowngrade,
        ),
        (
            "DPoP dpop-bound",
            Some(proof(&stranger, "3")),
            None,
            AuthzError::DpopKeyMismatch,
        ),
        ("DPoP dpop-bound", None, None, AuthzError::DpopProofMissing),
        // `token_type` DPoP without the key it is bound to: nothing to check the proof against.
        (
            "DPoP dpop-unknown-key",
            Some(client.dpop_proof("GET", api.url(), "dpop-unknown-key", now(), "4")),
            None,
            AuthzError::NotAccessToken,
        ),
        (
            "Bearer cert-bound",
            None,
            Some(other.pem.as_str()),
            AuthzError::MtlsCertMismatch,
        ),
        ("Bearer cert-bound", None, None, AuthzError::MtlsCertMissing),
        (
            "Bearer unbound",
            None,
            None,
            AuthzError::SenderConstraintRequired,
        ),
    ];
    for (auth, proof, cert, want) in &cases {
        assert_eq!(
            ask(require, auth, proof.as_deref(), *cert).await,
            Err(want.clone()),
            "{auth}"
        );
    }
    assert_eq!(
        ask(require, "Bearer cert-bound", None, Some(&mine.pem)).await,
        Ok(())
    );
    // With sender constraints off, a bound answer is never taken as a bearer token.
    assert_eq!(
        ask(off, "Bearer dpop-bound", None, None).await,
        Err(AuthzError::DpopDowngrade)
    );
    assert_eq!(
        ask(off, "Bearer cert-bound", None, Some(&mine.pem)).await,
        Err(AuthzError::BoundTokenNotAccepted)
    );
    assert_eq!(ask(off, "Bearer unbound", None, None).await, Ok(()));
}
