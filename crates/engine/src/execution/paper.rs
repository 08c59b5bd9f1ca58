//! Paper exchanges: fees, a lognormal latency, random outages and the matching rules for market
//! and limit orders against bars. The link's state machine is in [`super::link`].

use super::link::Link;
use crate::config::ExchangeConfig;
use crate::domain::bars::Bar;
use crate::domain::ids::VenueId;
use crate::domain::orders::OrderSide;
use crate::domain::rng::{stream_id, SplitMix64};

/// Random-stream tags, so latency, outage and noise draws never share a stream.
const LATENCY_TAG: u64 = 0x4c41_5445_4e43_5900;
const OUTAGE_TAG: u64 = 0x4f55_5441_4745_0000;

/// One simulated venue and the state of its link.
#[derive(Debug)]
pub struct PaperExchange {
    /// Its configuration.
    pub cfg: ExchangeConfig,
    /// Its name as a typed id (marks are keyed by it).
    pub id: VenueId,
    stream: u64,
    /// The state of its link.
    pub link: Link,
}

impl PaperExchange {
    /// A connected exchange.
    pub fn new(cfg: ExchangeConfig) -> Self {
        Self {
            id: VenueId::new(cfg.name.clone()),
            stream: stream_id(&cfg.name),
            cfg,
            link: Link::default(),
        }
    }

    /// Submit -> arrival latency of order `order_id`, market milliseconds (≥ 0.1).
    pub fn latency_ms(&self, seed: u64, order_id: u64) -> f64 {
        let mut rng = SplitMix64::keyed(seed, self.stream ^ LATENCY_TAG, order_id);
        rng.lognormal_median_p99(self.cfg.latency_median_ms, self.cfg.latency_p99_ms)
            .max(0.1)
    }

    /// Fee of a fill: `fee_rate × qty × price` (docs/statistics.md §6).
    pub fn fee(&self, qty: f64, price: f64) -> f64 {
        self.cfg.fee_rate * qty * price
    }

    /// Whether a random outage starts during bar tick `tick`, which spans `tick_wall_secs` of
    /// wall time; if so, its duration in wall seconds.
    pub fn random_outage(&self, seed: u64, tick: u64, tick_wall_secs: f64) -> Option<f64> {
        if self.cfg.disconnect_rate_per_hour <= 0.0 {
            return None;
        }
        let mut rng = SplitMix64::keyed(seed, self.stream ^ OUTAGE_TAG, tick);
        let p = (self.cfg.disconnect_rate_per_hour / 3600.0 * tick_wall_secs).min(1.0);
        if rng.chance(p) {
            Some(self.cfg.disconnect_mean_secs * (0.5 + rng.uniform()))
        } else {
            None
        }
    }
}

/// Whether a limit order at `limit` would trade immediately against the last price.
pub fn marketable(side: OrderSide, limit: f64, last: f64) -> bool {
    match side {
        OrderSide::Buy => last <= limit,
        OrderSide::Sell => last >= limit,
    }
}

/// The price a resting limit order fills at during `bar`, if the bar trades through it: the
/// limit, or the open when the bar opens beyond it (a gap fills at the better price).
pub fn limit_fill_price(side: OrderSide, limit: f64, bar: &Bar) -> Option<f64> {
    match side {
        OrderSide::Buy if bar.low <= limit => Some(limit.min(bar.open)),
        OrderSide::Sell if bar.high >= limit => Some(limit.max(bar.open)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bar(open: f64, high: f64, low: f64, close: f64) -> Bar {
        Bar {
            time_ms: 0,
            open,
            high,
            low,
            close,
            volume: 1.0,
        }
    }

    #[test]
    fn limit_orders_fill_only_when_crossed_at_the_better_of_limit_and_open() {
        let b = bar(100.0, 101.0, 99.0, 100.5);
        assert_eq!(limit_fill_price(OrderSide::Buy, 99.5, &b), Some(99.5));
        assert_eq!(limit_fill_price(OrderSide::Buy, 98.0, &b), None);
        assert_eq!(limit_fill_price(OrderSide::Buy, 102.0, &b), Some(100.0));
        assert_eq!(limit_fill_price(OrderSide::Sell, 100.8, &b), Some(100.8));
        assert_eq!(limit_fill_price(OrderSide::Sell, 101.5, &b), None);
        assert_eq!(limit_fill_price(OrderSide::Sell, 95.0, &b), Some(100.0));
        assert!(marketable(OrderSide::Buy, 100.0, 99.0));
        assert!(!marketable(OrderSide::Sell, 100.0, 99.0));
    }
}
