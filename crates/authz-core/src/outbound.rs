//! The one outgoing HTTP path: client construction (the public roots of `AUTHZ_TLS_ROOTS` plus
//! the private CA bundle, no redirects, timeouts), capped body reads, and the [`Fetch`] seam
//! through which discovery, JWKS and introspection all go.

use std::{fmt, future::Future, pin::Pin, sync::Arc, time::Duration};

use crate::error::ConfigError;

/// Outgoing HTTP settings.
#[derive(Debug, Clone)]
pub struct HttpSettings {
    /// TCP+TLS connect timeout.
    pub connect_timeout: Duration,
    /// Whole-request timeout (connect, headers and body).
    pub timeout: Duration,
    /// Extra trusted CA certificates (a private CA), used by every outgoing call.
    pub ca_bundle: Option<CaBundle>,
    /// Where the trusted public roots come from.
    pub roots: TlsRoots,
}

/// The public root certificates outgoing TLS trusts (`AUTHZ_TLS_ROOTS`); a CA bundle adds to
/// either.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum TlsRoots {
    /// Mozilla's root store as compiled into the binary (webpki-roots): nothing read or parsed
    /// at cold start. What Node.js does with its bundled roots.
    #[default]
    Builtin,
    /// The platform's store (`/etc/pki/tls/certs` on Amazon Linux, `SSL_CERT_FILE` /
    /// `SSL_CERT_DIR`), read and parsed when the client is built, at cold start.
    System,
}

impl TlsRoots {
    /// The value as written in the configuration.
    pub const fn name(self) -> &'static str {
        match self {
            TlsRoots::Builtin => "builtin",
            TlsRoots::System => "system",
        }
    }

    /// Reads a configured value.
    pub fn parse(value: &str) -> Option<TlsRoots> {
        [TlsRoots::Builtin, TlsRoots::System]
            .into_iter()
            .find(|r| r.name() == value)
    }
}

/// A PEM bundle of extra trusted CA certificates, read once by the configuration.
#[derive(Clone, PartialEq, Eq)]
pub struct CaBundle {
    /// Where it was read from (for messages).
    pub path: String,
    /// The PEM text.
    pub pem: Vec<u8>,
}

impl fmt::Debug for CaBundle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CaBundle")
            .field("path", &self.path)
            .field("pem_bytes", &self.pem.len())
            .finish()
    }
}

/// `https://`, or `http://` to a loopback host (local development and tests only), with a host
/// and no userinfo. The URL is parsed with the `url` crate, the parser reqwest connects with, so
/// the host checked is the host connected to (`http://127.0.0.1:1@other-host/` is `other-host`).
/// Userinfo (`user:password@`) is refused: credentials never go in a URL, and no message shows
/// them ([`redact_userinfo`]).
pub fn check_url(url: &str, name: &str) -> Result<(), ConfigError> {
    let shown = redact_userinfo(url);
    let fail = |why: &str| Err(ConfigError(format!("{name}: `{shown}` {why}")));
    let (rest, https) = if let Some(rest) = url.strip_prefix("https://") {
        (rest, true)
    } else if let Some(rest) = url.strip_prefix("http://") {
        (rest, false)
    } else {
        return fail("is not an https:// URL");
    };
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return fail("contains whitespace or control characters");
    }
    // The WHATWG parser reads `\` as `/` and skips extra slashes (`https:///x` is host `x`):
    // refuse what two parsers could read differently.
    if url.contains('\\') {
        return fail("contains a backslash");
    }
    if rest.is_empty() || rest.starts_with('/') {
        return fail("has no host");
    }
    // An `@` anywhere: userinfo with an unencoded `/` or `?` in it would otherwise read as a
    // path (`https://id:se/cret@host` is host `id`); a path's `@` can be written `%40`.
    if url.contains('@') {
        return fail(
            "has an `@` (userinfo `user:password@` is refused: credentials never go in a URL; write a path's `@` as `%40`)",
        );
    }
    let Ok(parsed) = url::Url::parse(url) else {
        return fail("is not a valid URL");
    };
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return fail("has userinfo (`user:password@`); credentials never go in a URL");
    }
    let loopback = match parsed.host() {
        None => return fail("has no host"),
        Some(url::Host::Domain(domain)) => domain == "localhost",
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
    };
    if !https && !loopback {
        return fail("must use https:// (http:// is allowed only for loopback hosts)");
    }
    Ok(())
}

/// `url` with any userinfo cut (`http://user:pw@host/x` → `http://***@host/x`), for messages and
/// logs: a URL is shown only this way.
pub fn redact_userinfo(url: &str) -> String {
    // Userinfo may hold an unencoded `/`, `?` or `#` (a secret pasted as is), so the authority
    // cannot be told from the path: everything between `://` and the last `@` is cut.
    let (scheme, rest) = url
        .split_once("://")
        .map_or(("", url), |(scheme, rest)| (scheme, rest));
    let sep = if scheme.is_empty() { "" } else { "://" };
    match rest.rfind('@') {
        None => url.to_owned(),
        Some(at) => format!("{scheme}{sep}***{}", &rest[at..]),
    }
}

/// The one outgoing HTTP client: reqwest over rustls (the public roots of [`TlsRoots`] plus the
/// configured private CA bundle), no redirects, connect and total timeouts. Discovery, JWKS and
/// introspection share it, and so one connection (one TLS handshake) per host.
pub fn client(http: &HttpSettings) -> Result<reqwest::Client, String> {
    let mut builder = reqwest::Client::builder()
        .connect_timeout(http.connect_timeout)
        .timeout(http.timeout)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("authz-core/", env!("CARGO_PKG_VERSION")));
    let bad_bundle = |path: &str, e: &dyn fmt::Display| {
        format!("AUTHZ_CA_BUNDLE: `{path}` is not a PEM certificate bundle: {e}")
    };
    // The bundle's certificates, read one way whichever roots they join.
    let (bundle_path, extra) = match &http.ca_bundle {
        Some(CaBundle { path, pem }) => (
            path.as_str(),
            pem_certificates(pem).map_err(|e| bad_bundle(path, &e))?,
        ),
        None => ("", Vec::new()),
    };
    match http.roots {
        TlsRoots::Builtin => {
            let mut roots = rustls::RootCertStore {
                roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
            };
            for cert in extra {
                roots.add(cert).map_err(|e| bad_bundle(bundle_path, &e))?;
            }
            let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
            // TLS 1.2 and 1.3, certificates checked against `roots` for the URL's host name
            // (rustls's WebPKI verifier; reqwest passes the host as the server name).
            let mut tls = rustls::ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .map_err(|e| format!("cannot build the TLS configuration: {e}"))?
                .with_root_certificates(roots)
                .with_no_client_auth();
            // reqwest's own configuration offers HTTP/1.1 by ALPN; so does this one (the client
            // speaks nothing else).
            tls.alpn_protocols = vec![b"http/1.1".to_vec()];
            builder = builder.tls_backend_preconfigured(tls);
        }
        TlsRoots::System => {
            let certs = extra
                .iter()
                .map(|cert| reqwest::Certificate::from_der(cert))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| bad_bundle(bundle_path, &e))?;
            builder = builder.tls_certs_merge(certs);
        }
    }
    builder
        .build()
        .map_err(|e| format!("cannot build the HTTP client: {e}"))
}

/// The certificates of a PEM bundle; an error if it holds none or a malformed one.
fn pem_certificates(pem: &[u8]) -> Result<Vec<rustls::pki_types::CertificateDer<'static>>, String> {
    use rustls::pki_types::{CertificateDer, pem::PemObject as _};
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("{e:?}"))?;
    if certs.is_empty() {
        return Err("no CERTIFICATE block".to_owned());
    }
    Ok(certs)
}

/// Reads a response body, refusing more than `max_bytes`.
async fn read_capped(
    mut resp: reqwest::Response,
    max_bytes: usize,
    url: &str,
) -> Result<Vec<u8>, String> {
    if resp.content_length().is_some_and(|n| n > max_bytes as u64) {
        return Err(format!("{url}: body larger than {max_bytes} bytes"));
    }
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(|e| format!("{url}: {e}"))? {
        if body.len() + chunk.len() > max_bytes {
            return Err(format!("{url}: body larger than {max_bytes} bytes"));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// An HTTP answer, as much of it as the callers need.
#[derive(Debug, Clone, Default)]
pub struct HttpResponse {
    /// Status code.
    pub status: u16,
    /// Body, at most the requested size.
    pub body: Vec<u8>,
    /// `Cache-Control` header.
    pub cache_control: Option<String>,
    /// `Expires` header.
    pub expires: Option<String>,
    /// `Date` header.
    pub date: Option<String>,
}

/// A form POST (`application/x-www-form-urlencoded`): introspection and the token endpoint.
#[derive(Clone)]
pub struct FormPost<'a> {
    /// Endpoint.
    pub url: &'a str,
    /// `Authorization` header value, if any (a secret: never logged).
    pub authorization: Option<String>,
    /// `Accept` header value, if any.
    pub accept: Option<&'static str>,
    /// The encoded form (holds the token: never logged).
    pub form: String,
    /// Largest body accepted.
    pub max_bytes: usize,
}

impl fmt::Debug for FormPost<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FormPost")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

/// Boxed future returned by [`Fetch`].
pub type FetchFuture<'a> = Pin<Box<dyn Future<Output = Result<HttpResponse, String>> + Send + 'a>>;

/// The one I/O seam of every outgoing call. Error texts must not contain secrets (URLs here are
/// configured or discovered endpoints; tokens and credentials only travel in the request).
pub trait Fetch: Send + Sync + fmt::Debug {
    /// GETs `url`; fails if the body is larger than `max_bytes`.
    fn get<'a>(&'a self, url: &'a str, max_bytes: usize) -> FetchFuture<'a>;
    /// POSTs a form; fails if the body is larger than `post.max_bytes`.
    fn post_form<'a>(&'a self, post: FormPost<'a>) -> FetchFuture<'a>;
}

/// Production [`Fetch`] over [`client`].
#[derive(Debug, Clone)]
pub struct HttpFetch {
    client: reqwest::Client,
}

impl HttpFetch {
    /// Wraps the shared client.
    pub fn new(client: reqwest::Client) -> HttpFetch {
        HttpFetch { client }
    }
}

async fn answer(
    resp: reqwest::Response,
    max_bytes: usize,
    url: &str,
) -> Result<HttpResponse, String> {
    let header = |name: &str| {
        resp.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let (status, cache_control, expires, date) = (
        resp.status().as_u16(),
        header("cache-control"),
        header("expires"),
        header("date"),
    );
    let body = read_capped(resp, max_bytes, url).await?;
    Ok(HttpResponse {
        status,
        body,
        cache_control,
        expires,
        date,
    })
}

impl Fetch for HttpFetch {
    fn get<'a>(&'a self, url: &'a str, max_bytes: usize) -> FetchFuture<'a> {
        Box::pin(async move {
            let resp = self
                .client
                .get(url)
                .send()
                .await
                .map_err(|e| format!("GET {url}: {e}"))?;
            answer(resp, max_bytes, url).await
        })
    }

    fn post_form<'a>(&'a self, post: FormPost<'a>) -> FetchFuture<'a> {
        Box::pin(async move {
            let url = post.url;
            let mut request = self.client.post(url);
            if let Some(accept) = post.accept {
                request = request.header("accept", accept);
            }
            if let Some(value) = post.authorization {
                request = request.header("authorization", value);
            }
            let resp = request
                .header("content-type", "application/x-www-form-urlencoded")
                .body(post.form)
                .send()
                .await
                .map_err(|e| format!("POST {url}: {e}"))?;
            answer(resp, post.max_bytes, url).await
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_must_be_https_or_loopback() {
        assert!(check_url("https://idp.example.com", "X").is_ok());
        assert!(check_url("http://127.0.0.1:8080/x", "X").is_ok());
        assert!(check_url("http://127.0.0.1.evil.com/x", "X").is_err());
        assert!(check_url("ftp://idp", "X").is_err());
        assert!(check_url("https://", "X").is_err());
    }

    #[test]
    fn a_bad_ca_bundle_is_refused_naming_the_setting() {
        for roots in [TlsRoots::Builtin, TlsRoots::System] {
            let http = HttpSettings {
                connect_timeout: Duration::from_secs(1),
                timeout: Duration::from_secs(2),
                ca_bundle: Some(CaBundle {
                    path: "/x/ca.pem".into(),
                    pem: b"-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n"
                        .to_vec(),
                }),
                roots,
            };
            let e = client(&http).err().unwrap_or_default();
            assert!(
                e.contains("AUTHZ_CA_BUNDLE") && e.contains("/x/ca.pem"),
                "{roots:?}: {e}"
            );
        }
    }

    #[test]
    fn tls_roots_names_round_trip_and_unknown_ones_are_refused() {
        for roots in [TlsRoots::Builtin, TlsRoots::System] {
            assert_eq!(TlsRoots::parse(roots.name()), Some(roots));
        }
        assert_eq!(TlsRoots::parse("Builtin"), None);
        assert_eq!(TlsRoots::parse(""), None);
        assert_eq!(TlsRoots::default(), TlsRoots::Builtin);
    }

    #[allow(clippy::unwrap_used)]
    /// The rule before issue 13, pinned: it still holds.
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
            ("https://idp.example.com/a b", "contains whitespace"),
        ] {
            let e = check_url(bad, "AUTHZ_X").unwrap_err().0;
            assert!(e.starts_with("AUTHZ_X: ") && e.contains(why), "{bad}: {e}");
        }
    }

    #[allow(clippy::unwrap_used)]
    /// Issue 13, item 6: the host checked is the host a real URL parser (reqwest's) connects to;
    /// userinfo is refused and never shown.
    #[test]
    fn userinfo_is_refused_and_never_shown() {
        for bad in [
            "http://127.0.0.1:1@other-host/jwks",
            "http://localhost@other-host/jwks",
            "http://[::1]:80@other-host/",
            "https://user:hunter2@idp.example.com/",
            "https://hunter2@idp.example.com",
            "http://127.0.0.1:hunter2@127.0.0.1/",
            "http://@127.0.0.1/",
        ] {
            let e = check_url(bad, "AUTHZ_JWKS_URI").unwrap_err().0;
            assert!(e.contains("userinfo"), "{bad}: {e}");
            assert!(!e.contains("hunter2") && !e.contains(":1@"), "{bad}: {e}");
            assert!(e.contains("***@"), "{bad}: {e}");
        }
        // Up to the last `@`: a password may hold one, and an `@` after the host is refused
        // anyway, so cutting too much only shortens a message.
        assert_eq!(
            redact_userinfo("http://127.0.0.1:1@other-host/jwks?a=b@c"),
            "http://***@c"
        );
        assert_eq!(redact_userinfo("https://u:p@ss@idp/x"), "https://***@idp/x");
        assert_eq!(redact_userinfo("u:pw@host"), "***@host");
    }

    #[allow(clippy::unwrap_used)]
    #[test]
    fn the_parsed_host_decides_loopback() {
        for ok in ["http://127.0.0.2:8080/", "http://LOCALHOST/"] {
            assert_eq!(check_url(ok, "X"), Ok(()), "{ok}");
        }
        for (bad, why) in [
            // Any `@` (review finding: userinfo with an unencoded `/` reads as a path).
            ("https://idp.example.com/users/@me", "has an `@`"),
            ("https://idp.example.com/x?next=a@b", "has an `@`"),
            ("http://127.0.0.1#@evil.com/", "has an `@`"),
            ("http://localhost.evil.com/", "must use https://"),
            ("http://evil.com#@127.0.0.1/", "has an `@`"),
            ("http://evil.com?@127.0.0.1/", "has an `@`"),
            ("http://[::ffff:7f00:1]/", "must use https://"),
            ("http://127.0.0.1\\@evil.com/", "backslash"),
            ("http://127.0.0.1:99999/", "is not a valid URL"),
            ("https://exa mple.com", "whitespace"),
            ("https://idp.example.com/\u{7f}", "control"),
        ] {
            let e = check_url(bad, "X").unwrap_err().0;
            assert!(e.contains(why), "{bad}: {e}");
        }
    }

    /// Review finding: userinfo holding an unencoded `/` read as a path, so the `@` check
    /// missed it and the error quoted the secret.
    #[test]
    #[allow(clippy::unwrap_used)]
    fn userinfo_with_a_slash_is_refused_and_never_quoted() {
        for url in [
            "https://cid:s3c/ret@idp.example/x",
            "https://cid:123/ret@idp.example/x",
            "https://cid:s3c?ret@idp.example/x",
            "https://cid:s3c#ret@idp.example/x",
        ] {
            let e = check_url(url, "AUTHZ_X").unwrap_err().0;
            assert!(e.contains("AUTHZ_X") && e.contains('@'), "{url}: {e}");
            assert!(
                !e.contains("s3c") && !e.contains("ret") && !e.contains("123"),
                "{url}: {e}"
            );
        }
        assert_eq!(
            redact_userinfo("https://cid:s3c/ret@idp.example/x"),
            "https://***@idp.example/x"
        );
        assert_eq!(
            redact_userinfo("https://idp.example/x"),
            "https://idp.example/x"
        );
    }
}
