//! The SQLite journal: the engine's durable memory. Orders, fills, bars, equity samples, alerts
//! and strategy run states are written here, inside one transaction per simulated event, and
//! committed *before* anything about them is reported (events, API replies). On restart the
//! engine rebuilds every position and statistic by replaying it.
//!
//! The database runs in WAL mode. `synchronous` is configurable: FULL (the default) fsyncs each
//! commit, so an acknowledged fill survives power loss as well as `kill -9`; NORMAL only
//! survives process crashes but costs no fsync per commit (batch simulations, tests).
//!
//! Listings (orders, trades) can also be read through a [`JournalReader`]: a second, read-only
//! connection, so history reads do not queue behind the simulation's writes.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use rusqlite::Connection;

use crate::config::SyncMode;
use crate::domain::orders::{Order, OrderStatus};

mod audit;
mod checkpoint;
mod counters;
mod listing;
mod read;
mod reader;
mod retention;
mod rows;
mod write;

pub use checkpoint::Checkpoint;
pub use reader::JournalReader;

/// SQLite page cache per connection, KiB. The journal is append-mostly (new rows go to the
/// right edge of each B-tree) and restarts read a bounded tail, so a small cache costs little
/// speed, while SQLite's default (2,000 KiB per connection, allocated with libc malloc) was the
/// largest part of the service's growing RSS (docs/benchmarks.md §4). 256 KiB is 64 pages:
/// the right edges of every table and index a step writes, with room to spare.
pub(crate) const PAGE_CACHE_KIB: i64 = 256;

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
CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    time_ms INTEGER NOT NULL,
    key_name TEXT NOT NULL,
    client TEXT,
    request_id TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    outcome TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS market_inbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    received_wall_ms INTEGER NOT NULL,
    market_ms INTEGER NOT NULL,
    kind TEXT NOT NULL,
    venue TEXT NOT NULL,
    pair TEXT,
    time_ms INTEGER,
    open REAL, high REAL, low REAL, close REAL, volume REAL,
    up INTEGER
);
-- The restart's one-sample-per-period resume reads MAX(time_ms) of the candles: an index keeps
-- that read O(log n) however long the inbox has grown (journal/read.rs last_pushed_candle_ms).
CREATE INDEX IF NOT EXISTS market_inbox_candle_time ON market_inbox(kind, time_ms);
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
pub(crate) type OrderCounts = BTreeMap<(OrderStatus, String, String), u64>;

/// Committed row counts, shared by the writer and the read connection, so listings report
/// their totals without counting the history on every call (that made each listing slower the
/// longer the service ran).
#[derive(Debug, Default)]
pub(crate) struct Counts {
    pub(crate) orders: OrderCounts,
    pub(crate) fills: u64,
}

/// Locks the shared counts (a poisoned lock still holds valid counts).
pub(crate) fn lock(counts: &Mutex<Counts>) -> MutexGuard<'_, Counts> {
    counts.lock().unwrap_or_else(|p| p.into_inner())
}

/// The journal's write connection. Used only from the engine thread.
pub struct Journal {
    conn: Connection,
    /// The file (`None` in memory): the read connection opens it too.
    path: Option<PathBuf>,
    /// Committed row counts.
    counts: Arc<Mutex<Counts>>,
    /// Count changes of the open transaction: applied at commit, dropped at rollback.
    pending_orders: Vec<((OrderStatus, String, String), i64)>,
    pending_fills: u64,
    /// History rows returned to a restore (see [`Journal::rows_read`]).
    rows_read: std::cell::Cell<u64>,
}

impl std::fmt::Debug for Journal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Journal")
    }
}

impl Journal {
    /// Opens (or creates) the journal file in WAL mode and creates missing tables.
    pub fn open(path: &Path, sync: SyncMode) -> Result<Self, JournalError> {
        Self::open_at(Some(path), sync)
    }

    /// A journal in memory (unit tests of the simulation: no file, no fsync).
    pub fn open_in_memory() -> Result<Self, JournalError> {
        Self::open_at(None, SyncMode::Normal)
    }

    fn open_at(file: Option<&Path>, sync: SyncMode) -> Result<Self, JournalError> {
        let path = file.unwrap_or(Path::new(":memory:"));
        let setup = || -> rusqlite::Result<Connection> {
            let conn = match file {
                Some(p) => Connection::open(p)?,
                None => Connection::open_in_memory()?,
            };
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
            // Pages freed by equity retention go back to the file system (takes effect on a
            // new file; an older file keeps reusing its free pages, which also stops growth).
            conn.pragma_update(None, "auto_vacuum", "INCREMENTAL")?;
            conn.pragma_update(None, "cache_size", -PAGE_CACHE_KIB)?;
            conn.execute_batch(SCHEMA)?;
            conn.execute_batch(checkpoint::CHECKPOINT_SCHEMA)?;
            conn.execute_batch(counters::COUNTERS_SCHEMA)?;
            Ok(conn)
        };
        let conn = setup().map_err(|e| JournalError::open(path, e))?;
        let mut journal = Self {
            conn,
            path: file.map(Path::to_path_buf),
            counts: Arc::default(),
            pending_orders: Vec::new(),
            pending_fills: 0,
            rows_read: std::cell::Cell::new(0),
        };
        journal.recount().map_err(|e| match e {
            JournalError::Sql(e) => JournalError::open(path, e),
            other => other,
        })?;
        Ok(journal)
    }
    /// Counts the orders and fills once (at open, and after a rolled-back transaction).
    fn recount(&mut self) -> Result<(), JournalError> {
        counters::ensure(&self.conn)?;
        let (orders, fills) = counters::read_counts(&self.conn)?;
        *lock(&self.counts) = Counts { orders, fills };
        self.pending_orders.clear();
        self.pending_fills = 0;
        Ok(())
    }
    /// Applies count changes now when no transaction is open, else at its commit.
    fn settle_counts(&mut self) {
        if !self.conn.is_autocommit() {
            return;
        }
        let mut counts = lock(&self.counts);
        for (k, d) in self.pending_orders.drain(..) {
            let n = counts.orders.entry(k).or_insert(0);
            *n = n.saturating_add_signed(d);
        }
        counts.fills += std::mem::take(&mut self.pending_fills);
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
    use crate::domain::alerts::AlertLevel;
    use crate::domain::orders::{OrderFilter, OrderKind, OrderSide};
    use rusqlite::params;

    #[test]
    fn the_last_pushed_candle_is_read_through_an_index_not_a_scan() {
        let j = Journal::open_in_memory().unwrap();
        let plan: Vec<String> = j
            .conn
            .prepare(
                "EXPLAIN QUERY PLAN SELECT MAX(time_ms) FROM market_inbox WHERE kind = 'candle'",
            )
            .unwrap()
            .query_map([], |r| r.get::<_, String>(3))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert!(
            plan.iter()
                .any(|step| step.contains("market_inbox_candle_time")),
            "restart would scan the whole inbox: {plan:?}"
        );
        assert_eq!(j.last_pushed_candle_ms().unwrap(), None);
    }

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
    fn a_journal_without_counters_is_counted_once_at_open_to_the_same_totals() {
        let dir = Dir::new("counters");
        let path = dir.0.join("j.sqlite");
        let mut j = Journal::open(&path, SyncMode::Normal).unwrap();
        for id in 1..=12u64 {
            j.begin().unwrap();
            j.upsert_order(&order(id, "a", "P", OrderStatus::Open))
                .unwrap();
            let done = if id % 3 == 0 {
                OrderStatus::Rejected
            } else {
                OrderStatus::Filled
            };
            j.upsert_order(&order(id, "a", "P", done)).unwrap();
            if done == OrderStatus::Filled {
                j.insert_fill(id, "a", "P", "x", OrderSide::Sell, 1.0, 1.0, 0.0, 0)
                    .unwrap();
            }
            j.insert_alert(0, AlertLevel::Warning, "w").unwrap();
            j.commit().unwrap();
        }
        let maintained = format!("{:?}", j.totals().unwrap());
        assert!(maintained.contains("(Filled, 8)") && maintained.contains("(Rejected, 4)"));
        // An older journal: no counters table content; opening counts it from the rows.
        j.conn.execute_batch("DELETE FROM counters").unwrap();
        drop(j);
        let j = Journal::open(&path, SyncMode::Normal).unwrap();
        assert_eq!(format!("{:?}", j.totals().unwrap()), maintained);
        assert_eq!(j.fill_count(), 8);
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
