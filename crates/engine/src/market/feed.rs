//! The configured market data sources: a seeded geometric Brownian motion per pair, or a replay
//! of an OHLCV CSV file, both pulled by the market clock through [`MarketSource`]. Bar `k` of a synthetic feed depends only on (seed, pair, k) and the previous close, so a
//! restarted engine continues exactly the path it was on.

use super::MarketSource;
use crate::config::{FeedSource, PairConfig};
use crate::domain::bars::Bar;
use crate::domain::rng::{stream_id, SplitMix64};

/// Seconds in a (365-day) year: drift and volatility are annualised over calendar time.
const SECONDS_PER_YEAR: f64 = 365.0 * 24.0 * 3600.0;

/// A feed could not be built.
#[derive(Debug, thiserror::Error)]
pub enum FeedError {
    /// The CSV file could not be loaded.
    #[error("pair {pair}: cannot load {path}: {message}")]
    Csv {
        /// Pair.
        pair: String,
        /// File.
        path: String,
        /// Loader error.
        message: String,
    },
}

#[derive(Debug)]
enum Source {
    Synthetic {
        stream: u64,
        drift: f64,
        vol: f64,
        dt_years: f64,
        start_price: f64,
    },
    Csv {
        bars: Vec<Bar>,
    },
    /// A live source: its candles are pushed through the market inbox, never pulled.
    Pushed,
}

/// One pair's bar source.
#[derive(Debug)]
pub struct Feed {
    seed: u64,
    interval_ms: i64,
    start_time_ms: i64,
    source: Source,
    next_idx: u64,
    last_close: Option<f64>,
}

impl Feed {
    /// Builds the feed for a configured pair (loads the CSV file for `source = "csv"`).
    pub fn new(
        pair: &PairConfig,
        seed: u64,
        interval_secs: f64,
        start_time_ms: i64,
    ) -> Result<Self, FeedError> {
        let source = match pair.source {
            FeedSource::Synthetic => Source::Synthetic {
                stream: stream_id(&pair.name),
                drift: pair.drift,
                vol: pair.volatility,
                dt_years: interval_secs / SECONDS_PER_YEAR,
                start_price: pair.start_price,
            },
            FeedSource::Csv => {
                let path = pair.csv_path.clone().unwrap_or_default();
                let series = crate::domain::bars::load_csv(&path).map_err(|e| FeedError::Csv {
                    pair: pair.name.clone(),
                    path: path.display().to_string(),
                    message: e.to_string(),
                })?;
                Source::Csv {
                    bars: series.into_bars(),
                }
            }
            FeedSource::Hyperliquid | FeedSource::Binance => Source::Pushed,
        };
        Ok(Self {
            seed,
            interval_ms: (interval_secs * 1000.0).round() as i64,
            start_time_ms,
            source,
            next_idx: 0,
            last_close: None,
        })
    }

    /// Continues after bar `last_idx` (restored from the journal) that closed at `last_close`.
    pub fn resume(&mut self, last_idx: u64, last_close: f64) {
        self.next_idx = last_idx + 1;
        self.last_close = Some(last_close);
    }

    /// Index the next bar will have.
    pub fn next_index(&self) -> u64 {
        self.next_idx
    }

    /// Whether a CSV replay has run out of rows (synthetic feeds never end; a live source has
    /// nothing to pull, its candles are pushed).
    pub fn is_exhausted(&self) -> bool {
        match &self.source {
            Source::Synthetic { .. } => false,
            Source::Csv { bars } => self.next_idx as usize >= bars.len(),
            Source::Pushed => true,
        }
    }

    /// Produces the next bar and its index, or `None` when a CSV replay has ended.
    pub fn next_bar(&mut self) -> Option<(u64, Bar)> {
        let idx = self.next_idx;
        let bar = match &self.source {
            Source::Csv { bars } => bars.get(idx as usize)?.clone(),
            Source::Pushed => return None,
            Source::Synthetic {
                stream,
                drift,
                vol,
                dt_years,
                start_price,
            } => {
                let open = self.last_close.unwrap_or(*start_price);
                let mut rng = SplitMix64::keyed(self.seed, *stream, idx);
                let sd = vol * dt_years.sqrt();
                let close = open * ((drift - 0.5 * vol * vol) * dt_years + sd * rng.normal()).exp();
                let high = open.max(close) * (0.5 * sd * rng.normal().abs()).exp();
                let low = open.min(close) * (-0.5 * sd * rng.normal().abs()).exp();
                let volume = 10.0 * (0.5 * rng.normal()).exp();
                Bar {
                    time_ms: self.start_time_ms + idx as i64 * self.interval_ms,
                    open,
                    high,
                    low,
                    close,
                    volume,
                }
            }
        };
        self.next_idx += 1;
        self.last_close = Some(bar.close);
        Some((idx, bar))
    }
}

impl MarketSource for Feed {
    fn next_due(&self) -> Option<i64> {
        if self.is_exhausted() {
            return None;
        }
        Some(self.start_time_ms + (self.next_idx as i64 + 1) * self.interval_ms)
    }

    fn poll(&mut self, now_ms: i64) -> Option<(u64, Bar)> {
        if self.next_due()? > now_ms {
            return None;
        }
        self.next_bar()
    }

    fn resume(&mut self, last_idx: u64, last_close: f64) {
        Feed::resume(self, last_idx, last_close);
    }

    fn is_exhausted(&self) -> bool {
        Feed::is_exhausted(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::EngineConfig;

    #[test]
    fn synthetic_bars_are_consistent_and_resume_the_same_path() {
        let cfg = EngineConfig::default();
        let pair = &cfg.pairs[0];
        let mut a = Feed::new(pair, 1, 60.0, 0).unwrap();
        let bars: Vec<Bar> = (0..50).map(|_| a.next_bar().unwrap().1).collect();
        for w in bars.windows(2) {
            assert_eq!(w[1].open, w[0].close);
            assert!(w[1].high >= w[1].open.max(w[1].close));
            assert!(w[1].low <= w[1].open.min(w[1].close));
            assert_eq!(w[1].time_ms - w[0].time_ms, 60_000);
        }
        let mut b = Feed::new(pair, 1, 60.0, 0).unwrap();
        b.resume(29, bars[29].close);
        assert_eq!(b.next_bar().unwrap().1, bars[30]);
    }
}
