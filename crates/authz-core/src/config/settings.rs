//! The settings table: every configuration setting once, with its flat variable, its key in the
//! `AUTHZ_CONFIG` document, its kind, its default and bounds (named constants) and a line of doc.
//!
//! The table drives the parser: the merge of flat variables into the document ([`super::env`]),
//! how a flat value is read ([`Kind`]), and the defaults and bounds applied when the document is
//! validated ([`super::build`]) all come from these rows. The README's configuration table is
//! checked against it by a test. Adding a setting is one row here, one field in the document's
//! schema (a test fails until both exist) and the code that uses it.

use std::time::Duration;

use super::{ClientAuth, ConfigError, err};
use crate::outbound::TlsRoots;

/// How a setting's value is written, in a flat variable and in the document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Kind {
    /// The whole configuration document, JSON (`AUTHZ_CONFIG`).
    Document,
    /// A path to a file holding that document (`AUTHZ_CONFIG_FILE`).
    DocumentFile,
    /// Comma-separated issuers, each becoming one entry of `issuers` (`AUTHZ_ISSUER`).
    Issuers,
    /// One URI (single issuer) or comma-separated `issuer=uri` pairs (`AUTHZ_JWKS_URI`).
    JwksUris,
    /// A string.
    Text,
    /// A list of strings; flat: comma-separated, items trimmed, empty ones dropped.
    List,
    /// `true`/`false` (flat also: `1`/`0`, `yes`/`no`, any case).
    Bool,
    /// A JSON value (flat: the JSON text).
    Json,
    /// A duration in seconds, fractions allowed; bounded by [`Setting::bounds`].
    Seconds,
    /// A whole number; bounded by [`Setting::bounds`].
    Count,
}

/// Inclusive bounds of a number setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bounds {
    /// Smallest accepted value.
    pub min: u64,
    /// Largest accepted value; `u64::MAX`: no upper bound.
    pub max: u64,
}

/// One row of the settings table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Setting {
    /// The flat environment variable (`AUTHZ_…`); empty for a key settable only in the document.
    pub variable: &'static str,
    /// Dotted key path in the `AUTHZ_CONFIG` document; `issuers[].` marks a per-issuer key; empty
    /// for the variables that carry the document itself.
    pub key: &'static str,
    /// Also settable per issuer, as `issuers[].{key}` (which then wins for that issuer).
    pub also_per_issuer: bool,
    /// How the value is written.
    pub kind: Kind,
    /// What applies when unset, as documented (`None`: unset, the feature is off). Numbers are
    /// rendered from the named constants, so the documented value is the one the parser applies.
    pub default: Option<&'static str>,
    /// Accepted range of a number.
    pub bounds: Option<Bounds>,
    /// One line of documentation.
    pub doc: &'static str,
    /// The default of a number setting, the named constant `default` is rendered from.
    number: Option<u64>,
}

impl Setting {
    /// The key path inside one issuer's entry, for a per-issuer key (`issuers[].a.b` → `a.b`).
    pub(super) fn issuer_key(&self) -> Option<&'static str> {
        self.key.strip_prefix("issuers[].")
    }

    /// A duration setting: `value`, else the default, within the bounds; errors name `name`.
    pub(super) fn seconds(&self, value: Option<f64>, name: &str) -> Result<Duration, ConfigError> {
        let v = value.unwrap_or(self.number.unwrap_or_default() as f64);
        let max = self.bounds.map_or(u64::MAX, |b| b.max);
        if !v.is_finite() || v < 0.0 || v > max as f64 {
            return err(format!(
                "{name}: must be between 0 and {max} seconds, got {v}"
            ));
        }
        Ok(Duration::from_secs_f64(v))
    }

    /// A count setting: `value`, else the default, within the bounds; errors name `name`.
    pub(super) fn count(&self, value: Option<usize>, name: &str) -> Result<usize, ConfigError> {
        let default = usize::try_from(self.number.unwrap_or_default()).unwrap_or(usize::MAX);
        let n = value.unwrap_or(default);
        let Bounds { min, max } = self.bounds.unwrap_or(Bounds {
            min: 0,
            max: u64::MAX,
        });
        match (n as u64) < min || n as u64 > max {
            false => Ok(n),
            true if max == u64::MAX => err(format!("{name}: at least {min}")),
            true => err(format!("{name}: must be between {min} and {max}")),
        }
    }
}

// Defaults and bounds, named. Seconds are whole numbers here (the parser accepts fractions).

/// Default clock-skew allowance (`AUTHZ_LEEWAY_SECONDS`).
pub const DEFAULT_LEEWAY_SECONDS: u64 = 5;
/// Largest clock-skew allowance.
pub const MAX_LEEWAY_SECONDS: u64 = 300;
/// Default of `AUTHZ_ACCEPT_BARE_TOKEN`.
pub const DEFAULT_ACCEPT_BARE_TOKEN: bool = false;
/// Default of `AUTHZ_ACCEPT_ID_TOKENS`.
pub const DEFAULT_ACCEPT_ID_TOKENS: bool = false;
/// Default of `AUTHZ_SCOPE_CLAIMS`, as documented (the list is `claims::DEFAULT_SCOPE_CLAIMS`).
pub const DEFAULT_SCOPE_CLAIMS_TEXT: &str = "scope,scp";
/// Default largest token accepted before decoding, bytes.
pub const DEFAULT_MAX_TOKEN_BYTES: usize = 8192;
/// Smallest value of `AUTHZ_MAX_TOKEN_BYTES`.
pub const MIN_MAX_TOKEN_BYTES: usize = 256;
/// Largest value of `AUTHZ_MAX_TOKEN_BYTES`.
pub const MAX_MAX_TOKEN_BYTES: usize = 65_536;
/// Default lower bound on the JWKS lifetime taken from caching headers.
pub const DEFAULT_JWKS_MIN_TTL_SECONDS: u64 = 60;
/// Default upper bound on the JWKS lifetime.
pub const DEFAULT_JWKS_MAX_TTL_SECONDS: u64 = 3_600;
/// Default JWKS lifetime without caching headers.
pub const DEFAULT_JWKS_DEFAULT_TTL_SECONDS: u64 = 600;
/// Largest value of each JWKS lifetime setting (one day).
pub const MAX_JWKS_TTL_SECONDS: u64 = 86_400;
/// Default stale-serving allowance.
pub const DEFAULT_JWKS_STALE_SECONDS: u64 = 3_600;
/// Largest stale-serving allowance (a week).
pub const MAX_JWKS_STALE_SECONDS: u64 = 7 * 86_400;
/// Default fetch cool-down per issuer.
pub const DEFAULT_JWKS_COOLDOWN_SECONDS: u64 = 10;
/// Largest fetch cool-down.
pub const MAX_JWKS_COOLDOWN_SECONDS: u64 = 3_600;
/// Default largest JWKS or discovery body, bytes.
pub const DEFAULT_JWKS_MAX_BYTES: usize = 150_000;
/// Smallest value of `AUTHZ_JWKS_MAX_BYTES`.
pub const MIN_JWKS_MAX_BYTES: usize = 1_024;
/// Default connect timeout.
pub const DEFAULT_HTTP_CONNECT_TIMEOUT_SECONDS: u64 = 1;
/// Default whole-request timeout.
pub const DEFAULT_HTTP_TIMEOUT_SECONDS: u64 = 2;
/// Largest timeout: inside API Gateway's 10 s authorizer budget.
pub const MAX_HTTP_TIMEOUT_SECONDS: u64 = 9;
/// Default of `AUTHZ_TLS_ROOTS`: nothing to read or parse at cold start (BENCHMARKS.md).
pub const DEFAULT_TLS_ROOTS: TlsRoots = TlsRoots::Builtin;
/// Default header carrying the token (lower-case).
pub const DEFAULT_TOKEN_HEADER: &str = "authorization";
/// Default client authentication at the introspection endpoint.
pub const DEFAULT_INTROSPECTION_AUTH: ClientAuth = ClientAuth::ClientSecretBasic;
/// Default upper bound on reusing an active introspection answer.
pub const DEFAULT_INTROSPECTION_CACHE_SECONDS: u64 = 300;
/// Default reuse of an inactive introspection answer.
pub const DEFAULT_INTROSPECTION_NEGATIVE_CACHE_SECONDS: u64 = 10;
/// Largest value of each introspection cache lifetime.
pub const MAX_INTROSPECTION_CACHE_SECONDS: u64 = 3_600;
/// Default most introspection answers kept.
pub const DEFAULT_INTROSPECTION_MAX_ENTRIES: usize = 10_000;
/// Smallest value of `issuers[].introspection.max_entries`.
pub const MIN_INTROSPECTION_MAX_ENTRIES: usize = 1;
/// Largest value of `issuers[].introspection.max_entries`.
pub const MAX_INTROSPECTION_MAX_ENTRIES: usize = 1_000_000;

/// Decimal digits of a number, computed at compile time so the documented default is the
/// constant itself.
#[derive(Debug)]
struct Decimal {
    digits: [u8; 20],
    len: usize,
}

const fn decimal(mut n: u64) -> Decimal {
    let mut reversed = [0u8; 20];
    let mut len = 0;
    loop {
        reversed[len] = b'0' + (n % 10) as u8;
        len += 1;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    let mut digits = [0u8; 20];
    let mut i = 0;
    while i < len {
        digits[i] = reversed[len - 1 - i];
        i += 1;
    }
    Decimal { digits, len }
}

/// `&'static str` of a number constant, evaluated at compile time.
macro_rules! text {
    ($n:expr) => {{
        const DIGITS: &Decimal = &decimal($n);
        match core::str::from_utf8(DIGITS.digits.split_at(DIGITS.len).0) {
            Ok(s) => s,
            Err(_) => "",
        }
    }};
}

/// The fields of a number row: its kind, its default (rendered from the constant) and bounds.
macro_rules! number {
    (seconds $n:expr, $bounds:expr) => {
        Setting {
            kind: Kind::Seconds,
            default: Some(text!($n)),
            number: Some($n),
            bounds: $bounds,
            ..ROW
        }
    };
    (count $n:expr, $bounds:expr) => {
        Setting {
            kind: Kind::Count,
            default: Some(text!(widen($n))),
            number: Some(widen($n)),
            bounds: $bounds,
            ..ROW
        }
    };
}

const fn widen(n: usize) -> u64 {
    n as u64
}

const fn bool_text(b: bool) -> &'static str {
    if b { "true" } else { "false" }
}

const fn up_to(max: u64) -> Option<Bounds> {
    Some(Bounds { min: 0, max })
}

const fn between(min: usize, max: usize) -> Option<Bounds> {
    Some(Bounds {
        min: widen(min),
        max: widen(max),
    })
}

/// A row with the fields most rows share; the constants below fill in the rest.
const ROW: Setting = Setting {
    variable: "",
    key: "",
    also_per_issuer: false,
    kind: Kind::Text,
    default: None,
    bounds: None,
    doc: "",
    number: None,
};

/// `AUTHZ_ISSUER`.
pub const ISSUER: Setting = Setting {
    variable: "AUTHZ_ISSUER",
    key: "issuers[].issuer",
    kind: Kind::Issuers,
    default: Some("required"),
    doc: "Expected `iss`; comma-separated for several issuers.",
    ..ROW
};
/// `AUTHZ_AUDIENCE`.
pub const AUDIENCE: Setting = Setting {
    variable: "AUTHZ_AUDIENCE",
    key: "audiences",
    also_per_issuer: true,
    kind: Kind::List,
    default: Some("required, unless AUTHZ_CLIENT_ID"),
    doc: "Accepted audiences; the token's `aud` must contain one.",
    ..ROW
};
/// `AUTHZ_CLIENT_ID`.
pub const CLIENT_ID: Setting = Setting {
    variable: "AUTHZ_CLIENT_ID",
    key: "client_ids",
    also_per_issuer: true,
    kind: Kind::List,
    default: Some("any"),
    doc: "Accepted clients: the token's `client_id` (else `azp`, `cid`, `appid`) must be one; \
          with it, `AUTHZ_AUDIENCE` may be omitted.",
    ..ROW
};
/// `AUTHZ_TENANTS`.
pub const TENANTS: Setting = Setting {
    variable: "AUTHZ_TENANTS",
    key: "tenants",
    also_per_issuer: true,
    kind: Kind::List,
    default: Some("none"),
    doc: "Tenant ids an issuer template with `{tenantid}` accepts (`tid` must match); required \
          with a template.",
    ..ROW
};
/// `AUTHZ_JWKS_URI`.
pub const JWKS_URI: Setting = Setting {
    variable: "AUTHZ_JWKS_URI",
    key: "issuers[].jwks_uri",
    kind: Kind::JwksUris,
    default: Some("discovery"),
    doc: "JWKS location, skipping discovery: one URI, or `issuer=uri` pairs.",
    ..ROW
};
/// `AUTHZ_ALGORITHMS`.
pub const ALGORITHMS: Setting = Setting {
    variable: "AUTHZ_ALGORITHMS",
    key: "algorithms",
    also_per_issuer: true,
    kind: Kind::List,
    default: Some("all asymmetric"),
    doc: "Allow-list of JWS algorithms; `none` and HMAC are refused.",
    ..ROW
};
/// `AUTHZ_LEEWAY_SECONDS`.
pub const LEEWAY_SECONDS: Setting = Setting {
    variable: "AUTHZ_LEEWAY_SECONDS",
    key: "leeway_seconds",
    doc: "Clock skew allowed for `exp`, `nbf` and `iat`.",
    ..number!(seconds DEFAULT_LEEWAY_SECONDS, up_to(MAX_LEEWAY_SECONDS))
};
/// `AUTHZ_REQUIRED_TYP`.
pub const REQUIRED_TYP: Setting = Setting {
    variable: "AUTHZ_REQUIRED_TYP",
    key: "required_typ",
    doc: "When set, the header `typ` must equal it (RFC 9068: `at+jwt`).",
    ..ROW
};
/// `AUTHZ_ACCEPT_ID_TOKENS`.
pub const ACCEPT_ID_TOKENS: Setting = Setting {
    variable: "AUTHZ_ACCEPT_ID_TOKENS",
    key: "accept_id_tokens",
    kind: Kind::Bool,
    default: Some(bool_text(DEFAULT_ACCEPT_ID_TOKENS)),
    doc: "Also accept OIDC ID tokens (a downgrade: see SECURITY.md); other non-access tokens \
          are always refused.",
    ..ROW
};
/// `AUTHZ_SCOPE_CLAIMS`.
pub const SCOPE_CLAIMS: Setting = Setting {
    variable: "AUTHZ_SCOPE_CLAIMS",
    key: "scope_claims",
    also_per_issuer: true,
    kind: Kind::List,
    default: Some(DEFAULT_SCOPE_CLAIMS_TEXT),
    doc: "Claims whose values are scopes (space-delimited string or array each).",
    ..ROW
};
/// `AUTHZ_CONTEXT_CLAIMS`.
pub const CONTEXT_CLAIMS: Setting = Setting {
    variable: "AUTHZ_CONTEXT_CLAIMS",
    key: "context_claims",
    kind: Kind::List,
    default: Some("none"),
    doc: "Extra claims copied into the authorizer `context`.",
    ..ROW
};
/// `AUTHZ_ALLOWED_API_ARNS`.
pub const ALLOWED_API_ARNS: Setting = Setting {
    variable: "AUTHZ_ALLOWED_API_ARNS",
    key: "allowed_api_arns",
    kind: Kind::List,
    default: Some("any"),
    doc: "APIs this authorizer may grant (`arn:…:API_ID[/STAGE]`); others get Deny.",
    ..ROW
};
/// `AUTHZ_ACCEPT_BARE_TOKEN`.
pub const ACCEPT_BARE_TOKEN: Setting = Setting {
    variable: "AUTHZ_ACCEPT_BARE_TOKEN",
    key: "accept_bare_token",
    kind: Kind::Bool,
    default: Some(bool_text(DEFAULT_ACCEPT_BARE_TOKEN)),
    doc: "Also accept a token without the `Bearer ` scheme.",
    ..ROW
};
/// `AUTHZ_MAX_TOKEN_BYTES`.
pub const MAX_TOKEN_BYTES: Setting = Setting {
    variable: "AUTHZ_MAX_TOKEN_BYTES",
    key: "max_token_bytes",
    doc: "Longer tokens are refused before decoding.",
    ..number!(count DEFAULT_MAX_TOKEN_BYTES, between(MIN_MAX_TOKEN_BYTES, MAX_MAX_TOKEN_BYTES))
};
/// `AUTHZ_JWKS_MIN_TTL_SECONDS`.
pub const JWKS_MIN_TTL_SECONDS: Setting = Setting {
    variable: "AUTHZ_JWKS_MIN_TTL_SECONDS",
    key: "jwks.min_ttl_seconds",
    doc: "Lower bound on the JWKS lifetime from `Cache-Control` / `Expires`.",
    ..number!(seconds DEFAULT_JWKS_MIN_TTL_SECONDS, up_to(MAX_JWKS_TTL_SECONDS))
};
/// `AUTHZ_JWKS_MAX_TTL_SECONDS`.
pub const JWKS_MAX_TTL_SECONDS: Setting = Setting {
    variable: "AUTHZ_JWKS_MAX_TTL_SECONDS",
    key: "jwks.max_ttl_seconds",
    doc: "Upper bound on the JWKS lifetime: how long a removed key keeps working.",
    ..number!(seconds DEFAULT_JWKS_MAX_TTL_SECONDS, up_to(MAX_JWKS_TTL_SECONDS))
};
/// `AUTHZ_JWKS_DEFAULT_TTL_SECONDS`.
pub const JWKS_DEFAULT_TTL_SECONDS: Setting = Setting {
    variable: "AUTHZ_JWKS_DEFAULT_TTL_SECONDS",
    key: "jwks.default_ttl_seconds",
    doc: "JWKS lifetime when the response has no caching headers.",
    ..number!(seconds DEFAULT_JWKS_DEFAULT_TTL_SECONDS, up_to(MAX_JWKS_TTL_SECONDS))
};
/// `AUTHZ_JWKS_STALE_SECONDS`.
pub const JWKS_STALE_SECONDS: Setting = Setting {
    variable: "AUTHZ_JWKS_STALE_SECONDS",
    key: "jwks.stale_seconds",
    doc: "How long past expiry cached keys keep serving while the IdP fails.",
    ..number!(seconds DEFAULT_JWKS_STALE_SECONDS, up_to(MAX_JWKS_STALE_SECONDS))
};
/// `AUTHZ_JWKS_COOLDOWN_SECONDS`.
pub const JWKS_COOLDOWN_SECONDS: Setting = Setting {
    variable: "AUTHZ_JWKS_COOLDOWN_SECONDS",
    key: "jwks.cooldown_seconds",
    doc: "Per issuer: no JWKS or discovery fetch for this long after a failed lookup or fetch; routine refreshes at least this far apart.",
    ..number!(seconds DEFAULT_JWKS_COOLDOWN_SECONDS, up_to(MAX_JWKS_COOLDOWN_SECONDS))
};
/// `AUTHZ_JWKS_MAX_BYTES`.
pub const JWKS_MAX_BYTES: Setting = Setting {
    variable: "AUTHZ_JWKS_MAX_BYTES",
    key: "jwks.max_bytes",
    doc: "Largest JWKS or discovery body accepted.",
    ..number!(count DEFAULT_JWKS_MAX_BYTES, between(MIN_JWKS_MAX_BYTES, usize::MAX))
};
/// `AUTHZ_HTTP_CONNECT_TIMEOUT_SECONDS`.
pub const HTTP_CONNECT_TIMEOUT_SECONDS: Setting = Setting {
    variable: "AUTHZ_HTTP_CONNECT_TIMEOUT_SECONDS",
    key: "http.connect_timeout_seconds",
    doc: "Connect timeout of outgoing calls (above 0).",
    ..number!(seconds DEFAULT_HTTP_CONNECT_TIMEOUT_SECONDS, up_to(MAX_HTTP_TIMEOUT_SECONDS))
};
/// `AUTHZ_HTTP_TIMEOUT_SECONDS`.
pub const HTTP_TIMEOUT_SECONDS: Setting = Setting {
    variable: "AUTHZ_HTTP_TIMEOUT_SECONDS",
    key: "http.timeout_seconds",
    doc: "Whole-request timeout of outgoing calls (above 0).",
    ..number!(seconds DEFAULT_HTTP_TIMEOUT_SECONDS, up_to(MAX_HTTP_TIMEOUT_SECONDS))
};
/// `AUTHZ_ROUTES`.
pub const ROUTES: Setting = Setting {
    variable: "AUTHZ_ROUTES",
    key: "routes",
    kind: Kind::Json,
    doc: "Route rules; unset: any valid token may use any route.",
    ..ROW
};
/// `AUTHZ_ROUTE_SETS`.
pub const ROUTE_SETS: Setting = Setting {
    variable: "AUTHZ_ROUTE_SETS",
    key: "route_sets",
    kind: Kind::Json,
    default: Some("none"),
    doc: "Named rule sets a stage selects with the stage variable `authzRouteSet`.",
    ..ROW
};
/// `AUTHZ_TOKEN_HEADER`.
pub const TOKEN_HEADER: Setting = Setting {
    variable: "AUTHZ_TOKEN_HEADER",
    key: "token_header",
    default: Some(DEFAULT_TOKEN_HEADER),
    doc: "Header carrying the token (REQUEST and HTTP authorizers).",
    ..ROW
};
/// `AUTHZ_TOKEN_QUERY_PARAM`.
pub const TOKEN_QUERY_PARAM: Setting = Setting {
    variable: "AUTHZ_TOKEN_QUERY_PARAM",
    key: "token_query_param",
    doc: "Query parameter that may carry the token instead (RFC 6750 §2.3).",
    ..ROW
};
/// `AUTHZ_BIND_HEADER`.
pub const BIND_HEADER: Setting = Setting {
    variable: "AUTHZ_BIND_HEADER",
    key: "bind_header",
    doc: "Identity binding: this request header must equal the claim `AUTHZ_BIND_CLAIM`.",
    ..ROW
};
/// `AUTHZ_BIND_CLAIM`.
pub const BIND_CLAIM: Setting = Setting {
    variable: "AUTHZ_BIND_CLAIM",
    key: "bind_claim",
    doc: "Identity binding: the claim the header `AUTHZ_BIND_HEADER` must equal.",
    ..ROW
};
/// `AUTHZ_USAGE_IDENTIFIER_CLAIM`.
pub const USAGE_IDENTIFIER_CLAIM: Setting = Setting {
    variable: "AUTHZ_USAGE_IDENTIFIER_CLAIM",
    key: "usage_identifier_claim",
    doc: "Claim whose value becomes `usageIdentifierKey` (REST usage plans).",
    ..ROW
};
/// `AUTHZ_TOKEN_FORMAT`.
pub const TOKEN_FORMAT: Setting = Setting {
    variable: "AUTHZ_TOKEN_FORMAT",
    key: "issuers[].token_format",
    default: Some("jwt, or auto with an introspection secret"),
    doc: "`jwt`, `opaque` (always introspect) or `auto` (by the token's shape).",
    ..ROW
};
/// `AUTHZ_INTROSPECTION_SECRET_ARN`.
pub const INTROSPECTION_SECRET_ARN: Setting = Setting {
    variable: "AUTHZ_INTROSPECTION_SECRET_ARN",
    key: "issuers[].introspection.secret_arn",
    doc: "Secrets Manager secret holding the introspection client credentials.",
    ..ROW
};
/// `AUTHZ_INTROSPECTION_ENDPOINT`.
pub const INTROSPECTION_ENDPOINT: Setting = Setting {
    variable: "AUTHZ_INTROSPECTION_ENDPOINT",
    key: "issuers[].introspection.endpoint",
    default: Some("discovery"),
    doc: "RFC 7662 endpoint, instead of discovery's `introspection_endpoint`.",
    ..ROW
};
/// `AUTHZ_INTROSPECTION_AUTH`.
pub const INTROSPECTION_AUTH: Setting = Setting {
    variable: "AUTHZ_INTROSPECTION_AUTH",
    key: "issuers[].introspection.auth",
    default: Some(DEFAULT_INTROSPECTION_AUTH.name()),
    doc: "`client_secret_basic`, `client_secret_post` or `bearer`.",
    ..ROW
};
/// `AUTHZ_INTROSPECTION_TOKEN_ENDPOINT`.
pub const INTROSPECTION_TOKEN_ENDPOINT: Setting = Setting {
    variable: "AUTHZ_INTROSPECTION_TOKEN_ENDPOINT",
    key: "issuers[].introspection.token_endpoint",
    default: Some("discovery"),
    doc: "Token endpoint of the `bearer` mode, instead of discovery's.",
    ..ROW
};
/// `issuers[].introspection.scope` (document only).
pub const INTROSPECTION_SCOPE: Setting = Setting {
    key: "issuers[].introspection.scope",
    doc: "Scope asked with the client-credentials grant of the `bearer` mode.",
    ..ROW
};
/// `AUTHZ_INTROSPECTION_CACHE_SECONDS`.
pub const INTROSPECTION_CACHE_SECONDS: Setting = Setting {
    variable: "AUTHZ_INTROSPECTION_CACHE_SECONDS",
    key: "issuers[].introspection.cache_ttl_seconds",
    doc: "Upper bound on reusing an active answer (also bounded by the token's `exp`).",
    ..number!(seconds DEFAULT_INTROSPECTION_CACHE_SECONDS, up_to(MAX_INTROSPECTION_CACHE_SECONDS))
};
/// `AUTHZ_INTROSPECTION_NEGATIVE_CACHE_SECONDS`.
pub const INTROSPECTION_NEGATIVE_CACHE_SECONDS: Setting = Setting {
    variable: "AUTHZ_INTROSPECTION_NEGATIVE_CACHE_SECONDS",
    key: "issuers[].introspection.negative_ttl_seconds",
    doc: "How long an inactive answer is reused.",
    ..number!(seconds DEFAULT_INTROSPECTION_NEGATIVE_CACHE_SECONDS, up_to(MAX_INTROSPECTION_CACHE_SECONDS))
};
/// `issuers[].introspection.max_entries` (document only).
pub const INTROSPECTION_MAX_ENTRIES: Setting = Setting {
    key: "issuers[].introspection.max_entries",
    doc: "Most introspection answers kept in memory.",
    ..number!(count DEFAULT_INTROSPECTION_MAX_ENTRIES, between(MIN_INTROSPECTION_MAX_ENTRIES, MAX_INTROSPECTION_MAX_ENTRIES))
};
/// `AUTHZ_CA_BUNDLE`.
pub const CA_BUNDLE: Setting = Setting {
    variable: "AUTHZ_CA_BUNDLE",
    key: "http.ca_bundle",
    doc: "PEM file of extra trusted CA certificates, for every outgoing call.",
    ..ROW
};
/// `AUTHZ_TLS_ROOTS`.
pub const TLS_ROOTS: Setting = Setting {
    variable: "AUTHZ_TLS_ROOTS",
    key: "http.tls_roots",
    default: Some(DEFAULT_TLS_ROOTS.name()),
    doc: "Public roots trusted by discovery, JWKS and introspection calls: `builtin` (Mozilla's, compiled in) or `system` (the platform store, read at cold start).",
    ..ROW
};
/// `AUTHZ_CONFIG`.
pub const CONFIG: Setting = Setting {
    variable: "AUTHZ_CONFIG",
    kind: Kind::Document,
    doc: "The whole configuration as one JSON document.",
    ..ROW
};
/// `AUTHZ_CONFIG_FILE`.
pub const CONFIG_FILE: Setting = Setting {
    variable: "AUTHZ_CONFIG_FILE",
    kind: Kind::DocumentFile,
    doc: "Path of a file holding that document (not both).",
    ..ROW
};

/// Every setting with a flat variable, in the README's order.
pub const SETTINGS: &[Setting] = &[
    ISSUER,
    AUDIENCE,
    CLIENT_ID,
    TENANTS,
    JWKS_URI,
    ALGORITHMS,
    LEEWAY_SECONDS,
    REQUIRED_TYP,
    ACCEPT_ID_TOKENS,
    SCOPE_CLAIMS,
    CONTEXT_CLAIMS,
    ALLOWED_API_ARNS,
    ACCEPT_BARE_TOKEN,
    MAX_TOKEN_BYTES,
    JWKS_MIN_TTL_SECONDS,
    JWKS_MAX_TTL_SECONDS,
    JWKS_DEFAULT_TTL_SECONDS,
    JWKS_STALE_SECONDS,
    JWKS_COOLDOWN_SECONDS,
    JWKS_MAX_BYTES,
    HTTP_CONNECT_TIMEOUT_SECONDS,
    HTTP_TIMEOUT_SECONDS,
    ROUTES,
    ROUTE_SETS,
    TOKEN_HEADER,
    TOKEN_QUERY_PARAM,
    BIND_HEADER,
    BIND_CLAIM,
    USAGE_IDENTIFIER_CLAIM,
    TOKEN_FORMAT,
    INTROSPECTION_SECRET_ARN,
    INTROSPECTION_ENDPOINT,
    INTROSPECTION_AUTH,
    INTROSPECTION_TOKEN_ENDPOINT,
    INTROSPECTION_CACHE_SECONDS,
    INTROSPECTION_NEGATIVE_CACHE_SECONDS,
    CA_BUNDLE,
    TLS_ROOTS,
    CONFIG,
    CONFIG_FILE,
];

/// Settings only the document can set (no flat variable).
pub const DOCUMENT_ONLY_SETTINGS: &[Setting] = &[INTROSPECTION_SCOPE, INTROSPECTION_MAX_ENTRIES];

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use std::collections::{BTreeMap, HashSet};

    use super::*;

    fn every_row() -> impl Iterator<Item = &'static Setting> {
        SETTINGS.iter().chain(DOCUMENT_ONLY_SETTINGS)
    }

    #[test]
    fn rows_are_unique_and_numbers_document_their_constant() {
        let mut variables = HashSet::new();
        let mut keys = HashSet::new();
        for s in every_row() {
            assert!(
                s.variable.is_empty() || variables.insert(s.variable),
                "{s:?}"
            );
            assert!(s.key.is_empty() || keys.insert(s.key), "{s:?}");
            assert!(!s.doc.is_empty(), "{s:?}");
            let numeric = matches!(s.kind, Kind::Seconds | Kind::Count);
            assert_eq!(numeric, s.number.is_some(), "{s:?}");
            assert_eq!(numeric, s.bounds.is_some(), "{s:?}");
            if let (Some(n), Some(b)) = (s.number, s.bounds) {
                assert_eq!(s.default, Some(n.to_string().as_str()), "{s:?}");
                assert!(b.min <= n && n <= b.max, "{s:?}");
            }
        }
        for s in SETTINGS {
            assert!(s.variable.starts_with("AUTHZ_"), "{s:?}");
        }
        for s in DOCUMENT_ONLY_SETTINGS {
            assert!(s.variable.is_empty() && !s.key.is_empty(), "{s:?}");
        }
        assert_eq!(ACCEPT_BARE_TOKEN.default, Some("false"));
        assert_eq!(ACCEPT_ID_TOKENS.default, Some("false"));
        assert_eq!(
            SCOPE_CLAIMS.default,
            Some(crate::claims::DEFAULT_SCOPE_CLAIMS.join(",").as_str())
        );
        assert_eq!(JWKS_MAX_BYTES.default, Some("150000"));
        assert_eq!(INTROSPECTION_AUTH.default, Some("client_secret_basic"));
    }

    #[test]
    fn bounds_and_defaults_are_applied_with_the_setting_named() {
        assert_eq!(
            LEEWAY_SECONDS.seconds(None, "X"),
            Ok(Duration::from_secs(DEFAULT_LEEWAY_SECONDS))
        );
        assert_eq!(
            LEEWAY_SECONDS.seconds(Some(300.0), "X"),
            Ok(Duration::from_secs(300))
        );
        let e = LEEWAY_SECONDS.seconds(Some(300.5), "X").unwrap_err().0;
        assert_eq!(e, "X: must be between 0 and 300 seconds, got 300.5");
        assert_eq!(
            MAX_TOKEN_BYTES.count(None, "X"),
            Ok(DEFAULT_MAX_TOKEN_BYTES)
        );
        assert_eq!(MAX_TOKEN_BYTES.count(Some(256), "X"), Ok(256));
        let e = MAX_TOKEN_BYTES.count(Some(255), "X").unwrap_err().0;
        assert_eq!(e, "X: must be between 256 and 65536");
        let e = JWKS_MAX_BYTES.count(Some(1023), "X").unwrap_err().0;
        assert_eq!(e, "X: at least 1024");
        assert_eq!(JWKS_MAX_BYTES.count(Some(usize::MAX), "X"), Ok(usize::MAX));
    }

    /// The README's configuration table, `variable or key` → its cells (variable, key, default).
    fn readme_rows() -> BTreeMap<String, [String; 3]> {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md");
        let readme = std::fs::read_to_string(path).unwrap();
        let section = readme
            .split("\n## Configuration\n")
            .nth(1)
            .and_then(|s| s.split("\n## ").next())
            .expect("README has a `## Configuration` section");
        let mut rows = BTreeMap::new();
        for line in section.lines().filter(|l| l.starts_with("| ")) {
            let cells: Vec<String> = line
                .trim_matches('|')
                .split(" | ")
                .map(|c| c.trim().to_owned())
                .collect();
            let [variable, key, default, _meaning] = cells.as_slice() else {
                continue;
            };
            let id = match (variable.as_str(), key.as_str()) {
                (v, _) if v.starts_with("`AUTHZ_") => v.trim_matches('`').to_owned(),
                ("—", k) if k.starts_with('`') => k.trim_matches('`').to_owned(),
                _ => continue, // the header row, AWS_LAMBDA_* (read by authz-lambda)
            };
            let row = [variable.clone(), key.clone(), default.clone()];
            assert!(rows.insert(id, row).is_none(), "README lists twice: {line}");
        }
        rows
    }

    #[test]
    fn readme_configuration_table_matches_the_settings_table() {
        let mut readme = readme_rows();
        for s in every_row() {
            let id = if s.variable.is_empty() {
                s.key
            } else {
                s.variable
            };
            let Some([variable, key, default]) = readme.remove(id) else {
                panic!("README's configuration table has no row for {id}");
            };
            let quoted = |t: &str| {
                if t.is_empty() {
                    "—".to_owned()
                } else {
                    format!("`{t}`")
                }
            };
            assert_eq!(variable, quoted(s.variable), "{id}: variable");
            let mut want_key = quoted(s.key);
            if s.also_per_issuer {
                want_key.push_str(&format!(" (or `issuers[].{}`)", s.key));
            }
            assert_eq!(key, want_key, "{id}: key");
            assert_eq!(
                default.replace('`', ""),
                s.default.unwrap_or("unset"),
                "{id}: default"
            );
        }
        assert!(
            readme.is_empty(),
            "README rows without a setting: {:?}",
            readme.keys()
        );
    }
}
