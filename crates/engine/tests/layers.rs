//! The engine's modules form layers with no import cycles, no engine source file does two
//! jobs (over 600 lines), and the engine depends on neither the metrics crate nor the server.

use std::path::{Path, PathBuf};

/// Lowest first: a module may use only the modules before it.
const LAYERS: [&str; 13] = [
    "domain",
    "strategy",
    "config",
    "market",
    "execution",
    "state",
    "risk",
    "report",
    "journal",
    "error",
    "sim",
    "runtime",
    "backtest",
];

const MAX_LINES: usize = 600;

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            sources(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// The top-level module a source file belongs to (`None` for lib.rs).
fn module_of(file: &Path) -> Option<String> {
    let rel = file.strip_prefix(src()).unwrap();
    let first = rel.components().next()?.as_os_str().to_str()?.to_string();
    (first != "lib.rs").then(|| first.trim_end_matches(".rs").to_string())
}

#[test]
fn every_module_uses_only_the_layers_below_it() {
    let mut files = Vec::new();
    sources(&src(), &mut files);
    let mut bad = Vec::new();
    for f in &files {
        let Some(m) = module_of(f) else { continue };
        let rank = LAYERS
            .iter()
            .position(|l| *l == m)
            .unwrap_or_else(|| panic!("module {m} is not in LAYERS"));
        let text = std::fs::read_to_string(f).unwrap();
        for line in text.lines().filter(|l| !l.trim_start().starts_with("//")) {
            for (i, _) in line.match_indices("crate::") {
                let used: String = line[i + 7..]
                    .chars()
                    .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                    .collect();
                let Some(r) = LAYERS.iter().position(|l| *l == used) else {
                    continue;
                };
                if used != m && r > rank {
                    bad.push(format!("{}: {m} uses {used}", f.display()));
                }
            }
        }
    }
    assert!(bad.is_empty(), "upward imports:\n{}", bad.join("\n"));
}

#[test]
fn no_engine_source_file_is_over_600_lines() {
    let mut files = Vec::new();
    sources(&src(), &mut files);
    let long: Vec<String> = files
        .iter()
        .filter_map(|f| {
            let n = std::fs::read_to_string(f).unwrap().lines().count();
            (n > MAX_LINES).then(|| format!("{}: {n} lines", f.display()))
        })
        .collect();
    assert!(long.is_empty(), "{}", long.join("\n"));
}

#[test]
fn the_engine_depends_on_neither_metrics_nor_server() {
    let manifest =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml")).unwrap();
    assert!(!manifest.contains("zigquant-metrics"));
    assert!(!manifest.contains("zigquant-server"));
}
