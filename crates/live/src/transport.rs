//! Getting a byte stream to a venue: endpoint URLs (`ws`/`wss`/`http`/`https`), TCP, and TLS
//! through rustls with Mozilla's roots plus an optional private CA (`tls_ca_file`). The WebSocket
//! (feed.rs) and the REST client (rest.rs) share it, so one CA setting covers both.

use std::io;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};
use tokio_rustls::rustls::{self, ClientConfig, RootCertStore};
use tokio_rustls::TlsConnector;

/// Why a connection could not be made.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    /// The URL is not `scheme://host[:port][/path]` with a known scheme.
    #[error("bad URL {url:?}: {reason}")]
    Url {
        /// The URL.
        url: String,
        /// What is wrong.
        reason: &'static str,
    },
    /// The CA file could not be read or holds no certificate.
    #[error("tls_ca_file {path}: {message}")]
    CaFile {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// TCP connect or TLS handshake failed.
    #[error("{host}:{port}: {source}")]
    Io {
        /// Host.
        host: String,
        /// Port.
        port: u16,
        /// The error.
        #[source]
        source: io::Error,
    },
    /// Connect and handshake took longer than allowed.
    #[error("{host}:{port}: connect timed out after {after:?}")]
    Timeout {
        /// Host.
        host: String,
        /// Port.
        port: u16,
        /// The limit.
        after: Duration,
    },
}

/// A parsed endpoint URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    /// `wss`/`https`: TLS.
    pub secure: bool,
    /// Host name or IP address (brackets stripped for IPv6).
    pub host: String,
    /// Port (the scheme's default when absent).
    pub port: u16,
    /// Path and query, starting with `/`.
    pub path: String,
}

impl Endpoint {
    /// Parses `ws://`, `wss://`, `http://` or `https://` URLs.
    pub fn parse(url: &str) -> Result<Endpoint, TransportError> {
        let bad = |reason| TransportError::Url {
            url: url.to_owned(),
            reason,
        };
        let (scheme, rest) = url
            .split_once("://")
            .ok_or_else(|| bad("missing scheme://"))?;
        let (secure, default_port) = match scheme.to_ascii_lowercase().as_str() {
            "ws" | "http" => (false, 80),
            "wss" | "https" => (true, 443),
            _ => return Err(bad("scheme must be ws, wss, http or https")),
        };
        let (authority, path) = match rest.find(['/', '?']) {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        let path = if path.starts_with('?') {
            format!("/{path}")
        } else {
            path.to_owned()
        };
        if authority.contains('@') {
            return Err(bad("user info is not supported"));
        }
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let (host, after) = v6.split_once(']').ok_or_else(|| bad("unclosed ["))?;
            let port = match after.strip_prefix(':') {
                Some(p) => p.parse().map_err(|_| bad("bad port"))?,
                None if after.is_empty() => default_port,
                None => return Err(bad("bad port")),
            };
            (host.to_owned(), port)
        } else {
            match authority.rsplit_once(':') {
                Some((h, p)) => (h.to_owned(), p.parse().map_err(|_| bad("bad port"))?),
                None => (authority.to_owned(), default_port),
            }
        };
        if host.is_empty() {
            return Err(bad("missing host"));
        }
        Ok(Endpoint {
            secure,
            host,
            port,
            path,
        })
    }

    /// `host:port` as an HTTP `Host` header says it (default ports omitted).
    pub fn host_header(&self) -> String {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        let default = if self.secure { 443 } else { 80 };
        if self.port == default {
            host
        } else {
            format!("{host}:{}", self.port)
        }
    }
}

/// TLS client settings: Mozilla's roots, plus the certificates of `tls_ca_file` if given.
#[derive(Clone)]
pub struct Tls {
    connector: TlsConnector,
}

impl std::fmt::Debug for Tls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Tls")
    }
}

impl Tls {
    /// Builds the settings; reads `ca_file` (PEM, one or more certificates) now, so a bad file
    /// is a start-up error, not a reconnect loop.
    pub fn new(ca_file: Option<&Path>) -> Result<Tls, TransportError> {
        let mut roots = RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        if let Some(path) = ca_file {
            let ca_error = |message: String| TransportError::CaFile {
                path: path.to_path_buf(),
                message,
            };
            let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
                .map_err(|e| ca_error(e.to_string()))?
                .collect::<Result<_, _>>()
                .map_err(|e| ca_error(e.to_string()))?;
            if certs.is_empty() {
                return Err(ca_error("no PEM certificate in the file".into()));
            }
            for cert in certs {
                roots
                    .add(cert)
                    .map_err(|e| ca_error(format!("not a usable CA certificate: {e}")))?;
            }
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| TransportError::CaFile {
                path: PathBuf::new(),
                message: format!("TLS set-up: {e}"),
            })?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(Tls {
            connector: TlsConnector::from(Arc::new(config)),
        })
    }
}

/// A TCP stream, or a TLS session over one.
pub enum Transport {
    /// `ws://`, `http://`.
    Plain(TcpStream),
    /// `wss://`, `https://`.
    Tls(Box<TlsStream<TcpStream>>),
}

/// Opens a TCP connection to `endpoint` and, for secure schemes, completes the TLS handshake,
/// all within `timeout`.
pub async fn connect(
    endpoint: &Endpoint,
    tls: &Tls,
    timeout: Duration,
) -> Result<Transport, TransportError> {
    let io_error = |source| TransportError::Io {
        host: endpoint.host.clone(),
        port: endpoint.port,
        source,
    };
    let attempt = async {
        let tcp = TcpStream::connect((endpoint.host.as_str(), endpoint.port))
            .await
            .map_err(io_error)?;
        let _ = tcp.set_nodelay(true);
        if !endpoint.secure {
            return Ok(Transport::Plain(tcp));
        }
        let name = ServerName::try_from(endpoint.host.clone()).map_err(|e| {
            io_error(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("bad TLS server name: {e}"),
            ))
        })?;
        let session = tls.connector.connect(name, tcp).await.map_err(io_error)?;
        Ok(Transport::Tls(Box::new(session)))
    };
    tokio::time::timeout(timeout, attempt)
        .await
        .unwrap_or_else(|_| {
            Err(TransportError::Timeout {
                host: endpoint.host.clone(),
                port: endpoint.port,
                after: timeout,
            })
        })
}

impl AsyncRead for Transport {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Transport::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Transport::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Transport {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Transport::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Transport::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Transport::Plain(s) => Pin::new(s).poll_flush(cx),
            Transport::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Transport::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Transport::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_parse_with_default_ports_and_paths() {
        let e = Endpoint::parse("wss://api.hyperliquid.xyz/ws").unwrap();
        assert_eq!(
            e,
            Endpoint {
                secure: true,
                host: "api.hyperliquid.xyz".into(),
                port: 443,
                path: "/ws".into()
            }
        );
        assert_eq!(e.host_header(), "api.hyperliquid.xyz");
        let e = Endpoint::parse("wss://stream.binance.com:9443/stream?streams=a/b").unwrap();
        assert_eq!((e.port, e.path.as_str()), (9443, "/stream?streams=a/b"));
        assert_eq!(e.host_header(), "stream.binance.com:9443");
        let e = Endpoint::parse("http://127.0.0.1:8080").unwrap();
        assert_eq!((e.secure, e.path.as_str()), (false, "/"));
        let e = Endpoint::parse("https://[::1]:9/x").unwrap();
        assert_eq!((e.host.as_str(), e.port), ("::1", 9));
        for bad in [
            "api.binance.com",
            "ftp://x",
            "https://",
            "https://h:port",
            "https://u@h",
        ] {
            assert!(Endpoint::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_missing_or_empty_ca_file_is_a_clear_error() {
        let err = Tls::new(Some(Path::new("/nonexistent/ca.pem")))
            .unwrap_err()
            .to_string();
        assert!(err.contains("/nonexistent/ca.pem"), "{err}");
        let dir = std::env::temp_dir().join(format!("zq-live-ca-{}", std::process::id()));
        std::fs::write(&dir, "not a certificate\n").unwrap();
        let err = Tls::new(Some(&dir)).unwrap_err().to_string();
        std::fs::remove_file(&dir).unwrap();
        assert!(err.contains("no PEM certificate"), "{err}");
        assert!(Tls::new(None).is_ok());
    }
}
