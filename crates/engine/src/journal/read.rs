//! The journal's reads on the write connection: what a restart replays and single orders
//! (lifetime totals come from `super::counters`).

use std::collections::HashMap;

use rusqlite::{params, OptionalExtension, Row};

use super::rows::{fill_from_row, order_from_row};
use super::{Journal, JournalError, OrderRecord};
use crate::domain::bars::Bar;
use crate::domain::orders::Order;
use crate::report::views::TradeInfo;

/// A bar from a row's `time_ms, open, high, low, close, volume` columns (by name, so each query
/// may put them where it likes).
fn bar_from_row(r: &Row<'_>) -> rusqlite::Result<Bar> {
    Ok(Bar {
        time_ms: r.get("time_ms")?,
        open: r.get("open")?,
        high: r.get("high")?,
        low: r.get("low")?,
        close: r.get("close")?,
        volume: r.get("volume")?,
    })
}

impl Journal {
    /// Journaled run states.
    pub fn strategy_states(&self) -> Result<HashMap<String, bool>, JournalError> {
        let mut st = self
            .conn
            .prepare("SELECT name, running FROM strategy_state")?;
        let rows = st.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, bool>(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
    /// Every fill, in the order they happened.
    pub fn all_fills(&self) -> Result<Vec<TradeInfo>, JournalError> {
        let mut st = self.conn.prepare("SELECT * FROM fills ORDER BY id")?;
        let rows = st.query_map([], fill_from_row)?;
        let v: Vec<TradeInfo> = rows.collect::<Result<_, _>>()?;
        self.count_rows(v.len() as u64);
        Ok(v)
    }
    /// Every equity sample `(scope, equity)`, in the order they were taken.
    pub fn all_equity(&self) -> Result<Vec<(String, f64)>, JournalError> {
        let mut st = self
            .conn
            .prepare("SELECT scope, equity FROM equity ORDER BY seq")?;
        let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        let v: Vec<(String, f64)> = rows.collect::<Result<_, _>>()?;
        self.count_rows(v.len() as u64);
        Ok(v)
    }
    /// The last bar of each pair with its index.
    pub fn last_bars(&self) -> Result<Vec<(String, u64, Bar)>, JournalError> {
        let mut st = self.conn.prepare(
            "SELECT b.pair, b.idx, b.time_ms, b.open, b.high, b.low, b.close, b.volume FROM bars b \
             JOIN (SELECT pair, MAX(idx) AS m FROM bars GROUP BY pair) l \
             ON b.pair = l.pair AND b.idx = l.m",
        )?;
        let rows = st.query_map([], |r| {
            Ok((r.get(0)?, r.get::<_, i64>(1)? as u64, bar_from_row(r)?))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
    /// Open time of the latest pushed closed candle applied (`None` before the first): a
    /// restart resumes one-sample-per-bar-period from its period (docs/statistics.md §9).
    pub fn last_pushed_candle_ms(&self) -> Result<Option<i64>, JournalError> {
        Ok(self.conn.query_row(
            "SELECT MAX(time_ms) FROM market_inbox WHERE kind = 'candle'",
            [],
            |r| r.get(0),
        )?)
    }
    /// Close of the latest pushed closed candle of `pair` from `venue` (`None` before the first):
    /// a restart marks a live pair at it, as the run had. Walks the candle-time index backwards
    /// from the newest candle, so it stops within the last period's few rows.
    pub fn last_pushed_close(&self, venue: &str, pair: &str) -> Result<Option<f64>, JournalError> {
        let close: Option<f64> = self
            .conn
            .prepare_cached(
                "SELECT close FROM market_inbox WHERE kind = 'candle' AND venue = ?1 \
                 AND pair = ?2 ORDER BY time_ms DESC LIMIT 1",
            )?
            .query_row(params![venue, pair], |r| r.get(0))
            .optional()?;
        if close.is_some() {
            self.count_rows(1);
        }
        Ok(close)
    }
    /// Tick of the latest equity sample (`None` before the first): an all-live run resumes its
    /// count of sampled periods after it. The last row by `seq`, one index step.
    pub fn last_equity_tick(&self) -> Result<Option<u64>, JournalError> {
        let tick: Option<i64> = self
            .conn
            .query_row(
                "SELECT tick FROM equity ORDER BY seq DESC LIMIT 1",
                [],
                |r| r.get(0),
            )
            .optional()?;
        Ok(tick.map(|t| t.max(0) as u64))
    }
    /// The last `n` bars of a pair, oldest first (strategy warm-up after a restart).
    pub fn recent_bars(&self, pair: &str, n: usize) -> Result<Vec<Bar>, JournalError> {
        let mut st = self.conn.prepare(
            "SELECT time_ms, open, high, low, close, volume FROM bars WHERE pair = ?1 \
             ORDER BY idx DESC LIMIT ?2",
        )?;
        let rows = st.query_map(params![pair, n as i64], bar_from_row)?;
        let mut v: Vec<Bar> = rows.collect::<Result<_, _>>()?;
        v.reverse();
        self.count_rows(v.len() as u64);
        Ok(v)
    }
    /// Orders still open (to resume after a restart), with their fills.
    pub fn open_orders(&self) -> Result<Vec<OrderRecord>, JournalError> {
        let mut st = self
            .conn
            .prepare("SELECT * FROM orders WHERE status = 'open' ORDER BY id")?;
        let rows = st.query_map([], order_from_row)?;
        let mut v: Vec<OrderRecord> = rows.collect::<Result<_, _>>()?;
        for r in &mut v {
            r.order.fills = super::listing::order_fills(&self.conn, r.order.id)?;
        }
        Ok(v)
    }
    /// Highest order id used so far (0 when none).
    pub fn max_order_id(&self) -> Result<u64, JournalError> {
        let m: Option<i64> = self
            .conn
            .query_row("SELECT MAX(id) FROM orders", [], |r| r.get(0))?;
        Ok(m.unwrap_or(0).max(0) as u64)
    }
    /// One order with its fills.
    pub fn order(&self, id: u64) -> Result<Option<Order>, JournalError> {
        let rec = self
            .conn
            .query_row(
                "SELECT * FROM orders WHERE id = ?1",
                params![id as i64],
                order_from_row,
            )
            .optional()?;
        match rec {
            Some(mut r) => {
                r.order.fills = super::listing::order_fills(&self.conn, id)?;
                Ok(Some(r.order))
            }
            None => Ok(None),
        }
    }
}
