//! Same seed, same journal, byte for byte: a 5,000-bar flat-out run of the default
//! configuration is dumped canonically (every table, every row in key order, floats as their
//! exact bit patterns) and compared with the fixture recorded from the engine before its
//! redesign (docs/architecture.md). The dump is ~2 MB, so the fixture keeps its FNV-1a 64 hash plus a
//! per-table row count and content hash; a mismatch names the table that changed.
//!
//! Regenerate (only when a change of behaviour is intended and explained):
//! `ZIGQUANT_WRITE_FIXTURE=1 cargo test -p zigquant-engine --test determinism`

mod common;

use std::fmt::Write as _;

use common::*;
use rusqlite::types::ValueRef;

const BARS: u64 = 5_000;
const FIXTURE: &str = "tests/fixtures/determinism_5000_bars.txt";

/// FNV-1a 64: tiny, dependency-free and stable across platforms and Rust versions.
fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// Every row of `table` in primary-key order, one line each; floats as bit patterns.
fn dump_table(db: &rusqlite::Connection, table: &str, order_by: &str) -> (usize, String) {
    let mut stmt = db
        .prepare(&format!("SELECT * FROM {table} ORDER BY {order_by}"))
        .unwrap();
    let cols = stmt.column_count();
    let mut rows = stmt.query([]).unwrap();
    let mut out = String::new();
    let mut n = 0;
    while let Some(row) = rows.next().unwrap() {
        n += 1;
        for i in 0..cols {
            if i > 0 {
                out.push('|');
            }
            match row.get_ref(i).unwrap() {
                ValueRef::Null => out.push_str("NULL"),
                ValueRef::Integer(v) => write!(out, "{v}").unwrap(),
                ValueRef::Real(v) => write!(out, "r{:016x}", v.to_bits()).unwrap(),
                ValueRef::Text(t) => write!(out, "{:?}", String::from_utf8_lossy(t)).unwrap(),
                ValueRef::Blob(b) => write!(out, "b{b:02x?}").unwrap(),
            }
        }
        out.push('\n');
    }
    (n, out)
}

fn canonical_summary(path: &std::path::Path) -> String {
    let db = rusqlite::Connection::open(path).unwrap();
    let tables = [
        ("orders", "id"),
        ("fills", "id"),
        ("bars", "pair, idx"),
        ("equity", "seq"),
        ("alerts", "id"),
        ("strategy_state", "name"),
    ];
    let mut all = String::new();
    let mut summary = String::new();
    for (t, key) in tables {
        let (n, dump) = dump_table(&db, t, key);
        writeln!(
            summary,
            "{t} rows={n} fnv1a={:016x}",
            fnv1a(dump.as_bytes())
        )
        .unwrap();
        all.push_str(t);
        all.push('\n');
        all.push_str(&dump);
    }
    writeln!(summary, "all fnv1a={:016x}", fnv1a(all.as_bytes())).unwrap();
    summary
}

#[test]
fn the_same_seed_gives_a_byte_identical_journal_to_the_recorded_one() {
    let dir = TempDir::new("determinism");
    let (h, _sink) = run_to_idle(fast_config(BARS), &dir);
    assert_eq!(h.progress().unwrap().ticks, BARS);
    h.shutdown().unwrap();
    let got = canonical_summary(&dir.journal());
    let fixture = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(FIXTURE);
    if std::env::var_os("ZIGQUANT_WRITE_FIXTURE").is_some() {
        std::fs::write(&fixture, &got).unwrap();
    }
    let want = std::fs::read_to_string(&fixture)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", fixture.display()));
    assert_eq!(got, want, "the journal of a {BARS}-bar run changed");
}
