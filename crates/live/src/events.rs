//! What a live feed reports, as plain data: closed candles for the engine, link changes for the
//! exchange gauge and the order gate, and the counts behind the `zigquant_market_data_*` metric
//! families. The feed knows nothing of metrics or the engine; the binary maps these.

use std::sync::Arc;

use crate::candle::Candle;
use crate::venue::Venue;

/// Why a message or candle was not used, or a link was judged dead: the `reason` label of
/// `zigquant_market_data_errors_total` (a closed set, so no input can add a series).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorReason {
    /// Not the documented message shape, or prices that do not make a candle.
    Malformed,
    /// A closed candle already handed on.
    Duplicate,
    /// A candle older than the last one handed on.
    OutOfOrder,
    /// The stream skipped candles (they are fetched over REST).
    Gap,
    /// A REST history request failed (refused, timeout, 429/5xx, bad body).
    RestFailed,
    /// No answer to a heartbeat within two heartbeat periods: a silent stall.
    HeartbeatTimeout,
}

impl ErrorReason {
    /// Every reason, for label domains.
    pub const ALL: [ErrorReason; 6] = [
        ErrorReason::Malformed,
        ErrorReason::Duplicate,
        ErrorReason::OutOfOrder,
        ErrorReason::Gap,
        ErrorReason::RestFailed,
        ErrorReason::HeartbeatTimeout,
    ];

    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorReason::Malformed => "malformed",
            ErrorReason::Duplicate => "duplicate",
            ErrorReason::OutOfOrder => "out_of_order",
            ErrorReason::Gap => "gap",
            ErrorReason::RestFailed => "rest_failed",
            ErrorReason::HeartbeatTimeout => "heartbeat_timeout",
        }
    }
}

/// What a received WebSocket message was: the `kind` label of
/// `zigquant_market_data_messages_total` (a closed set).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MessageKind {
    /// A candle the venue marks closed (Binance `k.x = true`).
    Candle,
    /// A candle still forming (Binance `k.x = false`; every Hyperliquid candle update, since
    /// Hyperliquid closes a candle only by sending the next one).
    CandlePartial,
    /// An answer to our heartbeat (Hyperliquid `pong` channel, or a WebSocket pong frame).
    Pong,
    /// A WebSocket ping frame from the venue (Binance sends one every 20 s; answered).
    Ping,
    /// A subscription confirmation.
    SubscriptionResponse,
    /// Binance `serverShutdown`.
    ServerShutdown,
    /// A channel or event type the feed does not use.
    Unknown,
    /// Not the documented shape (also counted as an error, reason `malformed`).
    Malformed,
}

impl MessageKind {
    /// Every kind, for label domains.
    pub const ALL: [MessageKind; 8] = [
        MessageKind::Candle,
        MessageKind::CandlePartial,
        MessageKind::Pong,
        MessageKind::Ping,
        MessageKind::SubscriptionResponse,
        MessageKind::ServerShutdown,
        MessageKind::Unknown,
        MessageKind::Malformed,
    ];

    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            MessageKind::Candle => "candle",
            MessageKind::CandlePartial => "candle_partial",
            MessageKind::Pong => "pong",
            MessageKind::Ping => "ping",
            MessageKind::SubscriptionResponse => "subscription_response",
            MessageKind::ServerShutdown => "server_shutdown",
            MessageKind::Unknown => "unknown",
            MessageKind::Malformed => "malformed",
        }
    }
}

/// Where a closed candle came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CandleOrigin {
    /// REST history fetched at start to warm the strategies up.
    Warmup,
    /// REST history fetched after a reconnect or a gap in the stream.
    Backfill,
    /// The WebSocket stream.
    Stream,
}

/// One fact from a live feed.
#[derive(Clone, Debug, PartialEq)]
pub enum LiveEvent {
    /// A closed candle, handed on exactly once per (venue, symbol) and in time order.
    Candle {
        /// Venue.
        venue: Venue,
        /// The venue's symbol, as configured.
        symbol: Arc<str>,
        /// The candle.
        candle: Candle,
        /// Where it came from.
        origin: CandleOrigin,
    },
    /// A candle message (closed or still forming) for a subscribed symbol arrived: prices are
    /// flowing, whether or not a candle closed (what market-data staleness should measure;
    /// a 5-minute candle closes only every 5 minutes, its updates come every few seconds).
    Update {
        /// Venue.
        venue: Venue,
        /// The venue's symbol, as configured.
        symbol: Arc<str>,
    },
    /// The link went up (open and heartbeat answered) or down.
    Link {
        /// Venue.
        venue: Venue,
        /// `true` = up.
        up: bool,
    },
    /// One WebSocket message was received.
    Message {
        /// Venue.
        venue: Venue,
        /// What it was.
        kind: MessageKind,
    },
    /// Something was dropped or judged broken.
    Error {
        /// Venue.
        venue: Venue,
        /// Why.
        reason: ErrorReason,
    },
    /// A reconnect attempt (each connection attempt after the first).
    Reconnect {
        /// Venue.
        venue: Venue,
    },
    /// Venue event time to receipt, seconds (only messages carrying an event time: Binance).
    Delay {
        /// Venue.
        venue: Venue,
        /// Seconds; negative values (clock skew) are reported as 0.
        seconds: f64,
    },
}

/// Receives a feed's events, synchronously on the feed's task: keep it quick (a metric update,
/// a channel send).
pub trait LiveSink: Send + Sync {
    /// Called once per event, in the order they happen.
    fn on_event(&self, event: LiveEvent);
}

impl<F: Fn(LiveEvent) + Send + Sync> LiveSink for F {
    fn on_event(&self, event: LiveEvent) {
        self(event)
    }
}

/// A shared sink.
pub type SharedSink = Arc<dyn LiveSink>;
