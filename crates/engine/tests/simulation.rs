//! The default configuration, simulated without pacing: every order outcome, link faults and
//! alerts occur; accounting identities hold; same seed + config = same fills.

mod common;

use std::collections::BTreeMap;

use common::*;
use zigquant_analytics::trades::{FifoBook, Fill, Side};
use zigquant_engine::orders::OrderFilter;
use zigquant_engine::{EngineEvent, OrderSide, OrderStatus, RejectReason};

/// 80 bars = the 20 s default run at one bar per 250 ms.
const DEFAULT_RUN_BARS: u64 = 80;

#[test]
fn a_default_run_moves_every_trading_metric() {
    let dir = TempDir::new("default-run");
    let (h, sink) = run_to_idle(fast_config(DEFAULT_RUN_BARS), &dir);
    let events = sink.events();
    assert!(matches!(events.first(), Some(EngineEvent::Restored(_))));

    let s = h.summary().unwrap();
    assert!(s.trades_total > 0, "no fills: {s:?}");
    assert!(s.orders_total.filled > 0);
    assert!(s.orders_total.cancelled > 0, "no time-in-force cancel");
    assert!(s.orders_total.rejected > 0, "no reject");
    assert!(s.alerts_total.values().sum::<u64>() > 0);
    assert!(s.equity_samples == DEFAULT_RUN_BARS);

    let fills = events
        .iter()
        .filter(|e| matches!(e, EngineEvent::Fill { .. }))
        .count();
    assert_eq!(fills as u64, s.trades_total);
    let connected: Vec<bool> = events
        .iter()
        .filter_map(|e| match e {
            EngineEvent::ExchangeConnection { connected, .. } => Some(*connected),
            _ => None,
        })
        .collect();
    assert!(connected.contains(&false) && connected.contains(&true));
    assert!(events.iter().any(|e| matches!(
        e,
        EngineEvent::OrderFinished {
            status: OrderStatus::Rejected,
            reason: Some(RejectReason::ExchangeDisconnected)
        }
    )));
    assert!(events
        .iter()
        .any(|e| matches!(e, EngineEvent::RiskAlert { .. })));
    assert!(events
        .iter()
        .any(|e| matches!(e, EngineEvent::Position { size, .. } if *size != 0.0)));
    assert!(events
        .iter()
        .any(|e| matches!(e, EngineEvent::OrderAcknowledged { latency_seconds, .. } if *latency_seconds > 0.0)));
    assert!(events.iter().any(|e| matches!(
        e,
        EngineEvent::StrategyStats { realized_pnl_by_pair, .. } if realized_pnl_by_pair.iter().any(|(_, p)| *p != 0.0)
    )));
    h.shutdown().unwrap();
}

#[test]
fn accounting_identities_hold() {
    let dir = TempDir::new("identities");
    let (h, sink) = run_to_idle(fast_config(300), &dir);
    // Checked inside the engine at every bar: §9 equity == cash + position value.
    assert_eq!(h.progress().unwrap().identity_violations, 0);

    // Here, from the outside, at the end.
    let positions = h.positions().unwrap();
    let marks: BTreeMap<String, f64> = positions
        .iter()
        .map(|p| (p.pair.clone(), p.mark_price.unwrap()))
        .collect();
    for st in h.strategies().unwrap() {
        let value: f64 = positions
            .iter()
            .flat_map(|p| p.by_strategy.iter().map(move |b| (p, b)))
            .filter(|(_, b)| b.strategy == st.name)
            .map(|(p, b)| b.size * marks[&p.pair])
            .sum();
        assert!(
            (st.equity - (st.cash + value)).abs() < 1e-6,
            "{}: equity {} != cash {} + positions {}",
            st.name,
            st.equity,
            st.cash,
            value
        );
    }
    let net: f64 = positions.iter().map(|p| p.size).sum();
    let by: f64 = positions
        .iter()
        .flat_map(|p| &p.by_strategy)
        .map(|b| b.size)
        .sum();
    assert!((net - by).abs() < 1e-9);

    // Realized PnL == Σ closed trades, replaying the journal's fills independently.
    let trades = h.trades(0, 1000).unwrap();
    assert_eq!(trades.total as usize, trades.items.len());
    let mut books: BTreeMap<(String, String), FifoBook> = BTreeMap::new();
    let mut realized: BTreeMap<String, f64> = BTreeMap::new();
    for t in trades.items.iter().rev() {
        let closed = books
            .entry((t.strategy.clone(), t.pair.clone()))
            .or_default()
            .apply(&Fill {
                side: if t.side == OrderSide::Buy {
                    Side::Buy
                } else {
                    Side::Sell
                },
                qty: t.qty,
                price: t.price,
                fee: t.fee,
                time_ms: t.time_ms,
            });
        *realized.entry(t.strategy.clone()).or_default() +=
            closed.iter().map(|c| c.realized_pnl).sum::<f64>();
    }
    let s = h.summary().unwrap();
    for st in &s.strategies {
        let want = realized.get(&st.name).copied().unwrap_or(0.0);
        assert!((st.realized_pnl - want).abs() < 1e-9, "{}", st.name);
    }
    let total_equity: f64 = s.strategies.iter().map(|x| x.equity).sum();
    assert!((s.equity - total_equity).abs() < 1e-6);

    // orders_total == the journal's terminal orders == the events emitted.
    for (status, n) in [
        (OrderStatus::Filled, s.orders_total.filled),
        (OrderStatus::Cancelled, s.orders_total.cancelled),
        (OrderStatus::Rejected, s.orders_total.rejected),
    ] {
        let page = h
            .orders(&OrderFilter {
                status: Some(status),
                ..Default::default()
            })
            .unwrap();
        assert_eq!(page.total, n, "{status:?}");
        let emitted = sink
            .events()
            .iter()
            .filter(|e| matches!(e, EngineEvent::OrderFinished { status: st, .. } if *st == status))
            .count() as u64;
        assert_eq!(emitted, n, "{status:?}");
    }
    // Every filled order's fills sum to its quantity.
    let filled = h
        .orders(&OrderFilter {
            status: Some(OrderStatus::Filled),
            limit: 1000,
            ..Default::default()
        })
        .unwrap();
    for o in filled.items {
        let q: f64 = o.fills.iter().map(|f| f.qty).sum();
        assert!((q - o.qty).abs() < 1e-12);
    }
    h.shutdown().unwrap();
}

#[test]
fn the_same_seed_and_config_give_the_same_fills() {
    let run = |seed: u64| {
        let dir = TempDir::new("determinism");
        let mut cfg = fast_config(200);
        cfg.seed = seed;
        let (h, _) = run_to_idle(cfg, &dir);
        let trades = h.trades(0, 1000).unwrap().items;
        let orders = h
            .orders(&OrderFilter {
                limit: 1000,
                ..Default::default()
            })
            .unwrap()
            .items;
        let s = h.summary().unwrap();
        h.shutdown().unwrap();
        (
            serde_json::to_string(&trades).unwrap(),
            serde_json::to_string(&orders).unwrap(),
            serde_json::to_string(&s).unwrap(),
        )
    };
    let a = run(7);
    let b = run(7);
    assert!(a.0.len() > 100);
    assert_eq!(a, b);
    let c = run(8);
    assert_ne!(a.0, c.0);
}

#[test]
fn a_csv_feed_replays_its_rows_once_even_across_a_restart() {
    use zigquant_engine::config::{FeedSource, PairConfig};
    let dir = TempDir::new("csv");
    let csv = dir.0.join("bars.csv");
    let mut text = String::from("timestamp,open,high,low,close,volume\n");
    let t0 = 1_700_000_000_000i64;
    for i in 0..40 {
        let p = 100.0 + 10.0 * (i as f64 / 4.0).sin();
        text.push_str(&format!(
            "{},{p},{},{},{p},5\n",
            t0 + i * 60_000,
            p + 1.0,
            p - 1.0
        ));
    }
    std::fs::write(&csv, text).unwrap();
    let mut cfg = fast_config(0);
    cfg.pairs = vec![PairConfig {
        name: "SIN-USD".into(),
        source: FeedSource::Csv,
        csv_path: Some(csv),
        symbol: None,
        start_price: 1.0,
        drift: 0.0,
        volatility: 0.0,
        min_qty: 0.01,
    }];
    cfg.strategies.truncate(1);
    cfg.strategies[0].pair = "SIN-USD".into();
    cfg.strategies[0].params = zigquant_engine::strategy::StrategyParams::SmaCross {
        fast: 2,
        slow: 5,
        mode: zigquant_engine::strategy::Mode::LongShort,
        qty: 1.0,
    };
    cfg.noise.enabled = false;
    cfg.validate().unwrap();
    let (h, sink) = run_to_idle(cfg.clone(), &dir);
    let times: Vec<i64> = sink
        .events()
        .iter()
        .filter_map(|e| match e {
            EngineEvent::MarketData { time_ms, .. } => Some(*time_ms),
            _ => None,
        })
        .collect();
    assert_eq!(times, (0..40).map(|i| t0 + i * 60_000).collect::<Vec<_>>());
    assert!(h.summary().unwrap().trades_total > 0);
    assert!(!h.health().unwrap().feeds_live);
    h.shutdown().unwrap();

    let (h, sink) = run_to_idle(cfg, &dir);
    assert!(!sink
        .events()
        .iter()
        .any(|e| matches!(e, EngineEvent::MarketData { .. })));
    assert_eq!(h.summary().unwrap().equity_samples, 40);
    h.shutdown().unwrap();
}

#[test]
fn a_fill_is_on_disk_before_it_is_reported() {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::Arc;
    use zigquant_engine::events::EventSink;

    /// On every Fill event, counts the journal's fills through a separate connection, which
    /// only sees committed transactions.
    struct CommitChecker {
        path: std::path::PathBuf,
        reported: AtomicU64,
        violations: AtomicU64,
    }
    impl EventSink for CommitChecker {
        fn on_event(&self, e: &EngineEvent) {
            if let EngineEvent::Fill { .. } = e {
                let n = self.reported.fetch_add(1, Ordering::SeqCst) + 1;
                let c = rusqlite::Connection::open(&self.path).unwrap();
                let on_disk: i64 = c
                    .query_row("SELECT COUNT(*) FROM fills", [], |r| r.get(0))
                    .unwrap();
                if (on_disk as u64) < n {
                    self.violations.fetch_add(1, Ordering::SeqCst);
                }
            }
        }
    }
    let dir = TempDir::new("commit-first");
    let sink = Arc::new(CommitChecker {
        path: dir.journal(),
        reported: AtomicU64::new(0),
        violations: AtomicU64::new(0),
    });
    let h = zigquant_engine::Engine::start(fast_config(80), &dir.journal(), sink.clone()).unwrap();
    assert!(h.wait_idle(std::time::Duration::from_secs(60)).unwrap());
    assert!(sink.reported.load(Ordering::SeqCst) > 0);
    assert_eq!(sink.violations.load(Ordering::SeqCst), 0);
    h.shutdown().unwrap();
}

#[test]
fn pacing_changes_when_things_happen_not_what_happens() {
    let run = |pacing: bool| {
        let dir = TempDir::new("pacing");
        let mut cfg = fast_config(60);
        cfg.feed.pacing = pacing;
        cfg.feed.clock_speed = 240.0 * 30.0; // a bar every ~8 ms of wall time
        for x in &mut cfg.exchanges {
            for o in &mut x.disconnect {
                o.at_secs /= 30.0;
                o.for_secs /= 30.0;
            }
        }
        let start = std::time::Instant::now();
        let (h, _) = run_to_idle(cfg, &dir);
        let took = start.elapsed();
        let trades = serde_json::to_string(&h.trades(0, 1000).unwrap()).unwrap();
        let s = serde_json::to_string(&h.summary().unwrap()).unwrap();
        h.shutdown().unwrap();
        (trades, s, took)
    };
    let paced = run(true);
    let flat = run(false);
    assert!(
        paced.2 >= std::time::Duration::from_millis(400),
        "{:?}",
        paced.2
    );
    assert_eq!(paced.0, flat.0);
    assert_eq!(paced.1, flat.1);
}

#[test]
fn live_statistics_equal_the_batch_definitions_over_the_journaled_equity() {
    use zigquant_analytics::returns;
    let dir = TempDir::new("stats");
    let cfg = fast_config(400);
    let p = cfg.periods_per_year;
    let (h, _) = run_to_idle(cfg, &dir);
    let s = h.summary().unwrap();
    h.shutdown().unwrap();
    let c = rusqlite::Connection::open(dir.journal()).unwrap();
    let curve = |scope: &str| -> Vec<f64> {
        let mut st = c
            .prepare("SELECT equity FROM equity WHERE scope = ?1 ORDER BY seq")
            .unwrap();
        st.query_map([scope], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    let close =
        |a: f64, b: f64| (a.is_nan() && b.is_nan()) || (a - b).abs() <= 1e-9 * b.abs().max(1e-12);
    let r = returns::simple_returns(&curve("*"));
    assert_eq!(r.len(), 399);
    assert!(close(s.max_drawdown, returns::max_drawdown(&r)));
    assert!(close(s.var_95, returns::var_95(&r)));
    assert!(close(s.cvar_95, returns::cvar_95(&r)));
    for st in &s.strategies {
        let r = returns::simple_returns(&curve(&st.name));
        assert!(close(st.sharpe, returns::sharpe(&r, p)), "{}", st.name);
        assert!(close(st.calmar, returns::calmar(&r, p)), "{}", st.name);
    }
}
