//! `tls_server_config` -> a rustls `ServerConfig` (ring provider), with Go's crypto/tls meaning
//! for every field the toolkit documents.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio_rustls::rustls::client::danger::HandshakeSignatureValid;
use tokio_rustls::rustls::crypto::{ring, CryptoProvider, SupportedKxGroup};
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use tokio_rustls::rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use tokio_rustls::rustls::server::WebPkiClientVerifier;
use tokio_rustls::rustls::{
    self, DigitallySignedStruct, DistinguishedName, RootCertStore, ServerConfig, SignatureScheme,
    SupportedCipherSuite, SupportedProtocolVersion,
};

use super::{join_dir, TlsServerConfig};

/// Go cipher suite names zigquant (rustls) can serve, and the rustls suite for each.
fn supported_suite(name: &str) -> Option<SupportedCipherSuite> {
    use ring::cipher_suite::*;
    Some(match name {
        "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256" => TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
        "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384" => TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
        "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256" => {
            TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256
        }
        "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256" => TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
        "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384" => TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
        "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256" => {
            TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256
        }
        // TLS 1.3 suites are always on in Go and cannot be configured; accept their names.
        "TLS_AES_128_GCM_SHA256" => TLS13_AES_128_GCM_SHA256,
        "TLS_AES_256_GCM_SHA384" => TLS13_AES_256_GCM_SHA384,
        "TLS_CHACHA20_POLY1305_SHA256" => TLS13_CHACHA20_POLY1305_SHA256,
        _ => return None,
    })
}

/// Suites the toolkit accepts (Go's `tls.CipherSuites()`) that rustls refuses to implement (CBC
/// and RSA key exchange): refused with their own message. Go's insecure suites are unknown to the
/// toolkit too, and get its `unknown cipher` message.
const GO_ONLY_SUITES: [&str; 8] = [
    "TLS_RSA_WITH_AES_128_CBC_SHA",
    "TLS_RSA_WITH_AES_256_CBC_SHA",
    "TLS_RSA_WITH_AES_128_GCM_SHA256",
    "TLS_RSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA",
    "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA",
    "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
    "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA",
];

fn kx_group(name: &str) -> Result<&'static dyn SupportedKxGroup, String> {
    match name {
        "X25519" => Ok(ring::kx_group::X25519),
        "CurveP256" => Ok(ring::kx_group::SECP256R1),
        "CurveP384" => Ok(ring::kx_group::SECP384R1),
        "CurveP521" => Err("curve CurveP521 is not supported by zigquant's TLS library (rustls); use X25519, CurveP256 or CurveP384".into()),
        _ => Err(format!("unknown curve: {name}")),
    }
}

/// Go's TLS version names, as numbers to compare.
fn version(name: &str) -> Result<u16, String> {
    match name {
        "TLS10" => Ok(10),
        "TLS11" => Ok(11),
        "TLS12" => Ok(12),
        "TLS13" => Ok(13),
        _ => Err(format!("unknown TLS version: {name}")),
    }
}

/// The files a TLS config reads, resolved against the config's directory.
pub fn files(c: &TlsServerConfig, dir: &Path) -> Vec<PathBuf> {
    [&c.cert_file, &c.key_file, &c.client_ca_file]
        .into_iter()
        .flatten()
        .filter(|f| !f.is_empty())
        .map(|f| join_dir(dir, f))
        .collect()
}

fn non_empty(s: &Option<String>) -> Option<&str> {
    s.as_deref().filter(|s| !s.is_empty())
}

/// Reads a file named by the config, with the toolkit's message on failure.
fn read(field: &str, dir: &Path, file: &str) -> Result<Vec<u8>, String> {
    let path = join_dir(dir, file);
    std::fs::read(&path).map_err(|e| format!("failed to read {field} ({}): {e}", path.display()))
}

/// Builds the rustls configuration of an enabled `tls_server_config`.
pub fn server_config(c: &TlsServerConfig, dir: &Path) -> Result<ServerConfig, String> {
    let cert_pem = match (non_empty(&c.cert_file), non_empty(&c.cert)) {
        (Some(file), _) => read("cert_file", dir, file)?,
        (None, Some(inline)) => inline.as_bytes().to_vec(),
        (None, None) => return Err("missing one of cert or cert_file".into()),
    };
    let key_pem = match (non_empty(&c.key_file), non_empty(&c.key)) {
        (Some(file), _) => read("key_file", dir, file)?,
        (None, Some(inline)) => inline.as_bytes().to_vec(),
        (None, None) => return Err("missing one of key or key_file".into()),
    };
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&cert_pem)
        .collect::<Result<_, _>>()
        .map_err(|e| format!("failed to load X509KeyPair: {e}"))?;
    if certs.is_empty() {
        return Err(
            "failed to load X509KeyPair: tls: failed to find any PEM data in certificate input"
                .into(),
        );
    }
    let key = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|e| match e {
        rustls::pki_types::pem::Error::NoItemsFound => {
            "failed to load X509KeyPair: tls: failed to find any PEM data in key input".to_string()
        }
        e => format!("failed to load X509KeyPair: {e}"),
    })?;

    // Versions: rustls has TLS 1.2 and 1.3 only. A minimum below 1.2 is served as 1.2 (stricter,
    // never weaker); a maximum below 1.2 cannot be served at all.
    let min = non_empty(&c.min_version)
        .map(version)
        .transpose()?
        .unwrap_or(12);
    let max = non_empty(&c.max_version)
        .map(version)
        .transpose()?
        .unwrap_or(13);
    if max < 12 {
        return Err(format!(
            "max_version TLS1{} is not supported by zigquant's TLS library (rustls): TLS 1.2 and 1.3 only",
            max - 10
        ));
    }
    if min > max {
        return Err("min_version is above max_version".into());
    }
    let mut versions: Vec<&'static SupportedProtocolVersion> = Vec::new();
    if min <= 12 {
        versions.push(&rustls::version::TLS12);
    }
    if max >= 13 {
        versions.push(&rustls::version::TLS13);
    }

    let mut provider = ring::default_provider();
    if !c.cipher_suites.is_empty() {
        let mut tls12 = Vec::new();
        for name in &c.cipher_suites {
            match supported_suite(name) {
                Some(suite) if suite.version() == &rustls::version::TLS12 => tls12.push(suite),
                Some(_) => {}
                None if GO_ONLY_SUITES.contains(&name.as_str()) => {
                    return Err(format!(
                        "cipher suite {name} is not supported by zigquant's TLS library (rustls): only ECDHE with AES-GCM or ChaCha20-Poly1305"
                    ))
                }
                None => return Err(format!("unknown cipher: {name}")),
            }
        }
        // As in Go, the list restricts TLS 1.2; TLS 1.3 suites stay on.
        provider
            .cipher_suites
            .retain(|s| s.version() == &rustls::version::TLS13);
        provider.cipher_suites.extend(tls12);
    }
    if !c.curve_preferences.is_empty() {
        provider.kx_groups = c
            .curve_preferences
            .iter()
            .map(|n| kx_group(n))
            .collect::<Result<_, _>>()?;
    }
    let provider = Arc::new(provider);

    let client_ca = match (non_empty(&c.client_ca_file), non_empty(&c.client_ca)) {
        (Some(file), _) => Some(read("client_ca_file", dir, file)?),
        (None, Some(inline)) => Some(inline.as_bytes().to_vec()),
        (None, None) => None,
    };
    let auth = non_empty(&c.client_auth_type).unwrap_or("NoClientCert");
    let verifier = client_verifier(auth, client_ca.as_deref(), provider.clone())?;
    if c.client_allowed_sans.is_some()
        && !matches!(
            auth,
            "RequireAnyClientCert" | "RequireClientCert" | "RequireAndVerifyClientCert"
        )
    {
        return Err("client_allowed_sans requires client_auth_type to be one of RequireAnyClientCert or RequireAndVerifyClientCert".into());
    }
    let verifier: Arc<dyn ClientCertVerifier> = match (&c.client_allowed_sans, verifier) {
        (Some(sans), Some(inner)) => Arc::new(SanFilter::new(inner, sans)?),
        (_, Some(inner)) => inner,
        // NoClientCert: rustls' own never-asking verifier.
        (_, None) => WebPkiClientVerifier::no_client_auth(),
    };

    let mut config = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&versions)
        .map_err(|e| format!("invalid TLS settings: {e}"))?
        .with_client_cert_verifier(verifier)
        .with_single_cert(certs, key)
        .map_err(|e| format!("failed to load X509KeyPair: {e}"))?;
    config.ignore_client_order = c.prefer_server_cipher_suites.unwrap_or(true);
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// The verifier for `client_auth_type`; None for NoClientCert.
fn client_verifier(
    auth: &str,
    ca_pem: Option<&[u8]>,
    provider: Arc<CryptoProvider>,
) -> Result<Option<Arc<dyn ClientCertVerifier>>, String> {
    let roots = || -> Result<Arc<RootCertStore>, String> {
        let Some(pem) = ca_pem else {
            return Err(format!(
                "client_auth_type {auth} needs client_ca_file or client_ca to verify client certificates"
            ));
        };
        let mut roots = RootCertStore::empty();
        for cert in CertificateDer::pem_slice_iter(pem) {
            let cert = cert.map_err(|e| format!("invalid client CA: {e}"))?;
            roots
                .add(cert)
                .map_err(|e| format!("invalid client CA: {e}"))?;
        }
        if roots.is_empty() {
            return Err("client CA holds no PEM certificate".into());
        }
        Ok(Arc::new(roots))
    };
    let webpki = |optional: bool| -> Result<Arc<dyn ClientCertVerifier>, String> {
        let builder = WebPkiClientVerifier::builder_with_provider(roots()?, provider.clone());
        let builder = if optional {
            builder.allow_unauthenticated()
        } else {
            builder
        };
        builder
            .build()
            .map_err(|e| format!("invalid client CA: {e}"))
    };
    match auth {
        "NoClientCert" => {
            if ca_pem.is_some() {
                return Err("client CA's have been configured without a Client Auth Policy".into());
            }
            Ok(None)
        }
        "RequestClientCert" => Ok(Some(Arc::new(AnyClientCert {
            mandatory: false,
            provider,
        }))),
        "RequireAnyClientCert" | "RequireClientCert" => Ok(Some(Arc::new(AnyClientCert {
            mandatory: true,
            provider,
        }))),
        "VerifyClientCertIfGiven" => webpki(true).map(Some),
        "RequireAndVerifyClientCert" => webpki(false).map(Some),
        other => Err(format!("invalid ClientAuth: {other}")),
    }
}

/// Go's RequestClientCert / RequireAnyClientCert: asks for a certificate and checks that the
/// client holds its key, but not who issued it.
#[derive(Debug)]
struct AnyClientCert {
    mandatory: bool,
    provider: Arc<CryptoProvider>,
}

impl ClientCertVerifier for AnyClientCert {
    fn client_auth_mandatory(&self) -> bool {
        self.mandatory
    }
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }
    fn verify_client_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        Ok(ClientCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// `client_allowed_sans`: the inner verifier, then one of the listed DNS or IP SANs.
#[derive(Debug)]
struct SanFilter {
    inner: Arc<dyn ClientCertVerifier>,
    allowed: Vec<ServerName<'static>>,
}

impl SanFilter {
    fn new(inner: Arc<dyn ClientCertVerifier>, sans: &[String]) -> Result<Self, String> {
        let allowed = sans
            .iter()
            .map(|s| {
                ServerName::try_from(s.clone()).map_err(|_| {
                    format!("client_allowed_sans: {s:?} is neither a DNS name nor an IP address (zigquant matches only those SAN types)")
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(Self { inner, allowed })
    }
}

impl ClientCertVerifier for SanFilter {
    fn client_auth_mandatory(&self) -> bool {
        self.inner.client_auth_mandatory()
    }
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        self.inner.root_hint_subjects()
    }
    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        let verified = self
            .inner
            .verify_client_cert(end_entity, intermediates, now)?;
        let cert = webpki::EndEntityCert::try_from(end_entity).map_err(|e| {
            rustls::Error::General(format!("error parsing client certificate: {e}"))
        })?;
        if self
            .allowed
            .iter()
            .any(|name| cert.verify_is_valid_for_subject_name(name).is_ok())
        {
            Ok(verified)
        } else {
            Err(rustls::Error::General(
                "could not find allowed SANs in client cert".into(),
            ))
        }
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}
