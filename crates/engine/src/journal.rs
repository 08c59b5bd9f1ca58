//! The SQLite journal: the engine's durable memory. Orders, fills, bars, equity samples, alerts
//! and strategy run states are written here, inside one transaction per simulated event, and
//! committed *before* anything about them is reported (events, API replies). On restart the
//! engine rebuilds every position and statistic by replaying it.
//!
//! The database runs in WAL mode. `synchronous` is configurable: FULL (the default) fsyncs each
//! commit, so an acknowledged fill survives power loss as well as `kill -9`; NORMAL only
//! survives process crashes but costs no fsync per commit (batch simulations, tests).

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use rusqlite::{params, Connection, OptionalExtension, Row};

use crate::bars::Bar;
use crate::config::SyncMode;
use crate::events::{AlertLevel, RestoredTotals};
use crate::orders::{
    Order, OrderFill, OrderFilter, OrderKind, OrderSide, OrderStatus, Page, RejectReason,
};
use crate::snapshot::TradeInfo;

/// Scope name of the portfolio's equity samples (strategy names cannot contain `*`).
pub const PORTFOLIO_SCOPE: &str = "*";

/// A journal operation failed.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    /// The journal file could not be opened or set up (missing or read-only directory, not a
    /// SQLite file, disk full).
    #[error("cannot open the journal {}: {reason}", path.display())]
    Open {
        /// The journal file.
        path: PathBuf,
        /// What SQLite said, without the path it repeats.
        reason: String,
        /// The underlying error.
        #[source]
        source: rusqlite::Error,
    },
    /// A read or write on the open journal failed.
    #[error("journal: {0}")]
    Sql(#[from] rusqlite::Error),
}

impl JournalError {
    fn open(path: &Path, source: rusqlite::Error) -> Self {
        let text = source.to_string();
        let shown = path.display().to_string();
        let reason = text
            .strip_suffix(&shown)
            .map(|r| r.trim_end_matches([':', ' ']).to_string())
            .unwrap_or(text);
        let reason = if path.is_dir() {
            format!("{reason} (it is a directory, not a file)")
        } else {
            reason
        };
        JournalError::Open {
            path: path.to_path_buf(),
            reason,
            source,
        }
    }
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS orders (
    id INTEGER PRIMARY KEY,
    strategy TEXT NOT NULL,
    pair TEXT NOT NULL,
    exchange TEXT NOT NULL,
    side TEXT NOT NULL,
    kind TEXT NOT NULL,
    limit_price REAL,
    tif_secs REAL,
    qty REAL NOT NULL,
    filled_qty REAL NOT NULL,
    avg_price REAL,
    status TEXT NOT NULL,
    reason TEXT,
    created_ms INTEGER NOT NULL,
    updated_ms INTEGER NOT NULL,
    ack_ms INTEGER,
    arrive_ms INTEGER NOT NULL,
    expire_ms INTEGER
);
CREATE INDEX IF NOT EXISTS orders_status ON orders(status);
CREATE INDEX IF NOT EXISTS orders_strategy_pair ON orders(strategy, pair);
CREATE TABLE IF NOT EXISTS fills (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    order_id INTEGER NOT NULL,
    strategy TEXT NOT NULL,
    pair TEXT NOT NULL,
    exchange TEXT NOT NULL,
    side TEXT NOT NULL,
    qty REAL NOT NULL,
    price REAL NOT NULL,
    fee REAL NOT NULL,
    time_ms INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS fills_order ON fills(order_id);
CREATE TABLE IF NOT EXISTS bars (
    pair TEXT NOT NULL,
    idx INTEGER NOT NULL,
    time_ms INTEGER NOT NULL,
    open REAL NOT NULL, high REAL NOT NULL, low REAL NOT NULL, close REAL NOT NULL,
    volume REAL NOT NULL,
    PRIMARY KEY (pair, idx)
);
CREATE TABLE IF NOT EXISTS equity (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    tick INTEGER NOT NULL,
    scope TEXT NOT NULL,
    equity REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS alerts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    time_ms INTEGER NOT NULL,
    level TEXT NOT NULL,
    message TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS strategy_state (
    name TEXT PRIMARY KEY,
    running INTEGER NOT NULL
);
";

/// An order plus the engine-internal timing the journal needs to resume it.
#[derive(Clone, Debug, PartialEq)]
pub struct OrderRecord {
    /// The public view.
    pub order: Order,
    /// Market time it reaches (reached) the exchange.
    pub arrive_ms: i64,
    /// Market time its time in force ends, if any (set once resting).
    pub expire_ms: Option<i64>,
}

/// Orders per (status, strategy, pair).
type OrderCounts = BTreeMap<(OrderStatus, String, String), u64>;

/// The journal connection. Used only from the engine thread.
pub struct Journal {
    conn: Connection,
    /// Committed row counts, so listings report their totals without counting the history on
    /// every call (that made each listing slower the longer the service ran).
    order_counts: OrderCounts,
    fill_count: u64,
    /// Count changes of the open transaction: applied at commit, dropped at rollback.
    pending_orders: Vec<((OrderStatus, String, String), i64)>,
    pending_fills: u64,
}

impl std::fmt::Debug for Journal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Journal")
    }
}

fn bad_value(what: &str, v: &str) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(
        0,
        rusqlite::types::Type::Text,
        format!("bad {what} {v:?}").into(),
    )
}

fn order_from_row(row: &Row<'_>) -> rusqlite::Result<OrderRecord> {
    let side: String = row.get("side")?;
    let kind: String = row.get("kind")?;
    let status: String = row.get("status")?;
    let reason: Option<String> = row.get("reason")?;
    let kind = match kind.as_str() {
        "market" => OrderKind::Market,
        "limit" => OrderKind::Limit {
            price: row
                .get::<_, Option<f64>>("limit_price")?
                .unwrap_or(f64::NAN),
            time_in_force_secs: row.get("tif_secs")?,
        },
        other => return Err(bad_value("kind", other)),
    };
    Ok(OrderRecord {
        order: Order {
            id: row.get::<_, i64>("id")? as u64,
            strategy: row.get("strategy")?,
            pair: row.get("pair")?,
            exchange: row.get("exchange")?,
            side: OrderSide::parse(&side).ok_or_else(|| bad_value("side", &side))?,
            kind,
            qty: row.get("qty")?,
            filled_qty: row.get("filled_qty")?,
            avg_fill_price: row.get("avg_price")?,
            status: OrderStatus::parse(&status).ok_or_else(|| bad_value("status", &status))?,
            reject_reason: match reason {
                Some(r) => Some(RejectReason::parse(&r).ok_or_else(|| bad_value("reason", &r))?),
                None => None,
            },
            created_ms: row.get("created_ms")?,
            updated_ms: row.get("updated_ms")?,
            acknowledged_ms: row.get("ack_ms")?,
            fills: Vec::new(),
        },
        arrive_ms: row.get("arrive_ms")?,
        expire_ms: row.get("expire_ms")?,
    })
}

fn fill_from_row(row: &Row<'_>) -> rusqlite::Result<TradeInfo> {
    let side: String = row.get("side")?;
    Ok(TradeInfo {
        id: row.get::<_, i64>("id")? as u64,
        order_id: row.get::<_, i64>("order_id")? as u64,
        strategy: row.get("strategy")?,
        pair: row.get("pair")?,
        exchange: row.get("exchange")?,
        side: OrderSide::parse(&side).ok_or_else(|| bad_value("side", &side))?,
        qty: row.get("qty")?,
        price: row.get("price")?,
        fee: row.get("fee")?,
        time_ms: row.get("time_ms")?,
    })
}

impl Journal {
    /// Opens (or creates) the journal file in WAL mode and creates missing tables.
    pub fn open(path: &Path, sync: SyncMode) -> Result<Self, JournalError> {
        let setup = || -> rusqlite::Result<Connection> {
            let conn = Connection::open(path)?;
            conn.pragma_update(None, "journal_mode", "WAL")?;
            conn.pragma_update(
                None,
                "synchronous",
                match sync {
                    SyncMode::Full => "FULL",
                    SyncMode::Normal => "NORMAL",
                },
            )?;
            conn.busy_timeout(std::time::Duration::from_secs(5))?;
            // One statement per listing filter combination besides the writes.
            conn.set_prepared_statement_cache_capacity(32);
            conn.execute_batch(SCHEMA)?;
            Ok(conn)
        };
        let conn = setup().map_err(|e| JournalError::open(path, e))?;
        let mut journal = Self {
            conn,
            order_counts: OrderCounts::new(),
            fill_count: 0,
            pending_orders: Vec::new(),
            pending_fills: 0,
        };
        journal.recount().map_err(|e| match e {
            JournalError::Sql(e) => JournalError::open(path, e),
            other => other,
        })?;
        Ok(journal)
    }

    /// Counts the orders and fills once (at open, and after a rolled-back transaction).
    fn recount(&mut self) -> Result<(), JournalError> {
        let mut counts = OrderCounts::new();
        let mut st = self.conn.prepare(
            "SELECT status, strategy, pair, COUNT(*) FROM orders GROUP BY status, strategy, pair",
        )?;
        let mut rows = st.query([])?;
        while let Some(r) = rows.next()? {
            let s: String = r.get(0)?;
            let s = OrderStatus::parse(&s).ok_or_else(|| bad_value("status", &s))?;
            counts.insert((s, r.get(1)?, r.get(2)?), r.get::<_, i64>(3)?.max(0) as u64);
        }
        drop(rows);
        drop(st);
        let fills: i64 = self
            .conn
            .query_row("SELECT COUNT(*) FROM fills", [], |r| r.get(0))?;
        self.order_counts = counts;
        self.fill_count = fills.max(0) as u64;
        self.pending_orders.clear();
        self.pending_fills = 0;
        Ok(())
    }

    /// Applies count changes now when no transaction is open, else at its commit.
    fn settle_counts(&mut self) {
        if !self.conn.is_autocommit() {
            return;
        }
        for (k, d) in self.pending_orders.drain(..) {
            let n = self.order_counts.entry(k).or_insert(0);
            *n = n.saturating_add_signed(d);
        }
        self.fill_count += std::mem::take(&mut self.pending_fills);
    }

    /// Starts the transaction of one simulated event.
    pub fn begin(&mut self) -> Result<(), JournalError> {
        self.conn.execute_batch("BEGIN IMMEDIATE")?;
        self.pending_orders.clear();
        self.pending_fills = 0;
        Ok(())
    }

    /// Commits it: after this returns, its facts are durable and may be reported.
    pub fn commit(&mut self) -> Result<(), JournalError> {
        self.conn.execute_batch("COMMIT")?;
        self.settle_counts();
        Ok(())
    }

    /// Abandons the open transaction, if any (after a failed write).
    pub fn rollback(&mut self) {
        if !self.conn.is_autocommit() {
            let _ = self.conn.execute_batch("ROLLBACK");
        }
        self.pending_orders.clear();
        self.pending_fills = 0;
        // If SQLite rolled back more or less than we think, count again (rare: halted anyway).
        if self.recount().is_err() {
            tracing::warn!("journal: cannot recount orders and fills after a rollback");
        }
    }

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
        Ok(())
    }

    /// Records whether a strategy runs (survives restarts).
    pub fn set_strategy_state(&self, name: &str, running: bool) -> Result<(), JournalError> {
        self.conn
            .prepare_cached("INSERT OR REPLACE INTO strategy_state (name, running) VALUES (?1,?2)")?
            .execute(params![name, running])?;
        Ok(())
    }

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
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Every equity sample `(scope, equity)`, in the order they were taken.
    pub fn all_equity(&self) -> Result<Vec<(String, f64)>, JournalError> {
        let mut st = self
            .conn
            .prepare("SELECT scope, equity FROM equity ORDER BY seq")?;
        let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The last bar of each pair with its index.
    pub fn last_bars(&self) -> Result<Vec<(String, u64, Bar)>, JournalError> {
        let mut st = self.conn.prepare(
            "SELECT b.pair, b.idx, b.time_ms, b.open, b.high, b.low, b.close, b.volume FROM bars b \
             JOIN (SELECT pair, MAX(idx) AS m FROM bars GROUP BY pair) l \
             ON b.pair = l.pair AND b.idx = l.m",
        )?;
        let rows = st.query_map([], |r| {
            Ok((
                r.get(0)?,
                r.get::<_, i64>(1)? as u64,
                Bar {
                    time_ms: r.get(2)?,
                    open: r.get(3)?,
                    high: r.get(4)?,
                    low: r.get(5)?,
                    close: r.get(6)?,
                    volume: r.get(7)?,
                },
            ))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The last `n` bars of a pair, oldest first (strategy warm-up after a restart).
    pub fn recent_bars(&self, pair: &str, n: usize) -> Result<Vec<Bar>, JournalError> {
        let mut st = self.conn.prepare(
            "SELECT time_ms, open, high, low, close, volume FROM bars WHERE pair = ?1 \
             ORDER BY idx DESC LIMIT ?2",
        )?;
        let rows = st.query_map(params![pair, n as i64], |r| {
            Ok(Bar {
                time_ms: r.get(0)?,
                open: r.get(1)?,
                high: r.get(2)?,
                low: r.get(3)?,
                close: r.get(4)?,
                volume: r.get(5)?,
            })
        })?;
        let mut v: Vec<Bar> = rows.collect::<Result<_, _>>()?;
        v.reverse();
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
            r.order.fills = self.order_fills(r.order.id)?;
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

    fn order_fills(&self, order_id: u64) -> Result<Vec<OrderFill>, JournalError> {
        let mut st = self.conn.prepare_cached(
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
                r.order.fills = self.order_fills(id)?;
                Ok(Some(r.order))
            }
            None => Ok(None),
        }
    }

    /// How many orders match the filter (from the maintained counts: no scan).
    pub fn order_count(&self, f: &OrderFilter) -> u64 {
        self.order_counts
            .iter()
            .filter(|((status, strategy, pair), _)| {
                f.status.is_none_or(|s| s == *status)
                    && f.strategy.as_ref().is_none_or(|s| s == strategy)
                    && f.pair.as_ref().is_none_or(|p| p == pair)
            })
            .map(|(_, n)| n)
            .sum()
    }

    /// How many fills the journal holds (maintained: no scan).
    pub fn fill_count(&self) -> u64 {
        self.fill_count
    }

    /// A page of orders matching the filter, newest first. Only the filter's own conditions are
    /// in the query, so SQLite walks an index (status, or strategy and pair, or the id) in id
    /// order and stops after the page; the total comes from the maintained counts.
    pub fn orders(&self, f: &OrderFilter) -> Result<Page<Order>, JournalError> {
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
        let mut st = self.conn.prepare_cached(&format!(
            "SELECT * FROM orders {filter} ORDER BY id DESC LIMIT ?{} OFFSET ?{n}",
            n - 1
        ))?;
        let rows = st.query_map(args.as_slice(), order_from_row)?;
        let mut items = Vec::new();
        for r in rows {
            let mut o = r?.order;
            o.fills = self.order_fills(o.id)?;
            items.push(o);
        }
        Ok(Page {
            items,
            total: self.order_count(f),
        })
    }

    /// A page of fills, newest first.
    pub fn trades(&self, offset: usize, limit: usize) -> Result<Page<TradeInfo>, JournalError> {
        let limit = if limit == 0 { 100 } else { limit.min(1000) };
        let mut st = self
            .conn
            .prepare_cached("SELECT * FROM fills ORDER BY id DESC LIMIT ?1 OFFSET ?2")?;
        let rows = st.query_map(params![limit as i64, offset as i64], fill_from_row)?;
        let items = rows.collect::<Result<_, _>>()?;
        Ok(Page {
            items,
            total: self.fill_count,
        })
    }

    /// Lifetime totals for counters: fills per (strategy, pair, side), terminal orders per
    /// status, alerts per level, rejections per reason.
    pub fn totals(&self) -> Result<RestoredTotals, JournalError> {
        let mut t = RestoredTotals::default();
        let mut st = self.conn.prepare(
            "SELECT strategy, pair, side, COUNT(*) FROM fills GROUP BY strategy, pair, side \
             ORDER BY strategy, pair, side",
        )?;
        let mut rows = st.query([])?;
        while let Some(r) = rows.next()? {
            let side: String = r.get(2)?;
            let side = OrderSide::parse(&side).ok_or_else(|| bad_value("side", &side))?;
            t.fills
                .push((r.get(0)?, r.get(1)?, side, r.get::<_, i64>(3)? as u64));
        }
        let mut st = self.conn.prepare(
            "SELECT status, COUNT(*) FROM orders WHERE status != 'open' GROUP BY status",
        )?;
        let mut rows = st.query([])?;
        let mut by_status = HashMap::new();
        while let Some(r) = rows.next()? {
            let s: String = r.get(0)?;
            let s = OrderStatus::parse(&s).ok_or_else(|| bad_value("status", &s))?;
            by_status.insert(s, r.get::<_, i64>(1)? as u64);
        }
        t.orders = OrderStatus::TERMINAL
            .iter()
            .map(|s| (*s, by_status.get(s).copied().unwrap_or(0)))
            .collect();
        let mut st = self
            .conn
            .prepare("SELECT level, COUNT(*) FROM alerts GROUP BY level")?;
        let mut rows = st.query([])?;
        let mut by_level = HashMap::new();
        while let Some(r) = rows.next()? {
            let l: String = r.get(0)?;
            let l = AlertLevel::parse(&l).ok_or_else(|| bad_value("level", &l))?;
            by_level.insert(l, r.get::<_, i64>(1)? as u64);
        }
        t.alerts = AlertLevel::ALL
            .iter()
            .map(|l| (*l, by_level.get(l).copied().unwrap_or(0)))
            .collect();
        let mut st = self.conn.prepare(
            "SELECT reason, COUNT(*) FROM orders WHERE status = 'rejected' GROUP BY reason",
        )?;
        let mut rows = st.query([])?;
        let mut by_reason = HashMap::new();
        while let Some(r) = rows.next()? {
            let s: Option<String> = r.get(0)?;
            let reason = s
                .as_deref()
                .and_then(RejectReason::parse)
                .unwrap_or(RejectReason::Other);
            *by_reason.entry(reason).or_insert(0u64) += r.get::<_, i64>(1)? as u64;
        }
        t.rejections = RejectReason::ALL
            .iter()
            .map(|r| (*r, by_reason.get(r).copied().unwrap_or(0)))
            .collect();
        Ok(t)
    }

    /// Checkpoints the WAL into the main file (clean shutdown).
    pub fn checkpoint(&self) -> Result<(), JournalError> {
        self.conn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Dir(PathBuf);

    impl Dir {
        fn new(tag: &str) -> Self {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos());
            let p = std::env::temp_dir().join(format!(
                "zigquant-journal-{tag}-{}-{nanos}",
                std::process::id()
            ));
            std::fs::create_dir_all(&p).unwrap();
            Dir(p)
        }
    }

    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn order(id: u64, strategy: &str, pair: &str, status: OrderStatus) -> OrderRecord {
        OrderRecord {
            order: Order {
                id,
                strategy: strategy.into(),
                pair: pair.into(),
                exchange: "x".into(),
                side: OrderSide::Buy,
                kind: OrderKind::Market,
                qty: 1.0,
                filled_qty: 0.0,
                avg_fill_price: None,
                status,
                reject_reason: None,
                created_ms: 0,
                updated_ms: 0,
                acknowledged_ms: None,
                fills: Vec::new(),
            },
            arrive_ms: 0,
            expire_ms: None,
        }
    }

    fn counted(j: &Journal, f: &OrderFilter) -> u64 {
        let status = f.status.map(OrderStatus::as_str);
        let n: i64 = j
            .conn
            .query_row(
                "SELECT COUNT(*) FROM orders WHERE (?1 IS NULL OR status = ?1) \
                 AND (?2 IS NULL OR strategy = ?2) AND (?3 IS NULL OR pair = ?3)",
                params![status, f.strategy, f.pair],
                |r| r.get(0),
            )
            .unwrap();
        n as u64
    }

    fn filters() -> Vec<OrderFilter> {
        let mut v = Vec::new();
        for status in [None, Some(OrderStatus::Open), Some(OrderStatus::Filled)] {
            for strategy in [None, Some("a"), Some("b")] {
                for pair in [None, Some("P"), Some("Q")] {
                    v.push(OrderFilter {
                        status,
                        strategy: strategy.map(String::from),
                        pair: pair.map(String::from),
                        offset: 0,
                        limit: 3,
                    });
                }
            }
        }
        v
    }

    #[test]
    fn maintained_totals_equal_a_count_through_commits_rollbacks_and_reopening() {
        let dir = Dir::new("counts");
        let path = dir.0.join("j.sqlite");
        let mut j = Journal::open(&path, SyncMode::Normal).unwrap();
        let names = [("a", "P"), ("b", "P"), ("a", "Q")];
        for id in 1..=30u64 {
            let (s, p) = names[id as usize % 3];
            j.begin().unwrap();
            j.upsert_order(&order(id, s, p, OrderStatus::Open)).unwrap();
            if id % 2 == 0 {
                j.upsert_order(&order(id, s, p, OrderStatus::Filled))
                    .unwrap();
                j.insert_fill(id, s, p, "x", OrderSide::Buy, 1.0, 1.0, 0.0, 0)
                    .unwrap();
            }
            j.commit().unwrap();
        }
        // A rolled-back transaction changes nothing.
        j.begin().unwrap();
        j.upsert_order(&order(31, "a", "P", OrderStatus::Open))
            .unwrap();
        j.upsert_order(&order(1, "b", "P", OrderStatus::Filled))
            .unwrap();
        j.insert_fill(1, "b", "P", "x", OrderSide::Buy, 1.0, 1.0, 0.0, 0)
            .unwrap();
        j.rollback();
        // A write outside a transaction counts at once.
        j.upsert_order(&order(3, "a", "P", OrderStatus::Cancelled))
            .unwrap();
        for j in [&j, &Journal::open(&path, SyncMode::Normal).unwrap()] {
            for f in filters() {
                let page = j.orders(&f).unwrap();
                assert_eq!(page.total, counted(j, &f), "{f:?}");
                assert!(page.items.len() <= 3);
                assert!(page.items.windows(2).all(|w| w[0].id > w[1].id));
                assert!(page
                    .items
                    .iter()
                    .all(|o| f.status.is_none_or(|s| s == o.status)
                        && f.strategy.as_ref().is_none_or(|s| *s == o.strategy)
                        && f.pair.as_ref().is_none_or(|p| *p == o.pair)));
            }
            assert_eq!(j.trades(0, 5).unwrap().total, 15);
            assert_eq!(j.fill_count(), 15);
        }
    }

    #[test]
    fn open_errors_name_the_file_once_and_say_what_is_wrong() {
        let dir = Dir::new("open");
        let garbage = dir.0.join("garbage.sqlite");
        std::fs::write(&garbage, "not a database, not at all, no header here").unwrap();
        let is_dir = dir.0.join("dir.sqlite");
        std::fs::create_dir(&is_dir).unwrap();
        for (path, says) in [(&garbage, "not a database"), (&is_dir, "directory")] {
            let e = Journal::open(path, SyncMode::Normal)
                .unwrap_err()
                .to_string();
            let shown = path.display().to_string();
            assert_eq!(e.matches(&shown).count(), 1, "{e}");
            assert!(e.contains(says), "{e}");
            assert!(e.starts_with("cannot open the journal"), "{e}");
        }
    }
}
