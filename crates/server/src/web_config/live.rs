//! The web config as it is on disk now: re-read when the file or any file it names (certificate,
//! key, client CA) changes, so a rotated certificate or a new basic-auth user is served without a
//! restart (the toolkit re-reads on every TLS handshake; we look at file stamps instead, at most
//! every [`CHECK_EVERY`], and read only when one changed).
//!
//! A changed file that no longer loads is logged and the last good config stays in force: a
//! half-written certificate during rotation must not take the endpoint down. Turning TLS on or
//! off needs a restart (the listener is one or the other), so such a change is refused the same way.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant, SystemTime};

use super::{LoadedWebConfig, WebConfigError};

/// Least time between two looks at the files' stamps.
pub const CHECK_EVERY: Duration = Duration::from_millis(100);

/// What identifies a file's content without reading it.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Stamp {
    modified: Option<SystemTime>,
    len: u64,
    #[cfg(unix)]
    inode: u64,
}

fn stamp(path: &Path) -> Option<Stamp> {
    let meta = std::fs::metadata(path).ok()?;
    Some(Stamp {
        modified: meta.modified().ok(),
        len: meta.len(),
        #[cfg(unix)]
        inode: std::os::unix::fs::MetadataExt::ino(&meta),
    })
}

struct Current {
    config: Arc<LoadedWebConfig>,
    stamps: Vec<(PathBuf, Option<Stamp>)>,
}

/// A web config file that follows its changes on disk.
pub struct LiveWebConfig {
    path: PathBuf,
    current: RwLock<Current>,
    last_check: Mutex<Instant>,
}

impl std::fmt::Debug for LiveWebConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "LiveWebConfig({})", self.path.display())
    }
}

impl LiveWebConfig {
    /// Loads `path`; an invalid file is an error here (at start), never later.
    pub fn load(path: &Path) -> Result<Self, WebConfigError> {
        let config = LoadedWebConfig::load(path)?;
        let stamps = config.files.iter().map(|f| (f.clone(), stamp(f))).collect();
        Ok(Self {
            path: path.to_path_buf(),
            current: RwLock::new(Current {
                config: Arc::new(config),
                stamps,
            }),
            last_check: Mutex::new(Instant::now()),
        })
    }

    /// The file this follows.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The config in force, re-read first when a file changed.
    pub fn current(&self) -> Arc<LoadedWebConfig> {
        self.refresh();
        self.current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .config
            .clone()
    }

    fn refresh(&self) {
        {
            let mut last = self.last_check.lock().unwrap_or_else(|e| e.into_inner());
            if last.elapsed() < CHECK_EVERY {
                return;
            }
            *last = Instant::now();
        }
        let changed = {
            let current = self.current.read().unwrap_or_else(|e| e.into_inner());
            current.stamps.iter().any(|(f, s)| stamp(f) != *s)
        };
        if !changed {
            return;
        }
        let mut current = self.current.write().unwrap_or_else(|e| e.into_inner());
        // Remember what we looked at, so a broken file is reported once per change, not per request.
        let seen: Vec<_> = current
            .stamps
            .iter()
            .map(|(f, _)| (f.clone(), stamp(f)))
            .collect();
        match LoadedWebConfig::load(&self.path) {
            Ok(fresh) if fresh.tls.is_some() != current.config.tls.is_some() => {
                tracing::error!(
                    file = %self.path.display(),
                    "web config change turns TLS {}; that needs a restart, keeping the previous config",
                    if fresh.tls.is_some() { "on" } else { "off" }
                );
                current.stamps = seen;
            }
            Ok(fresh) => {
                tracing::info!(file = %self.path.display(), "web config reloaded");
                current.stamps = fresh.files.iter().map(|f| (f.clone(), stamp(f))).collect();
                current.config = Arc::new(fresh);
            }
            Err(e) => {
                tracing::error!(error = %e, "web config changed but cannot be used; keeping the previous config");
                current.stamps = seen;
            }
        }
    }
}
