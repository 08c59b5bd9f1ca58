//! What the engine owns between events: accounts and the portfolio (cash, FIFO books, equity
//! curves), and the per-strategy statistics computed from them once, for every consumer.

pub mod checkpoint;
pub mod portfolio;
pub mod stats;
