//! The journal's writes, each inside the transaction of the simulated event it belongs to.

use rusqlite::{params, OptionalExtension};

use super::{Journal, JournalError, OrderRecord};
use crate::domain::alerts::AlertLevel;
use crate::domain::bars::Bar;
use crate::domain::orders::{OrderKind, OrderSide, OrderStatus, RejectReason};
use crate::market::{PushedEvent, StampedEvent};

impl Journal {
    /// Inserts or replaces an order row.
    pub fn upsert_order(&mut self, rec: &OrderRecord) -> Result<(), JournalError> {
        let o = &rec.order;
        let before: Option<String> = self
            .conn
            .prepare_cached("SELECT status FROM orders WHERE id = ?1")?
            .query_row(params![o.id as i64], |r| r.get(0))
            .optional()?;
        let before = before.and_then(|s| OrderStatus::parse(&s));
        let (kind, price, tif) = match o.kind {
            OrderKind::Market => ("market", None, None),
            OrderKind::Limit {
                price,
                time_in_force_secs,
            } => ("limit", Some(price), time_in_force_secs),
        };
        self.conn
            .prepare_cached(
                "INSERT OR REPLACE INTO orders (id, strategy, pair, exchange, side, kind, \
                 limit_price, tif_secs, qty, filled_qty, avg_price, status, reason, created_ms, \
                 updated_ms, ack_ms, arrive_ms, expire_ms) \
                 VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,?18)",
            )?
            .execute(params![
                o.id as i64,
                o.strategy,
                o.pair,
                o.exchange,
                o.side.as_str(),
                kind,
                price,
                tif,
                o.qty,
                o.filled_qty,
                o.avg_fill_price,
                o.status.as_str(),
                o.reject_reason.map(RejectReason::as_str),
                o.created_ms,
                o.updated_ms,
                o.acknowledged_ms,
                rec.arrive_ms,
                rec.expire_ms,
            ])?;
        if before != Some(o.status) {
            self.count_order(before, o.status, &o.strategy, &o.pair, o.reject_reason)?;
            if let Some(b) = before {
                self.pending_orders
                    .push(((b, o.strategy.clone(), o.pair.clone()), -1));
            }
            self.pending_orders
                .push(((o.status, o.strategy.clone(), o.pair.clone()), 1));
            self.settle_counts();
        }
        Ok(())
    }
    /// Appends a fill and returns its id.
    #[allow(clippy::too_many_arguments)]
    pub fn insert_fill(
        &mut self,
        order_id: u64,
        strategy: &str,
        pair: &str,
        exchange: &str,
        side: OrderSide,
        qty: f64,
        price: f64,
        fee: f64,
        time_ms: i64,
    ) -> Result<u64, JournalError> {
        self.conn
            .prepare_cached(
                "INSERT INTO fills (order_id, strategy, pair, exchange, side, qty, price, fee, \
                 time_ms) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9)",
            )?
            .execute(params![
                order_id as i64,
                strategy,
                pair,
                exchange,
                side.as_str(),
                qty,
                price,
                fee,
                time_ms
            ])?;
        self.count_fill(strategy, pair, side)?;
        self.pending_fills += 1;
        self.settle_counts();
        Ok(self.conn.last_insert_rowid() as u64)
    }
    /// Records bar `idx` of a pair.
    pub fn insert_bar(&self, pair: &str, idx: u64, bar: &Bar) -> Result<(), JournalError> {
        self.conn
            .prepare_cached(
                "INSERT OR REPLACE INTO bars (pair, idx, time_ms, open, high, low, close, volume) \
                 VALUES (?1,?2,?3,?4,?5,?6,?7,?8)",
            )?
            .execute(params![
                pair,
                idx as i64,
                bar.time_ms,
                bar.open,
                bar.high,
                bar.low,
                bar.close,
                bar.volume
            ])?;
        Ok(())
    }
    /// Forgets a pair's bars before index `keep_from` (only the recent ones are needed: the
    /// last bar to resume the feed, a window to warm strategies up).
    pub fn prune_bars(&self, pair: &str, keep_from: u64) -> Result<(), JournalError> {
        self.conn
            .prepare_cached("DELETE FROM bars WHERE pair = ?1 AND idx < ?2")?
            .execute(params![pair, keep_from as i64])?;
        Ok(())
    }
    /// Records one equity sample (`scope` = strategy name or [`PORTFOLIO_SCOPE`]).
    pub fn insert_equity(&self, tick: u64, scope: &str, equity: f64) -> Result<(), JournalError> {
        self.conn
            .prepare_cached("INSERT INTO equity (tick, scope, equity) VALUES (?1,?2,?3)")?
            .execute(params![tick as i64, scope, equity])?;
        Ok(())
    }
    /// Records an alert.
    pub fn insert_alert(
        &self,
        time_ms: i64,
        level: AlertLevel,
        message: &str,
    ) -> Result<(), JournalError> {
        self.conn
            .prepare_cached("INSERT INTO alerts (time_ms, level, message) VALUES (?1,?2,?3)")?
            .execute(params![time_ms, level.as_str(), message])?;
        self.count_alert(level)
    }
    /// Records whether a strategy runs (survives restarts).
    pub fn set_strategy_state(&self, name: &str, running: bool) -> Result<(), JournalError> {
        self.conn
            .prepare_cached("INSERT OR REPLACE INTO strategy_state (name, running) VALUES (?1,?2)")?
            .execute(params![name, running])?;
        Ok(())
    }

    /// Records a pushed market event as received, before the simulation acts on it.
    pub fn insert_pushed(&self, market_ms: i64, ev: &StampedEvent) -> Result<(), JournalError> {
        let mut st = self.conn.prepare_cached(
            "INSERT INTO market_inbox (received_wall_ms, market_ms, kind, venue, pair, time_ms, \
             open, high, low, close, volume, up) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
        )?;
        match &ev.event {
            PushedEvent::Candle { venue, pair, bar }
            | PushedEvent::WarmupCandle { venue, pair, bar } => st.execute(params![
                ev.received_wall_ms,
                market_ms,
                if matches!(ev.event, PushedEvent::Candle { .. }) {
                    "candle"
                } else {
                    "warmup_candle"
                },
                venue.as_str(),
                pair.as_str(),
                bar.time_ms,
                bar.open,
                bar.high,
                bar.low,
                bar.close,
                bar.volume,
                Option::<i64>::None
            ])?,
            PushedEvent::Link { venue, up } => st.execute(params![
                ev.received_wall_ms,
                market_ms,
                "link",
                venue.as_str(),
                Option::<String>::None,
                Option::<i64>::None,
                Option::<f64>::None,
                Option::<f64>::None,
                Option::<f64>::None,
                Option::<f64>::None,
                Option::<f64>::None,
                i64::from(*up)
            ])?,
        };
        Ok(())
    }
}
