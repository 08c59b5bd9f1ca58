//! The exporter-toolkit's example web config files (web/testdata in prometheus/exporter-toolkit),
//! rewritten here against certificates made by openssl in the test: each is accepted or refused
//! as the toolkit does, with the toolkit's message. Where rustls cannot serve what Go can (CBC
//! suites, P-521, TLS 1.0/1.1 as a maximum) the file is refused with a message saying so; those
//! cases are marked `departure` below and in docs/web-config.md.

use std::path::{Path, PathBuf};
use std::process::Command;

use zigquant_server::web_config::LoadedWebConfig;

struct Pki {
    dir: PathBuf,
}

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| {
            panic!("openssl is needed by this test (apt-get install -y openssl): {e}")
        });
    assert!(
        out.status.success(),
        "openssl {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A CA, a server certificate for 127.0.0.1/localhost and a client certificate, in a temp dir.
fn pki(tag: &str) -> Pki {
    let dir = std::env::temp_dir().join(format!("zq-webcfg-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
    ];
    openssl(
        &dir,
        &[
            &["req", "-x509"],
            &ec[..],
            &[
                "-days",
                "2",
                "-subj",
                "/CN=zq-test-ca",
                "-keyout",
                "ca.key",
                "-out",
                "ca.crt",
            ],
        ]
        .concat(),
    );
    for (name, san) in [
        ("server", "subjectAltName=IP:127.0.0.1,DNS:localhost"),
        ("client", "subjectAltName=DNS:prometheus.example"),
        ("other-client", "subjectAltName=DNS:someone-else.example"),
    ] {
        let key = format!("{name}.key");
        let csr = format!("{name}.csr");
        let crt = format!("{name}.crt");
        let ext = format!("{name}.ext");
        std::fs::write(dir.join(&ext), format!("{san}\n")).unwrap();
        openssl(
            &dir,
            &[
                &["req"],
                &ec[..],
                &[
                    "-subj",
                    &format!("/CN={name}"),
                    "-keyout",
                    &key,
                    "-out",
                    &csr,
                ],
            ]
            .concat(),
        );
        openssl(
            &dir,
            &[
                "x509",
                "-req",
                "-in",
                &csr,
                "-CA",
                "ca.crt",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-days",
                "2",
                "-extfile",
                &ext,
                "-out",
                &crt,
            ],
        );
    }
    Pki { dir }
}

impl Pki {
    fn load(&self, name: &str, yaml: &str) -> Result<LoadedWebConfig, String> {
        let path = self.dir.join(format!("{name}.yml"));
        std::fs::write(&path, yaml).unwrap();
        LoadedWebConfig::load(&path).map_err(|e| e.message)
    }

    fn accepts(&self, name: &str, yaml: &str) -> LoadedWebConfig {
        self.load(name, yaml)
            .unwrap_or_else(|e| panic!("{name}: refused a file the toolkit accepts: {e}"))
    }

    fn refuses(&self, name: &str, yaml: &str, message: &str) {
        match self.load(name, yaml) {
            Ok(_) => panic!("{name}: accepted a file the toolkit refuses"),
            Err(e) => assert!(
                e.contains(message),
                "{name}: {e:?} does not say {message:?}"
            ),
        }
    }
}

const TLS: &str = "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n";

#[test]
fn toolkit_examples_are_accepted_or_refused_as_the_toolkit_does() {
    let pki = pki("examples");
    // web_config_noAuth.good.yml
    let loaded = pki.accepts("noAuth.good", TLS);
    assert!(loaded.tls.is_some() && loaded.users.is_empty());
    // An empty file and one without TLS fields: plain HTTP, as the toolkit's errNoTLSConfig.
    assert!(pki.accepts("empty", "").tls.is_none());
    // web_config_noAuth_someCiphers.good.yml / _noOrder
    pki.accepts(
        "someCiphers.good",
        &format!("{TLS}  cipher_suites:\n    - TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256\n    - TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384\n  min_version: TLS12\n  max_version: TLS12\n"),
    );
    pki.accepts(
        "someCiphers_noOrder.good",
        &format!("{TLS}  cipher_suites:\n    - TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256\n  prefer_server_cipher_suites: false\n"),
    );
    // web_config_noAuth_someCurves.good.yml (P-256, P-384, X25519; see the P-521 departure below)
    pki.accepts(
        "someCurves.good",
        &format!("{TLS}  curve_preferences:\n    - X25519\n    - CurveP256\n    - CurveP384\n"),
    );
    // web_config_noAuth_noHTTP2.good.yml
    pki.accepts(
        "noHTTP2.good",
        &format!("{TLS}http_server_config:\n  http2: false\n"),
    );
    // min_version TLS10/TLS11 is valid (served as TLS 1.2: never weaker than asked).
    pki.accepts("minTLS10.good", &format!("{TLS}  min_version: TLS10\n"));
    pki.accepts("minTLS13.good", &format!("{TLS}  min_version: TLS13\n"));
    // web_config_noAuth.requireanyclientcert.good.yml / requireandverifyclientcert.good.yml
    for auth in [
        "RequestClientCert",
        "RequireAnyClientCert",
        "RequireClientCert",
        "VerifyClientCertIfGiven",
        "RequireAndVerifyClientCert",
    ] {
        pki.accepts(
            auth,
            &format!("{TLS}  client_auth_type: {auth}\n  client_ca_file: ca.crt\n"),
        );
    }
    // web_config_auth_client_san.good.yaml
    pki.accepts(
        "client_san.good",
        &format!("{TLS}  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.crt\n  client_allowed_sans:\n    - prometheus.example\n"),
    );
    // web_config_noAuth_tlsInline.good.yml: cert, key and client_ca inline.
    let inline = |f: &str| {
        std::fs::read_to_string(pki.dir.join(f))
            .unwrap()
            .lines()
            .map(|l| format!("    {l}\n"))
            .collect::<String>()
    };
    pki.accepts(
        "tlsInline.good",
        &format!(
            "tls_server_config:\n  cert: |\n{}  key: |\n{}  client_ca: |\n{}  client_auth_type: RequireAndVerifyClientCert\n",
            inline("server.crt"),
            inline("server.key"),
            inline("ca.crt")
        ),
    );
    // web_config_users.good.yml and web_config_users_noTLS.good.yml
    let hash = bcrypt::hash("password", 4).unwrap();
    let users = format!("basic_auth_users:\n  alice: {hash}\n  bob: {hash}\n");
    assert!(!pki
        .accepts("users.good", &format!("{TLS}{users}"))
        .users
        .is_empty());
    let no_tls = pki.accepts("users_noTLS.good", &users);
    assert!(no_tls.tls.is_none() && !no_tls.users.is_empty());
    // web_config_headers.good.yml
    let headers = pki.accepts(
        "headers.good",
        "http_server_config:\n  headers:\n    Strict-Transport-Security: max-age=31536000; includeSubDomains\n    X-Frame-Options: deny\n    X-Content-Type-Options: nosniff\n    X-XSS-Protection: 1; mode=block\n    Content-Security-Policy: default-src 'self'\n",
    );
    assert_eq!(headers.headers.len(), 5);
    // web_config_rate_limiter_*.yaml
    let limited = pki.accepts(
        "rate_limit.good",
        "rate_limit:\n  burst: 5\n  interval: 100ms\n",
    );
    assert_eq!(
        limited.rate_limit,
        Some((5, std::time::Duration::from_millis(100)))
    );

    // ---- refused, with the toolkit's messages
    pki.refuses(
        "certPath_empty.bad",
        "tls_server_config:\n  cert_file: \"\"\n  key_file: server.key\n",
        "missing one of cert or cert_file",
    );
    pki.refuses(
        "keyPath_empty.bad",
        "tls_server_config:\n  cert_file: server.crt\n  key_file: \"\"\n",
        "missing one of key or key_file",
    );
    pki.refuses(
        "certPath_keyPath_empty.bad",
        "tls_server_config:\n  client_auth_type: RequireAndVerifyClientCert\n",
        "missing one of cert or cert_file",
    );
    pki.refuses(
        "certPath_invalid.bad",
        "tls_server_config:\n  cert_file: somefile\n  key_file: server.key\n",
        "failed to read cert_file",
    );
    pki.refuses(
        "keyPath_invalid.bad",
        "tls_server_config:\n  cert_file: server.crt\n  key_file: somefile\n",
        "failed to read key_file",
    );
    pki.refuses(
        "cert_is_not_pem.bad",
        "tls_server_config:\n  cert_file: server.ext\n  key_file: server.key\n",
        "failed to load X509KeyPair",
    );
    pki.refuses(
        "key_mismatch.bad",
        "tls_server_config:\n  cert_file: server.crt\n  key_file: client.key\n",
        "failed to load X509KeyPair",
    );
    pki.refuses(
        "inventedCiphers.bad",
        &format!("{TLS}  cipher_suites:\n    - TLS_RSA_WITH_NOT_A_CIPHER\n"),
        "unknown cipher: TLS_RSA_WITH_NOT_A_CIPHER",
    );
    pki.refuses(
        "inventedCurves.bad",
        &format!("{TLS}  curve_preferences:\n    - CurveP257\n"),
        "unknown curve: CurveP257",
    );
    pki.refuses(
        "wrongTLSVersion.bad",
        &format!("{TLS}  min_version: TLS111\n"),
        "unknown TLS version: TLS111",
    );
    pki.refuses(
        "noAuth.bad (CA without client auth)",
        &format!("{TLS}  client_ca_file: ca.crt\n"),
        "client CA's have been configured without a Client Auth Policy",
    );
    pki.refuses(
        "invalid client_auth_type",
        &format!("{TLS}  client_auth_type: Whatever\n  client_ca_file: ca.crt\n"),
        "invalid ClientAuth: Whatever",
    );
    pki.refuses(
        "clientCAs_invalid.bad",
        &format!(
            "{TLS}  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: somefile\n"
        ),
        "failed to read client_ca_file",
    );
    pki.refuses(
        "clientCAs_nocerts.bad",
        &format!(
            "{TLS}  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: server.ext\n"
        ),
        "no PEM certificate",
    );
    pki.refuses(
        "client_san_no_client_auth.bad",
        &format!("{TLS}  client_allowed_sans:\n    - prometheus.example\n"),
        "client_allowed_sans requires client_auth_type",
    );
    pki.refuses(
        "client_san_optional_cert.bad",
        &format!("{TLS}  client_auth_type: VerifyClientCertIfGiven\n  client_ca_file: ca.crt\n  client_allowed_sans:\n    - prometheus.example\n"),
        "client_allowed_sans requires client_auth_type",
    );
    pki.refuses(
        "user_list_invalid.bad",
        "basic_auth_users:\n  alice: password\n",
        "crypto/bcrypt",
    );
    pki.refuses(
        "headers_extra_header.bad",
        "http_server_config:\n  headers:\n    Foo: Bar\n",
        "HTTP header \"Foo\" can not be configured",
    );
    pki.refuses(
        "headers_frame_options.bad",
        "http_server_config:\n  headers:\n    X-Frame-Options: allow-from\n",
        "invalid value for X-Frame-Options",
    );
    pki.refuses(
        "headers_content_type_options.bad",
        "http_server_config:\n  headers:\n    X-Content-Type-Options: sniff\n",
        "invalid value for X-Content-Type-Options",
    );
    pki.refuses("junk_key", "hello: world\n", "hello");
    pki.refuses(
        "junk_key_in_tls",
        &format!("{TLS}  cert_filez: x\n"),
        "cert_filez",
    );

    // ---- departures: Go serves these, rustls cannot; refused with a message saying so.
    pki.refuses(
        "departure: CBC suite",
        &format!("{TLS}  cipher_suites:\n    - TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA\n"),
        "not supported by zigquant's TLS library",
    );
    pki.refuses(
        "departure: P-521",
        &format!("{TLS}  curve_preferences:\n    - CurveP521\n"),
        "not supported by zigquant's TLS library",
    );
    pki.refuses(
        "departure: max TLS 1.1",
        &format!("{TLS}  max_version: TLS11\n"),
        "not supported by zigquant's TLS library",
    );
}

#[test]
fn the_deploy_example_loads() {
    let pki = pki("deploy");
    let example = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/tls/web-config.yml"),
    )
    .unwrap();
    for (from, to) in [
        ("zigquant.crt", "server.crt"),
        ("zigquant.key", "server.key"),
    ] {
        std::fs::copy(pki.dir.join(to), pki.dir.join(from)).unwrap();
    }
    let loaded = pki.accepts("deploy-example", &example);
    assert!(loaded.tls.is_some());
    assert!(!loaded.users.is_empty());
    assert_eq!(loaded.headers.len(), 3);
}

/// A real handshake against the rustls config a web config makes: `client_allowed_sans` lets in
/// a client certificate with a listed SAN and refuses one from the same CA without it.
#[tokio::test(flavor = "multi_thread")]
async fn client_allowed_sans_are_enforced_in_the_handshake() {
    use tokio_rustls::rustls::pki_types::pem::PemObject;
    use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
    use tokio_rustls::rustls::{ClientConfig, RootCertStore};

    let pki = pki("sans");
    let loaded = pki.accepts(
        "sans-handshake",
        &format!("{TLS}  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.crt\n  client_allowed_sans:\n    - prometheus.example\n"),
    );
    let acceptor = tokio_rustls::TlsAcceptor::from(loaded.tls.expect("TLS on"));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                if let Ok(mut tls) = acceptor.accept(stream).await {
                    use tokio::io::AsyncWriteExt;
                    let _ = tls.write_all(b"hello").await;
                    let _ = tls.shutdown().await;
                }
            });
        }
    });
    let mut roots = RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_file(pki.dir.join("ca.crt")).unwrap())
        .unwrap();
    let handshake = |client: &'static str| {
        let roots = roots.clone();
        let dir = pki.dir.clone();
        async move {
            let certs = CertificateDer::pem_file_iter(dir.join(format!("{client}.crt")))
                .unwrap()
                .collect::<Result<Vec<_>, _>>()
                .unwrap();
            let key = PrivateKeyDer::from_pem_file(dir.join(format!("{client}.key"))).unwrap();
            let config = ClientConfig::builder_with_provider(std::sync::Arc::new(
                tokio_rustls::rustls::crypto::ring::default_provider(),
            ))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_client_auth_cert(certs, key)
            .unwrap();
            let connector = tokio_rustls::TlsConnector::from(std::sync::Arc::new(config));
            let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
            let name = ServerName::try_from("localhost").unwrap();
            let mut tls = connector.connect(name, stream).await?;
            // TLS 1.3: the server's verdict on the client certificate arrives with the first read.
            let mut buf = Vec::new();
            use tokio::io::AsyncReadExt;
            tls.read_to_end(&mut buf).await?;
            Ok::<_, std::io::Error>(buf)
        }
    };
    assert_eq!(handshake("client").await.expect("allowed SAN"), b"hello");
    assert!(
        handshake("other-client").await.is_err(),
        "a certificate without an allowed SAN got through"
    );
}
