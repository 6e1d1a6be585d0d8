//! `authz-config cache-key KIND [--uncached] [--stage-variable NAME=VALUE]...`
//!
//! Reads the configuration from the environment exactly as an authorizer's cold start does
//! (`Config::from_env`: unknown `AUTHZ_*` names, bad values, `AUTHZ_CONFIG` documents, the
//! cold-start checks of KIND) and prints the cache key of the KIND authorizer (`token`,
//! `request`, `http`) on a stage with these stage variables, as one JSON line
//! (`authz_core::CacheKey`: `identitySources`, `tokenHeader`, `bindHeader`, `stageVariables`,
//! `routeSets`, `features`: the cargo features the configuration needs). A configuration the cold start refuses exits 1 with the cold start's message
//! (naming the setting) on stderr; a usage error exits 2. The CDK app runs it at synth time with
//! each authorizer's environment (infra/lib/authz-config.ts).

use std::{collections::BTreeMap, process::ExitCode};

use authz_core::{AuthorizerKind, Config};

const USAGE: &str = "usage: authz-config cache-key token|request|http [--uncached] [--stage-variable NAME=VALUE]...";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((kind, cached, stage)) = parse_args(&args) else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    let key = Config::from_env().and_then(|c| c.cache_key(kind, &stage, cached));
    match key.map(|k| serde_json::to_string(&k)) {
        Ok(Ok(json)) => {
            println!("{json}");
            ExitCode::SUCCESS
        }
        Ok(Err(e)) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}

/// `cache-key KIND [--uncached] [--stage-variable NAME=VALUE]...` → kind, cached, stage variables.
fn parse_args(args: &[String]) -> Option<(AuthorizerKind, bool, BTreeMap<String, String>)> {
    let [command, kind, rest @ ..] = args else {
        return None;
    };
    if command != "cache-key" {
        return None;
    }
    let kind = AuthorizerKind::parse(kind)?;
    let (mut cached, mut stage) = (true, BTreeMap::new());
    let mut it = rest.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--uncached" => cached = false,
            "--stage-variable" => {
                let (name, value) = it.next()?.split_once('=')?;
                if stage.insert(name.to_owned(), value.to_owned()).is_some() {
                    return None;
                }
            }
            _ => return None,
        }
    }
    Some((kind, cached, stage))
}
