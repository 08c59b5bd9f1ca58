//! The audit trail through `Simulation::step_as`: every API command made on someone's behalf
//! leaves one entry (key name, client, request id, action, target, outcome) written with its
//! change; refused commands leave one too; commands made on nobody's behalf leave none.

mod common;

use std::sync::Arc;

use common::*;
use zigquant_engine::events::RecordingSink;
use zigquant_engine::journal::Journal;
use zigquant_engine::{
    AuditContext, Input, OrderKind, OrderRequest, OrderSide, Output, Simulation,
};

fn who(request_id: &str) -> Option<AuditContext> {
    Some(AuditContext {
        key_name: "ci-bot".into(),
        client: Some("10.0.0.7".into()),
        request_id: request_id.into(),
    })
}

fn order(pair: &str, qty: f64) -> OrderRequest {
    OrderRequest {
        strategy: None,
        pair: pair.into(),
        side: OrderSide::Buy,
        kind: OrderKind::Market,
        qty,
        exchange: Some("binance".into()),
    }
}

#[test]
fn commands_on_someones_behalf_are_journaled_with_their_outcome() {
    let sink = Arc::new(RecordingSink::default());
    let mut sim = Simulation::restore(quiet(3), Journal::open_in_memory().unwrap(), sink).unwrap();
    let first = sim.now_ms() + sim.bar_interval_ms();
    while sim.next_due().is_some_and(|d| d <= first) {
        sim.step(Input::Due, NOW);
    }
    let placed = match sim.step_as(Input::Place(order("BTC-USDT", 0.01)), who("r1"), NOW) {
        Output::Order(Ok(o)) => o,
        other => panic!("{other:?}"),
    };
    let refused = sim.step_as(Input::Place(order("DOGE-USDT", 1.0)), who("r2"), NOW);
    assert!(matches!(refused, Output::Order(Err(_))));
    let risk = match sim.step_as(Input::Place(order("BTC-USDT", 1_000.0)), who("r3"), NOW) {
        Output::Order(Ok(o)) => o,
        other => panic!("{other:?}"),
    };
    let cancelled = sim.step_as(Input::Cancel(placed.id), who("r4"), NOW);
    assert!(matches!(cancelled, Output::Order(Ok(_))));
    let stop = Input::SetRunning {
        name: "sma_cross".into(),
        running: true,
    };
    assert!(matches!(
        sim.step_as(stop, who("r5"), NOW),
        Output::Strategy(Ok(_))
    ));
    let unknown = Input::SetRunning {
        name: "nope".into(),
        running: false,
    };
    assert!(matches!(
        sim.step_as(unknown, who("r6"), NOW),
        Output::Strategy(Err(_))
    ));
    // Not on anybody's behalf (the engine's own tests, the backtest): no entry.
    sim.step(Input::Place(order("BTC-USDT", 0.01)), NOW);

    let page = sim.audit(0, 100).unwrap();
    assert_eq!(page.total, 6);
    let rows: Vec<(String, String, String, String)> = page
        .items
        .iter()
        .rev()
        .map(|e| {
            assert_eq!(e.key_name, "ci-bot");
            assert_eq!(e.client.as_deref(), Some("10.0.0.7"));
            assert_eq!(e.time_ms, NOW.wall_ms);
            (
                e.request_id.clone(),
                e.action.clone(),
                e.target.clone(),
                e.outcome.clone(),
            )
        })
        .collect();
    let id = placed.id.to_string();
    let risk_id = risk.id.to_string();
    let expect = [
        ("r1", "place_order", id.as_str(), "ok: open"),
        (
            "r2",
            "place_order",
            "-",
            "refused: unknown pair \"DOGE-USDT\"",
        ),
        (
            "r3",
            "place_order",
            risk_id.as_str(),
            "ok: rejected (risk_limit)",
        ),
        ("r4", "cancel_order", id.as_str(), "ok: cancelled"),
        ("r5", "start_strategy", "sma_cross", "ok: running"),
        (
            "r6",
            "stop_strategy",
            "nope",
            "refused: unknown strategy \"nope\"",
        ),
    ];
    for (row, (request, action, target, outcome)) in rows.iter().zip(expect) {
        assert_eq!(
            (row.0.as_str(), row.1.as_str(), row.2.as_str()),
            (request, action, target)
        );
        assert!(row.3.starts_with(outcome), "{row:?} vs {outcome}");
    }
    // Paged, newest first.
    let second = sim.audit(1, 2).unwrap();
    assert_eq!(second.items.len(), 2);
    assert_eq!(second.items[0].request_id, "r5");
}
