//! Request ids: one per request, in the debug access log line, the `request_id` exemplar of
//! `zigquant_api_latency_seconds` and (for authenticated calls) the audit trail and the
//! `x-request-id` response header, so a slow bucket in Grafana leads to the very request.
//!
//! A client's own `X-Request-Id` is kept when it is sane ([`RequestId::from_client`], the rule
//! the auth guard applies too); otherwise one is made here:
//! `<process>-<thread>-<n>`: the process part is the start time (hex seconds), so ids do not
//! repeat across restarts; the thread part and a per-thread sequence make ids unique within the
//! process without a shared atomic (which two request threads would bounce between cores).
//! Written into a fixed buffer: no allocation.

use std::cell::Cell;
use std::fmt;
use std::sync::atomic::{AtomicU32, Ordering::Relaxed};
use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

/// Longest id: a client's may be 64 characters (ours: 8 hex + `-` + 10 + `-` + 20 digits).
pub const MAX_LEN: usize = 64;

/// A request id, held inline.
#[derive(Clone, Copy)]
pub struct RequestId {
    bytes: [u8; MAX_LEN],
    len: u8,
}

static NEXT_THREAD: AtomicU32 = AtomicU32::new(1);

thread_local! {
    /// (thread number, requests finished on this thread).
    static SEQUENCE: Cell<(u32, u64)> = const { Cell::new((0, 0)) };
}

fn process_tag() -> u32 {
    static TAG: OnceLock<u32> = OnceLock::new();
    *TAG.get_or_init(|| {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as u32)
    })
}

impl RequestId {
    /// A new id, unique in this process and (by its start-time part) across restarts.
    pub fn next() -> Self {
        let (thread, n) = SEQUENCE.with(|s| {
            let (mut thread, n) = s.get();
            if thread == 0 {
                thread = NEXT_THREAD.fetch_add(1, Relaxed);
            }
            s.set((thread, n + 1));
            (thread, n + 1)
        });
        let mut id = Self {
            bytes: [0; MAX_LEN],
            len: 0,
        };
        id.push_hex(process_tag());
        id.push(b'-');
        id.push_decimal(u64::from(thread));
        id.push(b'-');
        id.push_decimal(n);
        id
    }

    /// A client-chosen id, if it is 1 to [`MAX_LEN`] characters of `A-Z a-z 0-9 . _ -`: what
    /// reaches a label, a log line or the audit trail stays bounded and printable.
    pub fn from_client(given: &[u8]) -> Option<Self> {
        let sane = !given.is_empty()
            && given.len() <= MAX_LEN
            && given
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
        if !sane {
            return None;
        }
        let mut id = Self {
            bytes: [0; MAX_LEN],
            len: 0,
        };
        for b in given {
            id.push(*b);
        }
        Some(id)
    }

    fn push(&mut self, b: u8) {
        if (self.len as usize) < MAX_LEN {
            self.bytes[self.len as usize] = b;
            self.len += 1;
        }
    }

    fn push_hex(&mut self, v: u32) {
        for shift in (0..8).rev() {
            let d = ((v >> (shift * 4)) & 0xf) as u8;
            self.push(if d < 10 { b'0' + d } else { b'a' + d - 10 });
        }
    }

    fn push_decimal(&mut self, mut v: u64) {
        let mut digits = [0u8; 20];
        let mut i = digits.len();
        loop {
            i -= 1;
            digits[i] = b'0' + (v % 10) as u8;
            v /= 10;
            if v == 0 {
                break;
            }
        }
        for d in &digits[i..] {
            self.push(*d);
        }
    }

    /// The id as text (ASCII letters, digits, `.`, `_` and `-`).
    pub fn as_str(&self) -> &str {
        // Only ASCII letters, digits, '.', '_' and '-' are ever pushed.
        std::str::from_utf8(&self.bytes[..self.len as usize]).unwrap_or("")
    }
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn ids_are_unique_across_threads_and_short() {
        let ids: Vec<String> = (0..4)
            .map(|_| {
                std::thread::spawn(|| {
                    (0..1000)
                        .map(|_| RequestId::next().to_string())
                        .collect::<Vec<_>>()
                })
            })
            .flat_map(|t| t.join().expect("thread"))
            .collect();
        let distinct: HashSet<&String> = ids.iter().collect();
        assert_eq!(distinct.len(), 4000);
        assert!(ids
            .iter()
            .all(|id| id.len() <= MAX_LEN && id.split('-').count() == 3));
    }
}
