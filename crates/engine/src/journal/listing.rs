//! Paged listings of orders and fills, shared by the write connection and the read-only
//! [`super::JournalReader`]: only the filter's own conditions are in the query, so SQLite walks
//! an index and stops after the page; totals come from the maintained counts.

use std::sync::Mutex;

use rusqlite::{params, Connection};

use super::rows::{fill_from_row, order_from_row};
use super::{lock, Counts, Journal, JournalError, OrderCounts};
use crate::domain::orders::{Order, OrderFill, OrderFilter, OrderStatus, Page};
use crate::report::views::TradeInfo;

impl Journal {
    /// How many orders match the filter (from the maintained counts: no scan).
    pub fn order_count(&self, f: &OrderFilter) -> u64 {
        order_count(&lock(&self.counts).orders, f)
    }
}

/// How many orders in `counts` match the filter.
fn order_count(counts: &OrderCounts, f: &OrderFilter) -> u64 {
    counts
        .iter()
        .filter(|((status, strategy, pair), _)| {
            f.status.is_none_or(|s| s == *status)
                && f.strategy.as_ref().is_none_or(|s| s == strategy)
                && f.pair.as_ref().is_none_or(|p| p == pair)
        })
        .map(|(_, n)| n)
        .sum()
}

impl Journal {
    /// How many fills the journal holds (maintained: no scan).
    pub fn fill_count(&self) -> u64 {
        lock(&self.counts).fills
    }

    /// A page of orders matching the filter, newest first.
    pub fn orders(&self, f: &OrderFilter) -> Result<Page<Order>, JournalError> {
        orders(&self.conn, &self.counts, f)
    }

    /// A page of fills, newest first.
    pub fn trades(&self, offset: usize, limit: usize) -> Result<Page<TradeInfo>, JournalError> {
        trades(&self.conn, &self.counts, offset, limit)
    }
}

/// A page of orders matching the filter, newest first. Only the filter's own conditions are
/// in the query, so SQLite walks an index (status, or strategy and pair, or the id) in id
/// order and stops after the page; the total comes from the maintained counts.
pub(crate) fn orders(
    conn: &Connection,
    counts: &Mutex<Counts>,
    f: &OrderFilter,
) -> Result<Page<Order>, JournalError> {
    let limit = if f.limit == 0 { 100 } else { f.limit.min(1000) };
    let mut cond = Vec::new();
    let mut args: Vec<&dyn rusqlite::ToSql> = Vec::new();
    let status = f.status.map(OrderStatus::as_str);
    if let Some(s) = &status {
        args.push(s);
        cond.push(format!("status = ?{}", args.len()));
    }
    if let Some(s) = &f.strategy {
        args.push(s);
        cond.push(format!("strategy = ?{}", args.len()));
    }
    if let Some(p) = &f.pair {
        args.push(p);
        cond.push(format!("pair = ?{}", args.len()));
    }
    let filter = if cond.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", cond.join(" AND "))
    };
    let (limit, offset) = (limit as i64, f.offset as i64);
    args.push(&limit);
    args.push(&offset);
    let n = args.len();
    let mut st = conn.prepare_cached(&format!(
        "SELECT * FROM orders {filter} ORDER BY id DESC LIMIT ?{} OFFSET ?{n}",
        n - 1
    ))?;
    let rows = st.query_map(args.as_slice(), order_from_row)?;
    let mut items = Vec::new();
    for r in rows {
        let mut o = r?.order;
        o.fills = order_fills(conn, o.id)?;
        items.push(o);
    }
    Ok(Page {
        items,
        total: order_count(&lock(counts).orders, f),
    })
}
/// A page of fills, newest first.
pub(crate) fn trades(
    conn: &Connection,
    counts: &Mutex<Counts>,
    offset: usize,
    limit: usize,
) -> Result<Page<TradeInfo>, JournalError> {
    let limit = if limit == 0 { 100 } else { limit.min(1000) };
    let mut st = conn.prepare_cached("SELECT * FROM fills ORDER BY id DESC LIMIT ?1 OFFSET ?2")?;
    let rows = st.query_map(params![limit as i64, offset as i64], fill_from_row)?;
    let items = rows.collect::<Result<_, _>>()?;
    Ok(Page {
        items,
        total: lock(counts).fills,
    })
}

/// The fills of one order, oldest first.
pub(crate) fn order_fills(
    conn: &Connection,
    order_id: u64,
) -> Result<Vec<OrderFill>, JournalError> {
    let mut st = conn.prepare_cached(
        "SELECT id, qty, price, fee, time_ms FROM fills WHERE order_id = ?1 ORDER BY id",
    )?;
    let rows = st.query_map(params![order_id as i64], |r| {
        Ok(OrderFill {
            id: r.get::<_, i64>(0)? as u64,
            qty: r.get(1)?,
            price: r.get(2)?,
            fee: r.get(3)?,
            time_ms: r.get(4)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}
