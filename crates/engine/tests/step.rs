//! The simulation driven directly through `Simulation::step`: no thread, no sleeps, an
//! in-memory SQLite journal, a fixed wall clock. Each test takes milliseconds.

mod common;

use std::sync::Arc;

use common::*;
use zigquant_engine::events::RecordingSink;
use zigquant_engine::journal::Journal;
use zigquant_engine::market::PushedEvent;
use zigquant_engine::{
    bars::Bar, EngineConfig, EngineEvent, Input, Order, OrderError, OrderKind, OrderRequest,
    OrderSide, OrderStatus, Output, PairId, RejectReason, Simulation, VenueId,
};

fn start(cfg: EngineConfig, journal: Journal) -> (Simulation, Arc<RecordingSink>) {
    let sink = Arc::new(RecordingSink::default());
    let sim = Simulation::restore(cfg, journal, sink.clone()).unwrap();
    (sim, sink)
}

/// Runs every queued event up to market time `t`.
fn run_until(sim: &mut Simulation, t: i64) {
    while sim.next_due().is_some_and(|d| d <= t) {
        sim.step(Input::Due, NOW);
    }
}

/// Runs every queued event in the next `ms` market milliseconds.
fn run_for(sim: &mut Simulation, ms: i64) {
    let t = sim.now_ms() + ms;
    run_until(sim, t);
}

fn run_all(sim: &mut Simulation) {
    while sim.next_due().is_some() {
        sim.step(Input::Due, NOW);
    }
}

fn place(sim: &mut Simulation, req: OrderRequest) -> Result<Order, OrderError> {
    match sim.step(Input::Place(req), NOW) {
        Output::Order(r) => r,
        other => panic!("unexpected {other:?}"),
    }
}

fn market(pair: &str, side: OrderSide, qty: f64, exchange: &str) -> OrderRequest {
    OrderRequest {
        strategy: None,
        pair: pair.into(),
        side,
        kind: OrderKind::Market,
        qty,
        exchange: Some(exchange.into()),
    }
}

fn first_bar(sim: &mut Simulation) {
    let first = sim.now_ms() + sim.bar_interval_ms();
    run_until(sim, first);
}

#[test]
fn a_market_order_fills_at_the_mark_after_its_latency() {
    let (mut sim, sink) = start(quiet(3), Journal::open_in_memory().unwrap());
    first_bar(&mut sim);
    let mark = sim.positions()[0]
        .mark_price
        .expect("a price after the first bar");
    let o = place(
        &mut sim,
        market("BTC-USDT", OrderSide::Buy, 0.01, "binance"),
    )
    .unwrap();
    assert_eq!(o.status, OrderStatus::Open);
    run_for(&mut sim, 5_000);
    let o = sim.order(o.id).unwrap().unwrap();
    assert_eq!(o.status, OrderStatus::Filled);
    assert_eq!(o.avg_fill_price, Some(mark));
    assert!(sink
        .events()
        .iter()
        .any(|e| matches!(e, EngineEvent::Fill { price, .. } if *price == mark)));
    assert!((sim.positions()[0].size - 0.01).abs() < 1e-12);
}

#[test]
fn orders_are_rejected_for_quantity_risk_and_bad_requests() {
    let (mut sim, _) = start(quiet(3), Journal::open_in_memory().unwrap());
    first_bar(&mut sim);
    let tiny = place(
        &mut sim,
        market("BTC-USDT", OrderSide::Buy, 0.00001, "binance"),
    )
    .unwrap();
    let huge = place(
        &mut sim,
        market("BTC-USDT", OrderSide::Buy, 1_000.0, "binance"),
    )
    .unwrap();
    assert_eq!(huge.status, OrderStatus::Rejected);
    assert_eq!(huge.reject_reason, Some(RejectReason::RiskLimit));
    run_for(&mut sim, 5_000);
    let tiny = sim.order(tiny.id).unwrap().unwrap();
    assert_eq!(tiny.reject_reason, Some(RejectReason::InvalidQuantity));
    assert!(matches!(
        place(
            &mut sim,
            market("DOGE-USDT", OrderSide::Buy, 1.0, "binance")
        ),
        Err(OrderError::UnknownPair(_))
    ));
}

#[test]
fn a_pushed_link_drop_rejects_orders_until_the_link_is_back() {
    let (mut sim, sink) = start(quiet(3), Journal::open_in_memory().unwrap());
    first_bar(&mut sim);
    let venue = VenueId::from("binance");
    push(
        &mut sim,
        PushedEvent::Link {
            venue: venue.clone(),
            up: false,
        },
    );
    let o = place(
        &mut sim,
        market("BTC-USDT", OrderSide::Buy, 0.01, "binance"),
    )
    .unwrap();
    assert_eq!(o.reject_reason, Some(RejectReason::ExchangeDisconnected));
    assert!(sink.events().iter().any(|e| matches!(
        e,
        EngineEvent::ExchangeConnection { exchange, connected: false } if exchange == "binance"
    )));
    push(&mut sim, PushedEvent::Link { venue, up: true });
    let o = place(
        &mut sim,
        market("BTC-USDT", OrderSide::Buy, 0.01, "binance"),
    )
    .unwrap();
    run_for(&mut sim, 5_000);
    assert_eq!(
        sim.order(o.id).unwrap().unwrap().status,
        OrderStatus::Filled
    );
}

#[test]
fn a_pushed_candle_marks_only_its_own_venue() {
    let (mut sim, _) = start(quiet(1), Journal::open_in_memory().unwrap());
    run_all(&mut sim);
    let before = sim.positions()[0].mark_price.unwrap();
    let bar = Bar {
        time_ms: sim.now_ms(),
        open: before,
        high: before * 2.0,
        low: before,
        close: before * 2.0,
        volume: 1.0,
    };
    push(
        &mut sim,
        PushedEvent::Candle {
            venue: VenueId::from("hyperliquid"),
            pair: PairId::from("BTC-USDT"),
            bar,
        },
    );
    // Valuation follows the latest price; the other venue still fills at its own mark.
    assert_eq!(sim.positions()[0].mark_price, Some(before * 2.0));
    let o = place(
        &mut sim,
        market("BTC-USDT", OrderSide::Buy, 0.01, "binance"),
    )
    .unwrap();
    run_all(&mut sim);
    assert_eq!(
        sim.order(o.id).unwrap().unwrap().avg_fill_price,
        Some(before)
    );
    // An unknown venue is journaled and ignored, never an error or a new label.
    push(
        &mut sim,
        PushedEvent::Link {
            venue: VenueId::from("nowhere"),
            up: false,
        },
    );
}

#[test]
fn a_restored_simulation_continues_with_the_same_positions_and_orders() {
    let (mut sim, _) = start(quiet(4), Journal::open_in_memory().unwrap());
    first_bar(&mut sim);
    let filled = place(
        &mut sim,
        market("BTC-USDT", OrderSide::Buy, 0.01, "binance"),
    )
    .unwrap();
    run_for(&mut sim, 5_000);
    let resting = place(
        &mut sim,
        OrderRequest {
            kind: OrderKind::Limit {
                price: 1.0,
                time_in_force_secs: None,
            },
            ..market("BTC-USDT", OrderSide::Buy, 0.01, "binance")
        },
    )
    .unwrap();
    run_for(&mut sim, 5_000);
    let positions = sim.positions();
    let summary = sim.summary();
    let (mut back, sink) = start(quiet(4), sim.into_journal());
    assert!(matches!(
        sink.events().first(),
        Some(EngineEvent::Restored(_))
    ));
    assert_eq!(back.positions(), positions);
    // Compared as text: undefined statistics are NaN, which equals nothing.
    assert_eq!(format!("{:?}", back.summary()), format!("{summary:?}"));
    assert_eq!(
        back.order(filled.id).unwrap().unwrap().status,
        OrderStatus::Filled
    );
    assert_eq!(back.open_orders(), 1);
    let cancelled = match back.step(Input::Cancel(resting.id), NOW) {
        Output::Order(r) => r.unwrap(),
        other => panic!("unexpected {other:?}"),
    };
    assert_eq!(cancelled.status, OrderStatus::Cancelled);
}
