//! What the engine tells the outside world: events to an [`events::EventSink`] (the metrics
//! layer), gauge-shaped events built from state, and the read-only views the API returns.

pub mod events;
pub mod gauges;
pub mod views;
