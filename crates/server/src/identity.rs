//! Who this bot is in a fleet: its name (`[server] name`, env `ZQ_NAME`, default the host name)
//! and the hash of the configuration document it runs. Both reach the metrics only through
//! `zigquant_instance_info` (docs/fleet.md), never as a label on every series.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Longest accepted bot name, in bytes (a name is for people and label values, not for prose).
pub const MAX_NAME_LEN: usize = 63;

/// Used when neither config nor environment names the bot and the host name cannot be read.
const FALLBACK_NAME: &str = "zigquant";

/// Why a bot name was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum BotNameError {
    /// The name is empty.
    #[error("must not be empty")]
    Empty,
    /// The name is longer than [`MAX_NAME_LEN`].
    #[error("{len} bytes is longer than the {MAX_NAME_LEN} allowed")]
    TooLong {
        /// The length given.
        len: usize,
    },
    /// A character outside the label-safe set.
    #[error("character {0:?} is not allowed: use letters, digits, '-', '_' and '.', starting with a letter or digit")]
    BadChar(char),
}

/// A bot's name: 1 to 63 ASCII letters, digits, `-`, `_` or `.`, starting with a letter or digit.
///
/// The charset is the host-name charset plus `_`: the name is safe as a Prometheus label value,
/// in Alertmanager group keys and notification texts, in URLs (dashboard links) and as a file
/// name, and a host name is always a valid default.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String")]
pub struct BotName(String);

impl BotName {
    /// Validates `name`.
    pub fn new(name: impl Into<String>) -> Result<Self, BotNameError> {
        let name = name.into();
        let first = name.chars().next().ok_or(BotNameError::Empty)?;
        if name.len() > MAX_NAME_LEN {
            return Err(BotNameError::TooLong { len: name.len() });
        }
        if !first.is_ascii_alphanumeric() {
            return Err(BotNameError::BadChar(first));
        }
        if let Some(bad) = name
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
        {
            return Err(BotNameError::BadChar(bad));
        }
        Ok(Self(name))
    }

    /// The default name: this machine's host name (made label-safe: other characters become
    /// `-`, cut at [`MAX_NAME_LEN`]), or `zigquant` when it cannot be read.
    pub fn from_host() -> Self {
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .ok()
            .or_else(|| std::env::var("HOSTNAME").ok())
            .unwrap_or_default();
        Self::sanitized(host.trim())
    }

    /// `raw` with every character outside the charset replaced by `-`, cut to the maximum
    /// length; `zigquant` when nothing usable is left.
    fn sanitized(raw: &str) -> Self {
        let cleaned: String = raw
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                    c
                } else {
                    '-'
                }
            })
            .take(MAX_NAME_LEN)
            .collect();
        let cleaned = cleaned.trim_start_matches(['-', '_', '.']);
        Self::new(cleaned).unwrap_or_else(|_| Self(FALLBACK_NAME.to_owned()))
    }

    /// The name as a label value.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for BotName {
    type Error = BotNameError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::new(value)
    }
}

impl fmt::Display for BotName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The first 12 hex digits of the SHA-256 of the configuration document a bot was started with
/// (the file's bytes, or the embedded default's). Two bots with the same hash run the same
/// configuration; an operator checks a file with `sha256sum FILE | cut -c1-12`. Flags and
/// environment overrides (listen address, data dir, name, keys) are per-host and not hashed.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct ConfigHash(String);

impl ConfigHash {
    /// Hex digits kept: 48 bits tell a fleet's configurations apart and stay readable in a legend.
    pub const LEN: usize = 12;

    /// The hash of `document`.
    pub fn of(document: &str) -> Self {
        let digest = ring::digest::digest(&ring::digest::SHA256, document.as_bytes());
        let mut hex = crate::keys::hex(digest.as_ref());
        hex.truncate(Self::LEN);
        Self(hex)
    }

    /// The hash as a label value.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ConfigHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_safe_names_are_accepted() {
        for ok in [
            "bot-a",
            "alpha_1",
            "eu1.bot",
            "A",
            "0bot",
            &"x".repeat(MAX_NAME_LEN),
        ] {
            assert_eq!(BotName::new(ok).unwrap().as_str(), ok);
        }
    }

    #[test]
    fn other_names_are_refused_with_the_reason() {
        assert_eq!(BotName::new(""), Err(BotNameError::Empty));
        assert_eq!(BotName::new("bot a"), Err(BotNameError::BadChar(' ')));
        assert_eq!(BotName::new("-bot"), Err(BotNameError::BadChar('-')));
        assert_eq!(BotName::new("bot\"}"), Err(BotNameError::BadChar('"')));
        assert_eq!(BotName::new("bøt"), Err(BotNameError::BadChar('ø')));
        assert_eq!(
            BotName::new("x".repeat(MAX_NAME_LEN + 1)),
            Err(BotNameError::TooLong {
                len: MAX_NAME_LEN + 1
            })
        );
    }

    #[test]
    fn a_host_name_always_becomes_a_valid_name() {
        assert_eq!(BotName::sanitized("trader-01").as_str(), "trader-01");
        assert_eq!(BotName::sanitized("my host!").as_str(), "my-host-");
        assert_eq!(BotName::sanitized("").as_str(), "zigquant");
        assert_eq!(BotName::sanitized("---").as_str(), "zigquant");
        assert_eq!(
            BotName::sanitized(&"h".repeat(100)).as_str().len(),
            MAX_NAME_LEN
        );
        BotName::new(BotName::from_host().as_str()).expect("the host default is valid");
    }

    #[test]
    fn config_hash_is_sha256_prefix() {
        // sha256("") = e3b0c44298fc1c149afbf4c8996fb924...
        assert_eq!(ConfigHash::of("").as_str(), "e3b0c44298fc");
        assert_ne!(ConfigHash::of("a"), ConfigHash::of("b"));
    }
}
