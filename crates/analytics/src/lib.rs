//! Pure statistics for zigquant, defined exactly as in `docs/statistics.md`.
//!
//! * [`returns`]: batch statistics over a series of per-period simple returns (the reference
//!   definitions; recompute from the full history).
//! * [`live`]: incremental state that reproduces the batch functions after every new sample at a
//!   small, history-independent cost (for live gauges).
//! * [`trades`]: FIFO round-trip bookkeeping and trade-level statistics (win rate, realized PnL).
//!
//! No IO, no async, no dependencies: everything here is plain data in, numbers out.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod exact_sum;
pub mod live;
pub mod returns;
pub mod trades;
