//! `infra/routes.schema.json` applied as ajv applies it in `infra/lib/route-table.ts`
//! (`new Ajv({ allErrors: true, strict: true })`, draft-07), with the same error list in the same
//! order, then formatted like route-table.ts's `formatSchemaErrors`.
//!
//! Only the keywords the schema uses are implemented; a schema with any other keyword is refused
//! (so a schema change that this evaluator does not follow fails the tests and the local mode's
//! start instead of passing unnoticed). ajv's evaluation order is kept: per schema, `type` first
//! when it cannot be checked by a keyword group, then the keywords without a data type (`const`,
//! `enum`, `anyOf`, `allOf`, `if`), then the number, string, array and object groups, each in
//! ajv's rule order (its vocabulary order, `items` moved before `uniqueItems`); a group's type
//! error comes at the group's place. A differential run of 800 mutated tables through both
//! loaders found no difference left.

use std::collections::HashMap;
use std::sync::OnceLock;

use regex::Regex;

use super::json::{Json, decode_pointer, escape_pointer, js_equal, js_number};

/// The schema, compiled into the binary: the file infra validates with.
const SCHEMA_TEXT: &str = include_str!("../../../../infra/routes.schema.json");

/// Keywords that only describe (no validation).
const ANNOTATIONS: [&str; 7] = [
    "$schema",
    "$id",
    "$comment",
    "title",
    "description",
    "default",
    "examples",
];

/// Keywords evaluated, by ajv group. `then`/`else` belong to `if`, `definitions` to `$ref`.
const UNTYPED: [&str; 5] = ["const", "enum", "anyOf", "allOf", "if"];
const NUMBER: [&str; 2] = ["maximum", "minimum"];
const STRING: [&str; 3] = ["maxLength", "minLength", "pattern"];
// ajv inserts `items` before `uniqueItems` (its `before` option).
const ARRAY: [&str; 3] = ["minItems", "items", "uniqueItems"];
const OBJECT: [&str; 5] = [
    "minProperties",
    "required",
    "propertyNames",
    "additionalProperties",
    "properties",
];
const OTHER: [&str; 5] = ["type", "$ref", "then", "else", "definitions"];

/// The one ajv error parameter the formatter reads, besides the message.
#[derive(Debug, Clone)]
pub(crate) enum Param {
    None,
    AllowedValues(Vec<Json>),
    AdditionalProperty(String),
    PropertyName(String),
}

/// One ajv error object: `instancePath`, `keyword`, the parameter, `message`, and
/// `propertyName` for an error inside `propertyNames`.
#[derive(Debug, Clone)]
pub(crate) struct SchemaError {
    pub(crate) instance_path: String,
    pub(crate) keyword: &'static str,
    pub(crate) param: Param,
    pub(crate) message: String,
    pub(crate) property_name: Option<String>,
}

/// The compiled schema.
#[derive(Debug)]
pub(crate) struct Schema {
    root: Json,
    patterns: HashMap<String, Regex>,
}

/// The route table schema (parsed and checked once).
pub(crate) fn routes_schema() -> Result<&'static Schema, String> {
    static SCHEMA: OnceLock<Result<Schema, String>> = OnceLock::new();
    SCHEMA
        .get_or_init(|| Schema::new(SCHEMA_TEXT))
        .as_ref()
        .map_err(|e| format!("infra/routes.schema.json: {e}"))
}

impl Schema {
    /// Parses a schema and checks that it uses only the implemented keywords.
    pub(crate) fn new(text: &str) -> Result<Schema, String> {
        let root = Json::parse(text).map_err(|e| e.to_string())?;
        let mut patterns = HashMap::new();
        check(&root, &root, "#", &mut patterns)?;
        Ok(Schema { root, patterns })
    }

    /// Every error ajv reports for `data`, in ajv's order.
    pub(crate) fn validate(&self, data: &Json) -> Vec<SchemaError> {
        let mut out = Vec::new();
        self.eval(&self.root, data, "", None, &mut out);
        out
    }

    fn resolve(&self, reference: &str) -> Option<&Json> {
        resolve(&self.root, reference)
    }

    fn eval(
        &self,
        schema: &Json,
        data: &Json,
        path: &str,
        name: Option<&str>,
        out: &mut Vec<SchemaError>,
    ) {
        let err = |keyword: &'static str, param: Param, message: String| SchemaError {
            instance_path: path.to_owned(),
            keyword,
            param,
            message,
            property_name: name.map(str::to_owned),
        };
        if let Some(target) = schema.get("$ref").and_then(Json::as_str) {
            if let Some(target) = self.resolve(target) {
                self.eval(target, data, path, name, out);
            }
            return;
        }
        let types = types_of(schema);
        let group_of = |t: &str| match t {
            "number" => Some(&NUMBER[..]),
            "string" => Some(&STRING[..]),
            "array" => Some(&ARRAY[..]),
            "object" => Some(&OBJECT[..]),
            _ => None,
        };
        let uses = |group: &[&str]| group.iter().any(|k| schema.get(k).is_some());
        // One type whose keyword group is present: its type error comes with that group.
        let type_in_group = (types.len() == 1)
            .then(|| types[0])
            .filter(|t| group_of(t).is_some_and(uses));
        let type_error = || err("type", Param::None, format!("must be {}", types.join(",")));
        if !types.is_empty() && type_in_group.is_none() && !types.iter().any(|t| has_type(data, t))
        {
            out.push(type_error());
        }

        // Keywords of any data type.
        if let Some(c) = schema.get("const")
            && !js_equal(c, data)
        {
            out.push(err(
                "const",
                Param::None,
                "must be equal to constant".into(),
            ));
        }
        if let Some(values) = schema.get("enum").and_then(Json::as_array)
            && !values.iter().any(|v| js_equal(v, data))
        {
            out.push(err(
                "enum",
                Param::AllowedValues(values.to_vec()),
                "must be equal to one of the allowed values".into(),
            ));
        }
        if let Some(branches) = schema.get("anyOf").and_then(Json::as_array) {
            let before = out.len();
            let mut valid = false;
            for branch in branches {
                let errors = out.len();
                self.eval(branch, data, path, name, out);
                if out.len() == errors {
                    valid = true;
                    break;
                }
            }
            if valid {
                out.truncate(before);
            } else {
                out.push(err(
                    "anyOf",
                    Param::None,
                    "must match a schema in anyOf".into(),
                ));
            }
        }
        if let Some(all) = schema.get("allOf").and_then(Json::as_array) {
            for sub in all {
                self.eval(sub, data, path, name, out);
            }
        }
        if let Some(condition) = schema.get("if") {
            let mut scratch = Vec::new();
            self.eval(condition, data, path, name, &mut scratch);
            let clause = if scratch.is_empty() { "then" } else { "else" };
            if let Some(sub) = schema.get(clause) {
                let errors = out.len();
                self.eval(sub, data, path, name, out);
                if out.len() > errors {
                    out.push(err(
                        "if",
                        Param::None,
                        format!("must match \"{clause}\" schema"),
                    ));
                }
            }
        }

        // number
        if uses(&NUMBER) {
            if let Json::Number(n) = data {
                for (keyword, op) in [("maximum", "<="), ("minimum", ">=")] {
                    if let Some(Json::Number(limit)) = schema.get(keyword) {
                        let ok = if keyword == "maximum" {
                            n <= limit
                        } else {
                            n >= limit
                        };
                        if !ok {
                            out.push(err(
                                if keyword == "maximum" {
                                    "maximum"
                                } else {
                                    "minimum"
                                },
                                Param::None,
                                format!("must be {op} {}", js_number(*limit)),
                            ));
                        }
                    }
                }
            } else if type_in_group == Some("number") {
                out.push(type_error());
            }
        }

        // string
        if uses(&STRING) {
            if let Json::String(s) = data {
                let len = s.chars().count() as f64;
                if let Some(Json::Number(limit)) = schema.get("maxLength")
                    && len > *limit
                {
                    out.push(err(
                        "maxLength",
                        Param::None,
                        format!("must NOT have more than {} characters", js_number(*limit)),
                    ));
                }
                if let Some(Json::Number(limit)) = schema.get("minLength")
                    && len < *limit
                {
                    out.push(err(
                        "minLength",
                        Param::None,
                        format!("must NOT have fewer than {} characters", js_number(*limit)),
                    ));
                }
                if let Some(pattern) = schema.get("pattern").and_then(Json::as_str)
                    && !self.patterns.get(pattern).is_some_and(|re| re.is_match(s))
                {
                    out.push(err(
                        "pattern",
                        Param::None,
                        format!("must match pattern \"{pattern}\""),
                    ));
                }
            } else if type_in_group == Some("string") {
                out.push(type_error());
            }
        }

        // array
        if uses(&ARRAY) {
            if let Json::Array(items) = data {
                if let Some(Json::Number(limit)) = schema.get("minItems")
                    && (items.len() as f64) < *limit
                {
                    out.push(err(
                        "minItems",
                        Param::None,
                        format!("must NOT have fewer than {} items", js_number(*limit)),
                    ));
                }
                if let Some(item_schema) = schema.get("items") {
                    for (i, item) in items.iter().enumerate() {
                        self.eval(item_schema, item, &format!("{path}/{i}"), name, out);
                    }
                }
                if matches!(schema.get("uniqueItems"), Some(Json::Bool(true)))
                    && let Some((j, i)) = duplicate(items, schema.get("items"))
                {
                    out.push(err(
                        "uniqueItems",
                        Param::None,
                        format!(
                            "must NOT have duplicate items (items ## {j} and {i} are identical)"
                        ),
                    ));
                }
            } else if type_in_group == Some("array") {
                out.push(type_error());
            }
        }

        // object
        if uses(&OBJECT) {
            if let Json::Object(entries) = data {
                if let Some(Json::Number(limit)) = schema.get("minProperties")
                    && (entries.len() as f64) < *limit
                {
                    out.push(err(
                        "minProperties",
                        Param::None,
                        format!("must NOT have fewer than {} properties", js_number(*limit)),
                    ));
                }
                if let Some(required) = schema.get("required").and_then(Json::as_array) {
                    for p in required.iter().filter_map(Json::as_str) {
                        if data.get(p).is_none() {
                            out.push(err(
                                "required",
                                Param::None,
                                format!("must have required property '{p}'"),
                            ));
                        }
                    }
                }
                if let Some(names) = schema.get("propertyNames") {
                    for (key, _) in entries {
                        let errors = out.len();
                        self.eval(names, &Json::String(key.clone()), path, Some(key), out);
                        if out.len() > errors {
                            out.push(err(
                                "propertyNames",
                                Param::PropertyName(key.clone()),
                                "property name must be valid".into(),
                            ));
                        }
                    }
                }
                let properties = schema.get("properties").and_then(Json::as_object);
                if let Some(additional) = schema.get("additionalProperties") {
                    let listed =
                        |k: &str| properties.is_some_and(|p| p.iter().any(|(n, _)| n == k));
                    for (key, value) in entries.iter().filter(|(k, _)| !listed(k)) {
                        match additional {
                            Json::Bool(false) => out.push(err(
                                "additionalProperties",
                                Param::AdditionalProperty(key.clone()),
                                "must NOT have additional properties".into(),
                            )),
                            Json::Bool(true) => {}
                            sub => {
                                let at = format!("{path}/{}", escape_pointer(key));
                                self.eval(sub, value, &at, name, out);
                            }
                        }
                    }
                }
                for (key, sub) in properties.unwrap_or_default() {
                    if let Some(value) = data.get(key) {
                        let at = format!("{path}/{}", escape_pointer(key));
                        self.eval(sub, value, &at, name, out);
                    }
                }
            } else if type_in_group == Some("object") {
                out.push(type_error());
            }
        }
    }
}

fn types_of(schema: &Json) -> Vec<&str> {
    match schema.get("type") {
        Some(Json::String(t)) => vec![t.as_str()],
        Some(Json::Array(ts)) => ts.iter().filter_map(Json::as_str).collect(),
        _ => Vec::new(),
    }
}

/// ajv's data type checks (`strictNumbers`: JSON numbers are always finite).
fn has_type(data: &Json, t: &str) -> bool {
    match (t, data) {
        ("null", Json::Null)
        | ("boolean", Json::Bool(_))
        | ("number", Json::Number(_))
        | ("string", Json::String(_))
        | ("array", Json::Array(_))
        | ("object", Json::Object(_)) => true,
        ("integer", Json::Number(n)) => n.fract() == 0.0,
        _ => false,
    }
}

/// ajv's `uniqueItems`: the pair `(j, i)` it reports, scanning from the end.
fn duplicate(items: &[Json], item_schema: Option<&Json>) -> Option<(usize, usize)> {
    let item_types = item_schema.map(types_of).unwrap_or_default();
    let scalar =
        !item_types.is_empty() && !item_types.iter().any(|t| *t == "object" || *t == "array");
    if scalar {
        // ajv's fast path keys a plain object by the items (typed items only, a string gets "_"
        // appended when several types are allowed; `__proto__` never registers as a key).
        let mut seen: HashMap<String, usize> = HashMap::new();
        for i in (0..items.len()).rev() {
            let item = &items[i];
            if !item_types.iter().any(|t| has_type(item, t)) {
                continue;
            }
            let mut key = item.js_string();
            if item_types.len() > 1 && matches!(item, Json::String(_)) {
                key.push('_');
            }
            if let Some(j) = seen.get(&key) {
                return Some((*j, i));
            }
            if key != "__proto__" {
                seen.insert(key, i);
            }
        }
        return None;
    }
    for i in (0..items.len()).rev() {
        for j in (0..i).rev() {
            if js_equal(&items[i], &items[j]) {
                return Some((j, i));
            }
        }
    }
    None
}

fn resolve<'a>(root: &'a Json, reference: &str) -> Option<&'a Json> {
    let pointer = reference.strip_prefix('#')?;
    pointer
        .split('/')
        .skip(1)
        .try_fold(root, |node, seg| node.get(&decode_pointer(seg)))
}

/// Walks a schema: every keyword implemented, every `$ref` local and resolvable, every pattern a
/// regular expression; collects the patterns.
fn check(
    root: &Json,
    schema: &Json,
    at: &str,
    patterns: &mut HashMap<String, Regex>,
) -> Result<(), String> {
    let Some(entries) = schema.as_object() else {
        return Err(format!("{at}: a schema must be an object"));
    };
    let known = |k: &str| {
        ANNOTATIONS.contains(&k)
            || UNTYPED.contains(&k)
            || NUMBER.contains(&k)
            || STRING.contains(&k)
            || ARRAY.contains(&k)
            || OBJECT.contains(&k)
            || OTHER.contains(&k)
    };
    for (k, v) in entries {
        if !known(k) {
            return Err(format!(
                "{at}: keyword `{k}` is not implemented by authz-local's validator \
                 (crates/authz-local/src/table/schema.rs)"
            ));
        }
        let here = format!("{at}/{k}");
        match k.as_str() {
            "$ref" => {
                let target = v.as_str().ok_or(format!("{here}: not a string"))?;
                if entries.len() > 1 {
                    return Err(format!("{at}: `$ref` beside other keywords"));
                }
                // The target itself is checked where it is defined (`definitions`).
                resolve(root, target).ok_or(format!("{here}: cannot resolve"))?;
            }
            "definitions" | "properties" => {
                for (name, sub) in v.as_object().ok_or(format!("{here}: not an object"))? {
                    check(root, sub, &format!("{here}/{name}"), patterns)?;
                }
            }
            "additionalProperties" if matches!(v, Json::Bool(_)) => {}
            "additionalProperties" | "propertyNames" | "items" | "if" | "then" | "else" => {
                check(root, v, &here, patterns)?;
            }
            "anyOf" | "allOf" => {
                for (i, sub) in v
                    .as_array()
                    .ok_or(format!("{here}: not an array"))?
                    .iter()
                    .enumerate()
                {
                    check(root, sub, &format!("{here}/{i}"), patterns)?;
                }
            }
            "pattern" => {
                let p = v.as_str().ok_or(format!("{here}: not a string"))?;
                let re = Regex::new(&translate(p).map_err(|e| format!("{here}: {e}"))?)
                    .map_err(|e| format!("{here}: {e}"))?;
                patterns.insert(p.to_owned(), re);
            }
            "type" => {
                for t in types_of(schema) {
                    if !matches!(
                        t,
                        "null" | "boolean" | "number" | "integer" | "string" | "array" | "object"
                    ) {
                        return Err(format!("{here}: unknown type `{t}`"));
                    }
                }
            }
            "maximum" | "minimum" | "maxLength" | "minLength" | "minItems" | "minProperties"
                if !matches!(v, Json::Number(_)) =>
            {
                return Err(format!("{here}: not a number"));
            }
            "uniqueItems" if !matches!(v, Json::Bool(_)) => {
                return Err(format!("{here}: not a boolean"));
            }
            "enum" | "required" if v.as_array().is_none() => {
                return Err(format!("{here}: not an array"));
            }
            _ => {}
        }
    }
    Ok(())
}

/// A JavaScript `u`-flag pattern as a `regex` pattern: `\d`, `\w`, `\s` and `.` with
/// JavaScript's meaning (ASCII digits and word characters; ECMAScript white space and line
/// terminators), `[` and the class-set operators literal inside a class.
fn translate(p: &str) -> Result<String, String> {
    const JS_SPACE: &str = r"\t\n\x0B\x0C\r \xA0\x{1680}\x{2000}-\x{200A}\x{2028}\x{2029}\x{202F}\x{205F}\x{3000}\x{FEFF}";
    let mut out = String::with_capacity(p.len() + 16);
    let mut in_class = false;
    let mut chars = p.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                let e = chars.next().ok_or("a trailing backslash")?;
                let set = match e {
                    'd' => Some("0-9"),
                    'w' => Some("A-Za-z0-9_"),
                    's' => Some(JS_SPACE),
                    _ => None,
                };
                match (set, in_class) {
                    (Some(set), true) => out.push_str(set),
                    (Some(set), false) => {
                        out.push('[');
                        out.push_str(set);
                        out.push(']');
                    }
                    (None, _) if matches!(e, 'D' | 'W' | 'S') => {
                        let set = match e {
                            'D' => "0-9",
                            'W' => "A-Za-z0-9_",
                            _ => JS_SPACE,
                        };
                        if in_class {
                            return Err(format!("`\\{e}` inside a class is not supported"));
                        }
                        out.push_str("[^");
                        out.push_str(set);
                        out.push(']');
                    }
                    (None, _) => {
                        out.push('\\');
                        out.push(e);
                    }
                }
            }
            '[' if in_class => out.push_str(r"\["),
            '[' => {
                in_class = true;
                out.push('[');
                if chars.peek() == Some(&'^') {
                    chars.next();
                    out.push('^');
                }
            }
            ']' if in_class => {
                in_class = false;
                out.push(']');
            }
            '&' | '~' if in_class => {
                out.push('\\');
                out.push(c);
            }
            '-' if in_class && chars.peek() == Some(&'-') => out.push_str(r"\-"),
            '.' if !in_class => out.push_str(r"[^\n\r\x{2028}\x{2029}]"),
            _ => out.push(c),
        }
    }
    Ok(out)
}

/// The problems `route-table.ts` (`formatSchemaErrors`) makes of ajv's errors for `doc`.
pub(crate) fn format_errors(doc: &Json, errors: &[SchemaError]) -> Vec<String> {
    const ALL_AUTHORIZERS: [&str; 5] = ["none", "token", "request", "http", "jwt"];
    let mut out: Vec<String> = Vec::new();
    for e in errors {
        // `if` only says "must match then"; the error inside `then` says what is wrong.
        if e.keyword == "if" || e.property_name.is_some() {
            continue;
        }
        let place = pointer_to_path(&e.instance_path);
        let place = if place.is_empty() {
            "(top level)".to_owned()
        } else {
            place
        };
        if e.keyword == "enum"
            && let (Some((api, index)), Param::AllowedValues(allowed)) =
                (route_authorizer(&e.instance_path), &e.param)
        {
            let api_doc = doc.get("apis").and_then(|a| a.get(&api));
            let route = api_doc
                .and_then(|a| a.get("routes"))
                .and_then(Json::as_array)
                .and_then(|r| r.get(index));
            let authorizer = route.and_then(|r| r.get("authorizer"));
            if let Some(Json::String(kind)) = authorizer
                && ALL_AUTHORIZERS.contains(&kind.as_str())
            {
                let api_kind = match api_doc.and_then(|a| a.get("type")).and_then(Json::as_str) {
                    Some(t @ ("rest" | "http")) => format!("a {t} API"),
                    _ => "any API".to_owned(),
                };
                let route_text = route
                    .and_then(|r| r.get("route"))
                    .map_or("undefined".to_owned(), Json::js_string);
                out.push(format!(
                    "apis.{api}.routes[{index}] (\"{route_text}\"): authorizer \"{kind}\" does not \
                     fit {api_kind}; use one of {}",
                    join_js(allowed, ", ")
                ));
                continue;
            }
            if allowed.len() != ALL_AUTHORIZERS.len() {
                continue;
            }
        }
        let msg = match (&e.param, e.keyword) {
            (Param::AdditionalProperty(p), _) => format!("unknown property \"{p}\""),
            (Param::AllowedValues(allowed), _) => {
                format!("must be one of {}", join_js(allowed, ", "))
            }
            (Param::PropertyName(name), _) => property_name_message(e, name, errors),
            (_, "pattern") if e.instance_path.ends_with("/route") => {
                "must be \"METHOD /path\" (GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS or ANY; \
                 {param} and a final {param+} templates) or \"$default\""
                    .to_owned()
            }
            _ => e.message.clone(),
        };
        let line = format!("{place}: {msg}");
        if !out.contains(&line) {
            out.push(line);
        }
    }
    out
}

fn property_name_message(e: &SchemaError, name: &str, errors: &[SchemaError]) -> String {
    let place = e
        .instance_path
        .rsplit_once('/')
        .map_or(e.instance_path.as_str(), |(_, last)| last);
    match place {
        "apis" => format!(
            "name \"{name}\" is not lower-case words joined by \"-\" (at most 20 characters)"
        ),
        "tiers" => format!("name \"{name}\" is not lower-case words joined by \"-\""),
        _ => {
            let mut inner: Vec<&str> = Vec::new();
            for x in errors {
                if x.property_name.as_deref() == Some(name)
                    && x.instance_path == e.instance_path
                    && !inner.contains(&x.message.as_str())
                {
                    inner.push(&x.message);
                }
            }
            format!("name \"{name}\": {}", inner.join("; "))
        }
    }
}

fn join_js(values: &[Json], sep: &str) -> String {
    values
        .iter()
        .map(Json::js_string)
        .collect::<Vec<_>>()
        .join(sep)
}

/// `/apis/<api>/routes/<n>/authorizer` → (api, n).
fn route_authorizer(pointer: &str) -> Option<(String, usize)> {
    let rest = pointer.strip_prefix("/apis/")?;
    let (api, rest) = rest.split_once('/')?;
    let rest = rest.strip_prefix("routes/")?;
    let index = rest.strip_suffix("/authorizer")?;
    if index.is_empty() || !index.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((decode_pointer(api), index.parse().ok()?))
}

/// route-table.ts's `pointerToPath`: `/apis/a/routes/0` → `apis.a.routes[0]`.
fn pointer_to_path(pointer: &str) -> String {
    pointer
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
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_routes_schema_is_implemented() {
        routes_schema().unwrap();
    }

    #[test]
    fn refuses_a_schema_with_an_unimplemented_keyword() {
        let e = Schema::new(r#"{"type": "object", "oneOf": [{"type": "object"}]}"#).unwrap_err();
        assert!(e.contains("keyword `oneOf` is not implemented"), "{e}");
        let e = Schema::new(r##"{"$ref": "#/definitions/nope"}"##).unwrap_err();
        assert!(e.contains("cannot resolve"), "{e}");
    }

    #[test]
    fn patterns_mean_what_they_mean_in_javascript() {
        let re = |p: &str| Regex::new(&translate(p).unwrap()).unwrap();
        assert!(!re(r"^\d$").is_match("٣")); // Arabic-Indic digit: \d is ASCII in JavaScript
        assert!(re(r"^\d$").is_match("3"));
        assert!(re(r"^[^,\s]+$").is_match("a\u{85}b")); // NEL is not JavaScript white space
        assert!(!re(r"^[^,\s]+$").is_match("a\u{FEFF}b")); // BOM is
        assert!(!re(r"^a.b$").is_match("a\rb"));
        assert!(re(r"^[a&&b]+$").is_match("&&"));
    }

    #[test]
    fn pointers_become_paths() {
        assert_eq!(pointer_to_path(""), "");
        assert_eq!(
            pointer_to_path("/apis/a~1b/routes/0/scopes"),
            "apis.a/b.routes[0].scopes"
        );
        assert_eq!(
            route_authorizer("/apis/shop/routes/3/authorizer"),
            Some(("shop".to_owned(), 3))
        );
        assert_eq!(route_authorizer("/apis/shop/routes/x/authorizer"), None);
    }
}
