//! Pure statistics for zigquant, defined exactly as in `docs/statistics.md`.
//!
//! * [`returns`]: batch statistics over a series of per-period simple returns (the reference
//!   definitions; recompute from the full history).
//! * [`live`]: incremental state that reproduces the batch functions after every new sample at a
//!   small, history-independent cost (for live gauges).
//! * [`running`]: whole-history Sharpe, CAGR, Calmar and drawdown as O(1) state that can be
//!   checkpointed and restored bit-identically.
//! * [`rolling`]: exact VaR/CVaR over a rolling window of the last `W` returns.
//! * [`checkpoint`]: the byte encoding those states are checkpointed in.
//! * [`trades`]: FIFO round-trip bookkeeping and trade-level statistics (win rate, realized PnL).
//!
//! No IO, no async, no dependencies besides `thiserror`: everything here is plain data in, numbers out.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod checkpoint;
mod exact_sum;
pub mod live;
pub mod returns;
pub mod rolling;
pub mod running;
pub mod trades;
