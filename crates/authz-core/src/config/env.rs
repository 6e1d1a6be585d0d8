//! The environment side: flat variables merged into the configuration document, driven by the
//! settings table, and the secret-safe text of every error found on the way.
//!
//! One schema, two spellings: every flat variable is a shorthand for one key of the document in
//! `AUTHZ_CONFIG` (or the file named by `AUTHZ_CONFIG_FILE`). Setting a key both ways is an error.

use std::collections::HashMap;

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::declare::{Kind, Setting};
use super::settings::{self, SETTINGS};
use super::{ConfigError, err, split_list};
use crate::outbound::redact_userinfo;

/// The merged document, and where each of its keys came from (for error messages).
#[derive(Debug)]
pub(super) struct Merged {
    doc: Map<String, Value>,
    /// The name of the document's source: `AUTHZ_CONFIG` or `AUTHZ_CONFIG_FILE (path)`.
    doc_name: String,
    /// Dotted key (and its first segment) → the variable or document key that set it.
    sources: HashMap<String, String>,
}

impl Merged {
    /// Where `key` (dotted) came from: the flat variable that set it, or the document key.
    pub(super) fn source(&self, key: &str) -> String {
        self.sources
            .get(key)
            .cloned()
            .unwrap_or_else(|| format!("{} key `{key}`", self.doc_name))
    }

    /// Refuses what would read as "unset" though it was set, and so widen access without a word
    /// (`AUTHZ_ROUTES=null` would mean "no rules"; an empty `allowed_api_arns` "any API"): a
    /// `null` anywhere, and an empty list for a list setting.
    pub(super) fn refuse_unset_looking(&self) -> Result<(), ConfigError> {
        fn walk(v: &Value, at: &str, out: &mut Option<String>) {
            match v {
                Value::Null if out.is_none() => *out = Some(at.to_owned()),
                Value::Object(m) => {
                    for (k, v) in m {
                        walk(
                            v,
                            &if at.is_empty() {
                                k.clone()
                            } else {
                                format!("{at}.{k}")
                            },
                            out,
                        );
                    }
                }
                Value::Array(a) => {
                    for (i, v) in a.iter().enumerate() {
                        walk(v, &format!("{at}[{i}]"), out);
                    }
                }
                _ => {}
            }
        }
        let mut null = None;
        for (k, v) in &self.doc {
            walk(v, k, &mut null);
        }
        if let Some(at) = null {
            let top = at.split(['.', '[']).next().unwrap_or_default();
            return err(format!(
                "{}: at `{at}`: null is not a value; remove the key to leave it unset",
                self.source(top)
            ));
        }
        let doc = Value::Object(self.doc.clone());
        let issuers = doc["issuers"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default();
        for s in SETTINGS.iter().filter(|s| s.kind == Kind::List) {
            let key = s.issuer_key().unwrap_or(s.key);
            let pointer = format!("/{}", key.replace('.', "/"));
            let empty =
                |v: &Value| matches!(v.pointer(&pointer), Some(Value::Array(a)) if a.is_empty());
            let top_level = s.issuer_key().is_none() && empty(&doc);
            let per_issuer =
                (s.issuer_key().is_some() || s.also_per_issuer) && issuers.iter().any(empty);
            if top_level || per_issuer {
                let top = key.split('.').next().unwrap_or_default();
                let from = self.source(if top_level { top } else { "issuers" });
                return err(format!(
                    "{from}: `{key}` is an empty list; give at least one value or leave it unset"
                ));
            }
        }
        Ok(())
    }

    /// Deserializes the document; an error names the variable or key at fault, never the value.
    pub(super) fn parse<T: DeserializeOwned>(&self) -> Result<T, ConfigError> {
        serde_path_to_error::deserialize(Value::Object(self.doc.clone())).map_err(|e| {
            // Name the variable the faulty key came from (a flat variable or the document).
            let path = e.path().to_string();
            let top = path.split(['.', '[']).next().unwrap_or_default();
            let from = self
                .sources
                .get(top)
                .cloned()
                .unwrap_or_else(|| self.doc_name.clone());
            let why = without_value(&e.inner().to_string());
            ConfigError(format!("{from}: at `{path}`: {why}"))
        })
    }
}

/// Reads the document and merges every flat variable of [`SETTINGS`] into it, through `get`
/// (blank values were refused before). Top-level keys first, then the issuers, their
/// JWKS URIs and the per-issuer keys (which need the issuers).
pub(super) fn merge(get: &dyn Fn(&str) -> Option<String>) -> Result<Merged, ConfigError> {
    let (config, file) = (settings::CONFIG.variable, settings::CONFIG_FILE.variable);
    let (doc, doc_name) = match (get(config), get(file)) {
        (Some(_), Some(_)) => return err(format!("set {config} or {file}, not both")),
        (Some(text), None) => (parse_doc(&text, config)?, config.to_owned()),
        (None, Some(path)) => {
            let name = format!("{file} ({path})");
            let text = std::fs::read_to_string(&path)
                .map_err(|e| ConfigError(format!("{name}: cannot read: {e}")))?;
            (parse_doc(&text, &name)?, name)
        }
        (None, None) => (Map::new(), config.to_owned()),
    };
    let sources = doc
        .keys()
        .map(|key| (key.clone(), format!("{doc_name} key `{key}`")))
        .collect();
    let mut m = Merged {
        doc,
        doc_name,
        sources,
    };
    for s in SETTINGS.iter().filter(|s| s.issuer_key().is_none()) {
        let Some(raw) = get(s.variable) else { continue };
        if let Some(value) = flat_value(s, &raw)? {
            let path: Vec<&str> = s.key.split('.').collect();
            insert_path(&mut m.doc, &path, value, s.variable, &m.doc_name)?;
            m.sources.insert(s.key.to_owned(), s.variable.to_owned());
            m.sources.insert(path[0].to_owned(), s.variable.to_owned());
        }
    }
    for s in SETTINGS.iter().filter(|s| s.kind == Kind::Issuers) {
        let Some(raw) = get(s.variable) else { continue };
        if m.doc.contains_key("issuers") {
            return err(format!(
                "{} and {} key `issuers` are both set; use one",
                s.variable, m.doc_name
            ));
        }
        let issuers: Vec<Value> = split_list(&raw)
            .into_iter()
            .map(|i| serde_json::json!({ "issuer": i }))
            .collect();
        m.doc.insert("issuers".into(), Value::Array(issuers));
        m.sources.insert("issuers".into(), s.variable.to_owned());
    }
    for s in SETTINGS.iter().filter(|s| s.kind == Kind::JwksUris) {
        let Some(raw) = get(s.variable) else { continue };
        apply_jwks_uris(&mut m.doc, s, &raw)?;
    }
    for s in SETTINGS
        .iter()
        .filter(|s| !matches!(s.kind, Kind::Issuers | Kind::JwksUris))
    {
        let (Some(key), Some(raw)) = (s.issuer_key(), get(s.variable)) else {
            continue;
        };
        if let Some(value) = flat_value(s, &raw)? {
            let path: Vec<&str> = key.split('.').collect();
            apply_issuer_var(&mut m.doc, s.variable, &path, value)?;
        }
    }
    Ok(m)
}

/// The prefix of every setting's variable; a variable with it (in any case) that the table does
/// not know fails the cold start.
const PREFIX: &str = "AUTHZ_";

/// Refuses every variable of `names` that looks like a setting (`AUTHZ_…`, in any case) but is
/// not one of [`SETTINGS`], naming it and the closest known variable: a typo such as
/// `AUTHZ_ROUTE` would otherwise be ignored, and no rules means every valid token may use every
/// route (fail open). No exemption: nothing but our settings has this prefix in an authorizer's
/// environment (the CDK app sets only known ones, `infra/test/golden.test.ts`; Lambda sets
/// `AWS_*`/`LAMBDA_*`/`_*`; the tools' own variables, `AUTHZ_LOCAL_*`, `AUTHZ_BENCH_*`,
/// `AUTHZ_TESTKIT_*`, are read by those tools, which start the authorizers through the testkit's
/// `LambdaProcess`, whose environment is cleared). Values are never read, let alone quoted.
pub(super) fn check_names<'a>(names: impl IntoIterator<Item = &'a str>) -> Result<(), ConfigError> {
    let mut unknown: Vec<String> = names
        .into_iter()
        .filter(|name| {
            name.get(..PREFIX.len())
                .is_some_and(|p| p.eq_ignore_ascii_case(PREFIX))
                && !SETTINGS.iter().any(|s| s.variable == *name)
        })
        .map(|name| {
            // A name is not a secret, but bound it like any other echoed text.
            let shown = name
                .char_indices()
                .nth(64)
                .map_or(name, |(i, _)| &name[..i]);
            match closest(name) {
                Some(known) => format!("{shown} (did you mean {known}?)"),
                None => shown.to_owned(),
            }
        })
        .collect();
    if unknown.is_empty() {
        return Ok(());
    }
    unknown.sort();
    err(format!(
        "unknown setting {}: every {PREFIX}* variable must be a setting of the authorizer \
         (README, Configuration); a misspelt one would be ignored",
        unknown.join(", ")
    ))
}

/// The known variable closest to `name`, case-insensitively and ignoring underscores: one the
/// name begins or that begins the name (`AUTHZ_JWKS_COOLDOWN`, `AUTHZ_AUDIENCES`) counts as
/// nearest; then the smaller edit distance; ties go to the smaller distance as written.
fn closest(name: &str) -> Option<&'static str> {
    let squeeze = |s: &str| s.to_ascii_uppercase().replace('_', "");
    let (upper, bare) = (name.to_ascii_uppercase(), squeeze(name));
    SETTINGS
        .iter()
        .map(|s| s.variable)
        .filter(|v| !v.is_empty())
        .min_by_key(|v| {
            let known = squeeze(v);
            let related = known.starts_with(&bare) || bare.starts_with(&known);
            let near = if related {
                0
            } else {
                edit_distance(&bare, &known)
            };
            (near, edit_distance(&upper, v))
        })
}

/// Levenshtein distance over bytes (names are ASCII; others only compare worse).
fn edit_distance(a: &str, b: &str) -> usize {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (above + 1)
                .min(row[j] + 1)
                .min(diagonal + usize::from(ca != cb));
            diagonal = above;
        }
    }
    row[b.len()]
}

/// A serde message without the value it quotes (`invalid type: string "…", expected f64` becomes
/// `invalid type: string, expected f64`): a secret put under the wrong key must not reach the
/// cold-start error, which is logged. The key path and the expected type say what is wrong.
pub(super) fn without_value(message: &str) -> String {
    let quoting = ["invalid type: ", "invalid value: ", "unknown variant "]
        .into_iter()
        .find_map(|prefix| Some((prefix, message.strip_prefix(prefix)?)));
    let Some((prefix, rest)) = quoting else {
        return message.to_owned();
    };
    // The expected part comes last and quotes no input; the value before it may hold anything.
    let (found, expected) = rest
        .rfind(", expected ")
        .map_or((rest, ""), |i| rest.split_at(i));
    // `string "…"`, `integer `5``, `floating point `1.5``, `map`: keep the kind only.
    let kind = found.split(['"', '`']).next().unwrap_or_default().trim();
    if kind.is_empty() {
        format!("{}{expected}", prefix.trim_end())
    } else {
        format!("{prefix}{kind}{expected}")
    }
}

fn parse_doc(text: &str, name: &str) -> Result<Map<String, Value>, ConfigError> {
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => err(format!("{name}: must be a JSON object")),
        Err(e) => err(format!("{name}: invalid JSON: {e}")),
    }
}

/// The JSON value a flat variable stands for, by the setting's kind; `None` for the kinds merged
/// apart (the document itself, issuers, JWKS URIs).
fn flat_value(setting: &Setting, raw: &str) -> Result<Option<Value>, ConfigError> {
    let (name, raw) = (setting.variable, raw.trim());
    Ok(Some(match setting.kind {
        Kind::Document | Kind::DocumentFile | Kind::Issuers | Kind::JwksUris => return Ok(None),
        Kind::Json => serde_json::from_str(raw)
            .map_err(|e| ConfigError(format!("{name}: invalid JSON: {e}")))?,
        Kind::List => Value::Array(split_list(raw).into_iter().map(Value::String).collect()),
        Kind::Text => Value::String(raw.to_owned()),
        Kind::Bool => match raw.to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" => Value::Bool(true),
            "false" | "0" | "no" => Value::Bool(false),
            // The value itself is never quoted: it could be a secret set in the wrong variable.
            _ => return err(format!("{name}: expected true or false")),
        },
        Kind::Seconds | Kind::Count => {
            let n: f64 = raw
                .parse()
                .ok()
                .filter(|n: &f64| n.is_finite() && *n >= 0.0)
                .ok_or_else(|| ConfigError(format!("{name}: expected a non-negative number")))?;
            if n.fract() == 0.0 && n < 9.0e15 {
                Value::from(n as u64)
            } else {
                Value::from(n)
            }
        }
    }))
}

fn insert_path(
    doc: &mut Map<String, Value>,
    path: &[&str],
    value: Value,
    name: &str,
    doc_name: &str,
) -> Result<(), ConfigError> {
    let Some((last, parents)) = path.split_last() else {
        return err(format!("{name}: no key"));
    };
    let mut node = doc;
    for key in parents {
        let entry = node
            .entry((*key).to_owned())
            .or_insert_with(|| Value::Object(Map::new()));
        node = match entry {
            Value::Object(m) => m,
            _ => return err(format!("{doc_name} key `{key}` must be an object")),
        };
    }
    if node.contains_key(*last) {
        return err(format!(
            "{name} and {doc_name} key `{}` are both set; use one",
            path.join(".")
        ));
    }
    node.insert((*last).to_owned(), value);
    Ok(())
}

/// Sets `path` in the single issuer's entry; with several issuers the structured form is needed.
fn apply_issuer_var(
    doc: &mut Map<String, Value>,
    name: &str,
    path: &[&str],
    value: Value,
) -> Result<(), ConfigError> {
    let (issuer_var, config) = (settings::ISSUER.variable, settings::CONFIG.variable);
    let Some(Value::Array(issuers)) = doc.get_mut("issuers") else {
        return err(format!(
            "{name} is set but no issuer is configured (set {issuer_var})"
        ));
    };
    let [Value::Object(issuer)] = issuers.as_mut_slice() else {
        return err(format!(
            "{name} applies to a single issuer; with several, set it per issuer in {config}"
        ));
    };
    insert_path(issuer, path, value, name, &format!("{config} issuer"))
}

/// `AUTHZ_JWKS_URI` is either one URI (single issuer) or `issuer=uri` pairs, comma-separated.
fn apply_jwks_uris(
    doc: &mut Map<String, Value>,
    setting: &Setting,
    raw: &str,
) -> Result<(), ConfigError> {
    let name = setting.variable;
    let key = setting.issuer_key().unwrap_or_default();
    let Some(Value::Array(issuers)) = doc.get_mut("issuers") else {
        return err(format!(
            "{name} is set but no issuer is configured (set {})",
            settings::ISSUER.variable
        ));
    };
    let names: Vec<String> = issuers
        .iter()
        .filter_map(|i| i.get("issuer").and_then(Value::as_str).map(str::to_owned))
        .collect();
    let items = split_list(raw);
    for item in &items {
        let (issuer, uri) = match item.split_once('=') {
            Some((iss, uri)) if names.iter().any(|n| n == iss) => (iss.to_owned(), uri.to_owned()),
            _ if items.len() == 1 && names.len() == 1 => (names[0].clone(), item.clone()),
            _ => {
                return err(format!(
                    "{name}: `{}` is not `issuer=uri` for a configured issuer; \
                     a bare URI is only allowed with a single issuer",
                    redact_userinfo(item)
                ));
            }
        };
        for entry in issuers.iter_mut() {
            if entry.get("issuer").and_then(Value::as_str) == Some(issuer.as_str())
                && let Some(obj) = entry.as_object_mut()
            {
                if obj.contains_key(key) {
                    return err(format!("{name}: two URIs for issuer {issuer}"));
                }
                obj.insert(key.to_owned(), Value::String(uri.clone()));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn unknown_authz_variables_fail_naming_the_closest_setting() {
        let e = |names: &[&str]| check_names(names.iter().copied()).unwrap_err().0;
        assert!(
            e(&["PATH", "AUTHZ_ROUTE"]).contains("AUTHZ_ROUTE (did you mean AUTHZ_ROUTES?)"),
            "{}",
            e(&["AUTHZ_ROUTE"])
        );
        for (typo, known) in [
            ("AUTHZ_ISUER", "AUTHZ_ISSUER"),
            ("AUTHZ_AUDIENCES", "AUTHZ_AUDIENCE"),
            ("AUTHZ_ROUTESETS", "AUTHZ_ROUTE_SETS"),
            ("AUTHZ_JWKS_COOLDOWN", "AUTHZ_JWKS_COOLDOWN_SECONDS"),
            ("authz_routes", "AUTHZ_ROUTES"),
            ("Authz_Bind_Header", "AUTHZ_BIND_HEADER"),
            ("AUTHZ_LOCAL_REST_PORT", "AUTHZ_"),
        ] {
            let m = e(&[typo]);
            assert!(m.contains(typo) && m.contains(known), "{typo}: {m}");
        }
        let m = e(&["AUTHZ_ROUTE", "AUTHZ_ISUER"]);
        assert!(
            m.contains("AUTHZ_ROUTE (") && m.contains("AUTHZ_ISUER ("),
            "{m}"
        );
        // Every known variable passes, and nothing without the prefix is looked at.
        let known: Vec<&str> = SETTINGS.iter().map(|s| s.variable).collect();
        assert_eq!(check_names(known), Ok(()));
        assert_eq!(
            check_names(["AWS_LAMBDA_LOG_LEVEL", "_HANDLER", "AUTHZ", "XAUTHZ_ROUTE"]),
            Ok(())
        );
    }

    #[test]
    fn edit_distances() {
        assert_eq!(edit_distance("AUTHZ_ROUTE", "AUTHZ_ROUTES"), 1);
        assert_eq!(edit_distance("", "ABC"), 3);
        assert_eq!(edit_distance("KITTEN", "SITTING"), 3);
    }
}
