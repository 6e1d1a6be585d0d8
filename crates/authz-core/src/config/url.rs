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
