//! `authz-local dpop-proof`: signs a DPoP proof (RFC 9449 §4.2) for one request with a client
//! key kept in a file, and prints the `DPoP` header value (what `scripts/dpop-proof.sh` and
//! `scripts/token.sh --dpop` run).
//!
//! ```text
//! authz-local dpop-proof --key FILE --method METHOD --url URL [--token TOKEN]
//! ```
//!
//! `--key`: an EC P-256 private key, PKCS#8 PEM (ES256 proofs); created (mode 0600) when the
//! file does not exist, so the same key signs every proof of a session. `--url` is the `htu`:
//! the URL the authorizer rebuilds from the event (API Gateway's default endpoint:
//! `https://{host}/{stage}/{path}`; the local gateway: `https://127.0.0.1:PORT/local/PATH`), or
//! a token endpoint's URL. `--token`: the access token the proof goes with (`ath`); without it, a
//! token request's proof (no `ath`). Each proof has a fresh `jti` and `iat` now.

use std::path::Path;

use authz_testkit::{TestKey, now};

/// The usage line.
pub const USAGE: &str =
    "usage: authz-local dpop-proof --key FILE --method METHOD --url URL [--token TOKEN]";

/// The parsed arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProofArgs {
    /// The key file.
    pub key: String,
    /// `htm`.
    pub method: String,
    /// `htu`.
    pub url: String,
    /// The access token for `ath`.
    pub token: Option<String>,
}

/// Reads `--key`, `--method`, `--url`, `--token`; every one but `--token` is required.
pub fn parse_args(args: impl IntoIterator<Item = String>) -> Result<ProofArgs, String> {
    let (mut key, mut method, mut url, mut token) = (None, None, None, None);
    let mut args = args.into_iter();
    while let Some(flag) = args.next() {
        let slot = match flag.as_str() {
            "--key" => &mut key,
            "--method" => &mut method,
            "--url" => &mut url,
            "--token" => &mut token,
            other => return Err(format!("dpop-proof: unknown argument `{other}`\n{USAGE}")),
        };
        let value = args
            .next()
            .filter(|v| !v.is_empty())
            .ok_or_else(|| format!("dpop-proof: {flag} needs a value\n{USAGE}"))?;
        *slot = Some(value);
    }
    let need = |v: Option<String>, flag: &str| {
        v.ok_or_else(|| format!("dpop-proof: {flag} is required\n{USAGE}"))
    };
    let method = need(method, "--method")?;
    if !method.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(format!(
            "dpop-proof: --method `{method}`: an HTTP method in capitals (GET, POST, …)"
        ));
    }
    let url = need(url, "--url")?;
    if !(url.starts_with("https://") || url.starts_with("http://")) {
        return Err(format!("dpop-proof: --url `{url}` is not an http(s) URL"));
    }
    Ok(ProofArgs {
        key: need(key, "--key")?,
        method,
        url,
        token: token.map(|t| t.trim().to_owned()),
    })
}

/// The key in `file`, created first when the file does not exist.
pub fn load_or_create_key(file: &Path) -> Result<TestKey, String> {
    let shown = file.display();
    if !file.exists() {
        if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        }
        // Written aside, then linked into place: a concurrent first use never reads half a
        // key, and the first key written wins.
        let aside = file.with_extension(format!("new-{}", std::process::id()));
        write_private(&aside, &TestKey::generate_ec_p256_pem())
            .map_err(|e| format!("{}: {e}", aside.display()))?;
        let linked = std::fs::hard_link(&aside, file);
        let _ = std::fs::remove_file(&aside);
        match linked {
            Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => {
                return Err(format!("{shown}: {e}"));
            }
            _ => {}
        }
    }
    let pem = std::fs::read_to_string(file).map_err(|e| format!("{shown}: {e}"))?;
    TestKey::ec_p256_from_pem("dpop", &pem).map_err(|e| format!("{shown}: {e}"))
}

#[cfg(unix)]
fn write_private(file: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(file)?
        .write_all(text.as_bytes())
}

#[cfg(not(unix))]
fn write_private(file: &Path, text: &str) -> std::io::Result<()> {
    std::fs::write(file, text)
}

/// A random `jti` (128 bits, hex).
fn fresh_jti() -> String {
    let mut bytes = [0u8; 16];
    // getrandom is in the tree already (authz-local turns on its std feature).
    getrandom::fill(&mut bytes).unwrap_or_else(|_| {
        let t = std::time::UNIX_EPOCH
            .elapsed()
            .unwrap_or_default()
            .as_nanos();
        bytes = t.to_le_bytes();
    });
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The proof for `args`: the `DPoP` header value.
pub fn sign(args: &ProofArgs) -> Result<String, String> {
    let key = load_or_create_key(Path::new(&args.key))?;
    let (iat, jti) = (now(), fresh_jti());
    Ok(match &args.token {
        Some(token) => key.dpop_proof(&args.method, &args.url, token, iat, &jti),
        None => key.dpop_token_request_proof(&args.method, &args.url, iat, &jti),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use authz_core::verify_token_request_proof;

    fn args(list: &[&str]) -> Result<ProofArgs, String> {
        parse_args(list.iter().map(|s| (*s).to_owned()))
    }

    #[test]
    fn arguments_are_checked() {
        let ok = args(&[
            "--key",
            "k.pem",
            "--method",
            "GET",
            "--url",
            "https://h/local/x",
        ])
        .unwrap();
        assert_eq!(ok.token, None);
        assert!(
            args(&["--key", "k.pem", "--url", "https://h/x"])
                .unwrap_err()
                .contains("--method is required")
        );
        assert!(
            args(&["--key", "k", "--method", "get", "--url", "https://h/x"])
                .unwrap_err()
                .contains("capitals")
        );
        assert!(
            args(&["--key", "k", "--method", "GET", "--url", "h/x"])
                .unwrap_err()
                .contains("not an http(s) URL")
        );
        assert!(
            args(&["--nonce", "x"])
                .unwrap_err()
                .contains("unknown argument `--nonce`")
        );
        assert!(
            args(&["--key"])
                .unwrap_err()
                .contains("--key needs a value")
        );
    }

    #[test]
    fn a_key_file_is_created_once_and_signs_proofs_the_core_accepts() {
        let dir = std::env::temp_dir().join(format!("authz-local-proof-{}", std::process::id()));
        let file = dir.join("sub/key.pem");
        let _ = std::fs::remove_dir_all(&dir);
        let a = ProofArgs {
            key: file.display().to_string(),
            method: "POST".into(),
            url: "http://127.0.0.1:9/token".into(),
            token: None,
        };
        let first = sign(&a).unwrap();
        let pem = std::fs::read_to_string(&file).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&file).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let second = sign(&a).unwrap();
        assert_eq!(
            std::fs::read_to_string(&file).unwrap(),
            pem,
            "the key is kept"
        );
        #[allow(clippy::cast_precision_loss)]
        let t = now() as f64;
        let p1 = verify_token_request_proof(&first, "POST", &a.url, t, 60.0, 5.0).unwrap();
        let p2 = verify_token_request_proof(&second, "POST", &a.url, t, 60.0, 5.0).unwrap();
        assert_eq!(p1.jkt, p2.jkt, "one key");
        assert_ne!(p1.jti, p2.jti, "a fresh jti each time");
        assert_eq!(p1.jkt, load_or_create_key(&file).unwrap().jkt());
        std::fs::write(&file, "not a key").unwrap();
        assert!(sign(&a).unwrap_err().contains("not an EC private key"));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
