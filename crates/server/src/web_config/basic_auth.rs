//! `basic_auth_users`: bcrypt-hashed passwords, checked like the exporter-toolkit does it.
//!
//! * An unknown user is checked against a decoy hash of the same cost, so the time taken does
//!   not tell which user names exist.
//! * bcrypt is slow on purpose (tens of ms); results are cached by a SHA-256 of user, hash and
//!   password, so a Prometheus scraping every 15 s pays it once, and only one bcrypt runs at a
//!   time so a flood of guesses cannot take every core (the auth-failure limit stops it anyway).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, OnceLock};

use base64::Engine as _;
use ring::digest;

/// Most cached results; the cache is emptied when full (it refills at one bcrypt per entry).
const CACHE_CAPACITY: usize = 1024;

/// Credentials of an `Authorization: Basic` header.
#[derive(Clone)]
pub struct BasicCredentials {
    /// The user name.
    pub user: String,
    password: String,
}

impl std::fmt::Debug for BasicCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "BasicCredentials({:?}, <password>)", self.user)
    }
}

impl BasicCredentials {
    /// Parses `Basic base64(user:password)`; None when the header is something else.
    pub fn parse(header: &[u8]) -> Option<Self> {
        let (scheme, rest) = header.split_at_checked(6)?;
        if !scheme.eq_ignore_ascii_case(b"basic ") {
            return None;
        }
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(rest.trim_ascii())
            .ok()?;
        let text = String::from_utf8(decoded).ok()?;
        let (user, password) = text.split_once(':')?;
        Some(Self {
            user: user.to_string(),
            password: password.to_string(),
        })
    }
}

/// The users of a web config.
pub struct BasicAuthUsers {
    users: BTreeMap<String, String>,
    /// The users' bcrypt cost, for the decoy.
    cost: u32,
    /// A hash of a random password at the users' cost, for unknown user names; made on first
    /// need (a bcrypt: not on the request path of a config reload, but inside `verify`, which
    /// runs off the async workers).
    decoy: OnceLock<String>,
    cache: Mutex<HashMap<[u8; 32], bool>>,
    bcrypt: Mutex<()>,
}

impl std::fmt::Debug for BasicAuthUsers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "BasicAuthUsers({} users)", self.users.len())
    }
}

impl BasicAuthUsers {
    /// Checks that every hash is a bcrypt hash (as the toolkit's `validateUsers`).
    pub fn new(users: BTreeMap<String, String>) -> Result<Self, String> {
        let mut cost = None;
        for (user, hash) in &users {
            let c = bcrypt_cost(hash).map_err(|e| {
                format!("basic_auth_users: the password of {user:?} is not a bcrypt hash: {e}")
            })?;
            cost.get_or_insert(c);
        }
        Ok(Self {
            users,
            cost: cost.unwrap_or(bcrypt::DEFAULT_COST),
            decoy: OnceLock::new(),
            cache: Mutex::new(HashMap::new()),
            bcrypt: Mutex::new(()),
        })
    }

    /// True when no user is configured (basic auth is off).
    pub fn is_empty(&self) -> bool {
        self.users.is_empty()
    }

    /// True when `credentials` name a user with that password. Blocking (bcrypt): call it off
    /// the async workers.
    pub fn verify(&self, credentials: &BasicCredentials) -> bool {
        let (hash, known) = match self.users.get(&credentials.user) {
            Some(hash) => (hash.as_str(), true),
            None => (self.decoy().as_str(), false),
        };
        let cache_key = {
            let mut context = digest::Context::new(&digest::SHA256);
            for part in [credentials.user.as_bytes(), hash.as_bytes()] {
                context.update(&(part.len() as u64).to_le_bytes());
                context.update(part);
            }
            context.update(credentials.password.as_bytes());
            let mut key = [0u8; 32];
            key.copy_from_slice(context.finish().as_ref());
            key
        };
        if let Some(ok) = self.lock_cache().get(&cache_key) {
            return *ok && known;
        }
        let ok = {
            let _one_at_a_time = self.bcrypt.lock().unwrap_or_else(|e| e.into_inner());
            bcrypt::verify(&credentials.password, hash).unwrap_or(false)
        };
        let mut cache = self.lock_cache();
        if cache.len() >= CACHE_CAPACITY {
            cache.clear();
        }
        cache.insert(cache_key, ok && known);
        ok && known
    }

    fn decoy(&self) -> &String {
        self.decoy.get_or_init(|| {
            let password = crate::keys::random_key().unwrap_or_else(|_| "decoy".repeat(8));
            // A valid cost (checked in `new`), so hashing cannot fail; an empty decoy would only
            // make unknown users fail faster, never succeed.
            bcrypt::hash(password, self.cost).unwrap_or_default()
        })
    }

    fn lock_cache(&self) -> std::sync::MutexGuard<'_, HashMap<[u8; 32], bool>> {
        self.cache.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The cost of a bcrypt hash (`$2a$`, `$2b$`, `$2x$` or `$2y$`, two-digit cost 4..=31, 53 more
/// characters of bcrypt's base64), or what is wrong with it (Go's `bcrypt.Cost` messages).
fn bcrypt_cost(hash: &str) -> Result<u32, String> {
    if hash.len() < 59 {
        return Err("crypto/bcrypt: hashedSecret too short to be a bcrypted password".into());
    }
    let bytes = hash.as_bytes();
    if bytes[0] != b'$' {
        return Err(format!(
            "crypto/bcrypt: bcrypt hashes must start with '$', but hashedSecret started with '{}'",
            hash.chars().next().unwrap_or('?')
        ));
    }
    let (version, rest) = hash[1..]
        .split_once('$')
        .ok_or("crypto/bcrypt: malformed hash")?;
    if !matches!(version, "2a" | "2b" | "2x" | "2y") {
        return Err(format!(
            "crypto/bcrypt: bcrypt algorithm version '{version}' requested is newer than current version '2'"
        ));
    }
    let (cost, salt_and_hash) = rest
        .split_once('$')
        .ok_or("crypto/bcrypt: malformed hash")?;
    let cost: u32 = cost
        .parse()
        .map_err(|_| format!("crypto/bcrypt: invalid cost {cost:?}"))?;
    if !(4..=31).contains(&cost) {
        return Err(format!(
            "crypto/bcrypt: cost {cost} is outside allowed inclusive range 4..31"
        ));
    }
    let bcrypt64 = |b: u8| b.is_ascii_alphanumeric() || b == b'.' || b == b'/';
    if salt_and_hash.len() != 53 || !salt_and_hash.bytes().all(bcrypt64) {
        return Err("crypto/bcrypt: malformed salt or hash".into());
    }
    Ok(cost)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(user: &str, password: &str) -> Vec<u8> {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
        )
        .into_bytes()
    }

    #[test]
    fn verifies_bcrypt_users_and_refuses_the_rest() {
        let hash = bcrypt::hash("s3cret", 4).unwrap();
        let users = BasicAuthUsers::new(BTreeMap::from([("prom".to_string(), hash)])).unwrap();
        let ok = BasicCredentials::parse(&header("prom", "s3cret")).unwrap();
        assert!(users.verify(&ok));
        assert!(users.verify(&ok), "cached answer is the same");
        for (u, p) in [("prom", "wrong"), ("nobody", "s3cret"), ("", "")] {
            assert!(!users.verify(&BasicCredentials::parse(&header(u, p)).unwrap()));
        }
        assert!(BasicCredentials::parse(b"Bearer abc").is_none());
        assert!(BasicCredentials::parse(b"Basic !!!").is_none());
        assert!(!format!("{ok:?}").contains("s3cret"));
    }

    #[test]
    fn unknown_users_take_as_long_as_wrong_passwords() {
        // Without the decoy an unknown user would be answered in microseconds and a known one
        // after a bcrypt: user names could be told apart by timing. Interleaved samples, fresh
        // passwords (no cache hits), medians, and a deliberately generous bound (a factor of 20
        // either way): a missing decoy is ~1000x off, while a busy shared CI machine can put a
        // few-fold scheduler noise on 2 ms medians. This is a correctness test of the decoy, not
        // a speed target.
        let users = BasicAuthUsers::new(BTreeMap::from([(
            "prom".to_string(),
            bcrypt::hash("right", 5).unwrap(),
        )]))
        .unwrap();
        let mut known = Vec::new();
        let mut unknown = Vec::new();
        for i in 0..9 {
            for (user, times) in [("prom", &mut known), ("nobody", &mut unknown)] {
                let credentials =
                    BasicCredentials::parse(&header(user, &format!("guess-{i}"))).unwrap();
                let start = std::time::Instant::now();
                assert!(!users.verify(&credentials));
                times.push(start.elapsed());
            }
        }
        known.sort();
        unknown.sort();
        let ratio = known[4].as_secs_f64() / unknown[4].as_secs_f64();
        assert!(
            (0.05..20.0).contains(&ratio),
            "known/unknown user time ratio {ratio}"
        );
    }

    #[test]
    fn non_bcrypt_hashes_are_refused_like_the_toolkit_does() {
        let good = bcrypt::hash("x", 4).unwrap();
        for (hash, want) in [
            ("plaintext".to_string(), "too short"),
            (format!("x{}", &good[1..]), "must start with '$'"),
            (format!("{}$", &good[..good.len() - 1]), "malformed"),
        ] {
            let err = BasicAuthUsers::new(BTreeMap::from([("u".to_string(), hash)])).unwrap_err();
            assert!(err.contains(want), "{err}");
        }
    }
}
