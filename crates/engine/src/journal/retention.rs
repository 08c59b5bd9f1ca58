//! Equity retention: samples older than `journal.equity_retention_days` of market time are
//! thinned to the lowest and the highest sample of each hour (per scope), so the table grows by
//! at most two rows per scope and hour once a run is older than the retention, and a chart of
//! the long history still shows the true minimum and maximum. Fills, orders and alerts are never
//! touched. Freed pages go back to the file system with `PRAGMA incremental_vacuum`.
//!
//! Thinning is incremental: each pass covers at most a bounded range of ticks after the mark
//! where the previous one stopped (kept in the checkpoint row), inside the tick's transaction.
//!
//! The pushed market events (`market_inbox`: live candles and link changes) are raw input whose
//! effects (equity, fills, alerts) are journaled on their own; rows older than the same
//! retention are deleted, oldest first and a bounded number per pass.

use rusqlite::{params, OptionalExtension};

use super::{Journal, JournalError};

impl Journal {
    /// Thins the samples of `scope` with `from_tick <= tick < to_tick` to each bucket's lowest
    /// and highest (`ticks_per_bucket` ticks per bucket, ties broken by the earlier sample);
    /// returns how many rows were deleted. Idempotent: a thinned bucket stays as it is.
    pub fn thin_equity(
        &self,
        scope: &str,
        from_tick: u64,
        to_tick: u64,
        ticks_per_bucket: u64,
    ) -> Result<usize, JournalError> {
        if to_tick <= from_tick {
            return Ok(0);
        }
        let n = self
            .conn
            .prepare_cached(
                "DELETE FROM equity WHERE seq IN (\
                 SELECT seq FROM (SELECT seq, \
                 ROW_NUMBER() OVER (PARTITION BY tick / ?4 ORDER BY equity, seq) AS up, \
                 ROW_NUMBER() OVER (PARTITION BY tick / ?4 ORDER BY equity DESC, seq) AS down \
                 FROM equity WHERE scope = ?1 AND tick >= ?2 AND tick < ?3) \
                 WHERE up > 1 AND down > 1)",
            )?
            .execute(params![
                scope,
                from_tick as i64,
                to_tick as i64,
                ticks_per_bucket.max(1) as i64
            ])?;
        Ok(n)
    }

    /// Where thinning stopped: every tick below it is thinned (0 when never).
    pub fn thinned_before(&self) -> Result<u64, JournalError> {
        let v: Option<Option<i64>> = self
            .conn
            .query_row(
                "SELECT thinned_before_tick FROM checkpoint WHERE id = 1",
                [],
                |r| r.get(0),
            )
            .optional()?;
        Ok(v.flatten().unwrap_or(0).max(0) as u64)
    }

    /// Records where thinning stopped (needs the checkpoint row; a run that has none has
    /// nothing old enough to thin).
    pub fn set_thinned_before(&self, tick: u64) -> Result<(), JournalError> {
        self.conn
            .prepare_cached("UPDATE checkpoint SET thinned_before_tick = ?1 WHERE id = 1")?
            .execute(params![tick as i64])?;
        Ok(())
    }

    /// Deletes pushed events received before market time `before_ms`, looking at no more than
    /// the `max_rows` oldest rows (rows are appended in market-time order, so the old ones are a
    /// prefix); returns how many were deleted.
    pub fn prune_inbox(&self, before_ms: i64, max_rows: u32) -> Result<usize, JournalError> {
        let n = self
            .conn
            .prepare_cached(
                "DELETE FROM market_inbox WHERE seq IN (SELECT seq FROM \
                 (SELECT seq, market_ms FROM market_inbox ORDER BY seq LIMIT ?2) \
                 WHERE market_ms < ?1)",
            )?
            .execute(params![before_ms, max_rows])?;
        Ok(n)
    }

    /// Rows in the pushed-event inbox (tests and benchmarks; a scan).
    pub fn inbox_rows(&self) -> Result<u64, JournalError> {
        let n: i64 = self
            .conn
            .query_row("SELECT COUNT(*) FROM market_inbox", [], |r| r.get(0))?;
        Ok(n.max(0) as u64)
    }

    /// Returns up to `pages` free pages to the file system (no-op on a file created without
    /// incremental auto-vacuum).
    pub fn incremental_vacuum(&self, pages: u32) -> Result<(), JournalError> {
        let mut st = self
            .conn
            .prepare_cached(&format!("PRAGMA incremental_vacuum({pages})"))?;
        let mut rows = st.query([])?;
        while rows.next()?.is_some() {}
        Ok(())
    }

    /// Rows in the equity table (tests and benchmarks; a scan).
    pub fn equity_rows(&self) -> Result<u64, JournalError> {
        let n: i64 = self
            .conn
            .query_row("SELECT COUNT(*) FROM equity", [], |r| r.get(0))?;
        Ok(n.max(0) as u64)
    }

    /// `(min, max)` of a scope's equity samples with `from_tick <= tick < to_tick` (what a
    /// chart of that range shows as its extremes); `None` when there is none.
    pub fn equity_range(
        &self,
        scope: &str,
        from_tick: u64,
        to_tick: u64,
    ) -> Result<Option<(f64, f64)>, JournalError> {
        let (lo, hi): (Option<f64>, Option<f64>) = self.conn.query_row(
            "SELECT MIN(equity), MAX(equity) FROM equity WHERE scope = ?1 AND tick >= ?2 \
             AND tick < ?3",
            params![scope, from_tick as i64, to_tick as i64],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        Ok(lo.zip(hi))
    }
}
