//! Flat-out runs group due events into one journal transaction: the result is the same run,
//! event for event, as one transaction per event, and nothing is reported before its commit.

use std::sync::Arc;

use zigquant_engine::config::SyncMode;
use zigquant_engine::events::RecordingSink;
use zigquant_engine::journal::Journal;
use zigquant_engine::{EngineConfig, EngineEvent, Input, Now, Simulation};

const NOW: Now = Now {
    paced_market_ms: None,
    wall_ms: 1_700_000_000_000,
};

fn sim(bars: u64) -> (Simulation, Arc<RecordingSink>) {
    let mut c = EngineConfig::default();
    c.feed.pacing = false;
    c.feed.max_bars = bars;
    c.journal.synchronous = SyncMode::Normal;
    let sink = Arc::new(RecordingSink::default());
    let s = Simulation::restore(c, Journal::open_in_memory().unwrap(), sink.clone()).unwrap();
    (s, sink)
}

fn outcome(s: &Simulation, sink: &RecordingSink) -> (String, Vec<String>, String) {
    let fills = sink
        .events()
        .iter()
        .filter(|e| matches!(e, EngineEvent::Fill { .. } | EngineEvent::RiskAlert { .. }))
        .map(|e| format!("{e:?}"))
        .collect();
    let trades = s.trades(0, 1000).unwrap();
    (
        serde_json::to_string(&s.summary()).unwrap(),
        fills,
        format!("{trades:?}"),
    )
}

#[test]
fn grouped_transactions_give_the_same_run() {
    let (mut one, one_sink) = sim(1_500);
    while one.next_due().is_some() {
        one.step(Input::Due, NOW);
    }
    let (mut grouped, grouped_sink) = sim(1_500);
    let mut groups = 0;
    while grouped.next_due().is_some() {
        let before = grouped_sink.events().len();
        let ran = grouped.step_due_group(256, NOW);
        assert!(ran > 0);
        groups += 1;
        // The group's notifications all arrive after it ran (its commit), none before.
        assert!(grouped_sink.events().len() >= before);
    }
    assert!(groups < 1_500, "events were not grouped ({groups} groups)");
    assert_eq!(outcome(&grouped, &grouped_sink), outcome(&one, &one_sink));
}
