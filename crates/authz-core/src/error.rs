//! One error type for every way a request can fail, and the one mapping from cause to outcome.

/// What API Gateway must answer for an error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
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
/// decision log, and exactly one [`Outcome`]. Messages never contain the token or a secret.
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
    /// `iss` is missing, not a string, or not a configured issuer.
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
    /// The header `typ` is not the required one (RFC 9068 mode).
    #[error("token type not accepted")]
    WrongType,
    /// Valid token, but it has none of the scopes the route needs.
    #[error("insufficient scope")]
    InsufficientScope,
    /// Valid token, but a claim the route requires does not match.
    #[error("claim requirement not met")]
    ClaimMismatch,
    /// Valid token, but no route rule permits this route.
    #[error("route not permitted")]
    RouteNotAllowed,
    /// The request targets an API this authorizer may not grant (API ARN allow-list).
    #[error("API not in the allow-list")]
    ApiNotAllowed,
    /// The event is not a valid API Gateway authorizer event.
    #[error("invalid event: {0}")]
    InvalidEvent(String),
    /// Anything else that is our fault.
    #[error("internal error: {0}")]
    Internal(String),
}

impl AuthzError {
    /// The one mapping from cause to API Gateway outcome.
    pub fn outcome(&self) -> Outcome {
        use AuthzError::*;
        match self {
            InsufficientScope | ClaimMismatch | RouteNotAllowed | ApiNotAllowed => {
                Outcome::Forbidden
            }
            InvalidEvent(_) | Internal(_) => Outcome::Internal,
            _ => Outcome::Unauthorized,
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
            WrongType => "wrong_typ",
            InsufficientScope => "insufficient_scope",
            ClaimMismatch => "claim_mismatch",
            RouteNotAllowed => "route_not_allowed",
            ApiNotAllowed => "api_not_allowed",
            InvalidEvent(_) => "invalid_event",
            Internal(_) => "internal",
        }
    }

    /// The `errorType` reported to the Lambda runtime.
    pub fn error_type(&self) -> &'static str {
        match self.outcome() {
            Outcome::Unauthorized => "Unauthorized",
            Outcome::Forbidden => "Forbidden",
            Outcome::Internal => match self {
                AuthzError::InvalidEvent(_) => "InvalidEvent",
                _ => "InternalError",
            },
        }
    }

    /// The `errorMessage` reported to the Lambda runtime. API Gateway answers 401 only when it
    /// is exactly `Unauthorized`; every other message becomes a 500.
    pub fn runtime_message(&self) -> String {
        match self.outcome() {
            Outcome::Unauthorized => "Unauthorized".to_owned(),
            _ => self.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unauthorized_message_is_exact() {
        for e in [
            AuthzError::Expired,
            AuthzError::MissingToken,
            AuthzError::BadSignature,
        ] {
            assert_eq!(e.outcome(), Outcome::Unauthorized);
            assert_eq!(e.runtime_message(), "Unauthorized");
        }
    }

    #[test]
    fn forbidden_and_internal_are_not_401() {
        assert_eq!(AuthzError::InsufficientScope.outcome(), Outcome::Forbidden);
        let e = AuthzError::InvalidEvent("no methodArn".into());
        assert_eq!(e.outcome(), Outcome::Internal);
        assert_ne!(e.runtime_message(), "Unauthorized");
        assert_eq!(e.error_type(), "InvalidEvent");
    }
}
