//! The REST API as a client sees it: in-process through `oneshot`, and once over a real socket.
//! One file per concern; `harness` is the client side they share.

#[path = "../common/mod.rs"]
mod common;

mod access;
mod bad_input;
mod harness;
mod metrics;
mod trading;
