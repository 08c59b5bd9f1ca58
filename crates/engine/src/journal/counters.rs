//! Lifetime counts kept in the journal itself, so opening it and restoring the counters costs
//! the same after a million bars as after ten: orders per (status, strategy, pair), fills per
//! (strategy, pair, side), alerts per level and rejections per reason live in a small
//! `counters` table, updated in the same transaction as the rows they count. (Counting them
//! with `GROUP BY` at every open read every order and fill ever journaled: restart time grew
//! with history.) A journal written before this table existed is counted once, at open.

use std::collections::HashMap;

use rusqlite::{params, Connection};

use super::rows::bad_value;
use super::{Journal, JournalError, OrderCounts};
use crate::domain::alerts::AlertLevel;
use crate::domain::orders::{OrderSide, OrderStatus, RejectReason};
use crate::report::events::RestoredTotals;

pub(crate) const COUNTERS_SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS counters (
    kind TEXT NOT NULL,
    key TEXT NOT NULL,
    n INTEGER NOT NULL,
    PRIMARY KEY (kind, key)
) WITHOUT ROWID;
";

/// Separates the parts of a composite key (never part of a name, status or side).
const SEP: char = '\u{1f}';

const ORDER: &str = "order";
const FILL: &str = "fill";
const ALERT: &str = "alert";
const REJECT: &str = "reject";
const META: &str = "meta";

fn key3(a: &str, b: &str, c: &str) -> String {
    format!("{a}{SEP}{b}{SEP}{c}")
}

fn split3(key: &str) -> Option<(&str, &str, &str)> {
    let mut it = key.split(SEP);
    Some((it.next()?, it.next()?, it.next()?))
}

fn bump(conn: &Connection, kind: &str, key: &str, delta: i64) -> Result<(), JournalError> {
    conn.prepare_cached(
        "INSERT INTO counters (kind, key, n) VALUES (?1, ?2, ?3) \
         ON CONFLICT(kind, key) DO UPDATE SET n = n + excluded.n",
    )?
    .execute(params![kind, key, delta])?;
    Ok(())
}

/// Fills the table from the history once, for a journal written before it existed (or a new
/// one: then there is nothing to count).
pub(crate) fn ensure(conn: &Connection) -> Result<(), JournalError> {
    let done: i64 = conn.query_row(
        "SELECT COUNT(*) FROM counters WHERE kind = ?1",
        params![META],
        |r| r.get(0),
    )?;
    if done > 0 {
        return Ok(());
    }
    conn.execute_batch(
        "BEGIN IMMEDIATE;
         INSERT INTO counters (kind, key, n)
           SELECT 'order', status || char(31) || strategy || char(31) || pair, COUNT(*)
           FROM orders GROUP BY status, strategy, pair;
         INSERT INTO counters (kind, key, n)
           SELECT 'fill', strategy || char(31) || pair || char(31) || side, COUNT(*)
           FROM fills GROUP BY strategy, pair, side;
         INSERT INTO counters (kind, key, n)
           SELECT 'alert', level, COUNT(*) FROM alerts GROUP BY level;
         INSERT INTO counters (kind, key, n)
           SELECT 'reject', COALESCE(reason, ''), COUNT(*) FROM orders
           WHERE status = 'rejected' GROUP BY COALESCE(reason, '');
         INSERT INTO counters (kind, key, n) VALUES ('meta', 'version', 1);
         COMMIT;",
    )?;
    Ok(())
}

/// Orders per (status, strategy, pair) and the number of fills.
pub(crate) fn read_counts(conn: &Connection) -> Result<(OrderCounts, u64), JournalError> {
    let mut orders = OrderCounts::new();
    let mut fills = 0u64;
    let mut st =
        conn.prepare("SELECT kind, key, n FROM counters WHERE kind IN ('order', 'fill')")?;
    let mut rows = st.query([])?;
    while let Some(r) = rows.next()? {
        let (kind, key, n): (String, String, i64) = (r.get(0)?, r.get(1)?, r.get(2)?);
        let n = n.max(0) as u64;
        if kind == FILL {
            fills += n;
        } else if let Some((status, strategy, pair)) = split3(&key) {
            let status = OrderStatus::parse(status).ok_or_else(|| bad_value("status", status))?;
            if n > 0 {
                orders.insert((status, strategy.to_string(), pair.to_string()), n);
            }
        }
    }
    Ok((orders, fills))
}

impl Journal {
    /// Counts an order's move from status `before` (none: a new order) to `after`.
    pub(crate) fn count_order(
        &self,
        before: Option<OrderStatus>,
        after: OrderStatus,
        strategy: &str,
        pair: &str,
        reason: Option<RejectReason>,
    ) -> Result<(), JournalError> {
        if let Some(b) = before {
            bump(&self.conn, ORDER, &key3(b.as_str(), strategy, pair), -1)?;
        }
        bump(&self.conn, ORDER, &key3(after.as_str(), strategy, pair), 1)?;
        if after == OrderStatus::Rejected {
            bump(
                &self.conn,
                REJECT,
                reason.map_or("", RejectReason::as_str),
                1,
            )?;
        }
        Ok(())
    }

    /// Counts one fill.
    pub(crate) fn count_fill(
        &self,
        strategy: &str,
        pair: &str,
        side: OrderSide,
    ) -> Result<(), JournalError> {
        bump(&self.conn, FILL, &key3(strategy, pair, side.as_str()), 1)
    }

    /// Counts one alert.
    pub(crate) fn count_alert(&self, level: AlertLevel) -> Result<(), JournalError> {
        bump(&self.conn, ALERT, level.as_str(), 1)
    }

    /// Lifetime totals for counters: fills per (strategy, pair, side), terminal orders per
    /// status, alerts per level, rejections per reason (from the `counters` table: no scan).
    pub fn totals(&self) -> Result<RestoredTotals, JournalError> {
        let mut t = RestoredTotals::default();
        let mut by_status: HashMap<OrderStatus, u64> = HashMap::new();
        let mut by_level: HashMap<AlertLevel, u64> = HashMap::new();
        let mut by_reason: HashMap<RejectReason, u64> = HashMap::new();
        let mut st = self
            .conn
            .prepare("SELECT kind, key, n FROM counters ORDER BY kind, key")?;
        let mut rows = st.query([])?;
        while let Some(r) = rows.next()? {
            let (kind, key, n): (String, String, i64) = (r.get(0)?, r.get(1)?, r.get(2)?);
            let n = n.max(0) as u64;
            match kind.as_str() {
                FILL => {
                    if let Some((strategy, pair, side)) = split3(&key) {
                        let side = OrderSide::parse(side).ok_or_else(|| bad_value("side", side))?;
                        if n > 0 {
                            t.fills.push((strategy.into(), pair.into(), side, n));
                        }
                    }
                }
                ORDER => {
                    if let Some((status, _, _)) = split3(&key) {
                        let s = OrderStatus::parse(status)
                            .ok_or_else(|| bad_value("status", status))?;
                        *by_status.entry(s).or_insert(0) += n;
                    }
                }
                ALERT => {
                    let l = AlertLevel::parse(&key).ok_or_else(|| bad_value("level", &key))?;
                    *by_level.entry(l).or_insert(0) += n;
                }
                REJECT => {
                    let reason = RejectReason::parse(&key).unwrap_or(RejectReason::Other);
                    *by_reason.entry(reason).or_insert(0) += n;
                }
                _ => {}
            }
        }
        t.orders = OrderStatus::TERMINAL
            .iter()
            .map(|s| (*s, by_status.get(s).copied().unwrap_or(0)))
            .collect();
        t.alerts = AlertLevel::ALL
            .iter()
            .map(|l| (*l, by_level.get(l).copied().unwrap_or(0)))
            .collect();
        t.rejections = RejectReason::ALL
            .iter()
            .map(|r| (*r, by_reason.get(r).copied().unwrap_or(0)))
            .collect();
        Ok(t)
    }
}
