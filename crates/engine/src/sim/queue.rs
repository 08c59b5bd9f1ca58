//! The simulation's one time-ordered queue of future events. Ties at one market time run in the
//! order they were scheduled (a sequence number), so runs repeat exactly.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};

/// Something scheduled to happen at a market time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Ev {
    /// The next bar of every pulled market source.
    Tick,
    /// An order reaches its venue.
    Arrive(u64),
    /// A resting order's time in force runs out.
    Expire(u64),
    /// A venue's link drops until `until_ms`.
    Disconnect {
        /// Venue index.
        exchange: usize,
        /// Market time the outage ends.
        until_ms: i64,
    },
    /// A venue's outage may be over.
    Reconnect(usize),
    /// A venue has been down for the critical time since `since_ms`.
    StillDown {
        /// Venue index.
        exchange: usize,
        /// Market time the outage began.
        since_ms: i64,
    },
}

#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Scheduled {
    time_ms: i64,
    seq: u64,
    ev: Ev,
}

/// Every open order has at most one live queued event (its arrival or its expiry); the rest of
/// the queue is the next bar and a few link events. When the queue is longer than twice the open
/// orders plus this, it is mostly stale events and is compacted.
const COMPACT_SLACK: usize = 1024;

/// See the module header.
#[derive(Debug, Default)]
pub struct EventQueue {
    heap: BinaryHeap<Reverse<Scheduled>>,
    seq: u64,
    /// Queued events not tied to an order (bars, link faults) at the last compaction.
    other_events: usize,
}

impl EventQueue {
    /// Schedules `ev` at market time `time_ms`.
    pub fn push(&mut self, time_ms: i64, ev: Ev) {
        self.seq += 1;
        self.heap.push(Reverse(Scheduled {
            time_ms,
            seq: self.seq,
            ev,
        }));
    }

    /// Market time of the earliest event.
    pub fn next_due(&self) -> Option<i64> {
        self.heap.peek().map(|s| s.0.time_ms)
    }

    /// Removes and returns the earliest event and its time.
    pub fn pop(&mut self) -> Option<(i64, Ev)> {
        self.heap.pop().map(|Reverse(s)| (s.time_ms, s.ev))
    }

    /// Queued events.
    pub fn len(&self) -> usize {
        self.heap.len()
    }

    /// Whether nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }

    /// Allocated room (load reports).
    pub fn capacity(&self) -> usize {
        self.heap.capacity()
    }

    /// Every queued event, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = &Ev> {
        self.heap.iter().map(|s| &s.0.ev)
    }

    /// Drops queued events that can no longer do anything (arrivals and expiries of orders
    /// that became final first) once they are many, and gives back the spare capacity after a
    /// backlog, so neither outlives the orders they were for.
    pub fn compact<T>(&mut self, open: &BTreeMap<u64, T>) {
        if self.heap.len() > 2 * open.len() + self.other_events + COMPACT_SLACK {
            let mut other = 0;
            self.heap.retain(|s| match s.0.ev {
                Ev::Arrive(id) | Ev::Expire(id) => open.contains_key(&id),
                _ => {
                    other += 1;
                    true
                }
            });
            self.other_events = other;
        }
        let (len, cap) = (self.heap.len(), self.heap.capacity());
        if cap > 1024 && len < cap / 4 {
            self.heap.shrink_to(len * 2);
        }
    }
}
