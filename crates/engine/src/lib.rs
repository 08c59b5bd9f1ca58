//! The zigquant trading engine: market data flows one way,
//! feed -> strategy -> order -> exchange -> fill -> portfolio -> events.
#![forbid(unsafe_code)]

pub mod backtest;
pub mod bars;
pub mod strategy;
