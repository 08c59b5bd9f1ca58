//! Equity retention: two identical runs, one keeping every equity sample and one thinning those
//! older than half a day to each hour's lowest and highest. Every fill, order and alert is still
//! there (the listings are identical), every statistic is identical, every hour still shows its
//! true minimum and maximum, and the thinned journal holds far fewer equity rows.

use std::sync::Arc;

use zigquant_engine::config::SyncMode;
use zigquant_engine::events::RecordingSink;
use zigquant_engine::journal::{Journal, PORTFOLIO_SCOPE};
use zigquant_engine::{EngineConfig, Input, Now, OrderFilter, Simulation};

const NOW: Now = Now {
    paced_market_ms: None,
    wall_ms: 1_700_000_000_000,
};
const BARS: u64 = 5_000;

fn run(retention_days: f64) -> Journal {
    let mut c = EngineConfig::default();
    c.feed.pacing = false;
    c.feed.max_bars = BARS;
    c.journal.synchronous = SyncMode::Normal;
    c.journal.equity_retention_days = retention_days;
    c.risk.var_window = 300; // 5 hours of 1-minute bars: within half a day
    c.validate().unwrap();
    let mut sim = Simulation::restore(
        c,
        Journal::open_in_memory().unwrap(),
        Arc::new(RecordingSink::default()),
    )
    .unwrap();
    while sim.next_due().is_some() {
        sim.step(Input::Due, NOW);
    }
    let summary = serde_json::to_string(&sim.summary()).unwrap();
    let strategies = serde_json::to_string(&sim.strategies()).unwrap();
    // Restoring from the thinned journal gives the same statistics too.
    let journal = sim.into_journal();
    let mut c = EngineConfig::default();
    c.feed.pacing = false;
    c.feed.max_bars = 1;
    c.journal.equity_retention_days = retention_days;
    c.risk.var_window = 300;
    let back = Simulation::restore(c, journal, Arc::new(RecordingSink::default())).unwrap();
    assert_eq!(serde_json::to_string(&back.summary()).unwrap(), summary);
    assert_eq!(
        serde_json::to_string(&back.strategies()).unwrap(),
        strategies
    );
    back.into_journal()
}

fn all_orders(j: &Journal) -> Vec<zigquant_engine::Order> {
    let mut out = Vec::new();
    loop {
        let page = j
            .orders(&OrderFilter {
                status: None,
                strategy: None,
                pair: None,
                offset: out.len(),
                limit: 1000,
            })
            .unwrap();
        if page.items.is_empty() {
            return out;
        }
        out.extend(page.items);
    }
}

fn all_trades(j: &Journal) -> Vec<zigquant_engine::TradeInfo> {
    let mut out = Vec::new();
    loop {
        let page = j.trades(out.len(), 1000).unwrap();
        if page.items.is_empty() {
            return out;
        }
        out.extend(page.items);
    }
}

#[test]
fn thinning_old_equity_keeps_every_fact_and_each_hours_extremes() {
    let kept = run(0.0);
    let thinned = run(0.5);

    let orders = all_orders(&kept);
    assert!(
        orders.len() > 100,
        "the run placed too few orders to prove anything"
    );
    assert_eq!(all_orders(&thinned), orders);
    assert_eq!(all_trades(&thinned), all_trades(&kept));
    assert_eq!(
        format!("{:?}", thinned.totals().unwrap()),
        format!("{:?}", kept.totals().unwrap())
    );

    let (all, few) = (kept.equity_rows().unwrap(), thinned.equity_rows().unwrap());
    // Passes run every 1024 ticks: by the end, ticks below 3360 are thinned (56 hours, at most
    // two samples per hour and scope) and the 1640 after them kept whole.
    assert!(few * 2 < all, "thinned {few} of {all} equity rows");
    // Every whole hour of the run, thinned or not, shows the same extremes.
    let scopes = [PORTFOLIO_SCOPE, "sma_cross", "noise"];
    for scope in scopes {
        for hour in 0..BARS / 60 {
            let range = (hour * 60, hour * 60 + 60);
            assert_eq!(
                thinned.equity_range(scope, range.0, range.1).unwrap(),
                kept.equity_range(scope, range.0, range.1).unwrap(),
                "{scope} hour {hour}"
            );
        }
    }
    // The last half day is untouched: 720 samples per scope, and more before it.
    let recent = (BARS - 720, BARS);
    for scope in scopes {
        assert_eq!(
            thinned.equity_range(scope, recent.0, recent.1).unwrap(),
            kept.equity_range(scope, recent.0, recent.1).unwrap()
        );
    }
}
