//! Sender-constrained tokens: DPoP proofs (RFC 9449 §4.3, §7) and certificate-bound tokens
//! (RFC 8705 §3), the resource-server side. Pure: the time is a value, the replay set is memory.
//!
//! A proof is checked on its own ([`verify_proof`]: shape, `typ`, `alg`, public `jwk`, signature,
//! `htm`, `htu`, `iat`, `ath`), then the verified token's `cnf` is matched against what the
//! request proves ([`check_binding`]: the proof key's RFC 7638 thumbprint, the client
//! certificate's SHA-256), and last the proof's `jti` is spent ([`ReplaySet`]).

use std::{collections::HashMap, sync::Mutex};

use aws_lc_rs::digest;
use base64::{
    Engine,
    engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD},
};
use jsonwebtoken::Algorithm;
use serde_json::{Map, Value};

use crate::{alg, bearer::Scheme, error::AuthzError, jwk, jwt::strict_object};

/// Whether sender-constrained tokens are checked (`AUTHZ_SENDER_CONSTRAINED`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SenderConstraint {
    /// The `DPoP` scheme is not accepted and a token carrying `cnf` is refused: checking it needs
    /// every request to reach the authorizer, which a cached answer does not.
    Off,
    /// DPoP-bound tokens need their proof, certificate-bound ones their certificate; unbound
    /// bearer tokens are still accepted.
    Accept,
    /// As `Accept`, and a token bound to nothing is refused.
    Require,
}

impl SenderConstraint {
    /// Every mode, in the order documented.
    pub const ALL: [SenderConstraint; 3] = [
        SenderConstraint::Off,
        SenderConstraint::Accept,
        SenderConstraint::Require,
    ];

    /// Its name in the configuration.
    pub const fn name(self) -> &'static str {
        match self {
            SenderConstraint::Off => "off",
            SenderConstraint::Accept => "accept",
            SenderConstraint::Require => "require",
        }
    }

    /// The mode named `name`.
    pub fn parse(name: &str) -> Option<SenderConstraint> {
        Self::ALL.into_iter().find(|m| m.name() == name)
    }
}

/// The `typ` of a DPoP proof (RFC 9449 §4.2).
pub const PROOF_TYP: &str = "dpop+jwt";

/// Longest `jti` kept in the replay set; a longer one is refused.
pub const MAX_JTI_BYTES: usize = 256;

/// JWK members that only a private (or symmetric) key has (RFC 7518 §6.2.2, §6.3.2, §6.4.1).
const PRIVATE_MEMBERS: [&str; 8] = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

/// The request a proof must be for, as the client sent it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProofTarget {
    /// The HTTP method (`htm`).
    pub method: String,
    /// The URL without query and fragment (`htu`), rebuilt from the event; `None` when the event
    /// does not say (then no proof can match).
    pub url: Option<String>,
}

/// What a proof is checked against besides the request.
#[derive(Debug, Clone, Copy)]
pub struct ProofCheck<'a> {
    /// Now, seconds since the epoch.
    pub now: f64,
    /// Oldest accepted `iat`, in seconds before `now`.
    pub max_age: f64,
    /// Clock skew allowed on `iat` both ways.
    pub leeway: f64,
    /// Algorithms a proof may be signed with (asymmetric only).
    pub algorithms: &'a [Algorithm],
}

/// A verified proof.
#[derive(Debug, Clone, PartialEq)]
pub struct Proof {
    /// The RFC 7638 thumbprint of the proof's key (what `cnf.jkt` must equal).
    pub jkt: String,
    /// The proof's `jti`.
    pub jti: String,
    /// The proof's `iat`.
    pub iat: f64,
}

/// Verifies the DPoP proof `proof` presented with access token `token` for `target`
/// (RFC 9449 §4.3 steps 2 to 12; no server nonce, §8/§9 are not used).
pub fn verify_proof(
    proof: &str,
    token: &str,
    target: &ProofTarget,
    check: &ProofCheck<'_>,
) -> Result<Proof, AuthzError> {
    verify(proof, Some(token), target, check)
}

/// Verifies a DPoP proof sent to an authorization server's token endpoint (RFC 9449 §5): the
/// checks of [`verify_proof`] with every asymmetric algorithm this build verifies, `iat` within
/// `max_age` (and `leeway` either way), and no access token, so no `ath`. The proof's
/// [`Proof::jkt`] is what the issued token's `cnf.jkt` binds it to. For the local mode's dev
/// issuer; the replay of a token request is the issuer's to track.
pub fn verify_token_request_proof(
    proof: &str,
    method: &str,
    url: &str,
    now: f64,
    max_age: f64,
    leeway: f64,
) -> Result<Proof, AuthzError> {
    let target = ProofTarget {
        method: method.to_owned(),
        url: Some(url.to_owned()),
    };
    let check = ProofCheck {
        now,
        max_age,
        leeway,
        algorithms: &alg::SUPPORTED_ALGORITHMS,
    };
    verify(proof, None, &target, &check)
}

/// [`verify_proof`]; `token` `None`: a token request, no `ath` to check.
fn verify(
    proof: &str,
    token: Option<&str>,
    target: &ProofTarget,
    check: &ProofCheck<'_>,
) -> Result<Proof, AuthzError> {
    let malformed = AuthzError::DpopProofInvalid;
    let mut parts = proof.split('.');
    let (Some(h64), Some(p64), Some(s64), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(malformed("not three segments"));
    };
    let decode = |s: &str| URL_SAFE_NO_PAD.decode(s).ok();
    let header = decode(h64)
        .and_then(|b| strict_object(&b))
        .ok_or(malformed("header is not a JSON object"))?;
    let claims = decode(p64)
        .and_then(|b| strict_object(&b))
        .ok_or(malformed("payload is not a JSON object"))?;
    if s64.is_empty() {
        return Err(malformed("empty signature"));
    }
    if !header
        .get("typ")
        .and_then(Value::as_str)
        .is_some_and(|t| t.eq_ignore_ascii_case(PROOF_TYP))
    {
        return Err(malformed("typ is not dpop+jwt"));
    }
    if header.contains_key("crit") {
        return Err(malformed("crit header"));
    }
    let alg = header
        .get("alg")
        .and_then(Value::as_str)
        .and_then(alg::supported)
        .filter(|a| check.algorithms.contains(a))
        .ok_or(AuthzError::DpopAlgorithmNotAllowed)?;
    let Some(Value::Object(jwk)) = header.get("jwk") else {
        return Err(malformed("no jwk header"));
    };
    if PRIVATE_MEMBERS.iter().any(|m| jwk.contains_key(*m)) {
        return Err(AuthzError::DpopPrivateKey);
    }
    let key = jwk::public_key(jwk, check.algorithms).map_err(malformed)?;
    key.check_alg(alg)
        .map_err(|_| malformed("jwk does not fit alg"))?;
    key.verify(s64, &proof.as_bytes()[..h64.len() + 1 + p64.len()], alg)
        .map_err(|_| AuthzError::DpopBadSignature)?;
    let text = |name: &'static str| match claims.get(name) {
        Some(Value::String(s)) if !s.is_empty() => Ok(s.as_str()),
        Some(_) => Err(AuthzError::DpopProofInvalid("a claim has the wrong type")),
        None => Err(AuthzError::DpopProofInvalid("a required claim is missing")),
    };
    let jti = text("jti")?;
    if jti.len() > MAX_JTI_BYTES {
        return Err(malformed("jti too long"));
    }
    if text("htm")? != target.method {
        return Err(AuthzError::DpopMethodMismatch);
    }
    let htu = text("htu")?;
    if !target.url.as_deref().is_some_and(|url| same_url(htu, url)) {
        return Err(AuthzError::DpopUrlMismatch);
    }
    let iat = claims
        .get("iat")
        .and_then(Value::as_f64)
        .ok_or(malformed("iat is missing or not a number"))?;
    if iat > check.now + check.leeway || iat < check.now - check.max_age - check.leeway {
        return Err(AuthzError::DpopStale);
    }
    if let Some(token) = token
        && text("ath")? != access_token_hash(token)
    {
        return Err(AuthzError::DpopAthMismatch);
    }
    Ok(Proof {
        jkt: thumbprint(jwk).map_err(malformed)?,
        jti: jti.to_owned(),
        iat,
    })
}

/// RFC 9449 §4.3 step 9: `htu` equals the request URL, ignoring query and fragment, after
/// RFC 3986 §6.2.2 syntax-based and §6.2.3 scheme-based normalization: the case of scheme and
/// host, the default port and dot segments (the `url` parser), and in the path the case of
/// percent-encodings (`%7e` is `%7E`) and the decoding of percent-encoded unreserved characters
/// (`%7E` is `~`, `%61` is `a`). Other percent-encodings stay distinct from the characters they
/// encode (`%2F` is not `/`, `%3F` not `?`).
///
/// `htu` must be a URI: only RFC 3986 characters, every `%` starting a `%XX`; else it matches
/// nothing. The request's path is what API Gateway passed, which may be decoded (an HTTP API's
/// `rawPath`): there, a character a URI path cannot hold stands for its percent-encoding (a
/// space for `%20`, `?` for `%3F`, a `%` not starting a `%XX` for `%25`).
fn same_url(htu: &str, request: &str) -> bool {
    if !is_uri(htu) {
        return false;
    }
    let parse = |s: &str| {
        url::Url::parse(s).ok().map(|mut u| {
            u.set_query(None);
            u.set_fragment(None);
            u
        })
    };
    match (parse(htu), parse(&encode_request_path(request))) {
        (Some(a), Some(b)) => {
            a.scheme() == b.scheme()
                && a.username() == b.username()
                && a.password() == b.password()
                && a.host() == b.host()
                && a.port_or_known_default() == b.port_or_known_default()
                && normalize_percent_encoding(a.path()) == normalize_percent_encoding(b.path())
        }
        _ => false,
    }
}

/// RFC 3986 §2.3 unreserved characters.
fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-._~".contains(&b)
}

/// Whether `s[i..]` starts with a percent-encoding `%XX`.
fn is_escape(s: &[u8], i: usize) -> bool {
    s.get(i) == Some(&b'%')
        && s.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
        && s.get(i + 2).is_some_and(u8::is_ascii_hexdigit)
}

/// Whether `s` holds only RFC 3986 URI characters (unreserved, reserved, and `%` starting a
/// `%XX`).
fn is_uri(s: &str) -> bool {
    let b = s.as_bytes();
    (0..b.len()).all(|i| match b[i] {
        b'%' => is_escape(b, i),
        c => is_unreserved(c) || b":/?#[]@!$&'()*+,;=".contains(&c),
    })
}

/// The request URL (`https://{host}{path}`, see `event::request_url`) with every byte of its
/// path that a URI path cannot hold percent-encoded: the path is all path (the event keeps the
/// query apart), so a decoded `?` or `#` in it is data, never the start of a query or fragment.
fn encode_request_path(request: &str) -> String {
    let path_at = request
        .find("://")
        .and_then(|s| request[s + 3..].find('/').map(|p| s + 3 + p))
        .unwrap_or(request.len());
    let (origin, path) = request.split_at(path_at);
    let b = path.as_bytes();
    let mut out = String::with_capacity(request.len() + 8);
    out.push_str(origin);
    for (i, &c) in b.iter().enumerate() {
        if is_unreserved(c) || b"/:@!$&'()*+,;=".contains(&c) || (c == b'%' && is_escape(b, i)) {
            out.push(char::from(c));
        } else {
            out.push_str(&format!("%{c:02X}"));
        }
    }
    out
}

/// RFC 3986 §6.2.2.1 and §6.2.2.2 on a serialized (ASCII) path: hex digits of
/// percent-encodings upper-cased, percent-encoded unreserved characters decoded.
fn normalize_percent_encoding(path: &str) -> String {
    let b = path.as_bytes();
    let mut out = String::with_capacity(path.len());
    let mut i = 0;
    while i < b.len() {
        if is_escape(b, i) {
            // Two ASCII hex digits (`is_escape`): always a byte.
            let byte = u8::from_str_radix(&path[i + 1..i + 3], 16).unwrap_or(0);
            if is_unreserved(byte) {
                out.push(char::from(byte));
            } else {
                out.push_str(&format!("%{byte:02X}"));
            }
            i += 3;
        } else {
            out.push(char::from(b[i]));
            i += 1;
        }
    }
    out
}

/// `ath`: base64url of the SHA-256 of the access token's ASCII (RFC 9449 §4.2).
pub fn access_token_hash(token: &str) -> String {
    URL_SAFE_NO_PAD.encode(digest::digest(&digest::SHA256, token.as_bytes()))
}

/// The RFC 7638 JWK thumbprint (SHA-256, base64url): the required members of the key type in
/// lexicographic order, without whitespace. An error says what is missing.
pub fn thumbprint(jwk: &Map<String, Value>) -> Result<String, &'static str> {
    let members: &[&str] = match jwk.get("kty").and_then(Value::as_str) {
        Some("RSA") => &["e", "kty", "n"],
        Some("EC") => &["crv", "kty", "x", "y"],
        Some("OKP") => &["crv", "kty", "x"],
        _ => return Err("jwk key type has no thumbprint here"),
    };
    let mut canonical = String::from("{");
    for (i, name) in members.iter().enumerate() {
        let value = jwk
            .get(*name)
            .and_then(Value::as_str)
            .ok_or("jwk lacks a required member")?;
        if i > 0 {
            canonical.push(',');
        }
        // Names and base64url values need no escaping; serde_json escapes anything else.
        canonical.push_str(&Value::String((*name).to_owned()).to_string());
        canonical.push(':');
        canonical.push_str(&Value::String(value.to_owned()).to_string());
    }
    canonical.push('}');
    Ok(URL_SAFE_NO_PAD.encode(digest::digest(&digest::SHA256, canonical.as_bytes())))
}

/// `x5t#S256` of a certificate: base64url of the SHA-256 of its DER (RFC 8705 §3.1), from the
/// first `CERTIFICATE` block of `pem` (API Gateway's `clientCertPem`). `None` if there is none.
pub fn certificate_thumbprint(pem: &str) -> Option<String> {
    const BEGIN: &str = "-----BEGIN CERTIFICATE-----";
    const END: &str = "-----END CERTIFICATE-----";
    let body = &pem[pem.find(BEGIN)? + BEGIN.len()..];
    let body = &body[..body.find(END)?];
    let b64: String = body.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    let der = STANDARD.decode(b64).ok().filter(|d| !d.is_empty())?;
    Some(URL_SAFE_NO_PAD.encode(digest::digest(&digest::SHA256, &der)))
}

/// RFC 9449 §7.1 and RFC 8705 §3: the token's `cnf` against what the request proves: the
/// verified `proof` (with the `DPoP` scheme) and the thumbprint of the client certificate.
pub fn check_binding(
    mode: SenderConstraint,
    claims: &Map<String, Value>,
    scheme: Scheme,
    proof: Option<&Proof>,
    certificate: Option<&str>,
) -> Result<(), AuthzError> {
    let (jkt, x5t) = match claims.get("cnf") {
        None => (None, None),
        Some(Value::Object(cnf)) => {
            let member = |name| match cnf.get(name) {
                None => Ok(None),
                Some(Value::String(s)) if !s.is_empty() => Ok(Some(s.as_str())),
                Some(_) => Err(AuthzError::InvalidClaim("cnf")),
            };
            let (jkt, x5t) = (member("jkt")?, member("x5t#S256")?);
            if jkt.is_none() && x5t.is_none() {
                // `jwk`, `jku`, `kid` (RFC 7800) or nothing: no confirmation this checks.
                return Err(AuthzError::BoundTokenNotAccepted);
            }
            (jkt, x5t)
        }
        Some(_) => return Err(AuthzError::InvalidClaim("cnf")),
    };
    if jkt.is_some() && scheme == Scheme::Bearer {
        return Err(AuthzError::DpopDowngrade);
    }
    if mode == SenderConstraint::Off && (jkt.is_some() || x5t.is_some()) {
        return Err(AuthzError::BoundTokenNotAccepted);
    }
    if scheme == Scheme::Dpop {
        let proof = proof.ok_or(AuthzError::DpopProofMissing)?;
        let jkt = jkt.ok_or(AuthzError::DpopTokenNotBound)?;
        if jkt != proof.jkt {
            return Err(AuthzError::DpopKeyMismatch);
        }
    }
    if let Some(x5t) = x5t {
        let cert = certificate.ok_or(AuthzError::MtlsCertMissing)?;
        if cert != x5t {
            return Err(AuthzError::MtlsCertMismatch);
        }
    }
    if mode == SenderConstraint::Require && jkt.is_none() && x5t.is_none() {
        return Err(AuthzError::SenderConstraintRequired);
    }
    Ok(())
}

/// The `jti`s of the proofs accepted by this execution environment, each kept until its proof's
/// `iat` leaves the window (then the proof is refused as stale anyway). A per-environment fast
/// path only: concurrent environments do not see each other's (README, "DPoP").
#[derive(Debug, Default)]
pub struct ReplaySet {
    seen: Mutex<Seen>,
}

#[derive(Debug, Default)]
struct Seen {
    /// `jkt` + ` ` + `jti` → when it may be forgotten.
    until: HashMap<String, f64>,
    /// Size at which expired entries are next dropped.
    prune_at: usize,
}

/// Entries kept before the first prune.
const PRUNE_FLOOR: usize = 1_024;

impl ReplaySet {
    /// Records `proof` as used until `forget_after`; false if it was already used (a replay).
    pub fn first_use(&self, proof: &Proof, forget_after: f64, now: f64) -> bool {
        let key = format!("{} {}", proof.jkt, proof.jti);
        // A poisoned lock only means another thread panicked mid-insert: the map is still valid.
        let mut seen = self
            .seen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if seen.until.len() >= seen.prune_at {
            seen.until.retain(|_, until| *until >= now);
            seen.prune_at = (seen.until.len() * 2).max(PRUNE_FLOOR);
        }
        match seen.until.get(&key) {
            Some(until) if *until >= now => false,
            _ => {
                seen.until.insert(key, forget_after);
                true
            }
        }
    }
}

#[cfg(test)]
mod tests;
