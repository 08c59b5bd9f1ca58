//! The statistics checkpoint and the bounded reads a restart makes around it.
//!
//! Every few ticks the simulation writes the whole accounting state (accounts, FIFO books,
//! running statistics: `crate::state::checkpoint`) into the one-row `checkpoint` table, in the
//! same transaction as the tick whose events it summarises, together with the last fill id and
//! equity sequence number it includes. A restart reads that row, replays only the fills and
//! equity samples journaled after it, the last `var_window + 1` portfolio samples (the rolling
//! VaR window) and the warm-up bars: a bounded number of rows whatever the length of the history
//! (`rows_read` counts them, for the test that proves it).

use rusqlite::{params, OptionalExtension};

use super::rows::fill_from_row;
use super::{Journal, JournalError, PORTFOLIO_SCOPE};
use crate::report::views::TradeInfo;

/// The checkpoint table and the index the bounded reads use (created with the schema).
pub(crate) const CHECKPOINT_SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS checkpoint (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    version INTEGER NOT NULL,
    tick INTEGER NOT NULL,
    last_fill_id INTEGER NOT NULL,
    last_equity_seq INTEGER NOT NULL,
    thinned_before_tick INTEGER NOT NULL DEFAULT 0,
    state BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS equity_scope_tick ON equity(scope, tick);
";

/// The checkpoint row.
#[derive(Clone, Debug, PartialEq)]
pub struct Checkpoint {
    /// Encoding version of `state` (a restart ignores a checkpoint of another version and
    /// replays the journal instead).
    pub version: u32,
    /// The tick it was taken at (after that tick's equity samples).
    pub tick: u64,
    /// Fills with a larger id happened after it.
    pub last_fill_id: u64,
    /// Equity samples with a larger sequence number were taken after it.
    pub last_equity_seq: u64,
    /// The encoded state.
    pub state: Vec<u8>,
}

impl Journal {
    /// Writes the checkpoint `state` of tick `tick`, recording the last fill and equity sample
    /// it includes (call it inside the tick's transaction, after the tick's writes).
    pub fn write_checkpoint(
        &self,
        version: u32,
        tick: u64,
        state: &[u8],
    ) -> Result<(), JournalError> {
        self.conn
            .prepare_cached(
                "INSERT INTO checkpoint (id, version, tick, last_fill_id, last_equity_seq, state) \
                 VALUES (1, ?1, ?2, (SELECT COALESCE(MAX(id), 0) FROM fills), \
                 (SELECT COALESCE(MAX(seq), 0) FROM equity), ?3) \
                 ON CONFLICT(id) DO UPDATE SET version = excluded.version, tick = excluded.tick, \
                 last_fill_id = excluded.last_fill_id, last_equity_seq = excluded.last_equity_seq, \
                 state = excluded.state",
            )?
            .execute(params![version, tick as i64, state])?;
        Ok(())
    }

    /// The checkpoint, if one was written.
    pub fn read_checkpoint(&self) -> Result<Option<Checkpoint>, JournalError> {
        let row = self
            .conn
            .query_row(
                "SELECT version, tick, last_fill_id, last_equity_seq, state FROM checkpoint \
                 WHERE id = 1",
                [],
                |r| {
                    Ok(Checkpoint {
                        version: r.get(0)?,
                        tick: r.get::<_, i64>(1)?.max(0) as u64,
                        last_fill_id: r.get::<_, i64>(2)?.max(0) as u64,
                        last_equity_seq: r.get::<_, i64>(3)?.max(0) as u64,
                        state: r.get(4)?,
                    })
                },
            )
            .optional()?;
        self.count_rows(u64::from(row.is_some()));
        Ok(row)
    }

    /// Fills with an id above `id`, in the order they happened (the ones after a checkpoint).
    pub fn fills_after(&self, id: u64) -> Result<Vec<TradeInfo>, JournalError> {
        let mut st = self
            .conn
            .prepare("SELECT * FROM fills WHERE id > ?1 ORDER BY id")?;
        let rows = st.query_map(params![id as i64], fill_from_row)?;
        let v: Vec<TradeInfo> = rows.collect::<Result<_, _>>()?;
        self.count_rows(v.len() as u64);
        Ok(v)
    }

    /// Equity samples `(scope, equity)` with a sequence number above `seq`, in order.
    pub fn equity_after(&self, seq: u64) -> Result<Vec<(String, f64)>, JournalError> {
        let mut st = self
            .conn
            .prepare("SELECT scope, equity FROM equity WHERE seq > ?1 ORDER BY seq")?;
        let rows = st.query_map(params![seq as i64], |r| Ok((r.get(0)?, r.get(1)?)))?;
        let v: Vec<(String, f64)> = rows.collect::<Result<_, _>>()?;
        self.count_rows(v.len() as u64);
        Ok(v)
    }

    /// The last `n` portfolio equity samples, oldest first (the VaR window's `n - 1` returns).
    pub fn recent_portfolio_equity(&self, n: usize) -> Result<Vec<f64>, JournalError> {
        let mut st = self.conn.prepare(
            "SELECT equity FROM equity WHERE scope = ?1 ORDER BY tick DESC, seq DESC LIMIT ?2",
        )?;
        let rows = st.query_map(params![PORTFOLIO_SCOPE, n as i64], |r| r.get(0))?;
        let mut v: Vec<f64> = rows.collect::<Result<_, _>>()?;
        v.reverse();
        self.count_rows(v.len() as u64);
        Ok(v)
    }

    /// History rows (fills, equity samples, bars, the checkpoint) the restore reads returned
    /// since this journal was opened: the bounded-restart test asserts on it.
    pub fn rows_read(&self) -> u64 {
        self.rows_read.get()
    }

    pub(crate) fn count_rows(&self, n: u64) {
        self.rows_read.set(self.rows_read.get() + n);
    }
}
