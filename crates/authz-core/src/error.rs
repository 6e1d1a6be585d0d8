//! One error type for every way a request can fail, and the one mapping from cause to verdict;
//! the cold-start configuration error. Pure.

use std::fmt;

/// A configuration error found at cold start. Its message names the variable at fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError(pub String);

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "configuration error: {}", self.0)
    }
}
impl std::error::Error for ConfigError {}

/// What API Gateway must answer for an error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// 401: the error message is exactly `Unauthorized` (REST) / not reached for HTTP APIs.
    Unauthorized,
    /// 403: a policy without Allow (REST) or `isAuthorized: false` (HTTP API).
    Forbidden,
    /// 500: any other error reported to the Lambda runtime.
    Internal,
}

/// Why a request was not allowed, named by cause.
///
/// Each variant has a stable machine-readable [`reason`](AuthzError::reason) that goes to the
/// decision log, and exactly one [`Verdict`]. Messages never contain the token or a secret.
#[non_exhaustive]
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum AuthzError {
    /// No credential in the identity source.
    #[error("no token in the request")]
    MissingToken,
    /// The Authorization value is not `Bearer <token>` (or a bare token when allowed).
    #[error("the authorization value is not a single bearer credential")]
    BadScheme,
    /// More than one credential: several Authorization values, or a header and a query token
    /// at once (RFC 6750 §2: a client uses one method only).
    #[error("more than one credential in the request")]
    MultipleCredentials,
    /// The token is longer than the configured maximum; it was not decoded.
    #[error("token longer than {max} bytes")]
    TokenTooLarge {
        /// Configured maximum.
        max: usize,
    },
    /// Not three strict base64url segments of JSON objects.
    #[error("malformed token: {0}")]
    Malformed(&'static str),
    /// `alg` not in the allow-list (includes `none` and every HMAC algorithm).
    #[error("algorithm not allowed")]
    AlgorithmNotAllowed,
    /// A `crit` header names an extension this verifier does not implement.
    #[error("unsupported critical header parameter")]
    UnsupportedCrit,
    /// The token header has no `kid`.
    #[error("token header has no kid")]
    MissingKid,
    /// `iss` is not a configured issuer (a JWT), or an introspection answer names another
    /// issuer. A missing or non-string `iss` is [`MissingClaim`](Self::MissingClaim) /
    /// [`InvalidClaim`](Self::InvalidClaim) `("iss")`.
    #[error("issuer not accepted")]
    UnknownIssuer,
    /// No key with this `kid` in the issuer's JWKS (after at most one refetch).
    #[error("no key for the token's kid")]
    KidNotFound,
    /// The key found by `kid` cannot be used with the token's `alg` (kty, crv or JWK alg differ).
    #[error("key does not match the token algorithm")]
    KeyAlgorithmMismatch,
    /// The issuer's keys are not available (never fetched, or past the stale bound).
    #[error("signing keys unavailable")]
    JwksUnavailable,
    /// The introspection endpoint says the (opaque) token is not active.
    #[error("token not active")]
    InactiveToken,
    /// No usable introspection answer (IdP down, slow, 5xx, not JSON, our client rejected).
    #[error("introspection unavailable")]
    IntrospectionFailed,
    /// The signature does not verify.
    #[error("bad signature")]
    BadSignature,
    /// `exp` is in the past (beyond the leeway).
    #[error("token expired")]
    Expired,
    /// `nbf` is in the future (beyond the leeway).
    #[error("token not yet valid")]
    NotYetValid,
    /// `iat` is in the future (beyond the leeway).
    #[error("token issued in the future")]
    IssuedInFuture,
    /// A required claim is absent.
    #[error("missing claim {0}")]
    MissingClaim(&'static str),
    /// A claim has the wrong JSON type or an invalid value.
    #[error("invalid claim {0}")]
    InvalidClaim(&'static str),
    /// `aud` contains none of the configured audiences.
    #[error("audience not accepted")]
    AudienceMismatch,
    /// The token's client claim (`client_id`, `azp`, `cid`, `appid`) is not a configured client.
    #[error("client not accepted")]
    ClientMismatch,
    /// The token says it is not an access token: an ID token (unless accepted), a refresh or
    /// logout token, a header `typ` other than `JWT` / `at+jwt`; or an introspection answer
    /// says so (`token_type`, `token_use`, `typ` of a refresh or ID token).
    #[error("not an access token")]
    NotAccessToken,
    /// The header `typ` is not the required one (RFC 9068 mode).
    #[error("token type not accepted")]
    WrongType,
    /// Valid token, but it has none of the scopes the route needs.
    #[error("insufficient scope")]
    InsufficientScope,
    /// Valid token, but a claim the route requires does not match.
    #[error("claim requirement not met")]
    ClaimMismatch,
    /// Valid token, but the route's Cedar policies do not permit it (no `permit` applies, a
    /// `forbid` does, or a policy's evaluation erred: fail closed).
    #[error("denied by the Cedar policies")]
    PolicyDenied,
    /// Valid token, but no route rule permits this route.
    #[error("route not permitted")]
    RouteNotAllowed,
    /// The request targets an API this authorizer may not grant (API ARN allow-list).
    #[error("API not in the allow-list")]
    ApiNotAllowed,
    /// Valid token, but the usage-identifier claim (`AUTHZ_USAGE_IDENTIFIER_CLAIM`) is missing,
    /// not a string, or shorter than API Gateway's shortest API key value (`MIN_API_KEY_LENGTH`,
    /// 20 characters): no API key can match it.
    #[error("usage identifier claim missing, not a string or too short for an API key")]
    UsageIdentifierInvalid,
    /// The `DPoP` scheme without a `DPoP` proof header.
    #[error("DPoP proof missing")]
    DpopProofMissing,
    /// A DPoP proof that is not well formed (RFC 9449 §4.3 steps 1 to 4): not one JWS with a JSON header
    /// and claims, `typ` not `dpop+jwt`, a `crit` header, no usable public `jwk`, a required claim
    /// (`jti`, `htm`, `htu`, `iat`, `ath`) missing; or several `DPoP` headers.
    #[error("malformed DPoP proof: {0}")]
    DpopProofInvalid(&'static str),
    /// The proof's `alg` is not an allowed asymmetric algorithm (`none`, `HS256`, ...).
    #[error("DPoP proof algorithm not allowed")]
    DpopAlgorithmNotAllowed,
    /// The proof's `jwk` carries a private or symmetric key member (`d`, `p`, `k`, ...).
    #[error("DPoP proof carries a private key")]
    DpopPrivateKey,
    /// The proof's signature does not verify with its `jwk`.
    #[error("bad DPoP proof signature")]
    DpopBadSignature,
    /// The proof's `htm` is not the request's method.
    #[error("DPoP proof for another method")]
    DpopMethodMismatch,
    /// The proof's `htu` is not the request's URL (without query and fragment).
    #[error("DPoP proof for another URL")]
    DpopUrlMismatch,
    /// The proof's `iat` is outside the accepted window.
    #[error("DPoP proof outside its time window")]
    DpopStale,
    /// The proof's `ath` is not the hash of the presented access token.
    #[error("DPoP proof for another token")]
    DpopAthMismatch,
    /// The token's `cnf.jkt` is not the thumbprint of the proof's key.
    #[error("DPoP proof key is not the token's key")]
    DpopKeyMismatch,
    /// The proof's `jti` was already used.
    #[error("DPoP proof replayed")]
    DpopReplay,
    /// The shared replay store could not say whether the proof was used (unreachable, slow,
    /// refused): the proof is refused.
    #[error("DPoP replay store unavailable")]
    DpopReplayStoreUnavailable,
    /// The `DPoP` scheme with a token that has no `cnf.jkt`.
    #[error("token presented with DPoP is not DPoP-bound")]
    DpopTokenNotBound,
    /// A DPoP-bound token (`cnf.jkt`) presented as `Bearer` (RFC 9449 §7.2).
    #[error("DPoP-bound token presented as bearer")]
    DpopDowngrade,
    /// A token bound to nothing while sender-constrained tokens are required.
    #[error("sender-constrained token required")]
    SenderConstraintRequired,
    /// A token with a `cnf` this authorizer cannot check: sender-constrained tokens are off, or
    /// the confirmation method is neither `jkt` nor `x5t#S256`.
    #[error("bound token not accepted here")]
    BoundTokenNotAccepted,
    /// A certificate-bound token (`cnf.x5t#S256`) without a client certificate.
    #[error("client certificate missing")]
    MtlsCertMissing,
    /// A certificate-bound token with another client certificate (or one that does not parse).
    #[error("client certificate is not the token's")]
    MtlsCertMismatch,
    /// The event is not a valid API Gateway authorizer event.
    #[error("invalid event: {0}")]
    InvalidEvent(String),
    /// Anything else that is our fault.
    #[error("internal error: {0}")]
    Internal(String),
}

impl AuthzError {
    /// The one mapping from cause to API Gateway verdict.
    pub fn verdict(&self) -> Verdict {
        use AuthzError::*;
        match self {
            InsufficientScope
            | ClaimMismatch
            | PolicyDenied
            | RouteNotAllowed
            | ApiNotAllowed
            | UsageIdentifierInvalid => Verdict::Forbidden,
            InvalidEvent(_) | Internal(_) => Verdict::Internal,
            _ => Verdict::Unauthorized,
        }
    }

    /// Stable, machine-readable reason for logs and metrics.
    pub fn reason(&self) -> &'static str {
        use AuthzError::*;
        match self {
            MissingToken => "missing_token",
            BadScheme => "bad_scheme",
            MultipleCredentials => "multiple_credentials",
            TokenTooLarge { .. } => "token_too_large",
            Malformed(_) => "malformed",
            AlgorithmNotAllowed => "alg_not_allowed",
            UnsupportedCrit => "unsupported_crit",
            MissingKid => "missing_kid",
            UnknownIssuer => "unknown_issuer",
            KidNotFound => "unknown_kid",
            KeyAlgorithmMismatch => "key_alg_mismatch",
            JwksUnavailable => "jwks_unavailable",
            BadSignature => "bad_signature",
            InactiveToken => "inactive_token",
            IntrospectionFailed => "introspection_unavailable",
            Expired => "expired",
            NotYetValid => "not_yet_valid",
            IssuedInFuture => "iat_in_future",
            MissingClaim(_) => "missing_claim",
            InvalidClaim(_) => "invalid_claim",
            AudienceMismatch => "wrong_audience",
            ClientMismatch => "wrong_client",
            NotAccessToken => "not_access_token",
            WrongType => "wrong_typ",
            InsufficientScope => "insufficient_scope",
            ClaimMismatch => "claim_mismatch",
            PolicyDenied => "policy_denied",
            RouteNotAllowed => "route_not_allowed",
            ApiNotAllowed => "api_not_allowed",
            UsageIdentifierInvalid => "invalid_usage_identifier",
            DpopProofMissing => "dpop_proof_missing",
            DpopProofInvalid(_) => "dpop_proof_invalid",
            DpopAlgorithmNotAllowed => "dpop_alg_not_allowed",
            DpopPrivateKey => "dpop_private_key",
            DpopBadSignature => "dpop_bad_signature",
            DpopMethodMismatch => "dpop_htm_mismatch",
            DpopUrlMismatch => "dpop_htu_mismatch",
            DpopStale => "dpop_iat_out_of_window",
            DpopAthMismatch => "dpop_ath_mismatch",
            DpopKeyMismatch => "dpop_jkt_mismatch",
            DpopReplay => "dpop_replay",
            DpopReplayStoreUnavailable => "dpop_replay_store_unavailable",
            DpopTokenNotBound => "dpop_token_not_bound",
            DpopDowngrade => "dpop_downgrade",
            SenderConstraintRequired => "sender_constraint_required",
            BoundTokenNotAccepted => "bound_token_not_accepted",
            MtlsCertMissing => "mtls_cert_missing",
            MtlsCertMismatch => "mtls_cert_mismatch",
            InvalidEvent(_) => "invalid_event",
            Internal(_) => "internal",
        }
    }
}

/// Every value [`AuthzError::reason`] can return (the `reason` key of the decision log); the test
/// below checks `reason` against it.
#[cfg(test)]
const REASONS: [&str; 50] = [
    "missing_token",
    "bad_scheme",
    "multiple_credentials",
    "token_too_large",
    "malformed",
    "alg_not_allowed",
    "unsupported_crit",
    "missing_kid",
    "unknown_issuer",
    "unknown_kid",
    "key_alg_mismatch",
    "jwks_unavailable",
    "bad_signature",
    "inactive_token",
    "introspection_unavailable",
    "expired",
    "not_yet_valid",
    "iat_in_future",
    "missing_claim",
    "invalid_claim",
    "wrong_audience",
    "wrong_client",
    "not_access_token",
    "wrong_typ",
    "insufficient_scope",
    "claim_mismatch",
    "policy_denied",
    "route_not_allowed",
    "api_not_allowed",
    "invalid_usage_identifier",
    "dpop_proof_missing",
    "dpop_proof_invalid",
    "dpop_alg_not_allowed",
    "dpop_private_key",
    "dpop_bad_signature",
    "dpop_htm_mismatch",
    "dpop_htu_mismatch",
    "dpop_iat_out_of_window",
    "dpop_ath_mismatch",
    "dpop_jkt_mismatch",
    "dpop_replay",
    "dpop_replay_store_unavailable",
    "dpop_token_not_bound",
    "dpop_downgrade",
    "sender_constraint_required",
    "bound_token_not_accepted",
    "mtls_cert_missing",
    "mtls_cert_mismatch",
    "invalid_event",
    "internal",
];

#[cfg(test)]
mod tests {
    use super::*;

    /// One of each variant; the match makes a new variant fail to compile here until listed.
    fn every_variant() -> Vec<AuthzError> {
        use AuthzError::*;
        let all = vec![
            MissingToken,
            BadScheme,
            MultipleCredentials,
            TokenTooLarge { max: 1 },
            Malformed("x"),
            AlgorithmNotAllowed,
            UnsupportedCrit,
            MissingKid,
            UnknownIssuer,
            KidNotFound,
            KeyAlgorithmMismatch,
            JwksUnavailable,
            InactiveToken,
            IntrospectionFailed,
            BadSignature,
            Expired,
            NotYetValid,
            IssuedInFuture,
            MissingClaim("x"),
            InvalidClaim("x"),
            AudienceMismatch,
            ClientMismatch,
            NotAccessToken,
            WrongType,
            InsufficientScope,
            ClaimMismatch,
            PolicyDenied,
            RouteNotAllowed,
            ApiNotAllowed,
            UsageIdentifierInvalid,
            DpopProofMissing,
            DpopProofInvalid("x"),
            DpopAlgorithmNotAllowed,
            DpopPrivateKey,
            DpopBadSignature,
            DpopMethodMismatch,
            DpopUrlMismatch,
            DpopStale,
            DpopAthMismatch,
            DpopKeyMismatch,
            DpopReplay,
            DpopReplayStoreUnavailable,
            DpopTokenNotBound,
            DpopDowngrade,
            SenderConstraintRequired,
            BoundTokenNotAccepted,
            MtlsCertMissing,
            MtlsCertMismatch,
            InvalidEvent("x".into()),
            Internal("x".into()),
        ];
        for e in &all {
            match e {
                MissingToken
                | BadScheme
                | MultipleCredentials
                | TokenTooLarge { .. }
                | Malformed(_)
                | AlgorithmNotAllowed
                | UnsupportedCrit
                | MissingKid
                | UnknownIssuer
                | KidNotFound
                | KeyAlgorithmMismatch
                | JwksUnavailable
                | InactiveToken
                | IntrospectionFailed
                | BadSignature
                | Expired
                | NotYetValid
                | IssuedInFuture
                | MissingClaim(_)
                | InvalidClaim(_)
                | AudienceMismatch
                | ClientMismatch
                | NotAccessToken
                | WrongType
                | InsufficientScope
                | ClaimMismatch
                | PolicyDenied
                | RouteNotAllowed
                | ApiNotAllowed
                | UsageIdentifierInvalid
                | DpopProofMissing
                | DpopProofInvalid(_)
                | DpopAlgorithmNotAllowed
                | DpopPrivateKey
                | DpopBadSignature
                | DpopMethodMismatch
                | DpopUrlMismatch
                | DpopStale
                | DpopAthMismatch
                | DpopKeyMismatch
                | DpopReplay
                | DpopReplayStoreUnavailable
                | DpopTokenNotBound
                | DpopDowngrade
                | SenderConstraintRequired
                | BoundTokenNotAccepted
                | MtlsCertMissing
                | MtlsCertMismatch
                | InvalidEvent(_)
                | Internal(_) => {}
            }
        }
        all
    }

    #[test]
    fn reasons_lists_every_reason_once() {
        let mut reasons: Vec<&str> = every_variant().iter().map(AuthzError::reason).collect();
        let mut listed = REASONS.to_vec();
        reasons.sort_unstable();
        listed.sort_unstable();
        assert_eq!(reasons, listed);
        listed.dedup();
        assert_eq!(listed.len(), REASONS.len(), "no reason twice");
    }

    #[test]
    fn verdicts() {
        for e in [
            AuthzError::Expired,
            AuthzError::MissingToken,
            AuthzError::BadSignature,
        ] {
            assert_eq!(e.verdict(), Verdict::Unauthorized);
        }
        assert_eq!(AuthzError::InsufficientScope.verdict(), Verdict::Forbidden);
        assert_eq!(
            AuthzError::UsageIdentifierInvalid.verdict(),
            Verdict::Forbidden
        );
        let e = AuthzError::InvalidEvent("no methodArn".into());
        assert_eq!(e.verdict(), Verdict::Internal);
    }
}
