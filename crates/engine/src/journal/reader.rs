//! A second, read-only connection to the journal file for listings (orders, trades), so the
//! API's history reads run on the caller's thread and never queue behind the simulation. WAL
//! mode lets it read the last committed state while the engine writes.

use std::path::Path;
use std::sync::{Arc, Mutex};

use rusqlite::{Connection, OpenFlags};

use super::listing;
use super::{Counts, Journal, JournalError};
use crate::domain::orders::{Order, OrderFilter, Page};
use crate::report::views::TradeInfo;

/// See the module header. Cheap to share behind an `Arc`; calls serialize on its one
/// connection.
pub struct JournalReader {
    conn: Mutex<Connection>,
    counts: Arc<Mutex<Counts>>,
}

impl std::fmt::Debug for JournalReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("JournalReader")
    }
}

impl Journal {
    /// A read-only connection to the same file (`None` for an in-memory journal).
    pub fn reader(&self) -> Result<Option<JournalReader>, JournalError> {
        let Some(path) = &self.path else {
            return Ok(None);
        };
        let conn = open_read_only(path).map_err(|e| JournalError::open(path, e))?;
        Ok(Some(JournalReader {
            conn: Mutex::new(conn),
            counts: self.counts.clone(),
        }))
    }
}

fn open_read_only(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    conn.set_prepared_statement_cache_capacity(32);
    // Listings read a page at a time: a small page cache (see `super::PAGE_CACHE_KIB`).
    conn.pragma_update(None, "cache_size", -super::PAGE_CACHE_KIB)?;
    Ok(conn)
}

impl JournalReader {
    /// Runs `f` on the read connection.
    pub(crate) fn with_conn<T>(&self, f: impl FnOnce(&Connection) -> T) -> T {
        let conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        f(&conn)
    }

    /// A page of orders matching the filter, newest first.
    pub fn orders(&self, f: &OrderFilter) -> Result<Page<Order>, JournalError> {
        self.with_conn(|conn| listing::orders(conn, &self.counts, f))
    }

    /// A page of fills, newest first.
    pub fn trades(&self, offset: usize, limit: usize) -> Result<Page<TradeInfo>, JournalError> {
        self.with_conn(|conn| listing::trades(conn, &self.counts, offset, limit))
    }
}
