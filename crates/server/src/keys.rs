//! The hashed API key store: `keys.sqlite` in the data dir, written by `zigquant keys` and read
//! by the server, which picks changes up while running (see [`crate::auth::ApiKeys`]).
//!
//! Only `SHA-256(salt ‖ key)` is stored, with the key's name and times. A fast hash is right here
//! and bcrypt is not: the keys are 256 random bits, so nobody can guess one from its hash however
//! fast the hash is (2^256 tries), while a deliberately slow hash would cost tens of milliseconds
//! of CPU on every API request, hand an attacker a cheap way to burn our CPU with wrong keys, and
//! bcrypt reads only the first 72 bytes. (Passwords chosen by people are another matter: the
//! basic-auth users of the web config are bcrypt, as in the Prometheus ecosystem.) The per-key
//! salt makes equal keys hash differently across stores.
//!
//! SQLite (not a text file) because two processes write it: the CLI adds and revokes while the
//! server records last use; its transactions survive kill -9 and `PRAGMA data_version` tells the
//! server cheaply when another process changed it.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use ring::digest;
use ring::rand::{SecureRandom, SystemRandom};
use rusqlite::{params, Connection, OptionalExtension};

/// The store's file name inside the data dir.
pub const KEYS_FILE: &str = "keys.sqlite";

/// Longest key name.
const MAX_NAME_LEN: usize = 64;

/// Why the key store could not do what was asked; messages say what to do.
#[derive(Debug, thiserror::Error)]
pub enum KeyStoreError {
    /// The SQLite file could not be opened or queried.
    #[error("key store {path}: {source}")]
    Sqlite {
        /// The store file.
        path: PathBuf,
        /// What SQLite said.
        source: rusqlite::Error,
    },
    /// The name is not a valid key name.
    #[error("invalid key name {0:?}: use 1 to 64 characters from A-Z a-z 0-9 . _ - (e.g. grafana, ci-bot), not starting with configured-")]
    InvalidName(String),
    /// A key with this name exists already.
    #[error("a key named {0:?} exists already; revoke it first or pick another name")]
    NameTaken(String),
    /// No key has this name.
    #[error("no key named {0:?} (see `zigquant keys list`)")]
    NoSuchKey(String),
    /// The OS random source failed.
    #[error("the OS random number generator failed")]
    Random,
    /// A file beside the store could not be written, or the watcher could not start.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// What the OS said.
        source: std::io::Error,
    },
}

/// A validated key name: what logs, `keys list` and the audit trail show instead of a key.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyName(String);

impl KeyName {
    /// Checks `name` against the allowed characters and length.
    pub fn parse(name: &str) -> Result<Self, KeyStoreError> {
        // `configured-N` names the config's keys in logs and the audit trail.
        let ok = !name.is_empty()
            && !name.starts_with("configured-")
            && name.len() <= MAX_NAME_LEN
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
        if ok {
            Ok(Self(name.to_string()))
        } else {
            Err(KeyStoreError::InvalidName(name.to_string()))
        }
    }

    /// A name made by zigquant itself (config and environment keys), never taken from input.
    pub(crate) fn internal(name: String) -> Self {
        Self(name)
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for KeyName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// What `keys list` shows about a key (never the key or its hash).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyInfo {
    /// The key's name.
    pub name: KeyName,
    /// Unix seconds of `keys add`.
    pub created_unix: i64,
    /// Unix seconds of the last request it authenticated (recorded every few seconds).
    pub last_used_unix: Option<i64>,
}

/// A stored key as the server checks it.
#[derive(Clone)]
pub struct HashedKey {
    /// Its name.
    pub name: KeyName,
    salt: [u8; 16],
    sha256: [u8; 32],
}

impl std::fmt::Debug for HashedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "HashedKey({})", self.name)
    }
}

impl HashedKey {
    /// Hashes `key` with a fresh salt.
    pub fn new(name: KeyName, key: &[u8]) -> Result<Self, KeyStoreError> {
        let mut salt = [0u8; 16];
        SystemRandom::new()
            .fill(&mut salt)
            .map_err(|_| KeyStoreError::Random)?;
        Ok(Self {
            name,
            salt,
            sha256: salted_sha256(&salt, key),
        })
    }

    /// True when `presented` is this key; time depends only on the lengths, never on content.
    pub fn matches(&self, presented: &[u8]) -> bool {
        crate::auth::constant_time_eq(&salted_sha256(&self.salt, presented), &self.sha256)
    }
}

fn salted_sha256(salt: &[u8], key: &[u8]) -> [u8; 32] {
    let mut context = digest::Context::new(&digest::SHA256);
    context.update(salt);
    context.update(key);
    let mut out = [0u8; 32];
    out.copy_from_slice(context.finish().as_ref());
    out
}

/// A new random key: 32 bytes from the OS, hex encoded (64 characters).
pub fn random_key() -> Result<String, KeyStoreError> {
    let mut bytes = [0u8; 32];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| KeyStoreError::Random)?;
    Ok(hex(&bytes))
}

/// Lower-case hex of `bytes`: new keys, and the config hash (identity.rs).
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 0x0f)] as char);
    }
    out
}

/// Unix seconds now.
pub fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// An open key store.
pub struct KeyStore {
    path: PathBuf,
    conn: Connection,
}

impl KeyStore {
    /// Opens (creating when absent) the store of `data_dir`.
    pub fn open(data_dir: &Path) -> Result<Self, KeyStoreError> {
        let path = data_dir.join(KEYS_FILE);
        let err = |source| KeyStoreError::Sqlite {
            path: path.clone(),
            source,
        };
        let conn = Connection::open(&path).map_err(err)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(err)?;
        conn.execute_batch(
            "PRAGMA journal_mode = WAL;
             PRAGMA synchronous = FULL;
             CREATE TABLE IF NOT EXISTS api_keys (
                 name TEXT PRIMARY KEY,
                 salt BLOB NOT NULL,
                 sha256 BLOB NOT NULL,
                 created_unix INTEGER NOT NULL,
                 last_used_unix INTEGER
             );",
        )
        .map_err(err)?;
        restrict_to_owner(&path);
        Ok(Self { path, conn })
    }

    fn err(&self, source: rusqlite::Error) -> KeyStoreError {
        KeyStoreError::Sqlite {
            path: self.path.clone(),
            source,
        }
    }

    /// The store file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Creates a key named `name`; returns the key, which is never stored.
    pub fn add(&self, name: &KeyName) -> Result<String, KeyStoreError> {
        let key = random_key()?;
        self.insert(&HashedKey::new(name.clone(), key.as_bytes())?)?;
        Ok(key)
    }

    /// Stores an already hashed key (the first-start key and the migrated plain key file).
    pub fn insert(&self, key: &HashedKey) -> Result<(), KeyStoreError> {
        let inserted = self
            .conn
            .execute(
                "INSERT OR IGNORE INTO api_keys (name, salt, sha256, created_unix) VALUES (?1, ?2, ?3, ?4)",
                params![key.name.as_str(), &key.salt[..], &key.sha256[..], unix_now()],
            )
            .map_err(|e| self.err(e))?;
        if inserted == 0 {
            return Err(KeyStoreError::NameTaken(key.name.to_string()));
        }
        Ok(())
    }

    /// Deletes the key named `name`.
    pub fn revoke(&self, name: &KeyName) -> Result<(), KeyStoreError> {
        let deleted = self
            .conn
            .execute("DELETE FROM api_keys WHERE name = ?1", [name.as_str()])
            .map_err(|e| self.err(e))?;
        if deleted == 0 {
            return Err(KeyStoreError::NoSuchKey(name.to_string()));
        }
        Ok(())
    }

    /// Names and times of every key, by name.
    pub fn list(&self) -> Result<Vec<KeyInfo>, KeyStoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT name, created_unix, last_used_unix FROM api_keys ORDER BY name")
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([], |row| {
                Ok(KeyInfo {
                    name: KeyName(row.get(0)?),
                    created_unix: row.get(1)?,
                    last_used_unix: row.get(2)?,
                })
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.err(e))
    }

    /// Every stored key, hashed, for the server.
    pub fn hashed_keys(&self) -> Result<Vec<HashedKey>, KeyStoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT name, salt, sha256 FROM api_keys")
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([], |row| {
                let name: String = row.get(0)?;
                let salt: Vec<u8> = row.get(1)?;
                let sha: Vec<u8> = row.get(2)?;
                Ok((name, salt, sha))
            })
            .map_err(|e| self.err(e))?;
        let mut keys = Vec::new();
        for row in rows {
            let (name, salt, sha) = row.map_err(|e| self.err(e))?;
            // A row of the wrong shape (edited by hand) authenticates nothing.
            if let (Ok(salt), Ok(sha256)) = (salt.try_into(), sha.try_into()) {
                keys.push(HashedKey {
                    name: KeyName(name),
                    salt,
                    sha256,
                });
            }
        }
        Ok(keys)
    }

    /// True when the store holds no key.
    pub fn is_empty(&self) -> Result<bool, KeyStoreError> {
        let any: Option<i64> = self
            .conn
            .query_row("SELECT 1 FROM api_keys LIMIT 1", [], |r| r.get(0))
            .optional()
            .map_err(|e| self.err(e))?;
        Ok(any.is_none())
    }

    /// Changes whenever another connection commits to the store (SQLite `data_version`).
    pub fn data_version(&self) -> Result<i64, KeyStoreError> {
        self.conn
            .query_row("PRAGMA data_version", [], |r| r.get(0))
            .map_err(|e| self.err(e))
    }

    /// Records when keys were last used.
    pub fn record_last_used(&mut self, uses: &[(KeyName, i64)]) -> Result<(), KeyStoreError> {
        let tx = self.conn.transaction().map_err(|e| KeyStoreError::Sqlite {
            path: self.path.clone(),
            source: e,
        })?;
        for (name, at) in uses {
            tx.execute(
                "UPDATE api_keys SET last_used_unix = max(coalesce(last_used_unix, 0), ?2) WHERE name = ?1",
                params![name.as_str(), at],
            )
            .map_err(|e| KeyStoreError::Sqlite {
                path: self.path.clone(),
                source: e,
            })?;
        }
        tx.commit().map_err(|e| KeyStoreError::Sqlite {
            path: self.path.clone(),
            source: e,
        })
    }
}

/// Best effort: the store holds only hashes, but nobody else needs to read even those.
fn restrict_to_owner(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600));
    }
    #[cfg(not(unix))]
    let _ = path;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(tag: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("zq-keys-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn names_are_checked() {
        assert!(KeyName::parse("grafana").is_ok());
        assert!(KeyName::parse("ci-bot_2.x").is_ok());
        for bad in ["", "a b", "é", "x;DROP", &"a".repeat(65), "configured-0"] {
            assert!(KeyName::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn add_list_revoke_and_only_hashes_are_stored() {
        let dir = temp_dir("crud");
        let store = KeyStore::open(&dir).unwrap();
        let name = KeyName::parse("grafana").unwrap();
        let key = store.add(&name).unwrap();
        assert_eq!(key.len(), 64);
        assert!(matches!(store.add(&name), Err(KeyStoreError::NameTaken(_))));
        let hashed = store.hashed_keys().unwrap();
        assert_eq!(hashed.len(), 1);
        assert!(hashed[0].matches(key.as_bytes()));
        assert!(!hashed[0].matches(&key.as_bytes()[1..]));
        let raw = std::fs::read(store.path()).unwrap();
        let wal = std::fs::read(dir.join(format!("{KEYS_FILE}-wal"))).unwrap_or_default();
        for bytes in [&raw, &wal] {
            assert!(!bytes.windows(64).any(|w| w == key.as_bytes()));
        }
        assert_eq!(store.list().unwrap()[0].name, name);
        store.revoke(&name).unwrap();
        assert!(store.is_empty().unwrap());
        assert!(matches!(
            store.revoke(&name),
            Err(KeyStoreError::NoSuchKey(_))
        ));
    }

    #[test]
    fn last_use_is_recorded_and_never_goes_back() {
        let dir = temp_dir("used");
        let mut store = KeyStore::open(&dir).unwrap();
        let name = KeyName::parse("grafana").unwrap();
        store.add(&name).unwrap();
        assert_eq!(store.list().unwrap()[0].last_used_unix, None);
        store.record_last_used(&[(name.clone(), 2_000)]).unwrap();
        store.record_last_used(&[(name.clone(), 1_000)]).unwrap();
        assert_eq!(store.list().unwrap()[0].last_used_unix, Some(2_000));
    }

    #[test]
    fn another_connection_s_commit_changes_data_version() {
        let dir = temp_dir("version");
        let reader = KeyStore::open(&dir).unwrap();
        let before = reader.data_version().unwrap();
        KeyStore::open(&dir)
            .unwrap()
            .add(&KeyName::parse("a").unwrap())
            .unwrap();
        assert_ne!(reader.data_version().unwrap(), before);
    }
}
