//! Restart is O(1) in history: a run is killed with SIGKILL after a long flat-out history; the
//! restore reads the checkpoint, the samples and fills after it, the VaR window and the warm-up
//! bars only (counted, and the same for a history twice as long), and every statistic comes back
//! bit-identical (compared as JSON text, where f64 values print shortest-round-trip).

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;

use common::*;
use zigquant_engine::config::SyncMode;
use zigquant_engine::events::RecordingSink;
use zigquant_engine::journal::Journal;
use zigquant_engine::{EngineConfig, Input, Now, Simulation};

const NOW: Now = Now {
    paced_market_ms: None,
    wall_ms: 1_700_000_000_000,
};
const VAR_WINDOW: usize = 1500;

/// Default strategies and noise trading flat out, a VaR window shorter than the history, no
/// scheduled outage.
fn config(bars: u64) -> EngineConfig {
    let mut c = fast_config(bars);
    c.risk.var_window = VAR_WINDOW;
    c.journal.synchronous = SyncMode::Normal;
    for x in &mut c.exchanges {
        x.disconnect.clear();
    }
    c
}

fn restore(cfg: EngineConfig, path: &std::path::Path) -> Simulation {
    let journal = Journal::open(path, SyncMode::Normal).unwrap();
    Simulation::restore(cfg, journal, Arc::new(RecordingSink::default())).unwrap()
}

/// Child mode: runs `ZIGQUANT_BOUNDED_BARS` bars flat out on the journal, prints the
/// statistics and `IDLE`, then waits to be killed (no shutdown, no WAL checkpoint).
#[test]
#[ignore = "run as a child process by a_restart_after_kill_9_reads_a_bounded_number_of_rows"]
fn bounded_restore_child() {
    let (Ok(path), Ok(bars)) = (
        std::env::var("ZIGQUANT_BOUNDED_JOURNAL"),
        std::env::var("ZIGQUANT_BOUNDED_BARS"),
    ) else {
        return;
    };
    let bars: u64 = bars.parse().unwrap();
    let mut sim = restore(config(bars), std::path::Path::new(&path));
    while sim.next_due().is_some() {
        sim.step(Input::Due, NOW);
    }
    println!("{}", statistics(&sim).replace('\n', "\t"));
    println!("IDLE");
    loop {
        std::thread::sleep(std::time::Duration::from_secs(1));
    }
}

/// Runs `bars` bars in a child, kills it with SIGKILL once idle, and returns the statistics it
/// printed, the statistics and rows read by a restore, and the journal's equity rows.
fn kill_and_restore(bars: u64, dir: &TempDir) -> (String, String, u64, u64) {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "bounded_restore_child",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("ZIGQUANT_BOUNDED_JOURNAL", dir.journal())
        .env("ZIGQUANT_BOUNDED_BARS", bars.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut before = String::new();
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        if line.trim() == "IDLE" {
            break;
        }
        // libtest may print "test bounded_restore_child ... " before the test's own output.
        if let Some(start) = line.find("{\"trades_total\"") {
            before = line[start..].replace('\t', "\n");
        }
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(!before.is_empty(), "the child printed no statistics");
    let sim = restore(config(0), &dir.journal());
    let after = statistics(&sim);
    let journal = sim.into_journal();
    (
        before,
        after,
        journal.rows_read(),
        journal.equity_rows().unwrap(),
    )
}

#[test]
fn a_restart_after_kill_9_reads_a_bounded_number_of_rows() {
    let cfg = config(0);
    let scopes = cfg.strategy_names().len() as u64 + 1;
    let warmup = (cfg.feed.warmup_bars * cfg.pairs.len()) as u64;
    // Checkpoint row + VaR window + at most 256 ticks of samples after the checkpoint + the
    // warm-up bars, and a generous allowance for the fills of those 256 ticks.
    let bound = 1 + (VAR_WINDOW as u64 + 1) + 256 * scopes + warmup + 2_000;

    let mut reads = Vec::new();
    for bars in [4_000, 8_000] {
        let dir = TempDir::new("bounded");
        let (before, after, rows, equity_rows) = kill_and_restore(bars, &dir);
        assert_eq!(
            before, after,
            "a statistic changed across kill -9 ({bars} bars)"
        );
        assert!(
            rows <= bound,
            "restore read {rows} rows (bound {bound}) of a {bars}-bar history"
        );
        assert!(
            equity_rows > 3 * bound / 2,
            "the history ({equity_rows} equity rows) is not longer than what a restore reads"
        );
        eprintln!("{bars} bars: restore read {rows} rows; journal holds {equity_rows} equity rows");
        reads.push(rows);
    }
    // Twice the history, (nearly) the same reads: only the fills after the checkpoint vary.
    assert!(
        reads[1].abs_diff(reads[0]) <= 2_000,
        "rows read grew with history: {reads:?}"
    );
}
