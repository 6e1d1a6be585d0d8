//! Self-contained demo backends: JSON for the PetStore and solar-system routes (any other
//! route of the table gets a generic JSON answer), each echoing the authorizer context it
//! received, and a small HTML page on every unprotected `GET /`.

use bytes::Bytes;
use http::{Response, StatusCode};
use http_body_util::Full;
use serde_json::{Value, json};

use crate::gateway::GatewayRequest;
use crate::table::{ApiSpec, AuthorizerKind};
use authz_testkit::server::response as reply;

fn pets() -> Value {
    json!([
        {"id": 1, "type": "dog", "price": 249.99},
        {"id": 2, "type": "cat", "price": 124.99},
        {"id": 3, "type": "fish", "price": 0.99},
    ])
}

/// The backend's answer for a request that passed the authorizer (`context`: what it handed
/// on; `None` for public routes).
pub fn answer(
    api: &ApiSpec,
    token_url: &str,
    req: &GatewayRequest<'_>,
    body: &Bytes,
    context: Option<Value>,
) -> Response<Full<Bytes>> {
    let template = req.route.path();
    if req.verb == "GET" && req.path == "/" && req.route.authorizer == AuthorizerKind::None {
        return reply(
            StatusCode::OK,
            "text/html; charset=utf-8",
            home(api, token_url),
        );
    }
    let data = match (req.verb.as_str(), template) {
        ("GET", "/pets") => json!({"pets": pets()}),
        ("POST", "/pets") => {
            let pet: Value = serde_json::from_slice(body).unwrap_or(json!({}));
            json!({"pet": {"id": 4, "type": pet.get("type").cloned().unwrap_or(json!("hamster")),
                           "price": pet.get("price").cloned().unwrap_or(json!(9.99))}, "created": true})
        }
        ("GET", "/pets/{petId}") => {
            let id = req
                .params
                .get("petId")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let pet = pets().as_array().and_then(|all| {
                all.iter()
                    .find(|p| p["id"].as_u64().is_some_and(|n| n.to_string() == id))
                    .cloned()
            });
            match pet {
                Some(pet) => json!({"pet": pet}),
                None => json!({"pet": {"id": id, "type": "unknown"}}),
            }
        }
        ("GET", "/asteroids") => json!({"asteroids": ["Ceres", "Vesta", "Pallas", "Hygiea"]}),
        ("GET", "/planets") => json!({"planets": ["Mercury", "Venus", "Earth", "Mars",
                                                  "Jupiter", "Saturn", "Uranus", "Neptune"]}),
        ("GET", "/moons") => json!({"moons": ["Moon", "Phobos", "Deimos", "Io", "Europa",
                                              "Ganymede", "Callisto", "Titan"]}),
        _ => json!({}),
    };
    let mut out = data.as_object().cloned().unwrap_or_default();
    out.insert("api".into(), json!(api.name));
    out.insert("route".into(), json!(req.route.route));
    out.insert("pathParameters".into(), Value::Object(req.params.clone()));
    out.insert("authorizer".into(), context.unwrap_or(Value::Null));
    reply(
        StatusCode::OK,
        "application/json",
        Value::Object(out).to_string(),
    )
}

fn home(api: &ApiSpec, _token_url: &str) -> String {
    let mut rows = String::new();
    for r in &api.routes {
        let scopes = if r.scopes.is_empty() {
            "-".to_owned()
        } else {
            r.scopes.join(" or ")
        };
        rows.push_str(&format!(
            "<tr><td><code>{}</code></td><td>{}</td><td>{}</td></tr>\n",
            escape(&r.route),
            r.authorizer.name(),
            escape(&scopes)
        ));
    }
    let tiers: Vec<String> = api
        .tiers
        .iter()
        .map(|(name, t)| {
            format!(
                "<li>{}: scopes <code>{}</code></li>",
                escape(name),
                escape(&t.scopes.join(" "))
            )
        })
        .collect();
    format!(
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>{name} (local)</title></head>\n\
         <body><h1>{name}</h1><p>{desc}</p>\n<p>Local mode: an API Gateway emulator running the real \
         authorizers. Get a token with <code>scripts/token.sh --api {name} --tier TIER</code>.</p>\n\
         <table border=\"1\"><tr><th>route</th><th>authorizer</th><th>scopes (any of)</th></tr>\n{rows}</table>\n\
         <h2>Tiers</h2><ul>{tiers}</ul></body></html>\n",
        name = escape(&api.name),
        desc = escape(api.description.as_deref().unwrap_or_default()),
        tiers = tiers.join("")
    )
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
