//! The handle's commands: order validation, limit orders, cancels, strategy start/stop, paced
//! operation, journal failure, and config errors that name the field.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use zigquant_engine::config::OutageConfig;
use zigquant_engine::events::RecordingSink;
use zigquant_engine::orders::{OrderFilter, OrderKind};
use zigquant_engine::{
    Engine, EngineConfig, EngineError, EngineEvent, OrderError, OrderRequest, OrderSide,
    OrderStatus, RejectReason,
};

fn req(pair: &str, side: OrderSide, kind: OrderKind, qty: f64) -> OrderRequest {
    OrderRequest {
        strategy: None,
        pair: pair.into(),
        side,
        kind,
        qty,
        exchange: None,
    }
}

/// Waits (up to 5 s) until order `id` is final.
fn wait_final(h: &zigquant_engine::EngineHandle, id: u64) -> zigquant_engine::Order {
    let until = Instant::now() + Duration::from_secs(5);
    loop {
        let o = h.order(id).unwrap().unwrap();
        if o.status.is_final() || Instant::now() > until {
            return o;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn the_handle_can_be_shared_across_threads() {
    fn assert_send_sync<T: Send + Sync + Clone + 'static>() {}
    assert_send_sync::<zigquant_engine::EngineHandle>();
    let dir = TempDir::new("api-threads");
    let h = Engine::start(
        quiet_paced(),
        &dir.journal(),
        Arc::new(RecordingSink::default()),
    )
    .unwrap();
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let h = h.clone();
            std::thread::spawn(move || {
                for _ in 0..25 {
                    h.summary().unwrap();
                    h.positions().unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let other = h.clone();
    h.shutdown().unwrap();
    assert!(matches!(other.summary(), Err(EngineError::Stopped)));
}

#[test]
fn invalid_requests_are_errors_not_orders() {
    let dir = TempDir::new("api-invalid");
    let h = Engine::start(
        quiet_paced(),
        &dir.journal(),
        Arc::new(RecordingSink::default()),
    )
    .unwrap();
    let bad = |r: OrderRequest| h.place_order(r).unwrap_err();
    assert!(matches!(
        bad(req("DOGE-USDT", OrderSide::Buy, OrderKind::Market, 1.0)),
        OrderError::UnknownPair(_)
    ));
    assert!(matches!(
        bad(req("BTC-USDT", OrderSide::Buy, OrderKind::Market, 0.0)),
        OrderError::InvalidQuantity(_)
    ));
    assert!(matches!(
        bad(req("BTC-USDT", OrderSide::Buy, OrderKind::Market, f64::NAN)),
        OrderError::InvalidQuantity(_)
    ));
    let mut r = req("BTC-USDT", OrderSide::Buy, OrderKind::Market, 0.01);
    r.strategy = Some("nope".into());
    assert!(matches!(bad(r), OrderError::UnknownStrategy(_)));
    let mut r = req("BTC-USDT", OrderSide::Buy, OrderKind::Market, 0.01);
    r.exchange = Some("nope".into());
    assert!(matches!(bad(r), OrderError::UnknownExchange(_)));
    let limit = OrderKind::Limit {
        price: -1.0,
        time_in_force_secs: None,
    };
    assert!(matches!(
        bad(req("BTC-USDT", OrderSide::Buy, limit, 0.01)),
        OrderError::InvalidPrice(_)
    ));
    assert!(matches!(
        h.cancel_order(999_999),
        Err(OrderError::NotFound(999_999))
    ));
    assert_eq!(h.orders(&OrderFilter::default()).unwrap().total, 0);
    h.shutdown().unwrap();
}

#[test]
fn orders_fill_rest_expire_cancel_and_reject_with_reasons() {
    let dir = TempDir::new("api-orders");
    let sink = Arc::new(RecordingSink::default());
    let mut cfg = quiet_paced();
    cfg.risk.max_position_notional = 20_000.0;
    cfg.risk.position_warning_notional = 20_000.0;
    let h = Engine::start(cfg, &dir.journal(), sink.clone()).unwrap();
    // Wait for a price.
    wait_for_first_price(&h);
    let mark = h.positions().unwrap()[0].mark_price.unwrap();

    // Market order: acknowledged and filled after the exchange latency.
    let o = h
        .place_order(req("BTC-USDT", OrderSide::Buy, OrderKind::Market, 0.01))
        .unwrap();
    assert_eq!(o.strategy, "manual");
    assert_eq!(o.status, OrderStatus::Open);
    let o = wait_final(&h, o.id);
    assert_eq!(o.status, OrderStatus::Filled);
    assert_eq!(o.fills.len(), 1);
    assert!(o.acknowledged_ms.unwrap() > o.created_ms);

    // Far limit with a time in force: cancelled by the exchange when it expires.
    let far = OrderKind::Limit {
        price: mark * 0.5,
        time_in_force_secs: Some(0.2),
    };
    let o = h
        .place_order(req("BTC-USDT", OrderSide::Buy, far, 0.01))
        .unwrap();
    assert_eq!(wait_final(&h, o.id).status, OrderStatus::Cancelled);

    // Good-till-cancelled limit, cancelled through the API; a second cancel is refused.
    let gtc = OrderKind::Limit {
        price: mark * 0.5,
        time_in_force_secs: None,
    };
    let o = h
        .place_order(req("BTC-USDT", OrderSide::Buy, gtc, 0.01))
        .unwrap();
    std::thread::sleep(Duration::from_millis(50));
    let c = h.cancel_order(o.id).unwrap();
    assert_eq!(c.status, OrderStatus::Cancelled);
    assert!(matches!(
        h.cancel_order(o.id),
        Err(OrderError::AlreadyFinal {
            status: OrderStatus::Cancelled,
            ..
        })
    ));

    // Rejections with reasons.
    let o = h
        .place_order(req("BTC-USDT", OrderSide::Buy, OrderKind::Market, 1.0))
        .unwrap();
    assert_eq!(o.status, OrderStatus::Rejected);
    assert_eq!(o.reject_reason, Some(RejectReason::RiskLimit));
    let o = h
        .place_order(req("BTC-USDT", OrderSide::Buy, OrderKind::Market, 0.00001))
        .unwrap();
    let o = wait_final(&h, o.id);
    assert_eq!(o.reject_reason, Some(RejectReason::InvalidQuantity));
    // The manual account has 10 000 USDT: 1.6 ETH (~4 800) fits, a second 1.6 ETH does not
    // (within the 20 000 risk limit of this test, so it is the cash that refuses it).
    let a = h
        .place_order(req("ETH-USDT", OrderSide::Buy, OrderKind::Market, 1.6))
        .unwrap();
    assert_eq!(wait_final(&h, a.id).status, OrderStatus::Filled);
    let b = h
        .place_order(req("ETH-USDT", OrderSide::Buy, OrderKind::Market, 1.6))
        .unwrap();
    assert_eq!(
        wait_final(&h, b.id).reject_reason,
        Some(RejectReason::InsufficientBalance)
    );

    let s = h.summary().unwrap();
    assert_eq!(s.orders_total.filled, 2);
    assert_eq!(s.orders_total.cancelled, 2);
    assert_eq!(s.orders_total.rejected, 3);
    let manual = h
        .orders(&OrderFilter {
            strategy: Some("manual".into()),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(manual.total, 7);
    assert!(sink
        .events()
        .iter()
        .any(|e| matches!(e, EngineEvent::OrderAcknowledged { .. })));
    h.shutdown().unwrap();
}

#[test]
fn orders_to_a_disconnected_exchange_are_rejected() {
    let dir = TempDir::new("api-outage");
    let mut cfg = quiet_paced();
    // Force a long outage from the start.
    cfg.exchanges[0].disconnect = vec![OutageConfig {
        at_secs: 0.0,
        for_secs: 3600.0,
    }];
    let sink = Arc::new(RecordingSink::default());
    let h = Engine::start(cfg, &dir.journal(), sink.clone()).unwrap();
    std::thread::sleep(Duration::from_millis(100));
    let mut r = req("BTC-USDT", OrderSide::Buy, OrderKind::Market, 0.01);
    r.exchange = Some("hyperliquid".into());
    let o = h.place_order(r).unwrap();
    assert_eq!(o.reject_reason, Some(RejectReason::ExchangeDisconnected));
    assert!(sink.events().iter().any(|e| matches!(
        e,
        EngineEvent::ExchangeConnection { exchange, connected: false } if exchange == "hyperliquid"
    )));
    h.shutdown().unwrap();
}

#[test]
fn strategies_start_and_stop_at_run_time() {
    let dir = TempDir::new("api-strategies");
    let h = Engine::start(
        quiet_paced(),
        &dir.journal(),
        Arc::new(RecordingSink::default()),
    )
    .unwrap();
    let names: Vec<String> = h
        .strategies()
        .unwrap()
        .into_iter()
        .map(|s| s.name)
        .collect();
    assert_eq!(
        names,
        EngineConfig::default()
            .strategy_names()
            .into_iter()
            .filter(|n| n != "noise")
            .collect::<Vec<_>>()
    );
    let s = h.stop_strategy("sma_cross").unwrap();
    assert!(!s.running);
    assert!(h.start_strategy("sma_cross").unwrap().running);
    assert!(matches!(
        h.stop_strategy("manual"),
        Err(EngineError::NotControllable(_))
    ));
    assert!(matches!(
        h.stop_strategy("nope"),
        Err(EngineError::UnknownStrategy(_))
    ));
    h.shutdown().unwrap();
}

#[test]
fn a_paced_run_advances_with_wall_time() {
    let dir = TempDir::new("api-paced");
    let mut cfg = EngineConfig::default();
    cfg.journal.synchronous = zigquant_engine::config::SyncMode::Normal;
    let sink = Arc::new(RecordingSink::default());
    let started = Instant::now();
    let h = Engine::start(cfg, &dir.journal(), sink.clone()).unwrap();
    std::thread::sleep(Duration::from_millis(1100));
    let ticks = h.progress().unwrap().ticks;
    let elapsed = started.elapsed().as_secs_f64();
    // One bar per 250 ms of wall time (allow one bar of scheduling slack either way).
    let expected = (elapsed / 0.25).floor() as i64;
    assert!(
        (ticks as i64 - expected).abs() <= 1,
        "{ticks} ticks in {elapsed} s"
    );
    assert!(ticks >= 3);
    let health = h.health().unwrap();
    assert!(health.journal_ok && health.feeds_live);
    let market: Vec<i64> = sink
        .events()
        .iter()
        .filter_map(|e| match e {
            EngineEvent::MarketData { pair, time_ms, .. } if pair == "BTC-USDT" => Some(*time_ms),
            _ => None,
        })
        .collect();
    assert_eq!(market.len() as u64, ticks);
    h.shutdown().unwrap();
}

#[test]
fn a_journal_failure_stops_trading_loudly() {
    let dir = TempDir::new("api-journal-fail");
    let sink = Arc::new(RecordingSink::default());
    let h = Engine::start(quiet_paced(), &dir.journal(), sink.clone()).unwrap();
    std::thread::sleep(Duration::from_millis(100));
    // Sabotage the journal from outside.
    let c = rusqlite::Connection::open(dir.journal()).unwrap();
    c.busy_timeout(Duration::from_secs(5)).unwrap();
    c.execute_batch("DROP TABLE equity").unwrap();
    drop(c);
    let until = Instant::now() + Duration::from_secs(5);
    while h.health().unwrap().journal_ok && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(10));
    }
    let health = h.health().unwrap();
    assert!(!health.journal_ok && !health.feeds_live);
    assert!(health.halted.is_some());
    assert!(sink
        .events()
        .iter()
        .any(|e| matches!(e, EngineEvent::JournalError { .. })));
    let err = h
        .place_order(req("BTC-USDT", OrderSide::Buy, OrderKind::Market, 0.01))
        .unwrap_err();
    assert!(matches!(err, OrderError::TradingHalted(_)), "{err}");
    assert_eq!(err.to_string().matches("journal").count(), 1, "{err}");
    let err = h.stop_strategy("sma_cross").unwrap_err().to_string();
    assert_eq!(err.matches("journal").count(), 1, "{err}");
    // Reads keep working.
    assert!(h.summary().is_ok());
    h.shutdown().unwrap();
}

#[test]
fn a_journal_that_cannot_be_opened_is_named_once_with_the_reason() {
    let dir = TempDir::new("api-journal-open");
    std::fs::create_dir(dir.journal()).unwrap();
    let e = Engine::start(
        quiet_paced(),
        &dir.journal(),
        Arc::new(RecordingSink::default()),
    )
    .unwrap_err()
    .to_string();
    assert!(e.starts_with("cannot open the journal"), "{e}");
    assert_eq!(
        e.matches(&dir.journal().display().to_string()).count(),
        1,
        "{e}"
    );
    assert!(!e.contains("journal: journal"), "{e}");
    assert!(e.contains("directory"), "{e}");
}

#[test]
fn an_invalid_config_names_the_field() {
    let text = r#"
[engine]
[[engine.strategies]]
name = "a"
pair = "BTC-USDT"
[engine.strategies.params]
kind = "sma_cross"
fast = 5
slow = 20
mode = "long-only"
qty = 0.01

[[engine.strategies]]
name = "b"
pair = "BTC-USDT"
[engine.strategies.params]
kind = "sma_cross"
fast = 20
slow = 10
mode = "long-only"
qty = 0.01
"#;
    let cfg = EngineConfig::from_toml_file_str(text).unwrap();
    let e = cfg.validate().unwrap_err();
    assert_eq!(e.field, "engine.strategies[1].params.slow");
    assert!(e
        .to_string()
        .starts_with("engine.strategies[1].params.slow: "));

    let dir = TempDir::new("bad-config");
    assert!(matches!(
        Engine::start(cfg, &dir.journal(), Arc::new(RecordingSink::default())),
        Err(EngineError::Config(_))
    ));

    let mut c = EngineConfig::default();
    c.exchanges[1].latency_p99_ms = 1.0;
    assert_eq!(
        c.validate().unwrap_err().field,
        "engine.exchanges[1].latency_p99_ms"
    );
    let mut c = EngineConfig::default();
    c.strategies[0].pair = "XRP-USDT".into();
    assert_eq!(c.validate().unwrap_err().field, "engine.strategies[0].pair");
    let mut c = EngineConfig::default();
    c.feed.warmup_bars = 10;
    assert_eq!(c.validate().unwrap_err().field, "engine.feed.warmup_bars");
    let mut c = EngineConfig::default();
    c.pairs[1].name = "bad name{}".into();
    assert_eq!(c.validate().unwrap_err().field, "engine.pairs[1].name");

    let e = EngineConfig::from_toml_file_str("[engine.feed]\nspeed = 3\n").unwrap_err();
    assert!(e.to_string().contains("speed"), "{e}");
    let e =
        EngineConfig::from_toml_file_str("[engine.risk]\ndrawdown_warning = \"x\"\n").unwrap_err();
    assert!(
        e.to_string()
            .contains("engine.risk.drawdown_warning: expected a number"),
        "{e}"
    );
    let e =
        EngineConfig::from_toml_file_str("[[engine.pairs]]\nname = \"X\"\nfoo = 1\n").unwrap_err();
    assert!(
        e.to_string()
            .contains("engine.pairs[0]: unknown field `foo`"),
        "{e}"
    );
}
