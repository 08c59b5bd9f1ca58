//! Sustained API load on a paced engine: the simulation keeps up with the wall clock (orders
//! expire on time, bars keep coming), and what it holds in memory stays bounded by what is in
//! flight, not by how many orders were ever placed.

mod common;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use zigquant_engine::events::{EngineEvent, EventSink, RecordingSink};
use zigquant_engine::orders::{OrderFilter, OrderKind};
use zigquant_engine::{Engine, OrderRequest, OrderSide, OrderStatus};

const THREADS: usize = 4;
const LOAD: Duration = Duration::from_secs(4);
const TIF_SECS: f64 = 0.2;

/// A quiet paced engine (`quiet_paced`) that has its first price.
fn start_quiet(dir: &TempDir) -> zigquant_engine::EngineHandle {
    let h = Engine::start(
        quiet_paced(),
        &dir.journal(),
        Arc::new(RecordingSink::default()),
    )
    .unwrap();
    wait_for_first_price(&h);
    h
}

/// A buy far below the market: it rests until cancelled or until its time in force.
fn resting_buy(time_in_force_secs: Option<f64>) -> OrderRequest {
    OrderRequest {
        strategy: None,
        pair: "BTC-USDT".into(),
        side: OrderSide::Buy,
        kind: OrderKind::Limit {
            price: 1000.0,
            time_in_force_secs,
        },
        qty: 0.001,
        exchange: None,
    }
}

#[test]
fn under_sustained_order_load_the_simulation_keeps_up_and_memory_stays_bounded() {
    let dir = TempDir::new("load");
    let h = start_quiet(&dir);
    // Far below the market: every order rests, then expires after its time in force.
    let order = resting_buy(Some(TIF_SECS));
    let stop = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = (0..THREADS)
        .map(|_| {
            let (h, stop, order) = (h.clone(), stop.clone(), order.clone());
            std::thread::spawn(move || {
                // (id, wall time placed) of every order.
                let mut placed = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    let o = h.place_order(order.clone()).unwrap();
                    placed.push((o.id, Instant::now()));
                    h.summary().unwrap();
                    h.orders(&OrderFilter {
                        limit: 5,
                        ..Default::default()
                    })
                    .unwrap();
                    h.trades(0, 20).unwrap();
                }
                placed
            })
        })
        .collect();
    let started = Instant::now();
    let ticks0 = h.progress().unwrap().ticks;
    let mut max_open = 0;
    let mut max_queued = 0;
    while started.elapsed() < LOAD {
        std::thread::sleep(Duration::from_millis(50));
        let p = h.progress().unwrap();
        max_open = max_open.max(p.open_orders);
        max_queued = max_queued.max(p.queued_events);
    }
    // Expiries are due throughout the load: an order placed TIF + 0.5 s ago is final now.
    let probe_deadline = Instant::now();
    stop.store(true, Ordering::Relaxed);
    let placed: Vec<(u64, Instant)> = clients
        .into_iter()
        .flat_map(|c| c.join().unwrap())
        .collect();
    let ticks = h.progress().unwrap().ticks - ticks0;
    let elapsed = started.elapsed().as_secs_f64();
    let p = h.progress().unwrap();
    eprintln!(
        "{} orders in {elapsed:.1} s, {ticks} bars; max open {max_open}, max queued \
         {max_queued}; clock slips {} ({} market ms)",
        placed.len(),
        p.clock_slips,
        p.clock_slipped_ms
    );
    assert!(placed.len() > 200, "too little load: {}", placed.len());
    let old: Vec<u64> = placed
        .iter()
        .filter(|(_, t)| probe_deadline.duration_since(*t).as_secs_f64() > TIF_SECS + 0.5)
        .map(|(id, _)| *id)
        .collect();
    assert!(!old.is_empty());
    // `order` is answered from the journal once final; checking a sample is enough.
    for id in old.iter().step_by((old.len() / 50).max(1)) {
        let o = h.order(*id).unwrap().unwrap();
        assert_eq!(
            o.status,
            OrderStatus::Cancelled,
            "order {id} still {:?} 0.5 s after its time in force (of {} placed): the \
             engine fell behind",
            o.status,
            placed.len()
        );
    }
    // Bars kept coming at about the paced rate (one per 25 ms; generous for a loaded machine).
    assert!(
        ticks as f64 >= elapsed / 0.025 * 0.5,
        "{ticks} bars in {elapsed:.1} s: the market clock stalled under load"
    );
    // What is in memory is what is in flight: at most the orders of the last TIF + 1 s, each
    // with one queued event.
    let rate = placed.len() as f64 / elapsed;
    let in_flight = (rate * (TIF_SECS + 1.0)) as usize + 100;
    assert!(
        max_open <= in_flight && max_queued <= in_flight + 16,
        "max open {max_open}, max queued {max_queued}, for {rate:.0} orders/s (bound {in_flight})"
    );
    // Once the load is gone, everything drains.
    let until = Instant::now() + Duration::from_secs(5);
    loop {
        let p = h.progress().unwrap();
        if p.open_orders == 0 && p.queued_events <= 4 {
            break;
        }
        assert!(
            Instant::now() < until,
            "still {} open orders, {} queued events 5 s after the load",
            p.open_orders,
            p.queued_events
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    h.shutdown().unwrap();
}

#[test]
fn cancelled_orders_leave_no_queued_events_behind() {
    let dir = TempDir::new("load-cancel");
    let h = start_quiet(&dir);
    // A long time in force: each order's expiry would sit in the queue for an hour.
    let order = resting_buy(Some(3600.0));
    let mut max_queued = 0;
    for _ in 0..5000 {
        let o = h.place_order(order.clone()).unwrap();
        h.cancel_order(o.id).unwrap();
        max_queued = max_queued.max(h.progress().unwrap().queued_events);
    }
    let p = h.progress().unwrap();
    assert_eq!(p.open_orders, 0);
    assert!(
        max_queued <= 1100,
        "{max_queued} events queued for no open order"
    );
    h.shutdown().unwrap();
}

/// Stalls the engine thread once, on its first bar, for longer than the engine may fall behind;
/// counts the slips it is told about.
#[derive(Default)]
struct StallOnce {
    stalled: AtomicBool,
    slips: AtomicU64,
}

impl EventSink for StallOnce {
    fn on_event(&self, event: &EngineEvent) {
        match event {
            EngineEvent::MarketData { .. } if !self.stalled.swap(true, Ordering::SeqCst) => {
                std::thread::sleep(Duration::from_millis(1500));
            }
            EngineEvent::ClockSlipped => {
                self.slips.fetch_add(1, Ordering::SeqCst);
            }
            _ => {}
        }
    }
}

/// An engine stalled past a second does not replay the backlog in a burst: its market clock
/// slips, and it says so with an event (`zigquant_engine_clock_slips_total`) per slip.
#[test]
fn a_stalled_engine_lets_its_clock_slip_and_reports_it() {
    let dir = TempDir::new("slip");
    let sink = Arc::new(StallOnce::default());
    let h = Engine::start(quiet_paced(), &dir.journal(), sink.clone()).unwrap();
    let until = Instant::now() + Duration::from_secs(10);
    while sink.slips.load(Ordering::SeqCst) == 0 && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(20));
    }
    let p = h.progress().unwrap();
    let reported = sink.slips.load(Ordering::SeqCst);
    assert!(sink.stalled.load(Ordering::SeqCst), "no bar arrived");
    assert!(reported >= 1, "a 1.5 s stall reported no slip");
    assert_eq!(p.clock_slips, sink.slips.load(Ordering::SeqCst));
    assert!(p.clock_slipped_ms > 0);
    h.shutdown().unwrap();
}
