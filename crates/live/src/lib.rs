//! Live public market data from Hyperliquid and Binance, as nautilus_trader's venue adapters do
//! it: one module per venue speaking its documented protocol (hyperliquid.rs, binance.rs), a
//! candle sequencer that hands on each closed candle exactly once and in order (sequencer.rs),
//! REST history for warm-up and holes (rest.rs), and a link supervisor with heartbeats and capped
//! backoff (feed.rs, link.rs). Output is plain data ([`LiveEvent`]); the binary wires it to the
//! engine and the metrics. Only public data: no keys, no private endpoints. See docs/live.md.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod binance;
pub mod candle;
pub mod events;
pub mod feed;
pub mod hyperliquid;
pub mod link;
pub mod protocol;
pub mod rest;
pub mod sequencer;
pub mod transport;
pub mod venue;

pub use candle::Candle;
pub use events::{CandleOrigin, ErrorReason, LiveEvent, LiveSink, MessageKind, SharedSink};
pub use feed::{Feed, FeedError, FeedSpec, Timing};
pub use venue::{Interval, IntervalError, Venue};
