//! The zigquant trading engine. Data flows one way (docs/architecture.md):
//! market -> strategy -> risk -> execution -> state -> journal -> report, driven by the
//! discrete-event simulation in [`sim`] and the thread in [`runtime`].
//!
//! Layers, lowest first; a module uses only layers before it (`tests/layers.rs` checks):
//! domain, strategy, config, market, execution, state, risk, report, journal, error, sim,
//! runtime; `backtest` uses domain and strategy only.
#![forbid(unsafe_code)]

pub mod backtest;
pub mod config;
pub mod domain;
pub mod error;
pub mod execution;
pub mod journal;
pub mod market;
pub mod report;
pub mod risk;
pub mod runtime;
pub mod sim;
pub mod state;
pub mod strategy;

// Stable paths the server, the benches and the tests use.
pub use domain::{bars, float, orders, rng};
pub use report::events;
pub use report::views as snapshot;

pub use config::{ConfigError, EngineConfig};
pub use domain::alerts::AlertLevel;
pub use domain::audit::{AuditAction, AuditContext, AuditEntry};
pub use domain::ids::{PairId, VenueId};
pub use error::EngineError;
pub use events::{EngineEvent, EventSink, RestoredTotals};
pub use market::{MarketInbox, PushedEvent};
pub use orders::{
    Order, OrderError, OrderFilter, OrderKind, OrderRequest, OrderSide, OrderStatus, Page,
    RejectReason,
};
pub use runtime::{Engine, EngineHandle};
pub use sim::{Input, Now, Output, Simulation};
pub use snapshot::{Health, PositionInfo, StrategyInfo, Summary, TradeInfo};
