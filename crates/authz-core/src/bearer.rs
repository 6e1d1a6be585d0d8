//! The bearer credential inside an identity source value (RFC 6750 §2.1). Pure.

use crate::error::AuthzError;

/// Extracts the bearer token from an `Authorization`-style value.
///
/// `Bearer` is matched case-insensitively and must be followed by exactly one credential in
/// RFC 6750 `b64token` syntax. With `accept_bare`, a value that is a lone credential (no scheme)
/// is also taken. Length is checked before anything else is looked at.
pub fn bearer(value: Option<&str>, accept_bare: bool, max_len: usize) -> Result<&str, AuthzError> {
    credential(value, accept_bare, false, max_len).map(|(_, token)| token)
}

/// How a token was presented.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// `Bearer` (or a bare token, or a query parameter).
    Bearer,
    /// `DPoP` (RFC 9449 §7.1).
    Dpop,
}

/// As [`bearer`], and with `accept_dpop` also the `DPoP` scheme (RFC 9449 §7.1, matched
/// case-insensitively, the same `b64token` syntax); says which scheme it was.
pub fn credential(
    value: Option<&str>,
    accept_bare: bool,
    accept_dpop: bool,
    max_len: usize,
) -> Result<(Scheme, &str), AuthzError> {
    let value = value
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .ok_or(AuthzError::MissingToken)?;
    // "Bearer " + token; anything longer cannot be a token of acceptable size.
    if value.len() > max_len + 16 {
        return Err(AuthzError::TokenTooLarge { max: max_len });
    }
    let (scheme, token) = match value.split_once([' ', '\t']) {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("bearer") => {
            (Scheme::Bearer, rest.trim_start_matches([' ', '\t']))
        }
        Some((scheme, rest)) if accept_dpop && scheme.eq_ignore_ascii_case("dpop") => {
            (Scheme::Dpop, rest.trim_start_matches([' ', '\t']))
        }
        Some(_) => return Err(AuthzError::BadScheme),
        None if accept_bare => (Scheme::Bearer, value),
        None => return Err(AuthzError::BadScheme),
    };
    if token.is_empty() {
        return Err(AuthzError::MissingToken);
    }
    if token.len() > max_len {
        return Err(AuthzError::TokenTooLarge { max: max_len });
    }
    if !is_b64token(token) {
        return Err(AuthzError::BadScheme);
    }
    Ok((scheme, token))
}

/// RFC 6750 `b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`.
fn is_b64token(s: &str) -> bool {
    let body = s.trim_end_matches('=');
    !body.is_empty()
        && body
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~+/".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_bearer_case_insensitively() {
        assert_eq!(
            bearer(Some("Bearer abc.def.ghi"), false, 100),
            Ok("abc.def.ghi")
        );
        assert_eq!(bearer(Some("bearer abc"), false, 100), Ok("abc"));
        assert_eq!(bearer(Some("BEARER   abc  "), false, 100), Ok("abc"));
    }

    #[test]
    fn rejects_other_schemes_and_extra_credentials() {
        assert_eq!(
            bearer(Some("Basic dXNlcjpwYXNz"), false, 100),
            Err(AuthzError::BadScheme)
        );
        assert_eq!(
            bearer(Some("Bearer a b"), false, 100),
            Err(AuthzError::BadScheme)
        );
        assert_eq!(
            bearer(Some("Bearer a,b"), false, 100),
            Err(AuthzError::BadScheme)
        );
        assert_eq!(
            bearer(Some("Bearertoken"), false, 100),
            Err(AuthzError::BadScheme)
        );
        assert_eq!(
            bearer(Some("Bearer"), false, 100),
            Err(AuthzError::BadScheme)
        );
        assert_eq!(
            bearer(Some("Bearer "), false, 100),
            Err(AuthzError::BadScheme)
        );
    }

    #[test]
    fn dpop_scheme_only_when_accepted() {
        assert_eq!(
            credential(Some("DPoP abc.def.ghi"), false, true, 100),
            Ok((Scheme::Dpop, "abc.def.ghi"))
        );
        assert_eq!(
            credential(Some("dpop  abc"), false, true, 100),
            Ok((Scheme::Dpop, "abc"))
        );
        assert_eq!(
            credential(Some("Bearer abc"), false, true, 100),
            Ok((Scheme::Bearer, "abc"))
        );
        assert_eq!(
            credential(Some("DPoP abc"), false, false, 100),
            Err(AuthzError::BadScheme)
        );
        assert_eq!(
            credential(Some("DPoP a b"), false, true, 100),
            Err(AuthzError::BadScheme)
        );
    }

    #[test]
    fn missing_and_empty_are_missing() {
        assert_eq!(bearer(None, false, 100), Err(AuthzError::MissingToken));
        assert_eq!(
            bearer(Some("   "), false, 100),
            Err(AuthzError::MissingToken)
        );
    }

    #[test]
    fn bare_token_only_when_allowed() {
        assert_eq!(
            bearer(Some("abc.def.ghi"), false, 100),
            Err(AuthzError::BadScheme)
        );
        assert_eq!(bearer(Some("abc.def.ghi"), true, 100), Ok("abc.def.ghi"));
        assert_eq!(
            bearer(Some("a\u{e9}b"), true, 100),
            Err(AuthzError::BadScheme)
        );
    }

    #[test]
    fn size_is_bounded() {
        let long = format!("Bearer {}", "a".repeat(101));
        assert_eq!(
            bearer(Some(&long), false, 100),
            Err(AuthzError::TokenTooLarge { max: 100 })
        );
        let huge = "a".repeat(10_000);
        assert_eq!(
            bearer(Some(&huge), true, 100),
            Err(AuthzError::TokenTooLarge { max: 100 })
        );
    }
}
