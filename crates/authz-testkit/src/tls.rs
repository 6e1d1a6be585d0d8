//! Test PKI and HTTPS for the loopback servers: a freshly generated private CA ([`TestCa`]), a
//! server certificate it signs for `127.0.0.1` (IP SAN), PEM files removed on drop
//! ([`PemFile`]), and the rustls server configuration the loopback server uses for
//! [`Issuer::start_tls`](crate::Issuer::start_tls).
//!
//! Keys are ECDSA P-256 generated per [`TestCa`] (rcgen over aws-lc-rs): nothing is committed,
//! nothing is shared between tests.

use std::{
    net::{IpAddr, Ipv4Addr},
    path::{Path, PathBuf},
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
};

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DistinguishedName, DnType,
    ExtendedKeyUsagePurpose, IsCa, KeyPair, KeyUsagePurpose, SanType,
};
use tokio_rustls::rustls::{
    self, ServerConfig,
    pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer},
};

/// A private certificate authority generated on the spot (ECDSA P-256, `CA:TRUE, pathlen:0`,
/// key usages `keyCertSign`/`cRLSign`), with a unique subject `CN=authz-testkit private CA N`.
pub struct TestCa {
    name: String,
    pem: String,
    der: CertificateDer<'static>,
    issuer: CertifiedIssuer<'static, KeyPair>,
}

impl std::fmt::Debug for TestCa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestCa")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl Default for TestCa {
    fn default() -> Self {
        TestCa::new()
    }
}

impl TestCa {
    /// Generates a new CA key and self-signed CA certificate.
    pub fn new() -> TestCa {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let name = format!(
            "authz-testkit private CA {}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let mut params = CertificateParams::default();
        params.distinguished_name = DistinguishedName::new();
        params.distinguished_name.push(DnType::CommonName, &name);
        params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let key = KeyPair::generate().expect("authz-testkit: cannot generate the CA key");
        let issuer = CertifiedIssuer::self_signed(params, key)
            .expect("authz-testkit: cannot self-sign the CA certificate");
        TestCa {
            name,
            pem: issuer.pem(),
            der: issuer.der().clone(),
            issuer,
        }
    }

    /// The CA's subject common name (unique per CA in a test run).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The CA certificate, PEM (`-----BEGIN CERTIFICATE-----…`), e.g. for `AUTHZ_CA_BUNDLE`.
    pub fn pem(&self) -> &str {
        &self.pem
    }

    /// The CA certificate, DER.
    pub fn der(&self) -> &[u8] {
        self.der.as_ref()
    }

    /// Writes [`TestCa::pem`] to a new temporary file, removed when the [`PemFile`] is dropped.
    pub fn write_pem(&self) -> PemFile {
        PemFile::new(&self.pem)
    }

    /// A new server certificate signed by this CA for the IP address `ip` (IP SAN only, no DNS
    /// name; `CN` is the address; EKU `serverAuth`), with its freshly generated key: the chain
    /// `[leaf]` (the CA is the client's trust anchor, not sent) and the PKCS#8 key.
    pub fn server_cert(
        &self,
        ip: IpAddr,
    ) -> (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>) {
        let mut params = CertificateParams::default();
        params.distinguished_name = DistinguishedName::new();
        params
            .distinguished_name
            .push(DnType::CommonName, ip.to_string());
        params.subject_alt_names = vec![SanType::IpAddress(ip)];
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        params.use_authority_key_identifier_extension = true;
        let key = KeyPair::generate().expect("authz-testkit: cannot generate the server key");
        let cert = params
            .signed_by(&key, &self.issuer)
            .expect("authz-testkit: cannot sign the server certificate");
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
        (vec![cert.der().clone()], key)
    }

    /// A client certificate (PEM) this CA signs for `cn` (key usage `digitalSignature`, extended
    /// key usage `clientAuth`), as a mutual-TLS client presents: what API Gateway passes as
    /// `clientCertPem`.
    pub fn client_cert_pem(&self, cn: &str) -> String {
        let mut params = CertificateParams::default();
        params.distinguished_name = DistinguishedName::new();
        params.distinguished_name.push(DnType::CommonName, cn);
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        params.use_authority_key_identifier_extension = true;
        let key = KeyPair::generate().expect("authz-testkit: cannot generate the client key");
        params
            .signed_by(&key, &self.issuer)
            .expect("authz-testkit: cannot sign the client certificate")
            .pem()
    }

    /// A rustls server configuration (aws-lc-rs provider, TLS 1.2 and 1.3, HTTP/1.1 over ALPN)
    /// presenting a new [`TestCa::server_cert`] for `127.0.0.1`.
    pub fn loopback_server_config(&self) -> Arc<ServerConfig> {
        let (chain, key) = self.server_cert(IpAddr::V4(Ipv4Addr::LOCALHOST));
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let mut config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("authz-testkit: TLS protocol versions")
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .expect("authz-testkit: server certificate and key");
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Arc::new(config)
    }
}

/// A temporary PEM file, removed when dropped.
#[derive(Debug)]
pub struct PemFile {
    path: PathBuf,
}

impl PemFile {
    /// Writes `pem` to a new file of the system temporary directory.
    pub fn new(pem: &str) -> PemFile {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let path = std::env::temp_dir().join(format!(
            "authz-testkit-ca-{}-{}.pem",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::write(&path, pem)
            .unwrap_or_else(|e| panic!("authz-testkit: cannot write {}: {e}", path.display()));
        PemFile { path }
    }

    /// Where the file is.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for PemFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}
