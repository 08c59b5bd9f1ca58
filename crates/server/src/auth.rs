//! Bearer-key authentication for `/api/v1` and the optional `/metrics` token.

use std::io::Read;
use std::path::{Path, PathBuf};

/// The file, inside the data dir, that holds the key zigquant generated for itself.
pub const GENERATED_KEY_FILE: &str = "api_key";

/// The set of bearer keys the API accepts.
#[derive(Clone)]
pub struct ApiKeys {
    keys: Vec<Vec<u8>>,
}

impl std::fmt::Debug for ApiKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Keys never reach logs, not even through Debug.
        write!(f, "ApiKeys({} keys)", self.keys.len())
    }
}

/// Where the accepted keys came from, for the start-up message (never the key itself).
pub enum KeySource {
    /// From config or `ZQ_API_KEY`.
    Configured,
    /// Generated now, or earlier, and stored in this file.
    File {
        /// The key file.
        path: PathBuf,
        /// True when this start created it.
        created: bool,
    },
}

impl ApiKeys {
    /// Keys given explicitly.
    pub fn new(keys: impl IntoIterator<Item = String>) -> Self {
        Self {
            keys: keys.into_iter().map(String::into_bytes).collect(),
        }
    }

    /// The configured keys, or the data dir's generated key (created with mode 0600 when absent).
    pub fn load_or_create(
        configured: &[String],
        data_dir: &Path,
    ) -> std::io::Result<(Self, KeySource)> {
        if !configured.is_empty() {
            return Ok((Self::new(configured.iter().cloned()), KeySource::Configured));
        }
        let path = data_dir.join(GENERATED_KEY_FILE);
        if path.exists() {
            let text = std::fs::read_to_string(&path)?;
            let key = text.trim();
            if key.is_empty() {
                return Err(std::io::Error::other(format!(
                    "{} exists but holds no key; delete it to have a new one generated",
                    path.display()
                )));
            }
            return Ok((
                Self::new([key.to_string()]),
                KeySource::File {
                    path,
                    created: false,
                },
            ));
        }
        let key = random_key()?;
        write_private(&path, &key)?;
        Ok((
            Self::new([key]),
            KeySource::File {
                path,
                created: true,
            },
        ))
    }

    /// True when `authorization` is `Bearer <one of the keys>`; compared in constant time.
    pub fn accepts(&self, authorization: Option<&[u8]>) -> bool {
        let Some(presented) = authorization.and_then(bearer_token) else {
            return false;
        };
        let mut ok = false;
        for key in &self.keys {
            ok |= constant_time_eq(presented, key);
        }
        ok
    }
}

/// Extracts the token of an `Authorization: Bearer <token>` header value.
pub fn bearer_token(header: &[u8]) -> Option<&[u8]> {
    let (scheme, rest) = header.split_at_checked(7)?;
    if !scheme.eq_ignore_ascii_case(b"bearer ") {
        return None;
    }
    let token = rest.trim_ascii();
    (!token.is_empty()).then_some(token)
}

/// Compares two byte strings in time that depends only on their lengths.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut diff = 0u8;
    for (x, y) in a.iter().zip(b) {
        diff |= x ^ y;
    }
    std::hint::black_box(diff) == 0
}

/// 32 random bytes from the OS, hex encoded.
fn random_key() -> std::io::Result<String> {
    let mut bytes = [0u8; 32];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut bytes)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// Writes a file readable by its owner only.
fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    #[cfg(unix)]
    use std::os::unix::fs::OpenOptionsExt;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    options.mode(0o600);
    let mut file = options.open(path)?;
    file.write_all(contents.as_bytes())?;
    file.write_all(b"\n")?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_only_the_exact_bearer_key() {
        let keys = ApiKeys::new(["0123456789abcdef".to_string()]);
        assert!(keys.accepts(Some(b"Bearer 0123456789abcdef")));
        assert!(keys.accepts(Some(b"bearer 0123456789abcdef")));
        assert!(!keys.accepts(None));
        assert!(!keys.accepts(Some(b"Bearer 0123456789abcdeX")));
        assert!(!keys.accepts(Some(b"Bearer 0123456789abcde")));
        assert!(!keys.accepts(Some(b"Basic 0123456789abcdef")));
        assert!(!keys.accepts(Some(b"Bearer ")));
        assert!(!keys.accepts(Some(b"0123456789abcdef")));
        assert!(!format!("{keys:?}").contains("0123"));
    }

    #[test]
    fn generated_key_is_private_and_stable() {
        let dir = std::env::temp_dir().join(format!("zq-auth-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let (first, source) = ApiKeys::load_or_create(&[], &dir).unwrap();
        assert!(matches!(source, KeySource::File { created: true, .. }));
        let (second, source) = ApiKeys::load_or_create(&[], &dir).unwrap();
        assert!(matches!(source, KeySource::File { created: false, .. }));
        assert_eq!(first.keys, second.keys);
        assert_eq!(first.keys[0].len(), 64);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.join(GENERATED_KEY_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
