//! The URL rule every configured and discovered URL follows.

use super::{ConfigError, err};

/// `https://`, or `http://` to a loopback host (local development and tests only). The error
/// names `name` (a variable, key, or "discovery document").
pub fn check_url(url: &str, name: &str) -> Result<(), ConfigError> {
    let rest = if let Some(rest) = url.strip_prefix("https://") {
        rest
    } else if let Some(rest) = url.strip_prefix("http://") {
        let host = rest.split(['/', '?', '#']).next().unwrap_or("");
        let host = host.rsplit_once(':').map_or(host, |(h, _)| h);
        if !matches!(host, "127.0.0.1" | "localhost" | "[::1]") {
            return err(format!(
                "{name}: `{url}` must use https:// (http:// is allowed only for loopback hosts)"
            ));
        }
        rest
    } else {
        return err(format!("{name}: `{url}` is not an https:// URL"));
    };
    if rest.is_empty() || rest.starts_with('/') || url.chars().any(char::is_whitespace) {
        return err(format!("{name}: `{url}` has no host"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::check_url;

    /// Today's rule, pinned (issue 13 hardens it).
    #[test]
    fn https_anywhere_http_only_to_loopback_and_always_a_host() {
        for ok in [
            "https://idp.example.com",
            "https://idp.example.com/realms/a?x=1",
            "http://127.0.0.1",
            "http://127.0.0.1:8080/jwks",
            "http://localhost",
            "http://[::1]:9000/",
        ] {
            assert_eq!(check_url(ok, "X"), Ok(()), "{ok}");
        }
        for (bad, why) in [
            ("http://idp.example.com", "must use https://"),
            ("http://127.0.0.1.evil.com/x", "must use https://"),
            ("ftp://idp.example.com", "is not an https:// URL"),
            ("idp.example.com", "is not an https:// URL"),
            ("https://", "has no host"),
            ("https:///path", "has no host"),
            ("https://idp.example.com/a b", "has no host"),
        ] {
            let e = check_url(bad, "AUTHZ_X").unwrap_err().0;
            assert!(e.starts_with("AUTHZ_X: ") && e.contains(why), "{bad}: {e}");
        }
    }
}
