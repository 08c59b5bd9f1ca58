//! Helpers shared by the integration tests: a strict little parser for the sample lines of an
//! exposition (both formats share them), so tests can assert on values, not on substrings.
#![allow(dead_code)]

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
