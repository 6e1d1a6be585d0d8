//! The settings table: every configuration setting declared once. A declaration gives the
//! flat variable (`AUTHZ_` and its name), the key in the `AUTHZ_CONFIG` document (its section
//! and field) and that field in the document's schema, the kind of value, the default (a named
//! constant for numbers), the bounds, and the doc, which is the README's "meaning" cell: the
//! README's configuration table is rendered from these rows (ARCHITECTURE.md, "How to add a
//! setting"). The macro, `settings!`, is in [`super::declare`].
//!
//! The rows drive the parser: the merge of flat variables into the document ([`super::env`]),
//! how a flat value is read ([`Kind`]), the schema it is deserialized into, and the defaults and
//! bounds applied when the document is validated ([`super::build`]).

use std::collections::HashMap;

use super::build::RawRule;
use super::declare::{Kind, Setting, between, bool_text, settings, up_to};
use crate::dpop::SenderConstraint;
use crate::introspect::ClientAuth;
use crate::outbound::TlsRoots;

// Defaults and bounds shared or used outside a number's declaration, named. Seconds are whole
// numbers here (the parser accepts fractions).

/// Largest clock-skew allowance.
pub const MAX_LEEWAY_SECONDS: u64 = 300;
/// Default of `AUTHZ_ACCEPT_BARE_TOKEN`.
pub const DEFAULT_ACCEPT_BARE_TOKEN: bool = false;
/// Default of `AUTHZ_ACCEPT_ID_TOKENS`.
pub const DEFAULT_ACCEPT_ID_TOKENS: bool = false;
/// Default of `AUTHZ_SCOPE_CLAIMS`, as documented (the list is `claims::DEFAULT_SCOPE_CLAIMS`).
pub const DEFAULT_SCOPE_CLAIMS_TEXT: &str = "scope,scp";
/// Smallest value of `AUTHZ_MAX_TOKEN_BYTES`.
pub const MIN_MAX_TOKEN_BYTES: usize = 256;
/// Largest value of `AUTHZ_MAX_TOKEN_BYTES`.
pub const MAX_MAX_TOKEN_BYTES: usize = 65_536;
/// Largest value of each JWKS lifetime setting (one day).
pub const MAX_JWKS_TTL_SECONDS: u64 = 86_400;
/// Largest stale-serving allowance (a week).
pub const MAX_JWKS_STALE_SECONDS: u64 = 7 * 86_400;
/// Largest fetch cool-down.
pub const MAX_JWKS_COOLDOWN_SECONDS: u64 = 3_600;
/// Smallest value of `AUTHZ_JWKS_MAX_BYTES`.
pub const MIN_JWKS_MAX_BYTES: usize = 1_024;
/// Largest timeout: inside API Gateway's 10 s authorizer budget.
pub const MAX_HTTP_TIMEOUT_SECONDS: u64 = 9;
/// Default of `AUTHZ_TLS_ROOTS`: nothing to read or parse at cold start (BENCHMARKS.md).
pub const DEFAULT_TLS_ROOTS: TlsRoots = TlsRoots::Builtin;
/// Default of `AUTHZ_SENDER_CONSTRAINED`: bound tokens refused, caching allowed.
pub const DEFAULT_SENDER_CONSTRAINED: SenderConstraint = SenderConstraint::Off;
/// The value of `AUTHZ_PROFILE` for the FAPI 2.0 security profile.
pub const PROFILE_FAPI2: &str = "fapi2";
/// Largest value of `AUTHZ_DPOP_MAX_AGE_SECONDS`.
pub const MAX_DPOP_MAX_AGE_SECONDS: u64 = 300;
/// Default header carrying the token (lower-case).
pub const DEFAULT_TOKEN_HEADER: &str = "authorization";
/// Default client authentication at the introspection endpoint.
pub const DEFAULT_INTROSPECTION_AUTH: ClientAuth = ClientAuth::ClientSecretBasic;
/// Largest value of each introspection cache lifetime.
pub const MAX_INTROSPECTION_CACHE_SECONDS: u64 = 3_600;
/// Smallest value of `issuers[].introspection.max_entries`.
pub const MIN_INTROSPECTION_MAX_ENTRIES: usize = 1;
/// Largest value of `issuers[].introspection.max_entries`.
pub const MAX_INTROSPECTION_MAX_ENTRIES: usize = 1_000_000;

settings! {
    /// Expected `iss`; comma-separated for several issuers. Keys come from
    /// `{issuer}/.well-known/openid-configuration`.
    /// `https://cognito-idp.us-east-1.amazonaws.com/us-east-1_AbCd`. Exact string, trailing `/`
    /// included (Auth0). A `{tenantid}` template needs `AUTHZ_TENANTS`.
    ISSUER: issuer.issuer: String, Issuers ~ "required";
    /// Comma-separated; the token's `aud` (string or array) must contain one. `petstore,admin-api`.
    /// With only `AUTHZ_CLIENT_ID` set, `aud` is not required (Cognito access tokens have none).
    AUDIENCE: both.audiences: Option<Vec<String>>, List ~ "required, unless `AUTHZ_CLIENT_ID`";
    /// Comma-separated clients; every client claim the token has (`client_id`, `azp`, `cid`,
    /// `appid`; at least one) must be one. With both this and `AUTHZ_AUDIENCE`, both must hold.
    /// See [Identity providers](#identity-providers).
    CLIENT_ID: both.client_ids: Option<Vec<String>>, List ~ "any";
    /// Tenant ids accepted by an issuer template containing `{tenantid}` (Entra ID multi-tenant):
    /// one issuer per tenant, and `tid` must equal it. Required with a template; there is no
    /// any-tenant value.
    TENANTS: both.tenants: Option<Vec<String>>, List ~ "none";
    /// Skips discovery. One URI with a single issuer, or `issuer=uri` pairs, comma-separated.
    JWKS_URI: issuer.jwks_uri: Option<String>, JwksUris ~ "discovery";
    /// Allow-list, e.g. `RS256,ES256`. `none`/`HS*` are refused.
    ALGORITHMS: both.algorithms: Option<Vec<String>>, List ~ "all asymmetric";
    /// Clock skew allowed for `exp`, `nbf`, `iat`.
    LEEWAY_SECONDS: top.leeway_seconds: Option<f64>, Seconds {
        DEFAULT_LEEWAY_SECONDS = 5, up_to(MAX_LEEWAY_SECONDS)
    };
    /// RFC 9068 mode: `at+jwt` requires header `typ` `at+jwt` / `application/at+jwt`.
    REQUIRED_TYP: top.required_typ: Option<String>, Text;
    /// Also accept OIDC ID tokens (a downgrade, see SECURITY.md). Tokens that say they are not
    /// access tokens (Cognito `token_use` ≠ `access`, Keycloak `typ` ≠ `Bearer`, a header `typ`
    /// other than `JWT`/`at+jwt`, `nonce`/`at_hash`) are refused by default (`not_access_token`).
    ACCEPT_ID_TOKENS: top.accept_id_tokens: Option<bool>, Bool
        = bool_text(DEFAULT_ACCEPT_ID_TOKENS);
    /// Claims whose values are the token's scopes (route `scopes`, `authzScopes`, context `scope`),
    /// each a space-delimited string or an array, e.g. `scope,permissions` (Auth0), `scp,roles`
    /// (Entra ID), `scope,cognito:groups`. Names as in route rules (a `/…` name is a JSON Pointer).
    SCOPE_CLAIMS: both.scope_claims: Option<Vec<String>>, List = DEFAULT_SCOPE_CLAIMS_TEXT;
    /// Extra claims copied into the authorizer `context`, e.g. `email,groups`. A name starting with
    /// `/` is an RFC 6901 JSON Pointer (`/realm_access/roles`; the context key is the name as
    /// written); any other name is a literal top-level claim (`cognito:groups`,
    /// `https://example.com/roles`).
    CONTEXT_CLAIMS: top.context_claims: Option<Vec<String>>, List ~ "none";
    /// APIs this authorizer may grant: `arn:aws:execute-api:REGION:ACCOUNT:API_ID[/STAGE]`,
    /// comma-separated. Others get Deny.
    ALLOWED_API_ARNS: top.allowed_api_arns: Option<Vec<String>>, List ~ "any";
    /// Also accept a token without `Bearer ` (the API Gateway console's *Test* sends one).
    ACCEPT_BARE_TOKEN: top.accept_bare_token: Option<bool>, Bool
        = bool_text(DEFAULT_ACCEPT_BARE_TOKEN);
    /// Longer tokens are refused before decoding.
    MAX_TOKEN_BYTES: top.max_token_bytes: Option<usize>, Count {
        DEFAULT_MAX_TOKEN_BYTES = 8192, between(MIN_MAX_TOKEN_BYTES, MAX_MAX_TOKEN_BYTES)
    };
    /// Lower bound on the JWKS lifetime from `Cache-Control: max-age` / `Expires`.
    JWKS_MIN_TTL_SECONDS: jwks.min_ttl_seconds: Option<f64>, Seconds {
        DEFAULT_JWKS_MIN_TTL_SECONDS = 60, up_to(MAX_JWKS_TTL_SECONDS)
    };
    /// Upper bound: a key removed at the IdP stops working at most this long after.
    JWKS_MAX_TTL_SECONDS: jwks.max_ttl_seconds: Option<f64>, Seconds {
        DEFAULT_JWKS_MAX_TTL_SECONDS = 3_600, up_to(MAX_JWKS_TTL_SECONDS)
    };
    /// Lifetime when the JWKS response has no caching headers.
    JWKS_DEFAULT_TTL_SECONDS: jwks.default_ttl_seconds: Option<f64>, Seconds {
        DEFAULT_JWKS_DEFAULT_TTL_SECONDS = 600, up_to(MAX_JWKS_TTL_SECONDS)
    };
    /// How long past expiry cached keys keep serving while the IdP fails.
    JWKS_STALE_SECONDS: jwks.stale_seconds: Option<f64>, Seconds {
        DEFAULT_JWKS_STALE_SECONDS = 3_600, up_to(MAX_JWKS_STALE_SECONDS)
    };
    /// Per issuer: no JWKS or discovery fetch for this long after a failed lookup (a `kid` still
    /// unknown after a refetch) or a failed fetch; routine refreshes at least this far apart. The
    /// first unknown `kid` after a good fetch triggers one refetch (key rotation).
    JWKS_COOLDOWN_SECONDS: jwks.cooldown_seconds: Option<f64>, Seconds {
        DEFAULT_JWKS_COOLDOWN_SECONDS = 10, up_to(MAX_JWKS_COOLDOWN_SECONDS)
    };
    /// Largest JWKS / discovery body accepted.
    JWKS_MAX_BYTES: jwks.max_bytes: Option<usize>, Count {
        DEFAULT_JWKS_MAX_BYTES = 150_000, between(MIN_JWKS_MAX_BYTES, usize::MAX)
    };
    /// Connect timeout for discovery and JWKS; above 0.
    HTTP_CONNECT_TIMEOUT_SECONDS: http.connect_timeout_seconds: Option<f64>, Seconds {
        DEFAULT_HTTP_CONNECT_TIMEOUT_SECONDS = 1, up_to(MAX_HTTP_TIMEOUT_SECONDS)
    };
    /// Whole-request timeout, inside API Gateway's 10 s authorizer budget; above 0.
    HTTP_TIMEOUT_SECONDS: http.timeout_seconds: Option<f64>, Seconds {
        DEFAULT_HTTP_TIMEOUT_SECONDS = 2, up_to(MAX_HTTP_TIMEOUT_SECONDS)
    };
    /// Sender-constrained tokens (REQUEST and HTTP authorizers, caching off; see
    /// [DPoP and certificate-bound tokens](#dpop-and-certificate-bound-tokens)): `off` (a token
    /// with `cnf` is refused, the `DPoP` scheme too), `accept` (`Authorization: DPoP` with a
    /// `DPoP` proof for DPoP-bound tokens, the client certificate for certificate-bound ones,
    /// plain bearer tokens still accepted) or `require` (plain bearer tokens refused too).
    SENDER_CONSTRAINED: top.sender_constrained: Option<String>, Text
        = DEFAULT_SENDER_CONSTRAINED.name();
    /// Oldest DPoP proof accepted: its `iat` at most this far in the past (plus the leeway), and
    /// no further in the future than the leeway. Also how long a proof's `jti` is remembered.
    DPOP_MAX_AGE_SECONDS: top.dpop_max_age_seconds: Option<f64>, Seconds {
        DEFAULT_DPOP_MAX_AGE_SECONDS = 60, up_to(MAX_DPOP_MAX_AGE_SECONDS)
    };
    /// `fapi2`: the resource-server requirements of the FAPI 2.0 security profile: sender-constrained
    /// tokens required (`AUTHZ_SENDER_CONSTRAINED` unset means `require`; another value is
    /// refused), tokens and DPoP proofs signed with PS256, ES256 or EdDSA only (`AUTHZ_ALGORITHMS`
    /// unset means those; another is refused), no `AUTHZ_TOKEN_QUERY_PARAM`, no
    /// `AUTHZ_ACCEPT_ID_TOKENS`. RSA keys under 2048 bits are always refused.
    PROFILE: top.profile: Option<String>, Text ~ "none";
    /// Amazon DynamoDB table (name or ARN) where every execution environment records the DPoP
    /// proofs it accepted, so a proof is accepted once across all of them (a conditional put;
    /// partition key `proof` (string), TTL attribute `expires_at`). Needs
    /// `AUTHZ_SENDER_CONSTRAINED` on; unreachable: `dpop_replay_store_unavailable`.
    DPOP_REPLAY_TABLE: top.dpop_replay_table: Option<String>, Text ~ "per-environment only";
    /// Route rules, JSON (see [Route rules](#route-rules)). Unset: any valid token may use any
    /// route.
    ROUTES: top.routes: Option<Vec<RawRule>>, Json;
    /// Named rule sets, JSON object `{"name": [rules]}`; a stage picks one with the stage variable
    /// `authzRouteSet`.
    ROUTE_SETS: top.route_sets: Option<HashMap<String, Vec<RawRule>>>, Json ~ "none";
    /// Cedar policy file (`.cedar`, as Verified Permissions exports policies) deciding the route
    /// rules marked `"cedar": true` (see [Cedar policies](#cedar-policies)). Needs the `cedar`
    /// build feature.
    CEDAR_POLICIES: top.cedar_policies: Option<String>, Text ~ "none";
    /// JSON file of template-linked policies linking the policy file's templates, as Verified
    /// Permissions lists them (`aws verifiedpermissions list-policies --filter
    /// policyType=TEMPLATE_LINKED`), see [Cedar policies](#cedar-policies). Required when the
    /// policy file holds templates (`[]` for none).
    CEDAR_TEMPLATE_LINKS: top.cedar_template_links: Option<String>, Text ~ "none";
    /// Cedar schema file: Cedar's schema format, or JSON when the name ends in `.json`. Declares
    /// `NS::User`, `NS::UserGroup`, `NS::Application` and an action per Cedar-decided route.
    CEDAR_SCHEMA: top.cedar_schema: Option<String>, Text ~ "required with policies";
    /// The Cedar namespace of the schema's types and actions (Verified Permissions names it
    /// after the API).
    CEDAR_NAMESPACE: top.cedar_namespace: Option<String>, Text ~ "required with policies";
    /// Claim whose values are the principal's `NS::UserGroup` parents, e.g. `cognito:groups`,
    /// `groups`, `/realm_access/roles` (a `/…` name is a JSON Pointer).
    CEDAR_GROUPS_CLAIM: top.cedar_groups_claim: Option<String>, Text ~ "no groups";
    /// Prefix of the principal's and groups' entity ids: Verified Permissions writes
    /// `<userPoolId>|` for a Cognito identity source (`us-east-1_AbCd|`).
    CEDAR_ENTITY_PREFIX: top.cedar_entity_prefix: Option<String>, Text ~ "none";
    /// Header carrying `Bearer <token>` (REQUEST and HTTP authorizers); the CDK app makes it the
    /// identity source, in either spelling.
    TOKEN_HEADER: top.token_header: Option<String>, Text = DEFAULT_TOKEN_HEADER;
    /// Also accept the token in this query parameter (RFC 6750 §2.3 `access_token`), for clients
    /// that cannot set headers. A request with both is refused.
    TOKEN_QUERY_PARAM: top.token_query_param: Option<String>, Text;
    /// Identity binding: this header (e.g. `X-Tenant-Id`) must equal the claim `AUTHZ_BIND_CLAIM`
    /// (e.g. `tenant`), else 403. Set both or neither. REQUEST/HTTP only: a TOKEN authorizer
    /// refuses it at cold start (and `cdk synth`), it sees no other header. The CDK app adds the
    /// header to the identity sources.
    BIND_HEADER: top.bind_header: Option<String>, Text;
    /// Identity binding: the claim the header `AUTHZ_BIND_HEADER` must equal.
    BIND_CLAIM: top.bind_claim: Option<String>, Text;
    /// A claim whose value becomes `usageIdentifierKey` (REST usage plans with API key source
    /// AUTHORIZER). A token whose claim is missing, not a string or shorter than 20 characters
    /// (API Gateway's shortest API key value) is refused: 403, reason `invalid_usage_identifier`.
    USAGE_IDENTIFIER_CLAIM: top.usage_identifier_claim: Option<String>, Text;
    /// `jwt`, `opaque` (always introspect) or `auto` (JWT-shaped → local verification, else
    /// introspection). At most one issuer may take opaque tokens.
    TOKEN_FORMAT: issuer.token_format: Option<String>, Text
        ~ "`jwt`, or `auto` with an introspection secret";
    /// Secrets Manager secret (ARN or name) holding `{"client_id","client_secret"}` for RFC 7662
    /// introspection.
    INTROSPECTION_SECRET_ARN: introspection.secret_arn: Option<String>, Text;
    /// Overrides `introspection_endpoint` from discovery.
    INTROSPECTION_ENDPOINT: introspection.endpoint: Option<String>, Text ~ "discovery";
    /// `client_secret_basic`, `client_secret_post`, or `bearer` (a client-credentials access token,
    /// cached until it expires, sent as `Authorization: Bearer`).
    INTROSPECTION_AUTH: introspection.auth: Option<String>, Text
        = DEFAULT_INTROSPECTION_AUTH.name();
    /// Token endpoint for the `bearer` mode.
    INTROSPECTION_TOKEN_ENDPOINT: introspection.token_endpoint: Option<String>, Text ~ "discovery";
    /// Scope asked with the client-credentials grant of the `bearer` mode.
    document INTROSPECTION_SCOPE: introspection.scope: Option<String>, Text;
    /// Active answers are reused until the earlier of this and the token's `exp`. A revoked token
    /// keeps working up to this plus API Gateway's `cacheTtlSeconds` ([What the caches cannot
    /// see](#what-the-caches-cannot-see)).
    INTROSPECTION_CACHE_SECONDS: introspection.cache_ttl_seconds: Option<f64>, Seconds {
        DEFAULT_INTROSPECTION_CACHE_SECONDS = 300, up_to(MAX_INTROSPECTION_CACHE_SECONDS)
    };
    /// Inactive answers are reused this long.
    INTROSPECTION_NEGATIVE_CACHE_SECONDS: introspection.negative_ttl_seconds: Option<f64>, Seconds {
        DEFAULT_INTROSPECTION_NEGATIVE_CACHE_SECONDS = 10,
        up_to(MAX_INTROSPECTION_CACHE_SECONDS)
    };
    /// Most introspection answers kept in memory.
    document INTROSPECTION_MAX_ENTRIES: introspection.max_entries: Option<usize>, Count {
        DEFAULT_INTROSPECTION_MAX_ENTRIES = 10_000,
        between(MIN_INTROSPECTION_MAX_ENTRIES, MAX_INTROSPECTION_MAX_ENTRIES)
    };
    /// PEM file of extra trusted CAs (an IdP behind a private CA), used by discovery, JWKS and
    /// introspection calls.
    CA_BUNDLE: http.ca_bundle: Option<String>, Text;
    /// The public roots trusted by discovery, JWKS and introspection calls: `builtin`, Mozilla's
    /// root store compiled into the binary (webpki-roots, as Node.js bundles its own), nothing read
    /// at cold start; or `system`, the platform's store (`/etc/pki/tls/certs` on Lambda's Amazon
    /// Linux), read and parsed at every cold start (BENCHMARKS.md, "Lambda-sized", measures both).
    /// `AUTHZ_CA_BUNDLE` adds to either. The AWS SDK's Secrets Manager client (introspection
    /// secret) uses the platform store.
    TLS_ROOTS: http.tls_roots: Option<String>, Text = DEFAULT_TLS_ROOTS.name();
    /// The whole configuration as one JSON document (below).
    CONFIG: whole, Document;
    /// Path of a file holding that document (not both). Not through the CDK app: `cdk synth`
    /// cannot read a file of the function's filesystem, and the identity sources come from the
    /// configuration.
    CONFIG_FILE: whole, DocumentFile;
}

#[cfg(test)]
mod tests;
