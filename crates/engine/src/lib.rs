//! The zigquant trading engine: market data flows one way,
//! feed -> strategy -> order -> exchange -> fill -> portfolio -> events.
#![forbid(unsafe_code)]

pub mod backtest;
pub mod bars;
pub mod config;
pub mod engine;
pub mod events;
pub mod exchange;
pub mod feed;
pub mod float;
pub mod journal;
pub mod orders;
pub mod portfolio;
pub mod risk;
pub mod rng;
pub mod snapshot;
pub mod strategy;

pub use config::{ConfigError, EngineConfig};
pub use engine::{Engine, EngineError, EngineHandle};
pub use events::{AlertLevel, EngineEvent, EventSink, RestoredTotals};
pub use orders::{
    Order, OrderError, OrderFilter, OrderKind, OrderRequest, OrderSide, OrderStatus, Page,
    RejectReason,
};
pub use snapshot::{Health, PositionInfo, StrategyInfo, Summary, TradeInfo};
