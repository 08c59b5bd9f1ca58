//! Flat-out runs group due events into one journal transaction: the result is the same run,
//! event for event, as one transaction per event, and nothing is reported before its commit.

mod common;

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use common::*;
use zigquant_engine::config::SyncMode;
use zigquant_engine::events::{EventSink, RecordingSink};
use zigquant_engine::journal::Journal;
use zigquant_engine::{EngineConfig, EngineEvent, Input, Simulation};

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
        let ran = grouped.step_due_group(256, NOW);
        assert!(ran > 0);
        groups += 1;
    }
    assert!(groups < 1_500, "events were not grouped ({groups} groups)");
    assert_eq!(outcome(&grouped, &grouped_sink), outcome(&one, &one_sink));
}

/// Checks, as each fill is reported, that the journal file already holds it (a second
/// connection sees committed rows only).
struct CommittedFillsSink {
    conn: Mutex<rusqlite::Connection>,
    fills_reported: AtomicU64,
    reported_before_commit: AtomicU64,
}

impl CommittedFillsSink {
    fn new(journal: &Path) -> Self {
        let conn = rusqlite::Connection::open_with_flags(
            journal,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
        )
        .unwrap();
        Self {
            conn: Mutex::new(conn),
            fills_reported: AtomicU64::new(0),
            reported_before_commit: AtomicU64::new(0),
        }
    }
}

impl EventSink for CommittedFillsSink {
    fn on_event(&self, event: &EngineEvent) {
        if !matches!(event, EngineEvent::Fill { .. }) {
            return;
        }
        let reported = self.fills_reported.fetch_add(1, Ordering::SeqCst) + 1;
        let committed: i64 = self
            .conn
            .lock()
            .unwrap()
            .query_row("SELECT count(*) FROM fills", [], |r| r.get(0))
            .unwrap();
        if (committed as u64) < reported {
            self.reported_before_commit.fetch_add(1, Ordering::SeqCst);
        }
    }
}

#[test]
fn a_groups_fills_are_reported_only_after_its_commit() {
    let dir = TempDir::new("grouped-commit");
    let mut c = EngineConfig::default();
    c.feed.pacing = false;
    c.feed.max_bars = 600;
    c.journal.synchronous = SyncMode::Normal;
    let journal = Journal::open(&dir.journal(), SyncMode::Normal).unwrap();
    let sink = Arc::new(CommittedFillsSink::new(&dir.journal()));
    let mut sim = Simulation::restore(c, journal, sink.clone()).unwrap();
    while sim.next_due().is_some() {
        assert!(sim.step_due_group(256, NOW) > 0);
    }
    assert!(
        sink.fills_reported.load(Ordering::SeqCst) > 0,
        "the run filled orders"
    );
    assert_eq!(sink.reported_before_commit.load(Ordering::SeqCst), 0);
}
