//! The JWS algorithms this build verifies, and their JOSE names. Pure.

use jsonwebtoken::Algorithm;

/// Every algorithm this build can verify: all asymmetric JWS algorithms of the crypto backend.
pub const SUPPORTED_ALGORITHMS: [Algorithm; 9] = [
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];

/// The algorithms the FAPI 2.0 security profile allows (§5.4: PS256, ES256, EdDSA), for tokens and
/// DPoP proofs under `AUTHZ_PROFILE=fapi2`.
pub const FAPI2_ALGORITHMS: [Algorithm; 3] = [Algorithm::PS256, Algorithm::ES256, Algorithm::EdDSA];

/// The JOSE name of a supported algorithm (`RS256`, `EdDSA`, ...); empty for any other.
pub fn alg_name(alg: Algorithm) -> &'static str {
    use Algorithm::*;
    match alg {
        RS256 => "RS256",
        RS384 => "RS384",
        RS512 => "RS512",
        PS256 => "PS256",
        PS384 => "PS384",
        PS512 => "PS512",
        ES256 => "ES256",
        ES384 => "ES384",
        EdDSA => "EdDSA",
        // HMAC and anything added later: never accepted, never named.
        _ => "",
    }
}

/// The supported algorithm named `name` (JOSE spelling), if any.
pub fn supported(name: &str) -> Option<Algorithm> {
    SUPPORTED_ALGORITHMS
        .iter()
        .copied()
        .find(|a| alg_name(*a) == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_match_debug() {
        for a in SUPPORTED_ALGORITHMS {
            assert_eq!(supported(alg_name(a)), Some(a));
            // config and JWKS parsing compare against the Debug spelling: keep them equal.
            assert_eq!(format!("{a:?}"), alg_name(a));
        }
        assert_eq!(supported("HS256"), None);
        assert_eq!(supported("none"), None);
        assert_eq!(supported(""), None);
    }
}
