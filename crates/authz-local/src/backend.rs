//! Self-contained demo backends: JSON for the PetStore and solar-system routes (any other
//! route of the table gets a generic JSON answer), each echoing the authorizer context it
//! received, and on every unprotected `GET /` an interactive demo page (`demo_page.html`): get a
//! tier's token, call each route, see API Gateway's answer.

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode, header};
use http_body_util::Full;
use serde_json::{Map, Value, json};

use crate::table::{
    ApiKind, ApiSpec, AuthorizerKind, Caller, RouteSpec, TierSpec, expected_status, sample_path,
    tier_satisfies,
};
use authz_testkit::server::response as reply;

fn pets() -> Value {
    json!([
        {"id": 1, "type": "dog", "price": 249.99},
        {"id": 2, "type": "cat", "price": 124.99},
        {"id": 3, "type": "fish", "price": 0.99},
    ])
}

/// One request as the gateway sees it (built by `gateway`, answered here).
#[derive(Debug)]
pub struct GatewayRequest<'a> {
    /// Method.
    pub verb: String,
    /// Path (no stage prefix).
    pub path: String,
    /// Raw query string.
    pub query: String,
    /// Headers (lower-case names) in order.
    pub headers: Vec<(String, String)>,
    /// The matched route.
    pub route: &'a RouteSpec,
    /// Path parameters.
    pub params: Map<String, Value>,
    /// The client certificate (PEM) of a mutual-TLS request: from the local gateway's dev-only
    /// header ([`crate::gateway::CLIENT_CERT_HEADER`]), which is not passed on as a header.
    pub client_cert: Option<String>,
}

/// The backend's answer for a request that passed the authorizer (`context`: what it handed
/// on; `None` for public routes).
pub fn answer(
    api: &ApiSpec,
    token_url: &str,
    shapes: &[&str],
    req: &GatewayRequest<'_>,
    body: &Bytes,
    context: Option<Value>,
) -> Response<Full<Bytes>> {
    let template = req.route.path();
    if req.verb == "GET" && req.path == "/" && req.route.authorizer == AuthorizerKind::None {
        let mut resp = reply(
            StatusCode::OK,
            "text/html; charset=utf-8",
            home(api, token_url, shapes),
        );
        if let Ok(csp) = HeaderValue::from_str(&content_security_policy(token_url)) {
            resp.headers_mut()
                .insert(header::CONTENT_SECURITY_POLICY, csp);
        }
        return resp;
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

/// The interactive demo page (`demo_page.html`): pick a tier, get a token from the demo-token
/// endpoint, call every route of the table and see API Gateway's answer.
const DEMO_PAGE: &str = include_str!("demo_page.html");

/// What the page may load and where it may send requests: inline script and style, this API and
/// the demo-token endpoint, nothing else (the token never leaves these two).
fn content_security_policy(token_url: &str) -> String {
    format!(
        "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; \
         img-src data:; connect-src 'self' {token_url}; base-uri 'none'; form-action 'none'; \
         frame-ancestors 'none'"
    )
}

fn home(api: &ApiSpec, token_url: &str, shapes: &[&str]) -> String {
    // Tiers from least to most access (bronze, silver, gold), then by name.
    let guarded = |t: &TierSpec| {
        api.routes
            .iter()
            .filter(|r| r.authorizer != AuthorizerKind::None && tier_satisfies(t, r))
            .count()
    };
    let mut tiers: Vec<(&String, &TierSpec)> = api.tiers.iter().collect();
    tiers.sort_by_key(|(name, t)| (guarded(t), name.as_str()));
    // The page starts on the first tier some guarded route lets in (not on one refused
    // everywhere, such as PetStore's `nobody`).
    let start_tier = tiers
        .iter()
        .find(|(_, t)| guarded(t) > 0)
        .or(tiers.first())
        .map(|(name, _)| (*name).clone());
    let tiers: Vec<Value> = tiers
        .into_iter()
        .map(|(name, t)| json!({"name": name, "scopes": t.scopes}))
        .collect();
    let routes: Vec<Value> = api
        .routes
        .iter()
        .map(|r| {
            let expected: Map<String, Value> = api
                .tiers
                .keys()
                .map(|t| {
                    let status = expected_status(api, r, &Caller::Tier(t.clone())).ok();
                    (t.clone(), json!(status))
                })
                .collect();
            json!({
                "route": r.route, "method": r.method(), "path": sample_path(r),
                "authorizer": r.authorizer.name(), "scopes": r.scopes, "expected": expected,
                "expectedNoToken": expected_status(api, r, &Caller::None).ok(),
            })
        })
        .collect();
    let kind = match api.kind {
        ApiKind::Rest => "rest",
        ApiKind::Http => "http",
    };
    let config = json!({"api": api.name, "kind": kind, "tokenUrl": token_url,
                        "tiers": tiers, "startTier": start_tier, "shapes": shapes,
                        "routes": routes});
    fill(
        DEMO_PAGE,
        &[
            ("API_NAME", &escape(&api.name)),
            (
                "DESCRIPTION",
                &escape(api.description.as_deref().unwrap_or_default()),
            ),
            ("CONFIG_JSON", &script_json(&config)),
        ],
    )
}

/// `{{NAME}}` placeholders replaced in one pass (a value is never scanned for placeholders).
fn fill(template: &str, values: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(template.len() + 4096);
    let mut rest = template;
    while let Some(i) = rest.find("{{") {
        out.push_str(&rest[..i]);
        let after = &rest[i + 2..];
        let value = after.find("}}").and_then(|j| {
            let name = &after[..j];
            values
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (j, *v))
        });
        match value {
            Some((j, v)) => {
                out.push_str(v);
                rest = &after[j + 2..];
            }
            None => {
                out.push_str("{{");
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// JSON safe inside an HTML `<script>` element: `<`, `>`, `&` (only ever inside strings) and
/// the JavaScript line terminators U+2028/U+2029 become `\uXXXX` escapes, so no value can
/// close the element or open a comment.
fn script_json(value: &Value) -> String {
    value
        .to_string()
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
        .replace('\u{2028}', "\\u2028")
        .replace('\u{2029}', "\\u2029")
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::{parse, parse_unvalidated};

    const TABLE: &str = include_str!("../../../infra/routes.json");

    /// The JSON the page was filled with (`const CONFIG = …;`).
    fn config_of(page: &str) -> Value {
        let start = page.find("const CONFIG = ").unwrap() + "const CONFIG = ".len();
        let end = start + page[start..].find(";\n").unwrap();
        serde_json::from_str(&page[start..end]).unwrap()
    }

    #[test]
    fn the_demo_page_carries_the_route_table() {
        let apis = parse(TABLE).unwrap();
        let solar = apis.iter().find(|a| a.name == "solar-system").unwrap();
        let page = home(solar, "http://127.0.0.1:3002", &["cognito", "okta"]);
        assert!(!page.contains("{{"), "a placeholder left");
        assert!(page.contains("<title>solar-system · authz local mode</title>"));
        let config = config_of(&page);
        assert_eq!(config["tokenUrl"], "http://127.0.0.1:3002");
        assert_eq!(config["shapes"], json!(["cognito", "okta"]));
        let tiers: Vec<&str> = config["tiers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["name"].as_str().unwrap())
            .collect();
        assert_eq!(tiers, ["bronze", "silver", "gold"], "least access first");
        assert_eq!(config["startTier"], "bronze");
        let planets = &config["routes"][2];
        assert_eq!(planets["route"], "GET /planets");
        assert_eq!(
            (
                planets["expectedNoToken"].clone(),
                planets["expected"].clone()
            ),
            (
                json!(401),
                json!({"bronze": 403, "silver": 200, "gold": 200})
            )
        );
        let pets = apis.iter().find(|a| a.name == "pet-store").unwrap();
        let config = config_of(&home(pets, "http://127.0.0.1:3002", &[]));
        // `nobody` (refused everywhere) is listed first, but the page starts on `reader`.
        assert_eq!(config["tiers"][0]["name"], "nobody");
        assert_eq!(config["startTier"], "reader");
        assert_eq!(config["routes"][3]["path"], "/pets/1");
        assert_eq!(config["kind"], "rest");
    }

    #[test]
    fn table_values_cannot_break_out_of_the_page() {
        let hostile = "</script><script>alert(1)</script><!--\u{2028}&amp;";
        let table = json!({"apis": {"x": {
            "type": "http", "audience": "x", "description": hostile,
            "tiers": {(hostile): {"scopes": [hostile]}},
            "routes": [{"route": "GET /", "authorizer": "none"},
                       {"route": "GET /a", "authorizer": "http", "scopes": [hostile]}]
        }}});
        let apis = parse_unvalidated(&table.to_string()).unwrap();
        let page = home(&apis[0], "http://127.0.0.1:1", &[]);
        // Only the template's own elements, no placeholder inside a value expanded.
        assert_eq!(page.matches("</script").count(), 1);
        assert_eq!(page.matches("<script").count(), 1);
        assert!(!page.contains("<!--"));
        let start = page.find("const CONFIG = ").unwrap();
        let json = &page[start..start + page[start..].find(";\n").unwrap()];
        assert!(!json.contains('\u{2028}') && !json.contains('&') && !json.contains('<'));
        assert!(page.contains("&lt;/script&gt;"), "HTML-escaped in the text");
        let config = config_of(&page);
        assert_eq!(
            config["tiers"][0]["name"], hostile,
            "the same value once parsed"
        );
        assert_eq!(
            fill("{{A}}{{B}} {{C}}", &[("A", "{{B}}"), ("B", "b")]),
            "{{B}}b {{C}}"
        );
    }
}
