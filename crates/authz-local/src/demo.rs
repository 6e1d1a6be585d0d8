//! `authz-local demo`: runs a real authorizer binary, as Lambda would, on the sample events.
//!
//! `authz-local demo <authorizer> <events-dir> [--routes FILE] [--tier T] [NAME=VALUE ...]`
//! starts a loopback OIDC issuer, finds in the route table (`infra/routes.json`) the API whose
//! routes use this authorizer type and configures the binary as infra does (that API's audience
//! and `AUTHZ_ROUTES`), mints a token of one of the API's tiers (`--tier`; default the tier that
//! gets some of those routes but not all, so the events show both answers), starts the binary
//! (with the extra environment) against a Lambda Runtime API emulator, substitutes the token
//! into every `*.json` event of the directory, invokes it and prints what API Gateway would
//! answer. `<authorizer>` is a path or a binary name next to `authz-local`
//! (`token-authorizer`, `request-authorizer`, `http-authorizer`).

use std::path::{Path, PathBuf};

use authz_core::evaluate;
use authz_local::table::{self, ApiSpec, AuthorizerKind, TierSpec, tier_satisfies};
use authz_testkit::{Issuer, LambdaProcess, Outcome, TestKey, fixtures::rest_statements, now};
use serde_json::{Value, json};

const USAGE: &str =
    "usage: authz-local demo <authorizer> <events-dir> [--routes FILE] [--tier T] [NAME=VALUE ...]";

fn fail(msg: &str) -> ! {
    eprintln!("authz-local demo: {msg}\n{USAGE}");
    std::process::exit(2);
}

/// The tier whose token gets some of `kind`'s routes of `api` but not all, else one that gets
/// any, else the first.
fn default_tier(api: &ApiSpec, kind: AuthorizerKind) -> Option<String> {
    let routes: Vec<_> = api.routes.iter().filter(|r| r.authorizer == kind).collect();
    let mut tiers: Vec<(&String, &TierSpec)> = api.tiers.iter().collect();
    tiers.sort_by_key(|(name, _)| name.as_str());
    tiers
        .iter()
        .find(|(_, t)| {
            let ok = routes.iter().filter(|r| tier_satisfies(t, r)).count();
            ok > 0 && ok < routes.len()
        })
        .or_else(|| {
            tiers
                .iter()
                .find(|(_, t)| routes.iter().any(|r| tier_satisfies(t, r)))
        })
        .or(tiers.first())
        .map(|(name, _)| (*name).clone())
}

/// Runs the demo on the remaining command-line arguments.
pub async fn run(mut args: impl Iterator<Item = String>, bin_dir: &Path) {
    let (Some(binary), Some(events)) = (args.next(), args.next()) else {
        fail("an authorizer and a directory of events are needed");
    };
    let mut routes_file = PathBuf::from("infra/routes.json");
    let mut tier_arg = None;
    let mut extra = Vec::new();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--routes" => {
                routes_file = args
                    .next()
                    .map(PathBuf::from)
                    .unwrap_or_else(|| fail("--routes needs a value"))
            }
            "--tier" => {
                tier_arg = Some(args.next().unwrap_or_else(|| fail("--tier needs a value")))
            }
            _ => match arg.split_once('=') {
                Some((k, v)) if !k.is_empty() && !k.starts_with('-') => {
                    extra.push((k.to_owned(), v.to_owned()))
                }
                _ => fail(&format!("unknown argument `{arg}` (not NAME=VALUE)")),
            },
        }
    }
    let program = if Path::new(&binary).is_file() {
        PathBuf::from(&binary)
    } else if !binary.contains('/') && bin_dir.join(&binary).is_file() {
        bin_dir.join(&binary)
    } else {
        fail(&format!(
            "`{binary}` is neither a file nor a binary in {} (build it: cargo build -p {binary})",
            bin_dir.display()
        ));
    };
    let name = program
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let kind = [
        AuthorizerKind::Token,
        AuthorizerKind::Request,
        AuthorizerKind::Http,
    ]
    .into_iter()
    .find(|k| k.binary() == Some(name.as_str()));
    let apis = table::load(&routes_file).unwrap_or_else(|e| fail(&e.to_string()));
    // The API whose routes this authorizer type guards, as infra deploys it.
    let api = kind.and_then(|k| {
        apis.iter()
            .find(|a| a.lambda_authorizers().contains(&k))
            .map(|a| (a, k))
    });

    let issuer = Issuer::start().await;
    let key = TestKey::rsa("demo-key");
    issuer.set_keys(vec![key.jwk()]);
    let mut env = vec![("AUTHZ_ISSUER".to_owned(), issuer.url())];
    let mut claims = json!({
        "iss": issuer.url(), "sub": "alice", "client_id": "demo-client",
        "iat": now(), "exp": now() + 3600,
    });
    println!("issuer     {} (discovery + JWKS on loopback)", issuer.url());
    match api {
        Some((api, kind)) => {
            let tier_name = tier_arg
                .or_else(|| default_tier(api, kind))
                .unwrap_or_default();
            let Some(tier) = api.tiers.get(&tier_name) else {
                fail(&format!(
                    "{}: no tier `{tier_name}` (tiers: {})",
                    api.name,
                    api.tiers.keys().cloned().collect::<Vec<_>>().join(", ")
                ));
            };
            env.push(("AUTHZ_AUDIENCE".into(), api.audience.clone()));
            env.push(("AUTHZ_ROUTES".into(), api.authz_routes_for(kind)));
            // A sender-constrained API's setting (the sample events carry bearer tokens; the
            // replay table is the running local mode's, not needed for one process).
            if api.sender_constrained != table::SenderConstrained::Off {
                let mode = api.sender_constrained.name();
                env.push(("AUTHZ_SENDER_CONSTRAINED".into(), mode.to_owned()));
            }
            env.extend(api.cedar_environment_for(kind));
            claims["aud"] = json!(api.audience);
            claims["scope"] = json!(tier.scopes.join(" "));
            for (k, v) in &tier.claims {
                claims[k] = v.clone();
            }
            println!(
                "rules      {} of {}, API {} (its {} routes, as infra configures the function)",
                kind.name(),
                routes_file.display(),
                api.name,
                kind.name()
            );
            println!(
                "token      tier {tier_name}: sub=alice aud={} scope=\"{}\" kid=demo-key alg=RS256",
                api.audience,
                tier.scopes.join(" ")
            );
        }
        None => {
            env.push(("AUTHZ_AUDIENCE".into(), "petstore".into()));
            claims["aud"] = json!("petstore");
            claims["scope"] = json!("read write");
            println!(
                "rules      none ({name} is not an authorizer of {}): any valid token passes",
                routes_file.display()
            );
            println!(
                "token      sub=alice aud=petstore scope=\"read write\" kid=demo-key alg=RS256"
            );
        }
    }
    let token = key.sign(&claims);
    for (k, v) in extra {
        println!("env        {k}={v}");
        env.retain(|(n, _)| *n != k);
        env.push((k, v));
    }
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let function = LambdaProcess::spawn(&program, &env).await;
    println!(
        "function   {} (pid {}) on the Lambda Runtime API at {}\n",
        program.display(),
        function.pid(),
        function.api().endpoint()
    );

    let mut files: Vec<PathBuf> = std::fs::read_dir(&events)
        .unwrap_or_else(|e| fail(&format!("cannot read {events}: {e}")))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    for file in files {
        let text = std::fs::read_to_string(&file)
            .unwrap_or_else(|e| fail(&format!("{}: {e}", file.display())))
            .replace("REPLACE_WITH_A_JWT", &token);
        let Ok(event) = serde_json::from_str::<Value>(&text) else {
            println!("{:<30} -> not JSON, skipped", file.display());
            continue;
        };
        let outcome = function.invoke(&event).await;
        println!(
            "{:<30} -> {}",
            file.file_name().unwrap_or_default().to_string_lossy(),
            describe(&event, &outcome)
        );
    }
    println!("\ndecision log lines written by the function:");
    for line in function
        .logs()
        .iter()
        .filter(|l| l.contains("\"decision\""))
    {
        println!("  {line}");
    }
}

/// What API Gateway makes of an authorizer's answer: status and the gist.
fn describe(event: &Value, outcome: &Outcome) -> String {
    match outcome {
        Outcome::Response(r) if r.get("isAuthorized").is_some() => {
            let ok = r["isAuthorized"] == true;
            format!(
                "{}  isAuthorized: {ok}, context {}",
                if ok { 200 } else { 403 },
                r["context"]
            )
        }
        Outcome::Response(r) => {
            let arn = event["methodArn"].as_str().unwrap_or_default();
            let allowed = rest_statements(outcome).is_some_and(|s| evaluate(&s, arn));
            let statements: Vec<String> = r["policyDocument"]["Statement"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|st| {
                    format!(
                        "{} {}",
                        st["Effect"].as_str().unwrap_or("?"),
                        st["Resource"]
                    )
                })
                .collect();
            format!(
                "{}  principal {}, {}",
                if allowed { 200 } else { 403 },
                r["principalId"],
                statements.join("; ")
            )
        }
        Outcome::Error { error_message, .. } if error_message == "Unauthorized" => {
            "401  error Unauthorized".into()
        }
        Outcome::Error {
            error_type,
            error_message,
        } => format!("500  error {error_type}: {error_message}"),
    }
}
