//! `infra/routes.schema.json` applied by a maintained JSON Schema validator (the `jsonschema`
//! crate, draft-07 as the schema says), its errors formatted one line each, naming the place.
//!
//! infra validates the same file with ajv (`infra/lib/route-table.ts` `formatSchemaErrors`). The
//! two validators word their generic messages differently; what both sides share is asserted by
//! `tests/golden/invalid-route-tables.json`: that a table is refused, at which JSON pointers, and
//! the friendly messages both format alike (unknown property with its "did you mean", an
//! authorizer that is no type or does not fit the API, a malformed route echoed, API and tier
//! names).

use std::collections::BTreeSet;
use std::sync::OnceLock;

use jsonschema::error::ValidationErrorKind;
use jsonschema::{ValidationError, Validator};
use serde_json::Value;

use super::{ALL_AUTHORIZERS, ApiKind, Problem};

/// The schema, compiled into the binary: the file infra validates with.
const SCHEMA_TEXT: &str = include_str!("../../../../infra/routes.schema.json");

/// What the route pattern says, in words (route-table.ts `ROUTE_SHAPE`).
const ROUTE_SHAPE: &str = "\"METHOD /path\" (GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS or \
                           ANY; {param} and a final {param+} templates) or \"$default\"";

struct Compiled {
    validator: Validator,
    /// Every property name the schema defines anywhere (for "did you mean").
    properties: BTreeSet<String>,
}

fn compiled() -> Result<&'static Compiled, String> {
    static SCHEMA: OnceLock<Result<Compiled, String>> = OnceLock::new();
    SCHEMA
        .get_or_init(|| {
            let schema: Value = serde_json::from_str(SCHEMA_TEXT)
                .map_err(|e| format!("infra/routes.schema.json: {e}"))?;
            let validator = jsonschema::draft7::options()
                .build(&schema)
                .map_err(|e| format!("infra/routes.schema.json: {e}"))?;
            let mut properties = BTreeSet::new();
            collect_properties(&schema, &mut properties);
            Ok(Compiled {
                validator,
                properties,
            })
        })
        .as_ref()
        .map_err(Clone::clone)
}

fn collect_properties(schema: &Value, out: &mut BTreeSet<String>) {
    match schema {
        Value::Object(m) => {
            if let Some(Value::Object(props)) = m.get("properties") {
                out.extend(props.keys().cloned());
            }
            m.values().for_each(|v| collect_properties(v, out));
        }
        Value::Array(a) => a.iter().for_each(|v| collect_properties(v, out)),
        _ => {}
    }
}

/// The schema's problems with `doc`, one per place and message, in the validator's order.
pub(crate) fn problems(doc: &Value) -> Result<Vec<Problem>, String> {
    let schema = compiled()?;
    let mut out: Vec<Problem> = Vec::new();
    for e in schema.validator.iter_errors(doc) {
        for p in problems_of(doc, &e, schema) {
            if !out.contains(&p) {
                out.push(p);
            }
        }
    }
    Ok(out)
}

fn problems_of(doc: &Value, e: &ValidationError<'_>, schema: &Compiled) -> Vec<Problem> {
    let at = e.instance_path().as_str().to_owned();
    let line = |pointer: String, msg: String| Problem {
        message: format!("{}: {msg}", place(&pointer)),
        pointer,
    };
    match e.kind() {
        ValidationErrorKind::AdditionalProperties { unexpected } => unexpected
            .iter()
            .map(|name| Problem {
                message: format!(
                    "{}: {}",
                    place(&at),
                    unknown_property(name, schema.properties.iter().map(String::as_str))
                ),
                pointer: format!("{at}/{}", escape_pointer(name)),
            })
            .collect(),
        ValidationErrorKind::PropertyNames { error } => {
            let name = match error.instance().as_ref() {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            let container = at.rsplit('/').next().unwrap_or_default();
            let msg = match container {
                "apis" => format!(
                    "name \"{name}\" is not lower-case words joined by \"-\" (at most 20 characters)"
                ),
                "tiers" => format!("name \"{name}\" is not lower-case words joined by \"-\""),
                _ => format!("name \"{name}\": {error}"),
            };
            vec![Problem {
                message: format!("{}: {msg}", place(&at)),
                pointer: format!("{at}/{}", escape_pointer(&name)),
            }]
        }
        ValidationErrorKind::Enum { options } => {
            if let Some((api, index)) = route_authorizer(&at) {
                return vec![authorizer_problem(doc, &api, index, &at)];
            }
            let allowed = join(options);
            let value = e.instance().to_string();
            vec![line(at, format!("{value} is not one of {allowed}"))]
        }
        ValidationErrorKind::Pattern { .. } if at.ends_with("/route") => {
            let value = e.instance().to_string();
            vec![line(at, format!("{value} is not {ROUTE_SHAPE}"))]
        }
        _ => vec![line(at, e.to_string())],
    }
}

/// `unknown property "x"`, with the closest name the schema knows when one is close
/// (route-table.ts `unknownProperty`, the same rule).
pub(crate) fn unknown_property<'a>(name: &str, known: impl Iterator<Item = &'a str>) -> String {
    match did_you_mean(name, known) {
        Some(s) => format!("unknown property \"{name}\"; did you mean \"{s}\"?"),
        None => format!("unknown property \"{name}\""),
    }
}

/// The known name at the smallest edit distance, at most a third of the name's length (at least
/// 1), the first in order among equals (route-table.ts `didYouMean`).
pub(crate) fn did_you_mean<'a>(
    name: &str,
    known: impl Iterator<Item = &'a str>,
) -> Option<&'a str> {
    let mut best: Option<(usize, &str)> = None;
    for k in known {
        let d = edit_distance(name, k);
        if d <= (name.chars().count() / 3).max(1) && best.is_none_or(|(b, _)| d < b) {
            best = Some((d, k));
        }
    }
    best.map(|(_, k)| k)
}

/// Levenshtein distance over characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur.push(sub.min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

/// An authorizer value the API cannot use: not a type at all, or not one of its API type's.
fn authorizer_problem(doc: &Value, api: &str, index: usize, pointer: &str) -> Problem {
    let api_doc = doc.get("apis").and_then(|a| a.get(api));
    let route = api_doc
        .and_then(|a| a.get("routes"))
        .and_then(|r| r.get(index));
    let value = route.and_then(|r| r.get("authorizer")).cloned();
    let route_key = match route.and_then(|r| r.get("route")) {
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
        None => String::new(),
    };
    let kind = match api_doc.and_then(|a| a.get("type")).and_then(Value::as_str) {
        Some("rest") => Some(ApiKind::Rest),
        Some("http") => Some(ApiKind::Http),
        _ => None,
    };
    let (api_name, allowed) = match kind {
        Some(k) => (format!("a {} API", k.name()), k.authorizers()),
        None => ("any API".to_owned(), &ALL_AUTHORIZERS[..]),
    };
    let allowed = allowed.join(", ");
    let at = format!("apis.{api}.routes[{index}] (\"{route_key}\")");
    let message = match value {
        Some(Value::String(v)) if ALL_AUTHORIZERS.contains(&v.as_str()) => {
            format!("{at}: authorizer \"{v}\" does not fit {api_name}; use one of {allowed}")
        }
        Some(v) => format!(
            "{at}: authorizer {v} is not an authorizer type; {api_name} takes one of {allowed}"
        ),
        None => format!("{at}: authorizer missing; {api_name} takes one of {allowed}"),
    };
    Problem {
        pointer: pointer.to_owned(),
        message,
    }
}

fn join(options: &Value) -> String {
    match options {
        Value::Array(a) => a
            .iter()
            .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
            .collect::<Vec<_>>()
            .join(", "),
        other => other.to_string(),
    }
}

/// `/apis/{api}/routes/{i}/authorizer` → `(api, i)`.
fn route_authorizer(pointer: &str) -> Option<(String, usize)> {
    let rest = pointer.strip_prefix("/apis/")?;
    let (api, rest) = rest.split_once('/')?;
    let index = rest.strip_prefix("routes/")?.strip_suffix("/authorizer")?;
    Some((decode_pointer(api), index.parse().ok()?))
}

/// A JSON pointer segment (`~` → `~0`, `/` → `~1`).
pub(crate) fn escape_pointer(segment: &str) -> String {
    segment.replace('~', "~0").replace('/', "~1")
}

fn decode_pointer(segment: &str) -> String {
    segment.replace("~1", "/").replace("~0", "~")
}

/// A JSON pointer as the messages name places: `/apis/a/routes/0/route` →
/// `apis.a.routes[0].route`; the root → `(top level)` (route-table.ts `pointerToPath`).
pub(crate) fn place(pointer: &str) -> String {
    let path: String = pointer
        .split('/')
        .skip(1)
        .map(decode_pointer)
        .enumerate()
        .map(|(i, seg)| {
            if !seg.is_empty() && seg.bytes().all(|b| b.is_ascii_digit()) {
                format!("[{seg}]")
            } else if i == 0 {
                seg
            } else {
                format!(".{seg}")
            }
        })
        .collect();
    if path.is_empty() {
        "(top level)".to_owned()
    } else {
        path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_routes_schema_compiles() {
        assert!(compiled().is_ok());
        assert!(compiled().unwrap().properties.contains("scopes"));
    }

    #[test]
    fn pointers_become_places() {
        assert_eq!(place(""), "(top level)");
        assert_eq!(
            place("/apis/a~1b/routes/10/route"),
            "apis.a/b.routes[10].route"
        );
    }

    #[test]
    fn suggestions_are_close_names_only() {
        let known = ["scopes", "claims", "route", "authorizer", "description"];
        assert_eq!(did_you_mean("scope", known.into_iter()), Some("scopes"));
        assert_eq!(
            did_you_mean("authoriser", known.into_iter()),
            Some("authorizer")
        );
        assert_eq!(did_you_mean("note", known.into_iter()), None);
        assert_eq!(did_you_mean("ab", known.into_iter()), None);
    }
}
