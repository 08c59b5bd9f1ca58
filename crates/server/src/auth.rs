//! Who may call `/api/v1` (and `/metrics` when it has a token): bearer keys, compared in
//! constant time, known to the rest of the service only by their names.
//!
//! Keys come from two places: the configuration (`[api] keys`, `ZQ_API_KEY`), hashed in memory
//! at start, and the hashed store in the data dir ([`crate::keys`]), which a watcher thread
//! re-reads within [`STORE_POLL`] of `zigquant keys add` or `revoke`, without a restart.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock, Weak};
use std::time::{Duration, Instant};

use crate::keys::{random_key, unix_now, HashedKey, KeyName, KeyStore, KeyStoreError};

/// The plain-text hand-over file of the key generated on first start (mode 0600). The server
/// authenticates against the key's hash only; the file is there so `cat data/api_key` works and
/// may be deleted once the key is copied. Older versions kept their key here; such a file is
/// migrated into the store on start.
pub const GENERATED_KEY_FILE: &str = "api_key";

/// The store name of the key generated on first start (or migrated from [`GENERATED_KEY_FILE`]).
pub const GENERATED_KEY_NAME: &str = "generated";

/// How often the server looks for store changes made by `zigquant keys` (well under a second).
pub const STORE_POLL: Duration = Duration::from_millis(100);

/// How often last-use times are written back to the store.
const LAST_USED_FLUSH: Duration = Duration::from_secs(5);

/// The set of bearer keys the API accepts.
#[derive(Clone)]
pub struct ApiKeys {
    inner: Arc<KeysInner>,
}

struct KeysInner {
    /// Keys from the configuration, hashed at start.
    configured: Vec<HashedKey>,
    /// Keys of the store, replaced whole when the store changes.
    stored: RwLock<Arc<Vec<HashedKey>>>,
    /// Last use per stored key since the last flush.
    used: Mutex<HashMap<KeyName, i64>>,
}

impl std::fmt::Debug for ApiKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Keys never reach logs, not even through Debug.
        write!(
            f,
            "ApiKeys({} configured, {} stored)",
            self.inner.configured.len(),
            self.stored().len()
        )
    }
}

/// Where the accepted keys came from, for the start-up message (never a key).
#[derive(Debug, PartialEq, Eq)]
pub enum KeySource {
    /// Only from config or `ZQ_API_KEY` (plus whatever the store holds).
    Configured,
    /// The store already held keys.
    Stored {
        /// How many.
        count: usize,
    },
    /// Generated now: hashed into the store as [`GENERATED_KEY_NAME`], handed over in this file.
    Generated {
        /// The hand-over file.
        path: PathBuf,
    },
    /// A plain key file of an older version was hashed into the store as [`GENERATED_KEY_NAME`].
    Migrated {
        /// The old file (left in place: scripts may read it; deleting it is safe).
        path: PathBuf,
    },
}

impl ApiKeys {
    /// Exactly these keys, no store (tests and benchmarks).
    pub fn new(keys: impl IntoIterator<Item = String>) -> Self {
        Self::with_configured(keys.into_iter().collect::<Vec<_>>().as_slice())
    }

    fn with_configured(configured: &[String]) -> Self {
        let configured = configured
            .iter()
            .enumerate()
            .filter_map(|(i, key)| {
                HashedKey::new(KeyName::internal(format!("configured-{i}")), key.as_bytes()).ok()
            })
            .collect();
        Self {
            inner: Arc::new(KeysInner {
                configured,
                stored: RwLock::new(Arc::new(Vec::new())),
                used: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// The configured keys plus the data dir's store, which is watched for changes from now on.
    /// With no key anywhere, one is generated (hashed into the store, handed over in
    /// [`GENERATED_KEY_FILE`], mode 0600); a plain [`GENERATED_KEY_FILE`] of an older version is
    /// hashed into the store.
    pub fn open(
        configured: &[String],
        data_dir: &Path,
    ) -> Result<(Self, KeySource), KeyStoreError> {
        let store = KeyStore::open(data_dir)?;
        let plain_file = data_dir.join(GENERATED_KEY_FILE);
        let mut source = KeySource::Configured;
        // The plain file was only ever accepted when no key was configured: migrate it then only,
        // so that configuring keys keeps locking it out as before.
        let plain_key = configured
            .is_empty()
            .then(|| read_plain_key(&plain_file))
            .flatten();
        if let Some(old_key) = plain_key {
            let stored = store.hashed_keys()?;
            if !stored.iter().any(|k| k.matches(old_key.as_bytes())) {
                let name = free_name(&store, GENERATED_KEY_NAME)?;
                store.insert(&HashedKey::new(name, old_key.as_bytes())?)?;
                source = KeySource::Migrated { path: plain_file };
            }
        } else if configured.is_empty() && store.is_empty()? {
            let key = random_key()?;
            let name = KeyName::internal(GENERATED_KEY_NAME.to_string());
            store.insert(&HashedKey::new(name, key.as_bytes())?)?;
            write_private(&plain_file, &key).map_err(|source| KeyStoreError::Io {
                what: format!("cannot write {}", plain_file.display()),
                source,
            })?;
            source = KeySource::Generated { path: plain_file };
        }
        let keys = Self::with_configured(configured);
        // The watcher's baseline is taken before the keys are read, on the same connection: a
        // `zigquant keys add` that commits in between is then seen as a change (at worst read
        // twice), never lost until the next commit.
        let version = store.data_version().ok();
        let stored = store.hashed_keys()?;
        if source == KeySource::Configured && !stored.is_empty() {
            source = KeySource::Stored {
                count: stored.len(),
            };
        }
        *keys.inner.stored.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(stored);
        let weak = Arc::downgrade(&keys.inner);
        std::thread::Builder::new()
            .name("zq-keys".into())
            .spawn(move || watch_store(store, version, weak))
            .map_err(|source| KeyStoreError::Io {
                what: "cannot start the key store watcher".into(),
                source,
            })?;
        Ok((keys, source))
    }

    fn stored(&self) -> Arc<Vec<HashedKey>> {
        self.inner
            .stored
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The name of the key `presented` is, if any. Every key is compared, in constant time, so
    /// the time taken says neither whether nor which key matched.
    pub fn authenticate(&self, presented: &[u8]) -> Option<KeyName> {
        let stored = self.stored();
        let mut found: Option<&HashedKey> = None;
        for key in self.inner.configured.iter().chain(stored.iter()) {
            if key.matches(presented) && found.is_none() {
                found = Some(key);
            }
        }
        let key = found?;
        if stored.iter().any(|k| std::ptr::eq(k, key)) {
            self.inner
                .used
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(key.name.clone(), unix_now());
        }
        Some(key.name.clone())
    }

    /// True when `authorization` is `Bearer <one of the keys>`.
    pub fn accepts(&self, authorization: Option<&[u8]>) -> bool {
        authorization
            .and_then(bearer_token)
            .and_then(|token| self.authenticate(token))
            .is_some()
    }
}

/// The watcher thread: reloads the store when another process changed it, writes last-use
/// times back, and ends when the service drops its keys. `version` is the store's data_version
/// taken just before the keys in memory were read.
fn watch_store(mut store: KeyStore, mut version: Option<i64>, keys: Weak<KeysInner>) {
    let mut last_flush = Instant::now();
    loop {
        std::thread::sleep(STORE_POLL);
        let Some(inner) = keys.upgrade() else { return };
        match store.data_version() {
            Ok(now) if Some(now) != version => match store.hashed_keys() {
                Ok(fresh) => {
                    version = Some(now);
                    tracing::info!(keys = fresh.len(), "API key store changed; reloaded");
                    *inner.stored.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(fresh);
                }
                Err(e) => tracing::warn!(error = %e, "cannot reload the API key store"),
            },
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "cannot poll the API key store"),
        }
        if last_flush.elapsed() >= LAST_USED_FLUSH {
            last_flush = Instant::now();
            let used: Vec<_> =
                std::mem::take(&mut *inner.used.lock().unwrap_or_else(|e| e.into_inner()))
                    .into_iter()
                    .collect();
            if !used.is_empty() {
                if let Err(e) = store.record_last_used(&used) {
                    tracing::warn!(error = %e, "cannot record API key use");
                }
                // Our own commit does not move data_version for this connection.
            }
        }
    }
}

/// `base`, or `base-2`, `base-3`, ... whichever is free in the store.
fn free_name(store: &KeyStore, base: &str) -> Result<KeyName, KeyStoreError> {
    let taken: Vec<KeyName> = store.list()?.into_iter().map(|k| k.name).collect();
    let mut candidate = KeyName::internal(base.to_string());
    let mut n = 2;
    while taken.contains(&candidate) {
        candidate = KeyName::internal(format!("{base}-{n}"));
        n += 1;
    }
    Ok(candidate)
}

/// The key in a plain key file, when there is a non-empty one.
fn read_plain_key(path: &Path) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    let key = text.trim();
    (!key.is_empty()).then(|| key.to_string())
}

/// Deletes the plain hand-over file when it holds the key `revoked` (so `keys revoke` leaves no
/// usable copy of a revoked key behind, and the next start does not migrate it back in).
pub fn forget_handover_file(data_dir: &Path, revoked: &HashedKey) -> std::io::Result<bool> {
    let path = data_dir.join(GENERATED_KEY_FILE);
    match read_plain_key(&path) {
        Some(key) if revoked.matches(key.as_bytes()) => {
            std::fs::remove_file(&path)?;
            Ok(true)
        }
        _ => Ok(false),
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

    fn temp_dir(tag: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("zq-auth-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

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
    fn generated_key_is_hashed_private_and_stable() {
        let dir = temp_dir("gen");
        let (first, source) = ApiKeys::open(&[], &dir).unwrap();
        let file = dir.join(GENERATED_KEY_FILE);
        assert_eq!(source, KeySource::Generated { path: file.clone() });
        let key = std::fs::read_to_string(&file).unwrap().trim().to_string();
        assert_eq!(key.len(), 64);
        assert_eq!(
            first.authenticate(key.as_bytes()).map(|n| n.to_string()),
            Some(GENERATED_KEY_NAME.to_string())
        );
        drop(first);
        let (second, source) = ApiKeys::open(&[], &dir).unwrap();
        assert_eq!(source, KeySource::Stored { count: 1 });
        assert!(second.authenticate(key.as_bytes()).is_some());
        // Deleting the hand-over file does not lose the key.
        std::fs::remove_file(&file).unwrap();
        let (third, _) = ApiKeys::open(&[], &dir).unwrap();
        assert!(third.authenticate(key.as_bytes()).is_some());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.join(crate::keys::KEYS_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn an_old_plain_key_file_is_migrated_into_the_store() {
        let dir = temp_dir("migrate");
        let old = "0123456789abcdef0123456789abcdef";
        std::fs::write(dir.join(GENERATED_KEY_FILE), format!("{old}\n")).unwrap();
        let (keys, source) = ApiKeys::open(&[], &dir).unwrap();
        assert!(matches!(source, KeySource::Migrated { .. }));
        assert!(keys.authenticate(old.as_bytes()).is_some());
        let store = KeyStore::open(&dir).unwrap();
        assert_eq!(store.list().unwrap().len(), 1);
        // Next start: already there, not imported twice.
        drop(keys);
        let (_, source) = ApiKeys::open(&[], &dir).unwrap();
        assert_eq!(source, KeySource::Stored { count: 1 });
    }

    #[test]
    fn a_plain_key_file_stays_locked_out_when_keys_are_configured() {
        // Old versions ignored the file once keys were configured; migrating it would let it in.
        let dir = temp_dir("locked-out");
        let old = "0123456789abcdef0123456789abcdef";
        std::fs::write(dir.join(GENERATED_KEY_FILE), format!("{old}\n")).unwrap();
        let (keys, source) =
            ApiKeys::open(&["configured-key-0123456789".to_string()], &dir).unwrap();
        assert_eq!(source, KeySource::Configured);
        assert!(keys.authenticate(old.as_bytes()).is_none());
    }

    /// 100 store polls: a bound for "picked up at all", not a latency target.
    const PICKUP_DEADLINE: Duration = Duration::from_secs(10);

    #[test]
    fn store_changes_are_picked_up_while_running() {
        let dir = temp_dir("watch");
        let (keys, _) = ApiKeys::open(&["configured-key-0123456789".to_string()], &dir).unwrap();
        let cli = KeyStore::open(&dir).unwrap();
        let name = KeyName::parse("ci").unwrap();
        let key = cli.add(&name).unwrap();
        // The store is polled every STORE_POLL (100 ms); the deadline is generous so that a
        // loaded CI machine does not fail a correctness test on timing (the loop ends as soon as
        // the change is seen).
        let deadline = Instant::now() + PICKUP_DEADLINE;
        while keys.authenticate(key.as_bytes()).is_none() {
            assert!(
                Instant::now() < deadline,
                "added key not picked up within {PICKUP_DEADLINE:?}"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        cli.revoke(&name).unwrap();
        let deadline = Instant::now() + PICKUP_DEADLINE;
        while keys.authenticate(key.as_bytes()).is_some() {
            assert!(
                Instant::now() < deadline,
                "revoked key still accepted after {PICKUP_DEADLINE:?}"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(keys.authenticate(b"configured-key-0123456789").is_some());
    }
}
