//! OHLCV bars: the unit of market data every feed, strategy and backtest works in, and the CSV
//! loader the `backtest` command reads them with.
//!
//! CSV format: a header row; the first column is the bar time (header `date`, `time`,
//! `timestamp`, `datetime` or empty); `open`, `high`, `low`, `close` and optionally `volume`
//! (matched case-insensitively, in any order; other columns are ignored); one row per bar in
//! strictly increasing time order. Times may be `YYYY-MM-DD`, `YYYY-MM-DD HH:MM[:SS[.fff]]`
//! (or with a `T`), optionally followed by `Z` or a `±HH:MM` offset, or integer Unix seconds or
//! milliseconds. Every error names the 1-based line it is about.

use std::path::PathBuf;

use thiserror::Error;

pub use super::csv_load::{load_csv, load_csv_with_progress, parse_csv};

/// One OHLCV bar. `time_ms` is the bar's open time in Unix milliseconds (UTC).
#[derive(Clone, Debug, PartialEq)]
pub struct Bar {
    /// Bar open time, Unix milliseconds, UTC.
    pub time_ms: i64,
    /// First traded price of the bar.
    pub open: f64,
    /// Highest price of the bar.
    pub high: f64,
    /// Lowest price of the bar.
    pub low: f64,
    /// Last traded price of the bar; strategies decide on it.
    pub close: f64,
    /// Traded base volume.
    pub volume: f64,
}

/// Bars loaded from a CSV file, with each bar's original time text kept for reports (so a
/// backtest prints the times the user wrote, not a reformatted version).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct BarSeries {
    /// The bars, in strictly increasing time order.
    pub bars: Vec<Bar>,
    /// `labels.get(i)` is the time text of `bars[i]` as written in the file.
    pub labels: TimeLabels,
}

/// The time texts of a series' bars as written in the file, kept in a few buffers (a million
/// bars are a few allocations, not a million): one per piece the CSV loader parsed in parallel,
/// so joining the pieces moves buffers instead of copying text.
#[derive(Clone, Debug, Default)]
pub struct TimeLabels {
    pieces: Vec<LabelPiece>,
}

/// Consecutive labels in one buffer.
#[derive(Clone, Debug)]
struct LabelPiece {
    /// Index of the piece's first label in the whole series.
    first: usize,
    text: String,
    /// `text[ends[i - 1]..ends[i]]` is the piece's label `i`.
    ends: Vec<u32>,
}

impl TimeLabels {
    /// Appends a label.
    pub fn push(&mut self, label: &str) {
        let len = self.len();
        let fits = |p: &LabelPiece| u32::try_from(p.text.len() + label.len()).is_ok();
        if !self.pieces.last().is_some_and(fits) {
            self.pieces.push(LabelPiece {
                first: len,
                text: String::new(),
                ends: Vec::new(),
            });
        }
        if let Some(piece) = self.pieces.last_mut() {
            piece.text.push_str(label);
            piece.ends.push(piece.text.len() as u32);
        }
    }

    /// Label `i`, if there is one.
    pub fn get(&self, i: usize) -> Option<&str> {
        let piece = &self.pieces[self
            .pieces
            .partition_point(|p| p.first <= i)
            .checked_sub(1)?];
        let local = i - piece.first;
        let end = *piece.ends.get(local)? as usize;
        let start = match local {
            0 => 0,
            _ => piece.ends[local - 1] as usize,
        };
        piece.text.get(start..end)
    }

    /// The first label.
    pub fn first(&self) -> Option<&str> {
        self.get(0)
    }

    /// The last label.
    pub fn last(&self) -> Option<&str> {
        self.get(self.len().checked_sub(1)?)
    }

    /// Number of labels.
    pub fn len(&self) -> usize {
        self.pieces.last().map_or(0, |p| p.first + p.ends.len())
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Appends `other`'s labels after these (the CSV loader joins its pieces with it): its
    /// buffers move, no text is copied.
    pub fn append(&mut self, other: TimeLabels) {
        let shift = self.len();
        self.pieces.extend(
            other
                .pieces
                .into_iter()
                .filter(|p| !p.ends.is_empty())
                .map(|p| LabelPiece {
                    first: p.first + shift,
                    ..p
                }),
        );
    }

    /// The labels in order.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        (0..self.len()).filter_map(|i| self.get(i))
    }
}

/// Equal when the labels are, however they are cut into buffers.
impl PartialEq for TimeLabels {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl<const N: usize> PartialEq<[&str; N]> for TimeLabels {
    fn eq(&self, other: &[&str; N]) -> bool {
        self.len() == N && self.iter().zip(other).all(|(a, b)| a == *b)
    }
}

impl BarSeries {
    /// Number of bars.
    pub fn len(&self) -> usize {
        self.bars.len()
    }

    /// Whether there is no bar.
    pub fn is_empty(&self) -> bool {
        self.bars.is_empty()
    }

    /// Appends `other`'s bars and labels after these (the caller keeps the time order).
    pub fn append(&mut self, mut other: BarSeries) {
        self.bars.append(&mut other.bars);
        self.labels.append(other.labels);
    }
}

/// Why a CSV file could not be loaded. Every content error names its 1-based line.
#[derive(Debug, Error)]
pub enum CsvError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not UTF-8 text.
    #[error("line {line}: not UTF-8 text")]
    NotUtf8 {
        /// 1-based line of the first invalid byte.
        line: usize,
    },
    /// The header row is missing or lacks a required column.
    #[error("line {line}: bad header: {message}")]
    Header {
        /// 1-based line of the header.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// A row has a different number of fields than the header.
    #[error("line {line}: expected {expected} fields as in the header, found {found}")]
    FieldCount {
        /// 1-based line.
        line: usize,
        /// Fields in the header.
        expected: usize,
        /// Fields in this row.
        found: usize,
    },
    /// The time field cannot be parsed.
    #[error("line {line}: bad time {value:?}: {reason}")]
    Time {
        /// 1-based line.
        line: usize,
        /// The field as written.
        value: String,
        /// What is wrong.
        reason: String,
    },
    /// A price or volume field is not a finite number (or a negative volume).
    #[error("line {line}: bad {column} value {value:?}: {reason}")]
    Number {
        /// 1-based line.
        line: usize,
        /// Column name (`open`, `high`, ...).
        column: &'static str,
        /// The field as written.
        value: String,
        /// What is wrong.
        reason: &'static str,
    },
    /// A row's time is not after the previous row's.
    #[error("line {line}: time {value:?} is not after the previous row's time {previous:?} (rows must be in strictly increasing time order)")]
    NotIncreasing {
        /// 1-based line.
        line: usize,
        /// This row's time text.
        value: String,
        /// The previous row's time text.
        previous: String,
    },
    /// A row's prices contradict each other (high below low, open or close outside low..high).
    #[error("line {line}: {message} (each row needs low <= open, close <= high)")]
    Ohlc {
        /// 1-based line.
        line: usize,
        /// Which prices disagree, with their values.
        message: String,
    },
    /// The file has a header but no data row.
    #[error("line {line}: no data rows after the header")]
    NoRows {
        /// 1-based line where data was expected.
        line: usize,
    },
}

/// What is wrong with a bar whose prices contradict each other, if anything.
pub(super) fn ohlc_contradiction(bar: &Bar) -> Option<String> {
    let (low, high) = (bar.low, bar.high);
    if high < low {
        return Some(format!("high {high} is below low {low}"));
    }
    [("open", bar.open), ("close", bar.close)]
        .into_iter()
        .find(|(_, v)| *v < low || *v > high)
        .map(|(name, v)| format!("{name} {v} is outside low..high ({low}..{high})"))
}

/// Integer Unix times at or above this are milliseconds (10^11 s is the year 5138; 10^11 ms is
/// March 1973).
const MS_THRESHOLD: i64 = 100_000_000_000;

/// Parses a bar time into Unix milliseconds (UTC).
pub fn parse_time(text: &str) -> Result<i64, String> {
    TimeParser::default().parse(text)
}

/// The expected shapes, for error messages.
const EXPECTED_TIME: &str = "expected YYYY-MM-DD, YYYY-MM-DD HH:MM[:SS[.fff]] (optionally with T, Z or ±HH:MM), or Unix seconds/milliseconds";

/// [`parse_time`] for a column of times: consecutive rows of the same day (1,440 of them in a
/// file of one-minute bars) validate and convert their date once.
#[derive(Default)]
pub struct TimeParser {
    /// The last date text parsed and its midnight in Unix milliseconds.
    day: Option<([u8; 10], i64)>,
}

impl TimeParser {
    /// Parses a bar time into Unix milliseconds (UTC), as [`parse_time`] does.
    pub fn parse(&mut self, text: &str) -> Result<i64, String> {
        let t = text.trim();
        let b = t.as_bytes();
        if let (Some((date, midnight)), Some(prefix)) = (&self.day, b.get(..10)) {
            if prefix == date {
                return time_of_day(&b[10..], *midnight);
            }
        }
        let ms = parse_date_or_integer(t)?;
        // A date (remember it, then the time of day) or an integer time (done).
        match b.get(..10).and_then(|d| <[u8; 10]>::try_from(d).ok()) {
            Some(date) if date[4] == b'-' => {
                self.day = Some((date, ms));
                time_of_day(&b[10..], ms)
            }
            _ => Ok(ms),
        }
    }
}

/// An integer Unix time, or the midnight of a `YYYY-MM-DD` date (the rest is [`time_of_day`]'s).
fn parse_date_or_integer(t: &str) -> Result<i64, String> {
    if t.is_empty() {
        return Err("empty".into());
    }
    if t.bytes().all(|b| b.is_ascii_digit()) {
        let v: i64 = t
            .parse()
            .map_err(|_| "integer timestamp out of range".to_string())?;
        return if v < MS_THRESHOLD {
            Ok(v * 1000)
        } else if v < MS_THRESHOLD * 10_000 {
            Ok(v)
        } else {
            Err("integer timestamp too large for Unix seconds or milliseconds".into())
        };
    }
    let b = t.as_bytes();
    let expected = EXPECTED_TIME;
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return Err(expected.into());
    }
    let year = digits(&b[0..4]).ok_or(expected)?;
    let month = digits(&b[5..7]).ok_or(expected)?;
    let day = digits(&b[8..10]).ok_or(expected)?;
    if !(1..=12).contains(&month) {
        return Err(format!("month {month} is not 1-12"));
    }
    if day < 1 || day > days_in_month(year, month) {
        return Err(format!("day {day} does not exist in {year:04}-{month:02}"));
    }
    Ok(days_from_civil(year, month, day) * 86_400_000)
}

/// Adds `rest` (`""`, or ` HH:MM[:SS[.fff]]` / `THH:MM...`, then an optional `Z` or offset)
/// to the midnight `ms`.
fn time_of_day(rest: &[u8], mut ms: i64) -> Result<i64, String> {
    let expected = EXPECTED_TIME;
    let mut rest = rest;
    if rest.is_empty() {
        return Ok(ms);
    }
    if rest[0] != b' ' && rest[0] != b'T' && rest[0] != b't' {
        return Err(expected.into());
    }
    rest = &rest[1..];
    if rest.len() < 5 || rest[2] != b':' {
        return Err(expected.into());
    }
    let hour = digits(&rest[0..2]).ok_or(expected)?;
    let minute = digits(&rest[3..5]).ok_or(expected)?;
    rest = &rest[5..];
    let mut second = 0;
    if rest.first() == Some(&b':') {
        if rest.len() < 3 {
            return Err(expected.into());
        }
        second = digits(&rest[1..3]).ok_or(expected)?;
        rest = &rest[3..];
        if rest.first() == Some(&b'.') {
            let frac_len = rest[1..].iter().take_while(|c| c.is_ascii_digit()).count();
            if frac_len == 0 {
                return Err(expected.into());
            }
            // Milliseconds: the first three fraction digits, padded (".5" is 500 ms).
            let mut frac = 0;
            for i in 0..3 {
                frac = frac * 10
                    + rest
                        .get(1 + i)
                        .filter(|_| i < frac_len)
                        .map_or(0, |c| i64::from(c - b'0'));
            }
            ms += frac;
            rest = &rest[1 + frac_len..];
        }
    }
    if hour > 23 || minute > 59 || second > 59 {
        return Err(format!(
            "time of day {hour:02}:{minute:02}:{second:02} is out of range"
        ));
    }
    ms += ((hour * 60 + minute) * 60 + second) * 1000;
    match rest {
        [] | [b'Z'] | [b'z'] => Ok(ms),
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] | [sign @ (b'+' | b'-'), h1, h2, m1, m2] => {
            let oh = digits(&[*h1, *h2]).ok_or(expected)?;
            let om = digits(&[*m1, *m2]).ok_or(expected)?;
            if oh > 23 || om > 59 {
                return Err("UTC offset out of range".into());
            }
            let offset = (oh * 60 + om) * 60_000;
            // Local time = UTC + offset, so UTC = local - offset.
            Ok(if *sign == b'+' {
                ms - offset
            } else {
                ms + offset
            })
        }
        _ => Err(expected.into()),
    }
}

/// Parses ASCII digits as a number.
fn digits(b: &[u8]) -> Option<i64> {
    if b.is_empty() || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(b.iter().fold(0, |acc, c| acc * 10 + i64::from(c - b'0')))
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
pub fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = (if y >= 0 { y } else { y - 399 }) / 400;
    let yoe = y - era * 400; // [0, 399]
    let mp = (month + 9) % 12; // March = 0
    let doy = (153 * mp + 2) / 5 + day - 1; // [0, 365]
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy; // [0, 146096]
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_read_the_same_however_they_were_joined() {
        let all = ["a", "bb", "", "ccc", "d"];
        let mut whole = TimeLabels::default();
        all.iter().for_each(|l| whole.push(l));
        for cut in 0..=all.len() {
            let (mut head, mut tail) = (TimeLabels::default(), TimeLabels::default());
            all[..cut].iter().for_each(|l| head.push(l));
            all[cut..].iter().for_each(|l| tail.push(l));
            head.append(tail);
            head.append(TimeLabels::default());
            assert_eq!(head, whole, "cut {cut}");
            assert_eq!(head, all);
            assert_eq!((head.first(), head.last()), (Some("a"), Some("d")));
            assert_eq!(head.get(3), Some("ccc"));
            assert_eq!(head.get(5), None);
        }
    }

    #[test]
    fn the_day_cache_parses_every_row_as_parse_time_does() {
        let rows = [
            "2024-01-01 00:00:00",
            "2024-01-01 00:01",
            "2024-01-01",
            "2024-01-01 25:00",
            "2024-01-01T23:59:59.5Z",
            "2024-01-01 10:00+02:00",
            "2024-01-01 junk",
            "1704067200",
            "2024-01-01 00:02",
            "2024-02-30 00:00",
            "2024-02-29 00:00",
            " 2024-02-29 00:01 ",
            "2024-02-2900:00",
            "",
        ];
        let mut parser = TimeParser::default();
        for row in rows {
            assert_eq!(parser.parse(row), parse_time(row), "{row:?}");
        }
        assert_eq!(parser.parse("2024-01-01 00:01"), Ok(1_704_067_260_000));
    }

    #[test]
    fn civil_days_match_known_dates() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(1970, 1, 2), 1);
        assert_eq!(days_from_civil(1969, 12, 31), -1);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        // 2024-02-29 00:00 UTC = 1709164800 s
        assert_eq!(days_from_civil(2024, 2, 29) * 86_400, 1_709_164_800);
    }

    #[test]
    fn times_in_every_accepted_form() {
        let base = 1_709_164_800_000; // 2024-02-29T00:00:00Z
        assert_eq!(parse_time("2024-02-29"), Ok(base));
        assert_eq!(parse_time("2024-02-29 01:02"), Ok(base + 3_720_000));
        assert_eq!(parse_time("2024-02-29T01:02:03"), Ok(base + 3_723_000));
        assert_eq!(parse_time("2024-02-29 01:02:03.5"), Ok(base + 3_723_500));
        assert_eq!(
            parse_time("2024-02-29T01:02:03.123456Z"),
            Ok(base + 3_723_123)
        );
        assert_eq!(
            parse_time("2024-02-29T01:02:03+00:00"),
            Ok(base + 3_723_000)
        );
        assert_eq!(
            parse_time("2024-02-29T02:02:03+01:00"),
            Ok(base + 3_723_000)
        );
        assert_eq!(parse_time("1709164800"), Ok(base));
        assert_eq!(parse_time("1709164800000"), Ok(base));
        assert!(parse_time("2023-02-29").is_err());
        assert!(parse_time("2024-13-01").is_err());
        assert!(parse_time("2024-01-01 24:00").is_err());
        assert!(parse_time("01/02/2024").is_err());
        assert!(parse_time("2024-01-01 10:00 junk").is_err());
    }

    #[test]
    fn contradictory_prices_name_the_line() {
        let head = "date,open,high,low,close\n2024-01-01,10,11,9,10.5\n";
        for (row, needle) in [
            ("2024-01-02,10,9,11,10", "high 9 is below low 11"),
            (
                "2024-01-02,12,11,9,10",
                "open 12 is outside low..high (9..11)",
            ),
            (
                "2024-01-02,10,11,9,8.5",
                "close 8.5 is outside low..high (9..11)",
            ),
        ] {
            let err = parse_csv(&format!("{head}{row}\n"))
                .unwrap_err()
                .to_string();
            assert!(err.starts_with("line 3: "), "{err}");
            assert!(err.contains(needle), "{err}");
        }
        assert_eq!(parse_csv(head).unwrap().len(), 1);
    }
}
