//! `zigquant keys add --name NAME | list | revoke NAME`: manages the hashed key store of a data
//! dir. A running server picks the change up within a second (auth.rs, `STORE_POLL`); the key
//! itself is printed once by `add` and never stored.

use std::path::Path;

use crate::auth::forget_handover_file;
use crate::keys::{KeyName, KeyStore, KeyStoreError};

/// What `zigquant keys` was asked to do.
pub enum KeysCommand {
    /// Create a key with this name and print it.
    Add(String),
    /// Show names, creation and last use.
    List,
    /// Delete the key with this name.
    Revoke(String),
}

/// Output of a keys command: `stdout` for the caller to print (the new key for `add`, so
/// `KEY=$(zigquant keys add --name x)` works), `note` for stderr.
pub struct KeysOutput {
    /// What goes to stdout.
    pub stdout: String,
    /// What goes to stderr.
    pub note: String,
}

/// Runs `command` on the store of `data_dir` (created when absent).
pub fn run(data_dir: &Path, command: KeysCommand) -> Result<KeysOutput, KeyStoreError> {
    std::fs::create_dir_all(data_dir).map_err(|source| KeyStoreError::Io {
        what: format!("cannot create data dir {}", data_dir.display()),
        source,
    })?;
    let store = KeyStore::open(data_dir)?;
    match command {
        KeysCommand::Add(name) => {
            let name = KeyName::parse(&name)?;
            let key = store.add(&name)?;
            Ok(KeysOutput {
                stdout: key,
                note: format!(
                    "key {name:?} created; this is the only time it is shown (only its hash is kept in {}). \
                     Send it as `Authorization: Bearer <key>`; a running server accepts it within a second.",
                    store.path().display()
                ),
            })
        }
        KeysCommand::List => {
            let keys = store.list()?;
            let mut out = format!(
                "{:<24} {:<20} {:<20}",
                "NAME", "CREATED (UTC)", "LAST USED (UTC)"
            );
            for key in &keys {
                out.push_str(&format!(
                    "\n{:<24} {:<20} {:<20}",
                    key.name.as_str(),
                    utc(key.created_unix),
                    key.last_used_unix
                        .map(utc)
                        .unwrap_or_else(|| "never".into())
                ));
            }
            Ok(KeysOutput {
                stdout: out,
                note: format!("{} key(s) in {}", keys.len(), store.path().display()),
            })
        }
        KeysCommand::Revoke(name) => {
            let name = KeyName::parse(&name)?;
            let revoked = store.hashed_keys()?.into_iter().find(|k| k.name == name);
            store.revoke(&name)?;
            let mut note =
                format!("key {name:?} revoked; a running server refuses it within a second");
            if let Some(revoked) = revoked {
                if forget_handover_file(data_dir, &revoked).unwrap_or(false) {
                    note.push_str(" (its hand-over file api_key was deleted too)");
                }
            }
            Ok(KeysOutput {
                stdout: String::new(),
                note,
            })
        }
    }
}

/// `YYYY-MM-DD HH:MM:SS` of Unix seconds, UTC.
fn utc(unix: i64) -> String {
    let days = unix.div_euclid(86_400);
    let secs = unix.rem_euclid(86_400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_formats_known_instants() {
        assert_eq!(utc(0), "1970-01-01 00:00:00");
        assert_eq!(utc(1_709_164_800), "2024-02-29 00:00:00");
        assert_eq!(utc(951_782_399), "2000-02-28 23:59:59");
    }
}
