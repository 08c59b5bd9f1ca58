//! Market data into the engine, two ways:
//!
//! * pulled: a [`MarketSource`] produces the bar of each pair when the market clock says it is
//!   due (the synthetic and CSV feeds in [`feed`]);
//! * pushed: anything outside the engine (a websocket task) sends closed candles and link
//!   up/down events through a [`MarketInbox`]; the engine stamps and journals each one before it
//!   acts on it, so a restart can tell what it saw and when.
//!
//! Prices are kept per `(venue, pair)` in [`marks::Marks`].

pub mod feed;
pub mod inbox;
pub mod marks;

use crate::domain::bars::Bar;

pub use inbox::{MarketInbox, PushedEvent, StampedEvent};
pub use marks::Marks;

/// A pulled source of bars for one pair, driven by the market clock.
pub trait MarketSource: Send {
    /// Market time (ms) at which the next bar closes, or `None` when the source has ended.
    fn next_due(&self) -> Option<i64>;
    /// The next bar and its index if it is due at `now_ms`, else `None`.
    fn poll(&mut self, now_ms: i64) -> Option<(u64, Bar)>;
    /// Continues after bar `last_idx`, restored from the journal, that closed at `last_close`.
    fn resume(&mut self, last_idx: u64, last_close: f64);
    /// Whether the source can produce no more bars (a CSV replay that has run out).
    fn is_exhausted(&self) -> bool;
}
