//! Journal upkeep on the bar tick (a sampled live period in an all-live config), inside its
//! transaction: the statistics checkpoint a restart starts from (so restart time does not grow
//! with history), and the retention of equity samples and pushed events (so the file does not
//! grow with it either). See `crate::journal::checkpoint` and `crate::journal::retention`.

use super::Simulation;
use crate::journal::{JournalError, PORTFOLIO_SCOPE};
use crate::state::checkpoint::{self, CHECKPOINT_VERSION};

/// A checkpoint every this many ticks: a restart replays at most this many ticks of equity
/// samples (and the fills since), while writing it costs one small row per 256 bars.
pub(crate) const CHECKPOINT_EVERY_TICKS: u64 = 256;

/// Retention runs every this many ticks ...
const RETENTION_EVERY_TICKS: u64 = 1024;

/// ... and thins at most this many ticks of old samples per pass (a journal that is behind,
/// e.g. after the retention was shortened, catches up over several passes, none of them long).
const RETENTION_MAX_TICKS_PER_PASS: u64 = 16 * 1024;

/// Pushed events looked at per retention pass: more than a live run receives in 1024 periods
/// (two candles per pair and period on a reconnect's backfill, plus link changes).
const RETENTION_MAX_INBOX_ROWS_PER_PASS: u32 = 64 * 1024;

const HOUR_MS: i64 = 3_600_000;
const DAY_MS: f64 = 86_400_000.0;

impl Simulation {
    /// Writes the checkpoint and thins old equity samples when their turn has come (`k` is the
    /// tick that just ran).
    pub(crate) fn journal_upkeep(&mut self, k: u64) -> Result<(), JournalError> {
        if (k + 1).is_multiple_of(CHECKPOINT_EVERY_TICKS) {
            self.write_checkpoint(k)?;
        }
        if (k + 1).is_multiple_of(RETENTION_EVERY_TICKS) {
            self.apply_retention(k)?;
        }
        Ok(())
    }

    /// Checkpoints the accounts and running statistics as of tick `k`.
    pub(crate) fn write_checkpoint(&mut self, k: u64) -> Result<(), JournalError> {
        let state = checkpoint::encode(&self.portfolio, self.totals.trades);
        self.journal.write_checkpoint(CHECKPOINT_VERSION, k, &state)
    }

    /// Thins equity samples older than the retention to each hour's lowest and highest, and
    /// deletes pushed events older than it.
    fn apply_retention(&mut self, k: u64) -> Result<(), JournalError> {
        let days = self.cfg.journal.equity_retention_days;
        if days <= 0.0 {
            return Ok(());
        }
        let pruned = self.journal.prune_inbox(
            self.now_ms - (days * DAY_MS) as i64,
            RETENTION_MAX_INBOX_ROWS_PER_PASS,
        )?;
        let interval = self.interval_ms.max(1);
        let retention_ticks = (days * DAY_MS / interval as f64).ceil() as u64;
        let per_hour = (HOUR_MS / interval).max(1) as u64;
        // Whole hours only: a bucket is thinned once, when all of it is old.
        let cutoff = (k + 1).saturating_sub(retention_ticks) / per_hour * per_hour;
        let from = self.journal.thinned_before()?;
        let to = cutoff.min(from + RETENTION_MAX_TICKS_PER_PASS / per_hour * per_hour);
        let mut deleted = 0;
        if to > from {
            let mut scopes: Vec<String> = self.portfolio.accounts.keys().cloned().collect();
            scopes.push(PORTFOLIO_SCOPE.to_string());
            for scope in &scopes {
                deleted += self.journal.thin_equity(scope, from, to, per_hour)?;
            }
            self.journal.set_thinned_before(to)?;
        }
        if deleted + pruned > 0 {
            self.journal.incremental_vacuum(0)?;
            tracing::debug!(
                from,
                to,
                deleted,
                pruned,
                "old equity samples thinned, old pushed events deleted"
            );
        }
        Ok(())
    }
}
