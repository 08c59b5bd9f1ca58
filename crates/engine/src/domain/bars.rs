//! OHLCV bars: the unit of market data every feed, strategy and backtest works in, and the CSV
//! loader the `backtest` command reads them with.
//!
//! CSV format: a header row; the first column is the bar time (header `date`, `time`,
//! `timestamp`, `datetime` or empty); `open`, `high`, `low`, `close` and optionally `volume`
//! (matched case-insensitively, in any order; other columns are ignored); one row per bar in
//! strictly increasing time order. Times may be `YYYY-MM-DD`, `YYYY-MM-DD HH:MM[:SS[.fff]]`
//! (or with a `T`), optionally followed by `Z` or a `±HH:MM` offset, or integer Unix seconds or
//! milliseconds. Every error names the 1-based line it is about.

use std::borrow::Cow;
use std::path::PathBuf;

use thiserror::Error;

use super::bar_time;
pub use super::bar_time::{parse_time, TimeParser};
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
/// backtest prints the times the user wrote, not a reformatted version). The bars are kept in
/// the pieces the CSV loader parsed in parallel: joining them moves vectors instead of copying
/// ~24 MB per million bars on one core.
#[derive(Clone, Debug, Default)]
pub struct BarSeries {
    /// The bars in strictly increasing time order, piece after piece (only a sole piece, sized
    /// by [`BarSeries::reserve`], may be empty).
    pieces: Vec<Vec<Bar>>,
    /// The time text of each bar as written in the file, if it is not the canonical text of
    /// its time (see [`BarSeries::label`]).
    labels: TimeLabels,
}

/// The time texts of a series' bars as written in the file, kept in a few buffers (a million
/// bars are a few allocations, not a million): one per piece the CSV loader parsed in parallel,
/// so joining the pieces moves buffers instead of copying text. An empty text stands for the
/// canonical text of the bar's time (a bar time is never empty).
#[derive(Clone, Debug, Default)]
struct TimeLabels {
    pieces: Vec<LabelPiece>,
}

/// Consecutive labels in one buffer.
#[derive(Clone, Debug)]
struct LabelPiece {
    /// Index of the piece's first label in the whole series.
    first: usize,
    /// Labels in the piece.
    len: usize,
    text: String,
    /// `text[ends[i - 1]..ends[i]]` is the piece's label `i`; no ends at all while every label
    /// of the piece is empty (a file of canonical times keeps nothing per bar).
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
                len: 0,
                text: String::new(),
                ends: Vec::new(),
            });
        }
        if let Some(piece) = self.pieces.last_mut() {
            if !label.is_empty() && piece.ends.is_empty() {
                // The labels so far were all empty (and the text is).
                piece.ends.resize(piece.len, 0);
            }
            if !piece.ends.is_empty() || !label.is_empty() {
                piece.text.push_str(label);
                piece.ends.push(piece.text.len() as u32);
            }
            piece.len += 1;
        }
    }

    /// Label `i`, if there is one.
    pub fn get(&self, i: usize) -> Option<&str> {
        let piece = &self.pieces[self
            .pieces
            .partition_point(|p| p.first <= i)
            .checked_sub(1)?];
        let local = i - piece.first;
        if local >= piece.len {
            return None;
        }
        if piece.ends.is_empty() {
            return Some("");
        }
        let end = *piece.ends.get(local)? as usize;
        let start = match local {
            0 => 0,
            _ => piece.ends[local - 1] as usize,
        };
        piece.text.get(start..end)
    }

    /// Number of labels.
    pub fn len(&self) -> usize {
        self.pieces.last().map_or(0, |p| p.first + p.len)
    }

    /// Appends `other`'s labels after these (the CSV loader joins its pieces with it): its
    /// buffers move, no text is copied.
    pub fn append(&mut self, other: TimeLabels) {
        let shift = self.len();
        self.pieces.extend(
            other
                .pieces
                .into_iter()
                .filter(|p| p.len > 0)
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

impl BarSeries {
    /// Number of bars.
    pub fn len(&self) -> usize {
        self.pieces.iter().map(Vec::len).sum()
    }

    /// Whether there is no bar.
    pub fn is_empty(&self) -> bool {
        self.pieces.iter().all(Vec::is_empty)
    }

    /// The bars in time order.
    pub fn bars(&self) -> impl Iterator<Item = &Bar> + Clone {
        self.pieces.iter().flatten()
    }

    /// Bar `i`, if there is one.
    pub fn get(&self, mut i: usize) -> Option<&Bar> {
        for piece in &self.pieces {
            match piece.get(i) {
                Some(bar) => return Some(bar),
                None => i -= piece.len(),
            }
        }
        None
    }

    /// The first bar.
    pub fn first(&self) -> Option<&Bar> {
        self.pieces.first()?.first()
    }

    /// The last bar.
    pub fn last(&self) -> Option<&Bar> {
        self.pieces.last()?.last()
    }

    /// Appends a bar and the time text it was parsed from (`bar.time_ms` is
    /// `parse_time(label)`; the caller keeps the time order). A canonical text
    /// (`YYYY-MM-DD HH:MM:SS`) is not stored: [`BarSeries::label`] writes it back from the time.
    pub(crate) fn push_parsed(&mut self, bar: Bar, label: &str) {
        match self.pieces.last_mut() {
            Some(piece) => piece.push(bar),
            None => self.pieces.push(vec![bar]),
        }
        self.labels.push(if bar_time::is_canonical(label) {
            ""
        } else {
            label
        });
    }

    /// [`BarSeries::push_parsed`] for a bar whose time text is canonical (`YYYY-MM-DD HH:MM:SS`).
    pub(crate) fn push_canonical(&mut self, bar: Bar) {
        match self.pieces.last_mut() {
            Some(piece) => piece.push(bar),
            None => self.pieces.push(vec![bar]),
        }
        self.labels.push("");
    }

    /// The time text of bar `i` as written in the file.
    pub fn label(&self, i: usize) -> Option<Cow<'_, str>> {
        let bar = self.get(i)?;
        Some(match self.labels.get(i)? {
            "" => Cow::Owned(bar_time::canonical_text(bar.time_ms)),
            text => Cow::Borrowed(text),
        })
    }

    /// The last bar's time text, or `""` (for error messages).
    pub(crate) fn last_label(&self) -> String {
        self.len()
            .checked_sub(1)
            .and_then(|i| self.label(i))
            .unwrap_or_default()
            .into_owned()
    }

    /// The time texts of the bars, in order.
    pub fn labels(&self) -> impl Iterator<Item = Cow<'_, str>> {
        self.bars()
            .zip(self.labels.iter())
            .map(|(bar, text)| match text {
                "" => Cow::Owned(bar_time::canonical_text(bar.time_ms)),
                text => Cow::Borrowed(text),
            })
    }

    /// Room for `additional` more bars in the last piece (a loader sizes it once).
    pub fn reserve(&mut self, additional: usize) {
        match self.pieces.last_mut() {
            Some(piece) => piece.reserve(additional),
            None => self.pieces.push(Vec::with_capacity(additional)),
        }
    }

    /// Appends `other`'s bars and labels after these (the caller keeps the time order): its
    /// vectors move, nothing is copied.
    pub fn append(&mut self, other: BarSeries) {
        self.pieces.retain(|p| !p.is_empty());
        self.pieces
            .extend(other.pieces.into_iter().filter(|p| !p.is_empty()));
        self.labels.append(other.labels);
    }

    /// The bars as one vector (copied once if the loader cut the file into pieces).
    pub fn into_bars(self) -> Vec<Bar> {
        let mut pieces = self.pieces.into_iter();
        let mut bars = pieces.next().unwrap_or_default();
        pieces.for_each(|mut piece| bars.append(&mut piece));
        bars
    }
}

/// Equal when the bars and labels are, however they are cut into pieces.
impl PartialEq for BarSeries {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len()
            && self.bars().eq(other.bars())
            && self.labels().eq(other.labels())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_read_the_same_however_they_were_joined() {
        for all in [
            ["a", "bb", "", "ccc", "d"],
            ["", "", "a", "", "bb"],
            [""; 5],
        ] {
            labels_join(all);
        }
    }

    fn labels_join(all: [&str; 5]) {
        let mut whole = TimeLabels::default();
        all.iter().for_each(|l| whole.push(l));
        for cut in 0..=all.len() {
            let (mut head, mut tail) = (TimeLabels::default(), TimeLabels::default());
            all[..cut].iter().for_each(|l| head.push(l));
            all[cut..].iter().for_each(|l| tail.push(l));
            head.append(tail);
            head.append(TimeLabels::default());
            assert_eq!(head, whole, "cut {cut}");
            assert_eq!(head.iter().collect::<Vec<_>>(), all);
            for (i, label) in all.iter().enumerate() {
                assert_eq!(head.get(i), Some(*label), "label {i} of {all:?}");
            }
            assert_eq!(head.get(5), None);
        }
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
