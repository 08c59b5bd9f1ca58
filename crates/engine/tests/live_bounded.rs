//! Bounded state when every price is pushed (an all-live config, docs/live.md "Bounded state"):
//! there is no pulled tick, so each sampled bar period counts as one. Checkpoints then come every
//! 256 periods (a restart reads a bounded number of rows and gets every statistic back), equity
//! retention thins old samples, and pushed events older than the retention leave the inbox.
//! Before, every live sample was tick 0: no checkpoint, a restart replayed the whole history,
//! nothing was thinned and the inbox grew forever.

mod common;

use std::sync::Arc;

use common::{statistics, two_live_pairs_config, TempDir, CANDLE_T0_MS, MINUTE_MS};
use zigquant_engine::config::SyncMode;
use zigquant_engine::events::RecordingSink;
use zigquant_engine::journal::Journal;
use zigquant_engine::market::{PushedEvent, StampedEvent};
use zigquant_engine::{bars::Bar, EngineConfig, Input, Now, Output, PairId, Simulation, VenueId};

const PERIODS: i64 = 3_000;
const VAR_WINDOW: usize = 100;
const RETENTION_MINUTES: i64 = 120;

/// BTC-USDT on Binance candles, ETH-USDT on Hyperliquid candles, 1-minute bars, the default
/// strategies trading them; a short VaR window and a two-hour equity retention.
fn config() -> EngineConfig {
    let mut c = two_live_pairs_config();
    c.journal.equity_retention_days = RETENTION_MINUTES as f64 / 1440.0;
    c.risk.var_window = VAR_WINDOW;
    // As a live run does: market time is wall time from the start (docs/live.md).
    c.feed.start_time_ms = CANDLE_T0_MS;
    c.strategies
        .retain(|s| s.pair == "BTC-USDT" || s.pair == "ETH-USDT");
    c.validate().unwrap();
    assert!(c.all_pairs_live());
    c
}

/// The market clock of a live run: the wall-paced time at which period `i`'s candle closes.
fn now_at(i: i64) -> Now {
    Now {
        paced_market_ms: Some(CANDLE_T0_MS + (i + 1) * MINUTE_MS),
        wall_ms: 1_700_000_000_000 + i * MINUTE_MS,
    }
}

fn push_at(sim: &mut Simulation, i: i64, event: PushedEvent) {
    let now = now_at(i);
    let ev = StampedEvent {
        received_wall_ms: now.wall_ms,
        event,
    };
    assert!(matches!(sim.step(Input::Pushed(ev), now), Output::Stepped));
    while sim.next_due().is_some() {
        sim.step(Input::Due, now);
    }
}

/// Both pairs' closed candles of period `i`: a slow wave, so the crossing strategies trade.
fn period(sim: &mut Simulation, i: i64) {
    for (venue, pair, base) in [
        ("binance", "BTC-USDT", 40_000.0),
        ("hyperliquid", "ETH-USDT", 2_000.0),
    ] {
        let close = base * (1.0 + 0.02 * (i as f64 / 37.0).sin() + 0.001 * (i as f64 / 3.0).cos());
        let bar = Bar {
            time_ms: CANDLE_T0_MS + i * MINUTE_MS,
            open: close,
            high: close * 1.001,
            low: close * 0.999,
            close,
            volume: 1.0,
        };
        let event = PushedEvent::Candle {
            venue: VenueId::from(venue),
            pair: PairId::from(pair),
            bar,
        };
        push_at(sim, i, event);
    }
}

fn open(cfg: EngineConfig, dir: &TempDir) -> Simulation {
    let journal = Journal::open(&dir.journal(), SyncMode::Normal).unwrap();
    Simulation::restore(cfg, journal, Arc::new(RecordingSink::default())).unwrap()
}

#[test]
fn an_all_live_run_checkpoints_thins_and_prunes_by_sampled_period() {
    let dir = TempDir::new("live-bounded");
    let cfg = config();
    let scopes = cfg.strategy_names().len() as u64 + 1;
    let mut sim = open(cfg.clone(), &dir);
    for venue in ["binance", "hyperliquid"] {
        let up = PushedEvent::Link {
            venue: VenueId::from(venue),
            up: true,
        };
        push_at(&mut sim, 0, up);
    }
    for i in 0..PERIODS {
        period(&mut sim, i);
    }
    let before = statistics(&sim);
    assert!(
        sim.summary().trades_total > 10,
        "the strategies traded: {before}"
    );
    let journal = sim.into_journal();
    assert_eq!(
        journal.last_equity_tick().unwrap(),
        Some(PERIODS as u64 - 1),
        "one tick per sampled period"
    );
    let equity_rows = journal.equity_rows().unwrap();
    assert!(
        equity_rows < PERIODS as u64 * scopes / 2,
        "retention thinned the old samples: {equity_rows} rows of {} taken",
        PERIODS as u64 * scopes
    );
    // Two retention passes (periods 1023 and 2047), each deleting what is older than two hours.
    let inbox_rows = journal.inbox_rows().unwrap();
    let kept = 2 * (PERIODS - 2048 + RETENTION_MINUTES + 1) as u64;
    assert!(
        inbox_rows <= kept,
        "the inbox holds {inbox_rows} pushed events, more than the {kept} since the last retention pass"
    );
    drop(journal);

    // A restart reads the checkpoint, the VaR window, at most 256 periods of samples and the
    // fills since the checkpoint: not the 3,000-period history.
    let sim = open(cfg.clone(), &dir);
    assert_eq!(
        statistics(&sim),
        before,
        "a statistic changed across the restart"
    );
    let bound = 1 + (VAR_WINDOW as u64 + 1) + 256 * scopes + 500;
    let read = sim.into_journal().rows_read();
    assert!(read <= bound, "restore read {read} rows (bound {bound})");
    let mut sim = open(cfg, &dir);

    // The count of periods goes on: the same candle again samples nothing, the next one is
    // tick PERIODS.
    period(&mut sim, PERIODS - 1);
    assert_eq!(sim.summary().equity_samples, PERIODS as u64);
    period(&mut sim, PERIODS);
    let journal = sim.into_journal();
    assert_eq!(journal.last_equity_tick().unwrap(), Some(PERIODS as u64));
}
