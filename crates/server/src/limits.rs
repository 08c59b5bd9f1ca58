//! Per-client-address limits: failed authentications (a token bucket that turns guessing into a
//! 429 with `Retry-After`), request rate, and concurrent connections.
//!
//! Why per address and not global: a global limit lets one flooding client lock everybody out,
//! Prometheus included. Successful clients never spend auth-failure tokens, so a client with a
//! valid key is never slowed by that limit; only its own flood can hit the request-rate limit.
//!
//! Memory is bounded: each table holds at most [`MAX_TRACKED_ADDRESSES`] addresses; idle entries
//! (a full bucket, no open connection) are pruned first, and when an attacker holds more live
//! addresses than that, the surplus shares one overflow entry (it limits them together).

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde::Deserialize;

/// Most addresses one table tracks (a few MiB at worst).
pub const MAX_TRACKED_ADDRESSES: usize = 65_536;

/// The `[limits]` configuration section.
#[derive(Clone, Debug, Deserialize, serde::Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    /// Failed authentications one address may make in a burst; they refill at this many per
    /// minute. Past it: 429 with `Retry-After`, without looking at the credentials.
    pub auth_failures_per_minute: u32,
    /// Requests per second one address may sustain (0 turns the limit off).
    pub requests_per_second: u32,
    /// Requests one address may send in a burst above `requests_per_second`.
    pub request_burst: u32,
    /// Open connections one address may hold; more are answered 503 and closed (0: no limit).
    pub max_connections_per_address: u32,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            auth_failures_per_minute: 10,
            requests_per_second: 1000,
            request_burst: 2000,
            max_connections_per_address: 256,
        }
    }
}

impl LimitsConfig {
    /// Checks what types alone cannot; messages name the field.
    pub fn validate(&self) -> Result<(), String> {
        if self.auth_failures_per_minute == 0 {
            return Err("limits.auth_failures_per_minute: must be positive".into());
        }
        if self.requests_per_second > 0 && self.request_burst == 0 {
            return Err(
                "limits.request_burst: must be positive when requests_per_second is set".into(),
            );
        }
        Ok(())
    }
}

/// The address a limit is kept for: IPv4 as is, IPv6 by its /64 (one host usually owns a whole
/// /64, so per-/128 limits would be no limit at all).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ClientKey(IpAddr);

impl ClientKey {
    /// The key of a peer address.
    pub fn of(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V4(v4) => Self(IpAddr::V4(v4)),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => Self(IpAddr::V4(v4)),
                None => {
                    let s = v6.segments();
                    Self(IpAddr::V6(Ipv6Addr::new(
                        s[0], s[1], s[2], s[3], 0, 0, 0, 0,
                    )))
                }
            },
        }
    }

    /// The shared entry of addresses beyond [`MAX_TRACKED_ADDRESSES`].
    fn overflow() -> Self {
        Self(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
    }
}

/// A token bucket: `capacity` tokens, refilled at `per_second`.
#[derive(Clone, Copy, Debug)]
struct Bucket {
    tokens: f64,
    updated: Instant,
}

#[derive(Clone, Copy, Debug)]
struct Rate {
    capacity: f64,
    per_second: f64,
}

impl Rate {
    fn refill(&self, bucket: &mut Bucket, now: Instant) {
        let elapsed = now.saturating_duration_since(bucket.updated).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * self.per_second).min(self.capacity);
        bucket.updated = now;
    }

    /// Time until one token is there again.
    fn wait_for_one(&self, bucket: &Bucket) -> Duration {
        let missing = (1.0 - bucket.tokens).max(0.0);
        Duration::from_secs_f64(missing / self.per_second)
    }
}

/// How long to wait before retrying, for `Retry-After` (whole seconds, at least 1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryAfter(pub u64);

impl RetryAfter {
    fn from_wait(wait: Duration) -> Self {
        Self(wait.as_secs_f64().ceil().max(1.0) as u64)
    }
}

/// Buckets per address, bounded.
#[derive(Debug)]
struct BucketTable {
    rate: Rate,
    buckets: Mutex<HashMap<ClientKey, Bucket>>,
}

impl BucketTable {
    fn new(rate: Rate) -> Self {
        Self {
            rate,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<ClientKey, Bucket>> {
        // A panic while holding this lock cannot leave a bucket half-updated in a way that
        // matters (it is two numbers); keep limiting rather than failing every request.
        self.buckets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Runs `f` on the address's bucket, refilled to `now`.
    fn with<T>(&self, key: ClientKey, now: Instant, f: impl FnOnce(&Rate, &mut Bucket) -> T) -> T {
        let mut buckets = self.lock();
        let key = if buckets.contains_key(&key) || buckets.len() < MAX_TRACKED_ADDRESSES {
            key
        } else {
            let rate = self.rate;
            buckets.retain(|_, b| {
                rate.refill(b, now);
                b.tokens < rate.capacity
            });
            if buckets.len() < MAX_TRACKED_ADDRESSES {
                key
            } else {
                ClientKey::overflow()
            }
        };
        let bucket = buckets.entry(key).or_insert(Bucket {
            tokens: self.rate.capacity,
            updated: now,
        });
        self.rate.refill(bucket, now);
        f(&self.rate, bucket)
    }

    /// Ok when the address has a token left (without taking it).
    fn check(&self, key: ClientKey, now: Instant) -> Result<(), RetryAfter> {
        self.with(key, now, |rate, bucket| {
            if bucket.tokens >= 1.0 {
                Ok(())
            } else {
                Err(RetryAfter::from_wait(rate.wait_for_one(bucket)))
            }
        })
    }

    /// Takes a token when there is one.
    fn take(&self, key: ClientKey, now: Instant) -> Result<(), RetryAfter> {
        self.with(key, now, |rate, bucket| {
            if bucket.tokens >= 1.0 {
                bucket.tokens -= 1.0;
                Ok(())
            } else {
                Err(RetryAfter::from_wait(rate.wait_for_one(bucket)))
            }
        })
    }

    fn tracked(&self) -> usize {
        self.lock().len()
    }
}

/// The limits of one running service, shared by the accept loop and the API.
#[derive(Debug)]
pub struct ClientLimits {
    auth_failures: BucketTable,
    requests: Option<BucketTable>,
    max_connections: u32,
    connections: Mutex<HashMap<ClientKey, u32>>,
}

impl ClientLimits {
    /// Limits as configured.
    pub fn new(config: &LimitsConfig) -> Self {
        let failures = f64::from(config.auth_failures_per_minute.max(1));
        Self {
            auth_failures: BucketTable::new(Rate {
                capacity: failures,
                per_second: failures / 60.0,
            }),
            requests: (config.requests_per_second > 0).then(|| {
                BucketTable::new(Rate {
                    capacity: f64::from(config.request_burst.max(1)),
                    per_second: f64::from(config.requests_per_second),
                })
            }),
            max_connections: config.max_connections_per_address,
            connections: Mutex::new(HashMap::new()),
        }
    }

    /// Err when `ip` used up its failed authentications: answer 429 without checking anything.
    pub fn auth_allowed(&self, ip: IpAddr) -> Result<(), RetryAfter> {
        self.auth_failures.check(ClientKey::of(ip), Instant::now())
    }

    /// Spends one of `ip`'s failed authentications.
    pub fn record_auth_failure(&self, ip: IpAddr) {
        let _ = self.auth_failures.take(ClientKey::of(ip), Instant::now());
    }

    /// Err when `ip` is over its request rate.
    pub fn request_allowed(&self, ip: IpAddr) -> Result<(), RetryAfter> {
        match &self.requests {
            Some(table) => table.take(ClientKey::of(ip), Instant::now()),
            None => Ok(()),
        }
    }

    /// A slot for one more connection from `ip`, or None when it holds the maximum already.
    pub fn open_connection(self: &Arc<Self>, ip: IpAddr) -> Option<ConnectionSlot> {
        let key = ClientKey::of(ip);
        let mut connections = self
            .connections
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let key = if connections.contains_key(&key) || connections.len() < MAX_TRACKED_ADDRESSES {
            key
        } else {
            ClientKey::overflow()
        };
        let open = connections.entry(key).or_insert(0);
        if self.max_connections > 0 && *open >= self.max_connections {
            if *open == 0 {
                connections.remove(&key);
            }
            return None;
        }
        *open += 1;
        Some(ConnectionSlot {
            limits: self.clone(),
            key,
        })
    }

    /// Addresses currently tracked by the auth-failure table (for tests of the bound).
    pub fn tracked_auth_addresses(&self) -> usize {
        self.auth_failures.tracked()
    }
}

/// One open connection counted against its address; released when dropped.
#[derive(Debug)]
pub struct ConnectionSlot {
    limits: Arc<ClientLimits>,
    key: ClientKey,
}

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        let mut connections = self
            .limits
            .connections
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(open) = connections.get_mut(&self.key) {
            *open = open.saturating_sub(1);
            if *open == 0 {
                connections.remove(&self.key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn failures_run_out_per_address_and_say_when_to_retry() {
        let limits = ClientLimits::new(&LimitsConfig::default());
        let attacker = ip("10.0.0.1");
        for _ in 0..10 {
            assert!(limits.auth_allowed(attacker).is_ok());
            limits.record_auth_failure(attacker);
        }
        let retry = limits.auth_allowed(attacker).unwrap_err();
        // One token comes back every 6 s at 10 a minute.
        assert!((1..=6).contains(&retry.0), "{retry:?}");
        assert!(limits.auth_allowed(ip("10.0.0.2")).is_ok());
    }

    #[test]
    fn ipv6_hosts_share_their_slash_64() {
        assert_eq!(
            ClientKey::of(ip("2001:db8:1:2::1")),
            ClientKey::of(ip("2001:db8:1:2:ffff::9"))
        );
        assert_ne!(
            ClientKey::of(ip("2001:db8:1:2::1")),
            ClientKey::of(ip("2001:db8:1:3::1"))
        );
        assert_eq!(
            ClientKey::of(ip("::ffff:10.0.0.1")),
            ClientKey::of(ip("10.0.0.1"))
        );
    }

    #[test]
    fn request_rate_refills() {
        let table = BucketTable::new(Rate {
            capacity: 2.0,
            per_second: 1000.0,
        });
        let key = ClientKey::of(ip("10.0.0.1"));
        let t0 = Instant::now();
        assert!(table.take(key, t0).is_ok());
        assert!(table.take(key, t0).is_ok());
        assert!(table.take(key, t0).is_err());
        assert!(table.take(key, t0 + Duration::from_millis(5)).is_ok());
    }

    #[test]
    fn connection_slots_are_counted_and_released() {
        let limits = Arc::new(ClientLimits::new(&LimitsConfig {
            max_connections_per_address: 2,
            ..LimitsConfig::default()
        }));
        let a = limits.open_connection(ip("10.0.0.1")).unwrap();
        let _b = limits.open_connection(ip("10.0.0.1")).unwrap();
        assert!(limits.open_connection(ip("10.0.0.1")).is_none());
        assert!(limits.open_connection(ip("10.0.0.2")).is_some());
        drop(a);
        assert!(limits.open_connection(ip("10.0.0.1")).is_some());
    }

    #[test]
    fn the_table_stays_bounded_under_many_addresses() {
        let table = BucketTable::new(Rate {
            capacity: 1.0,
            per_second: 1e-9,
        });
        let now = Instant::now();
        for i in 0..(MAX_TRACKED_ADDRESSES as u32 + 1000) {
            let _ = table.take(ClientKey::of(IpAddr::V4(Ipv4Addr::from(i))), now);
        }
        assert!(table.tracked() <= MAX_TRACKED_ADDRESSES + 1);
    }
}
