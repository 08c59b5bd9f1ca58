//! What a venue message means once decoded, independent of the venue: the feed loop
//! (feed.rs) reacts to these, the venue modules produce them.

use crate::candle::Candle;

/// One decoded WebSocket message (a Hyperliquid message whose `data` is an array yields several).
#[derive(Clone, Debug, PartialEq)]
pub enum Inbound {
    /// A candle update. `closed` is the venue's own flag where it has one (Binance `k.x`);
    /// `None` means the venue closes a candle by sending a later one (Hyperliquid).
    Candle {
        /// The venue's symbol (`BTC`, `BTCUSDT`).
        symbol: String,
        /// The candle as sent.
        candle: Candle,
        /// The venue's closed flag, if it has one.
        closed: Option<bool>,
        /// Venue event time, Unix ms, where the message has one (Binance `E`).
        event_time_ms: Option<i64>,
    },
    /// The answer to our heartbeat (Hyperliquid `{"channel":"pong"}`).
    Pong,
    /// The venue confirmed a subscription.
    SubscriptionResponse,
    /// The venue announced it is about to drop the connection (Binance `serverShutdown`):
    /// reconnect at once.
    ServerShutdown,
    /// A channel or event type this feed does not use (counted, ignored).
    Unknown,
}

/// A message that is not what the venue documents (not JSON, missing fields, bad numbers).
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("malformed message: {0}")]
pub struct Malformed(pub String);

impl From<serde_json::Error> for Malformed {
    fn from(e: serde_json::Error) -> Self {
        Malformed(e.to_string())
    }
}

/// A REST history request, venue-specific in content, sent by rest.rs.
#[derive(Clone, Debug, PartialEq)]
pub enum HistoryRequest {
    /// `GET <rest_url><path_and_query>`.
    Get {
        /// Path and query, e.g. `/api/v3/klines?symbol=BTCUSDT&...`.
        path_and_query: String,
    },
    /// `POST <rest_url><path>` with a JSON body.
    PostJson {
        /// Path, e.g. `/info`.
        path: String,
        /// The JSON body.
        body: String,
    },
}
