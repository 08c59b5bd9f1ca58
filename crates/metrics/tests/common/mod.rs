//! Helpers shared by the integration tests: a strict little parser for the sample lines of an
//! exposition (both formats share them), so tests can assert on values, not on substrings; and
//! the two outside checkers, the reference Python parsers and `promtool`.
#![allow(dead_code)]

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

/// Parses a text and an OpenMetrics exposition with the reference Python parsers
/// (`tests/reference_parse.py`): `{"text": [...], "openmetrics": [...]}`, each sample as
/// `[name, {labels}, repr(value)]`. Panics, with both expositions, when either is rejected.
/// `tag` keeps concurrent callers' temp files apart.
pub fn reference_parse(text: &[u8], om: &[u8], tag: u64) -> serde_json::Value {
    let dir = std::env::temp_dir();
    let pid = std::process::id();
    let text_path = dir.join(format!("zq-metrics-{pid}-{tag}.prom"));
    let om_path = dir.join(format!("zq-metrics-{pid}-{tag}.om"));
    std::fs::write(&text_path, text).expect("write temp exposition");
    std::fs::write(&om_path, om).expect("write temp exposition");
    let script: PathBuf = [env!("CARGO_MANIFEST_DIR"), "tests", "reference_parse.py"]
        .iter()
        .collect();
    let out = Command::new("python3")
        .arg(&script)
        .arg(&text_path)
        .arg(&om_path)
        .output()
        .unwrap_or_else(|e| {
            panic!("python3 is not runnable ({e}); run scripts/test, which installs python3 and prometheus_client")
        });
    let _ = std::fs::remove_file(&text_path);
    let _ = std::fs::remove_file(&om_path);
    let stderr = String::from_utf8_lossy(&out.stderr);
    match out.status.code() {
        Some(0) => {}
        Some(2) => panic!("{stderr}"),
        code => panic!(
            "reference parser rejected the exposition (exit {code:?}): {stderr}\n--- text ---\n{}\n--- openmetrics ---\n{}",
            String::from_utf8_lossy(text),
            String::from_utf8_lossy(om)
        ),
    }
    serde_json::from_slice(&out.stdout).expect("reference_parse.py prints JSON")
}

/// `promtool check metrics` on `input`: its exit code and everything it printed.
pub fn promtool_check_metrics(input: &[u8]) -> (Option<i32>, String) {
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("promtool is not installed or not runnable ({e}); run scripts/test, which installs the Debian `prometheus` package")
        });
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input)
        .expect("write to promtool");
    let out = child.wait_with_output().expect("promtool runs");
    let mut report = String::from_utf8_lossy(&out.stdout).into_owned();
    report.push_str(&String::from_utf8_lossy(&out.stderr));
    (out.status.code(), report)
}

/// One sample line.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    pub name: String,
    pub labels: Vec<(String, String)>,
    pub value: f64,
}

impl Sample {
    pub fn label(&self, name: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

fn parse_value(s: &str) -> f64 {
    match s {
        "NaN" => f64::NAN,
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        _ => s
            .parse()
            .unwrap_or_else(|e| panic!("bad sample value {s:?}: {e}")),
    }
}

/// Parses every non-comment line; panics (failing the test) on anything malformed.
pub fn parse(exposition: &str) -> Vec<Sample> {
    let mut out = Vec::new();
    for line in exposition.lines() {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (name_end, labels, rest) = match line.find('{') {
            Some(open) if line[..open].find(' ').is_none() => {
                let (labels, after) = parse_labels(&line[open + 1..], line);
                (open, labels, after)
            }
            _ => {
                let sp = line
                    .find(' ')
                    .unwrap_or_else(|| panic!("no value: {line:?}"));
                (sp, Vec::new(), &line[sp..])
            }
        };
        let value = rest
            .strip_prefix(' ')
            .unwrap_or_else(|| panic!("no space before value: {line:?}"));
        out.push(Sample {
            name: line[..name_end].to_owned(),
            labels,
            value: parse_value(value),
        });
    }
    out
}

/// Parses `k="v",...}`; returns the labels and the rest after `}`.
fn parse_labels<'a>(mut s: &'a str, line: &str) -> (Vec<(String, String)>, &'a str) {
    let mut labels = Vec::new();
    loop {
        if let Some(rest) = s.strip_prefix('}') {
            return (labels, rest);
        }
        let eq = s
            .find("=\"")
            .unwrap_or_else(|| panic!("bad label in {line:?}"));
        let key = s[..eq].to_owned();
        let mut value = String::new();
        let mut chars = s[eq + 2..].char_indices();
        let end;
        loop {
            let (i, c) = chars
                .next()
                .unwrap_or_else(|| panic!("unterminated value in {line:?}"));
            match c {
                '"' => {
                    end = eq + 2 + i + 1;
                    break;
                }
                '\\' => match chars.next() {
                    Some((_, 'n')) => value.push('\n'),
                    Some((_, '\\')) => value.push('\\'),
                    Some((_, '"')) => value.push('"'),
                    other => panic!("bad escape {other:?} in {line:?}"),
                },
                '\n' => panic!("raw newline in {line:?}"),
                c => value.push(c),
            }
        }
        labels.push((key, value));
        s = &s[end..];
        s = s.strip_prefix(',').unwrap_or(s);
    }
}

/// One histogram series: labels without `le`, buckets as (le, count) in exposition order, sum,
/// count.
pub type HistSeries = (Vec<(String, String)>, Vec<(f64, f64)>, f64, f64);

/// Histogram series of `base` grouped by their labels without `le`.
pub fn histograms(samples: &[Sample], base: &str) -> Vec<HistSeries> {
    let bucket = format!("{base}_bucket");
    let sum = format!("{base}_sum");
    let count = format!("{base}_count");
    let mut out: Vec<HistSeries> = Vec::new();
    for s in samples {
        let plain: Vec<(String, String)> = s
            .labels
            .iter()
            .filter(|(k, _)| k != "le")
            .cloned()
            .collect();
        let idx = match out.iter().position(|h| h.0 == plain) {
            Some(i) => i,
            None if s.name == bucket || s.name == sum || s.name == count => {
                out.push((plain, Vec::new(), f64::NAN, f64::NAN));
                out.len() - 1
            }
            None => continue,
        };
        if s.name == bucket {
            let le = parse_value(s.label("le").expect("le"));
            out[idx].1.push((le, s.value));
        } else if s.name == sum {
            out[idx].2 = s.value;
        } else if s.name == count {
            out[idx].3 = s.value;
        }
    }
    out
}
