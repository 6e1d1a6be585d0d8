//! The authorizers' log lines as the local mode prints them: one compact line each, prefixed by
//! the function (`pet-store/token`), decision lines first-class (`allow`, `deny`, …, the reason,
//! the route, the subject), any other line as its level, message and fields.

use std::sync::{Arc, OnceLock};

use serde_json::{Map, Value};

/// Receives the lines the local mode writes itself (the native JWT routes' decisions), with the
/// function label (`solar-system/jwt`).
pub type Sink = Arc<dyn Fn(&str, &str) + Send + Sync>;

static SINK: OnceLock<Sink> = OnceLock::new();

/// Installs the program's [`Sink`] (once; `false` if one was installed already).
pub fn set_sink(sink: Sink) -> bool {
    SINK.set(sink).is_ok()
}

/// Hands a line of `label` to the [`Sink`], if one is installed.
pub fn emit(label: &str, line: &str) {
    if let Some(sink) = SINK.get() {
        sink(label, line);
    }
}

/// Keys a compact line leaves out (they are in the prefix, the layout, or noise).
const SKIPPED: &[&str] = &[
    "timestamp",
    "time",
    "target",
    "level",
    "message",
    "msg",
    "decision",
    "reason",
    "route",
    "latency_us",
    "span",
    "spans",
    "requestId",
    "request_id",
    "threadId",
];

/// One captured line of function `label`, compact; `None` for an empty line.
pub fn compact(label: &str, line: &str) -> Option<String> {
    let line = line.trim();
    if line.is_empty() {
        return None;
    }
    let Ok(Value::Object(obj)) = serde_json::from_str::<Value>(line) else {
        return Some(format!("{label:<22} {line}"));
    };
    // Lambda's JSON format nests the event's fields under `fields` (tracing-subscriber's
    // default); flat keys are taken as they are.
    let mut flat = Map::new();
    for (k, v) in &obj {
        match (k.as_str(), v) {
            ("fields", Value::Object(inner)) => {
                flat.extend(inner.iter().map(|(k, v)| (k.clone(), v.clone())))
            }
            _ => {
                flat.insert(k.clone(), v.clone());
            }
        }
    }
    let text = |k: &str| match flat.get(k) {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Null) | None => None,
        Some(v) => Some(v.to_string()),
    };
    let mut out = format!("{label:<22} ");
    if let Some(decision) = text("decision") {
        out.push_str(&format!("{decision:<13}"));
        out.push_str(&text("reason").unwrap_or_else(|| "-".into()));
        if let Some(route) = text("route") {
            out.push_str(&format!("  {route}"));
        }
    } else {
        let level = text("level").unwrap_or_else(|| "INFO".into());
        out.push_str(&format!("{:<13}", level.to_uppercase()));
        out.push_str(&text("message").or_else(|| text("msg")).unwrap_or_default());
    }
    // By name, whatever order serde_json keeps (the Cedar engine turns on `preserve_order`).
    let mut fields: Vec<(&String, &Value)> = flat.iter().collect();
    fields.sort_by(|a, b| a.0.cmp(b.0));
    for (k, v) in fields {
        if SKIPPED.contains(&k.as_str()) || v.is_null() {
            continue;
        }
        match v {
            Value::String(s) if s.contains(' ') => out.push_str(&format!("  {k}=\"{s}\"")),
            Value::String(s) => out.push_str(&format!("  {k}={s}")),
            v => out.push_str(&format!("  {k}={v}")),
        }
    }
    if let Some(us) = flat.get("latency_us").and_then(Value::as_u64) {
        out.push_str(&format!("  {:.1} ms", us as f64 / 1000.0));
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::compact;

    #[test]
    fn a_decision_line_is_one_compact_line() {
        let line = r#"{"level":"INFO","decision":"deny","reason":"insufficient_scope","kid":"k1","iss":"http://127.0.0.1:1","sub":"alice","route":"POST /pets","latency_us":420,"message":"authorization decision","target":"authz_core"}"#;
        assert_eq!(
            compact("pet-store/token", line).unwrap(),
            "pet-store/token        deny         insufficient_scope  POST /pets  iss=http://127.0.0.1:1  kid=k1  sub=alice  0.4 ms"
        );
    }

    #[test]
    fn other_lines_keep_level_message_and_fields() {
        let line = r#"{"timestamp":"x","level":"WARN","fields":{"message":"jwks refresh failed","iss":"http://127.0.0.1:9","error":"connection refused"},"target":"authz_core::keys"}"#;
        assert_eq!(
            compact("solar-system/http", line).unwrap(),
            "solar-system/http      WARN         jwks refresh failed  error=\"connection refused\"  iss=http://127.0.0.1:9"
        );
        assert_eq!(
            compact("f", "plain text").unwrap(),
            format!("{:<22} plain text", "f")
        );
        assert_eq!(compact("f", "  "), None);
    }
}
