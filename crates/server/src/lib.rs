//! The zigquant service: configuration, the HTTP API and `/metrics`, and the bridge that turns
//! engine events into metrics. Nothing here computes a statistic.
#![forbid(unsafe_code)]

pub mod api;
pub mod auth;
pub mod backtest_cli;
pub mod config;
pub mod connection;
pub mod downsample;
pub mod identity;
pub mod keys;
pub mod keys_cli;
pub mod limits;
pub mod listener;
pub mod live;
pub mod live_view;
pub mod logging;
pub mod report;
pub mod serve;
pub mod telemetry;
pub mod ui;
pub mod web_config;
