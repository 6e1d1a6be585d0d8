//! Issue 22, item 6: the cold start fetches every issuer at once, and a JWKS URI that several
//! issuers share (the tenants of an Entra ID `{tenantid}` template) once. Against the loopback
//! issuer, each answer delayed by [`DELAY`]: fetched one after another, 8 tenants would take
//! 16 `DELAY`s (discovery and JWKS each), or 8 with `AUTHZ_JWKS_URI`.

use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use authz_core::{Authorizer, Config, Trace};
use authz_testkit::{Fault, Issuer, TestKey, now, server::response};
use http::{Request, StatusCode};
use serde_json::json;

/// How long each discovery and JWKS answer takes.
const DELAY: Duration = Duration::from_secs(1);

const TENANTS: [&str; 8] = ["t1", "t2", "t3", "t4", "t5", "t6", "t7", "t8"];

/// Serves each tenant's discovery document where Entra ID does,
/// `{url}/{tid}/v2.0/.well-known/openid-configuration`, after [`DELAY`], naming the issuer's one
/// JWKS; returns how many were asked for.
fn serve_tenant_discovery(issuer: &Issuer) -> Arc<AtomicUsize> {
    let (count, url) = (Arc::new(AtomicUsize::new(0)), issuer.url());
    let counted = Arc::clone(&count);
    issuer.set_fallback(Arc::new(move |req: Request<hyper::body::Incoming>| {
        let (count, url) = (Arc::clone(&counted), url.clone());
        Box::pin(async move {
            let path = req.uri().path();
            let Some(tenant) = path
                .strip_suffix("/v2.0/.well-known/openid-configuration")
                .and_then(|p| p.strip_prefix('/'))
                .filter(|t| TENANTS.contains(t))
            else {
                return Ok(response(StatusCode::NOT_FOUND, "text/plain", "not found"));
            };
            count.fetch_add(1, Ordering::SeqCst);
            let doc = json!({"issuer": format!("{url}/{tenant}/v2.0"),
                             "jwks_uri": format!("{url}/jwks")});
            tokio::time::sleep(DELAY).await;
            Ok(response(
                StatusCode::OK,
                "application/json",
                doc.to_string(),
            ))
        })
    }));
    count
}

fn authorizer(vars: &[(&str, String)]) -> Authorizer {
    let config =
        Config::from_lookup(|k| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone()))
            .unwrap();
    Authorizer::new(config).unwrap()
}

#[tokio::test]
async fn tenants_are_fetched_at_once_and_a_shared_jwks_once() {
    let key = TestKey::rsa("k1");
    for configured_jwks in [false, true] {
        let issuer = Issuer::start().await;
        issuer.set_keys(vec![key.jwk()]);
        issuer.set_jwks_fault(Fault::Delay(DELAY));
        let discoveries = serve_tenant_discovery(&issuer);
        let url = issuer.url();
        let mut vars = vec![
            ("AUTHZ_ISSUER", format!("{url}/{{tenantid}}/v2.0")),
            ("AUTHZ_TENANTS", TENANTS.join(",")),
            ("AUTHZ_AUDIENCE", "api".to_owned()),
        ];
        if configured_jwks {
            vars.push(("AUTHZ_JWKS_URI", issuer.jwks_uri()));
        }
        let a = authorizer(&vars);
        let started = Instant::now();
        assert_eq!(a.warm().await, TENANTS.len(), "jwks uri: {configured_jwks}");
        let took = started.elapsed();
        let want_discoveries = if configured_jwks { 0 } else { TENANTS.len() };
        assert_eq!(discoveries.load(Ordering::SeqCst), want_discoveries);
        assert_eq!(issuer.jwks_fetches(), 1, "one GET of the shared JWKS");
        // At once: discovery (1 DELAY) then JWKS (1 DELAY), not 8 of each in turn. A bound, with
        // room for a loaded machine, not a measure.
        assert!(
            took < 4 * DELAY,
            "took {took:?} (jwks uri: {configured_jwks})"
        );
        // Every tenant got the keys of that one GET.
        for tenant in TENANTS {
            let token = key.sign(
                &json!({"iss": format!("{url}/{tenant}/v2.0"), "tid": tenant,
                                         "aud": "api", "sub": "alice", "exp": now() + 300}),
            );
            let claims = a
                .verify_bearer(Some(&format!("Bearer {token}")), &mut Trace::default())
                .await;
            assert!(claims.is_ok(), "{tenant}: {claims:?}");
        }
        assert_eq!(issuer.jwks_fetches(), 1, "the hot path fetches nothing");
    }
}
