//! The push side of market data: a cheap, cloneable, thread-safe [`MarketInbox`] that any
//! thread or async task (it needs no runtime: a std channel) uses to hand closed candles and
//! link state changes to the engine. The engine stamps each with a sequence number and its
//! arrival time, journals it, and only then applies it.

use std::sync::mpsc::{Receiver, Sender};
use std::sync::Arc;

use crate::domain::bars::Bar;
use crate::domain::ids::{PairId, VenueId};

/// Something a live feed observed.
#[derive(Clone, Debug, PartialEq)]
pub enum PushedEvent {
    /// A closed candle of `pair` on `venue`.
    Candle {
        /// Venue that traded it.
        venue: VenueId,
        /// Pair.
        pair: PairId,
        /// The closed bar.
        bar: Bar,
    },
    /// A closed candle of `pair` on `venue` from the venue's history, fetched at start to warm
    /// the strategies up: indicators see it, nothing trades on it.
    WarmupCandle {
        /// Venue that traded it.
        venue: VenueId,
        /// Pair.
        pair: PairId,
        /// The closed bar.
        bar: Bar,
    },
    /// The link to `venue` went up (`true`) or down (`false`).
    Link {
        /// Venue.
        venue: VenueId,
        /// Whether it is now connected.
        up: bool,
    },
}

/// A pushed event as the engine received it.
#[derive(Clone, Debug, PartialEq)]
pub struct StampedEvent {
    /// Wall-clock arrival time, Unix milliseconds (from the pushing side).
    pub received_wall_ms: i64,
    /// The event.
    pub event: PushedEvent,
}

/// Push handle: clone it freely; sending never blocks. Dropping every clone is fine.
#[derive(Clone)]
pub struct MarketInbox {
    tx: Sender<StampedEvent>,
    wake: Arc<dyn Fn() + Send + Sync>,
}

/// Why a push failed: the engine has stopped.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("the engine has stopped; market event dropped")]
pub struct InboxClosed;

impl MarketInbox {
    /// A new inbox and the receiving end the engine drains. `wake` is called after each push so
    /// an idle engine thread notices (the runtime passes a nudge on its command channel).
    pub fn new(wake: Arc<dyn Fn() + Send + Sync>) -> (Self, Receiver<StampedEvent>) {
        let (tx, rx) = std::sync::mpsc::channel();
        (Self { tx, wake }, rx)
    }

    /// Hands one event to the engine, stamped with the current wall time.
    pub fn push(&self, event: PushedEvent) -> Result<(), InboxClosed> {
        let received_wall_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0);
        self.tx
            .send(StampedEvent {
                received_wall_ms,
                event,
            })
            .map_err(|_| InboxClosed)?;
        (self.wake)();
        Ok(())
    }
}

impl std::fmt::Debug for MarketInbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MarketInbox")
    }
}
