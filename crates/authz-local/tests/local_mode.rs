//! End-to-end tests of the local mode: the real authorizer binaries (the debug builds next to
//! this test executable) behind the API Gateway emulator, driven over HTTP on loopback, with
//! the expectations derived from `infra/routes.json`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;
use std::time::Duration;

use authz_local::table::{AuthorizerKind, Caller, expected_status, sample_path};
use authz_local::token::TokenRequest;
use authz_local::{LocalMode, Options};
use serde_json::Value;

/// `target/debug` (this executable is `target/debug/deps/local_mode-…`), or
/// `AUTHZ_LOCAL_BIN_DIR`. `cargo test --workspace` builds every workspace binary first.
fn bin_dir() -> PathBuf {
    let dir = match std::env::var_os("AUTHZ_LOCAL_BIN_DIR") {
        Some(d) => PathBuf::from(d),
        None => {
            let exe = std::env::current_exe().unwrap();
            exe.parent().and_then(|d| d.parent()).unwrap().to_path_buf()
        }
    };
    for bin in ["token-authorizer", "request-authorizer", "http-authorizer"] {
        assert!(
            dir.join(bin).is_file(),
            "{} not found: run `cargo build --workspace` first (or set AUTHZ_LOCAL_BIN_DIR)",
            dir.join(bin).display()
        );
    }
    dir
}

fn routes_file() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../infra/routes.json")
}

async fn start() -> LocalMode {
    let mut opts = Options::new(routes_file(), bin_dir());
    (opts.rest_port, opts.http_port, opts.token_port) = (0, 0, 0);
    opts.pool_size = 2;
    LocalMode::start(&opts).await.unwrap()
}

fn token(mode: &LocalMode, api: &str, tier: &str) -> String {
    let req = TokenRequest {
        api: Some(api.into()),
        tier: Some(tier.into()),
        scopes: Vec::new(),
    };
    mode.tokens.mint(&req).unwrap().token
}

async fn call(
    client: &reqwest::Client,
    method: &str,
    url: &str,
    token: Option<&str>,
) -> (u16, Value) {
    let mut req = client.request(method.parse().unwrap(), url);
    if let Some(t) = token {
        req = req.header("Authorization", format!("Bearer {t}"));
    }
    if method == "POST" {
        req = req.body(r#"{"type":"hamster"}"#);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_and_tier_answers_as_the_route_table_says() {
    let mode = start().await;
    let client = reqwest::Client::new();
    let mut checked = 0;
    for gw in &mode.gateways {
        let api = &gw.api;
        let mut callers = vec![
            (Caller::None, None),
            (Caller::Bad, Some("not-a-jwt".to_owned())),
        ];
        for tier in api.tiers.keys() {
            callers.push((
                Caller::Tier(tier.clone()),
                Some(token(&mode, &api.name, tier)),
            ));
        }
        for route in &api.routes {
            let url = format!("{}{}", gw.url(), sample_path(route));
            for (caller, tok) in &callers {
                let want = expected_status(api, route, caller).unwrap();
                let (got, body) = call(&client, route.method(), &url, tok.as_deref()).await;
                assert_eq!(
                    got, want,
                    "{} {} as {caller:?}: body {body}",
                    api.name, route.route
                );
                checked += 1;
                if got != 200 || route.authorizer == AuthorizerKind::None {
                    continue;
                }
                // The backend got the authorizer's context.
                let Caller::Tier(tier) = caller else {
                    unreachable!()
                };
                let sub = format!("{tier}-user");
                let ctx = &body["authorizer"];
                match route.authorizer {
                    AuthorizerKind::Token | AuthorizerKind::Request => {
                        assert_eq!(ctx["principalId"], sub.as_str(), "{body}");
                    }
                    AuthorizerKind::Http => assert_eq!(ctx["sub"], sub.as_str(), "{body}"),
                    AuthorizerKind::Jwt => assert_eq!(ctx["jwt"]["claims"]["sub"], sub.as_str()),
                    AuthorizerKind::None => {}
                }
            }
        }
    }
    assert!(checked >= 30, "only {checked} checks");

    // Unknown routes: REST 403 Missing Authentication Token, HTTP 404.
    let pets = mode.gateway("pet-store").unwrap();
    let solar = mode.gateway("solar-system").unwrap();
    let (s, body) = call(&client, "GET", &format!("{}/nope", pets.url()), None).await;
    assert_eq!(
        (s, body["message"].as_str()),
        (403, Some("Missing Authentication Token"))
    );
    let (s, _) = call(&client, "GET", &format!("{}/nope", solar.url()), None).await;
    assert_eq!(s, 404);
    let (s, body) = call(&client, "GET", &format!("{}/", solar.url()), None).await;
    assert_eq!(s, 200);
    assert!(
        body.as_str().unwrap_or_default().contains("<html"),
        "{body}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_endpoint_defaults_to_a_petstore_reader_token() {
    let mode = start().await;
    let client = reqwest::Client::new();
    let base = format!("http://{}", mode.token_addr);
    let tok = client.get(format!("{base}/token")).send().await.unwrap();
    assert_eq!(tok.status(), 200);
    let tok = tok.text().await.unwrap().trim().to_owned();
    let pets = mode.gateway("pet-store").unwrap().url();
    assert_eq!(
        call(&client, "GET", &format!("{pets}/pets"), Some(&tok))
            .await
            .0,
        200
    );
    assert_eq!(
        call(&client, "GET", &format!("{pets}/pets/2"), Some(&tok))
            .await
            .0,
        200
    );
    assert_eq!(
        call(&client, "POST", &format!("{pets}/pets"), Some(&tok))
            .await
            .0,
        403
    );

    // A tier alone picks its API; POST gives the OAuth-style JSON.
    let gold = client
        .post(format!("{base}/token"))
        .body("tier=gold")
        .send()
        .await
        .unwrap();
    assert_eq!(gold.status(), 200);
    let gold: Value = serde_json::from_str(&gold.text().await.unwrap()).unwrap();
    assert_eq!(gold["scope"], "gold");
    let solar = mode.gateway("solar-system").unwrap().url();
    let gold = gold["access_token"].as_str().unwrap();
    assert_eq!(
        call(&client, "GET", &format!("{solar}/moons"), Some(gold))
            .await
            .0,
        200
    );
    // Explicit scopes; unknown tier → 400.
    let url = format!("{base}/token?api=solar-system&scope=silver");
    let silver = client.get(url).send().await.unwrap().text().await.unwrap();
    let silver = silver.trim();
    assert_eq!(
        call(&client, "GET", &format!("{solar}/planets"), Some(silver))
            .await
            .0,
        200
    );
    assert_eq!(
        call(&client, "GET", &format!("{solar}/moons"), Some(silver))
            .await
            .0,
        403
    );
    let bad = client
        .get(format!("{base}/token?tier=platinum"))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
}

/// Decision log lines written by a pool's processes (they arrive through a pipe: poll).
async fn decisions(mode: &LocalMode, api: &str, kind: AuthorizerKind, want: usize) -> usize {
    let pool = mode.gateway(api).unwrap().pool(kind).unwrap();
    let count = || {
        pool.logs()
            .iter()
            .filter(|l| l.contains("\"decision\""))
            .count()
    };
    for _ in 0..100 {
        if count() >= want {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authorizer_results_are_cached_per_identity_source() {
    let mode = start().await;
    let client = reqwest::Client::new();
    let pets = mode.gateway("pet-store").unwrap();
    let solar = mode.gateway("solar-system").unwrap();
    let inv = |gw: &authz_local::Gateway, k| gw.invocations(k);

    // REST TOKEN: keyed by the token, reused across routes (the policy covers them all).
    let reader = token(&mode, "pet-store", "reader");
    let url = format!("{}/pets", pets.url());
    assert_eq!(call(&client, "GET", &url, Some(&reader)).await.0, 200);
    assert_eq!(inv(pets, AuthorizerKind::Token), 1);
    assert_eq!(call(&client, "GET", &url, Some(&reader)).await.0, 200);
    assert_eq!(call(&client, "POST", &url, Some(&reader)).await.0, 403);
    assert_eq!(
        inv(pets, AuthorizerKind::Token),
        1,
        "second call within the TTL was cached"
    );
    let reader2 = token(&mode, "pet-store", "reader");
    assert_eq!(call(&client, "GET", &url, Some(&reader2)).await.0, 200);
    assert_eq!(
        inv(pets, AuthorizerKind::Token),
        2,
        "a different token invokes"
    );
    assert_eq!(
        decisions(&mode, "pet-store", AuthorizerKind::Token, 2).await,
        2
    );
    // No identity source: 401 without invoking.
    assert_eq!(call(&client, "GET", &url, None).await.0, 401);
    assert_eq!(inv(pets, AuthorizerKind::Token), 2);
    // Unauthorized is not cached.
    assert_eq!(call(&client, "GET", &url, Some("x.y.z")).await.0, 401);
    assert_eq!(call(&client, "GET", &url, Some("x.y.z")).await.0, 401);
    assert_eq!(inv(pets, AuthorizerKind::Token), 4);

    // REST REQUEST: keyed by its identity source (the Authorization header).
    let one = format!("{}/pets/1", pets.url());
    assert_eq!(call(&client, "GET", &one, Some(&reader)).await.0, 200);
    assert_eq!(
        call(
            &client,
            "GET",
            &format!("{}/pets/3", pets.url()),
            Some(&reader)
        )
        .await
        .0,
        200
    );
    assert_eq!(inv(pets, AuthorizerKind::Request), 1);
    assert_eq!(call(&client, "GET", &one, Some(&reader2)).await.0, 200);
    assert_eq!(inv(pets, AuthorizerKind::Request), 2);

    // HTTP Lambda: header + route key (the rules differ per route, as infra configures it).
    let bronze = token(&mode, "solar-system", "bronze");
    let asteroids = format!("{}/asteroids", solar.url());
    assert_eq!(call(&client, "GET", &asteroids, Some(&bronze)).await.0, 200);
    assert_eq!(call(&client, "GET", &asteroids, Some(&bronze)).await.0, 200);
    assert_eq!(inv(solar, AuthorizerKind::Http), 1);
    let planets = format!("{}/planets", solar.url());
    assert_eq!(call(&client, "GET", &planets, Some(&bronze)).await.0, 403);
    assert_eq!(
        inv(solar, AuthorizerKind::Http),
        2,
        "another route key invokes"
    );
    assert_eq!(call(&client, "GET", &planets, Some(&bronze)).await.0, 403);
    assert_eq!(
        inv(solar, AuthorizerKind::Http),
        2,
        "a cached isAuthorized: false"
    );
    let bronze2 = token(&mode, "solar-system", "bronze");
    assert_eq!(
        call(&client, "GET", &asteroids, Some(&bronze2)).await.0,
        200
    );
    assert_eq!(inv(solar, AuthorizerKind::Http), 3);
    assert_eq!(
        decisions(&mode, "solar-system", AuthorizerKind::Http, 3).await,
        3
    );
}
