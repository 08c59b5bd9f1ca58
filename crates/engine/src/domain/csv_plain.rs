//! The fast path of the bar CSV loader: rows of the usual shape parsed straight from the bytes
//! in one pass, without a CSV reader. A plain row has unquoted ASCII fields, prices and volume
//! written as plain decimals (`[-]digits[.digits]`, at most 15 digits) and ends in `\n` or
//! `\r\n` (the file's last row may end at the end of the file). Anything else, an error of any
//! kind included (a bad time, a time out of order, a negative volume, prices that contradict
//! each other, a blank line), makes it give up on the piece, which [`super::csv_bars`] then
//! parses with the CSV reader: the bars, labels and errors of a file never depend on which path
//! read it, and the CSV reader's rules stay the only rules.

use super::bars::{ohlc_contradiction, Bar, BarSeries, TimeParser};
use super::csv_bars::{Columns, POW10};

/// What a column holds, for the fast path.
#[derive(Clone, Copy, PartialEq)]
enum Role {
    Time,
    Ignored,
    Open,
    High,
    Low,
    Close,
    Volume,
}

/// The rows of one piece parsed so far.
pub(super) struct PlainRows {
    roles: Vec<Role>,
    times: TimeParser,
    series: BarSeries,
    first_offset: Option<u64>,
}

/// Digits above which a decimal leaves the fast path (15 digits stay below 2^53, so the
/// mantissa is exact; longer ones go to the CSV reader's parser).
const MAX_DIGITS: usize = 15;

impl PlainRows {
    /// Ready for the rows of a piece of about `bytes` bytes, under the header's `cols`.
    pub(super) fn new(cols: Columns, bytes: u64) -> Self {
        let mut roles = vec![Role::Ignored; cols.count];
        roles[0] = Role::Time;
        roles[cols.open] = Role::Open;
        roles[cols.high] = Role::High;
        roles[cols.low] = Role::Low;
        roles[cols.close] = Role::Close;
        if let Some(v) = cols.volume {
            roles[v] = Role::Volume;
        }
        let mut series = BarSeries::default();
        series.reserve(
            usize::try_from(bytes / super::csv_bars::MIN_ROW_BYTES)
                .unwrap_or(0)
                .min(1 << 26),
        );
        Self {
            roles,
            times: TimeParser::default(),
            series,
            first_offset: None,
        }
    }

    /// Parses every row of `bytes`, which starts at a line start at file offset `offset` and
    /// ends after a line's `\n` (or at the end of the file). `None`: not plain, give up.
    pub(super) fn parse(&mut self, bytes: &[u8], offset: u64) -> Option<()> {
        let mut i = 0;
        while i < bytes.len() {
            self.first_offset.get_or_insert(offset + i as u64);
            i = self.row(bytes, i)?;
        }
        Some(())
    }

    /// The bars and the file offset of the first row, as [`super::csv_bars::parse_rows`] gives.
    pub(super) fn finish(self) -> (BarSeries, Option<u64>) {
        (self.series, self.first_offset)
    }

    /// Parses the row at `bytes[i..]`; the index after its line end.
    fn row(&mut self, bytes: &[u8], mut i: usize) -> Option<usize> {
        let mut bar = Bar {
            time_ms: 0,
            open: 0.0,
            high: 0.0,
            low: 0.0,
            close: 0.0,
            volume: 0.0,
        };
        // The time text, if it is not canonical (a canonical one is not kept).
        let mut label = None;
        let mut canonical = false;
        let last = self.roles.len() - 1;
        for (c, &role) in self.roles.iter().enumerate() {
            let start = i;
            let value = match role {
                Role::Time if bytes.get(i + 19) == Some(&b',') => {
                    match self.times.parse_canonical(&bytes[i..i + 19]) {
                        Some(ms) => {
                            bar.time_ms = ms;
                            canonical = true;
                            i += 19;
                        }
                        None => i = text_end(bytes, i)?,
                    }
                    0.0
                }
                Role::Time | Role::Ignored => {
                    i = text_end(bytes, i)?;
                    0.0
                }
                _ => {
                    let (v, end) = decimal(bytes, i)?;
                    i = end;
                    v
                }
            };
            match role {
                Role::Time if canonical => {}
                Role::Time => {
                    let text = std::str::from_utf8(bytes[start..i].trim_ascii()).ok()?;
                    bar.time_ms = self.times.parse(text).ok()?;
                    label = Some(text);
                }
                Role::Ignored => {}
                Role::Open => bar.open = value,
                Role::High => bar.high = value,
                Role::Low => bar.low = value,
                Role::Close => bar.close = value,
                Role::Volume if value < 0.0 => return None,
                Role::Volume => bar.volume = value,
            }
            // The field ends at a comma, the last one at the line's end.
            i = match (bytes.get(i), c == last) {
                (Some(b','), false) => i + 1,
                (Some(b'\n'), true) => i + 1,
                (Some(b'\r'), true) if bytes.get(i + 1) == Some(&b'\n') => i + 2,
                (None, true) => i,
                _ => return None,
            };
        }
        if self.series.last().is_some_and(|p| bar.time_ms <= p.time_ms)
            || ohlc_contradiction(&bar).is_some()
        {
            return None;
        }
        match label {
            Some(text) => self.series.push_parsed(bar, text),
            None => self.series.push_canonical(bar),
        }
        Some(i)
    }
}

/// Where a text field starting at `i` ends (at the next comma, `\r`, `\n` or the end); `None`
/// if it holds a quote or a byte outside ASCII.
fn text_end(bytes: &[u8], mut i: usize) -> Option<usize> {
    while let Some(&b) = bytes.get(i) {
        match b {
            b',' | b'\r' | b'\n' => break,
            b'"' | 0x80.. => return None,
            _ => i += 1,
        }
    }
    Some(i)
}

/// Appends the decimal digits from `i` on to `m` (wrapping: the caller bounds the digit count)
/// and returns it with the index after the last digit.
#[inline(always)]
fn accumulate_digits(bytes: &[u8], mut i: usize, mut m: u64) -> (u64, usize) {
    while let Some(d) = bytes
        .get(i)
        .map(|b| b.wrapping_sub(b'0'))
        .filter(|d| *d < 10)
    {
        m = m.wrapping_mul(10).wrapping_add(u64::from(d));
        i += 1;
    }
    (m, i)
}

/// The plain decimal starting at `i` and the index after it: the very `f64` the CSV reader's
/// parser gives (`m / 10^k` of two exact numbers, as in its fast path).
fn decimal(bytes: &[u8], start: usize) -> Option<(f64, usize)> {
    let neg = bytes.get(start) == Some(&b'-');
    let mut i = start + usize::from(neg);
    let int_start = i;
    let (mut m, end) = accumulate_digits(bytes, i, 0);
    i = end;
    let int_digits = i - int_start;
    let mut frac_digits = 0;
    if bytes.get(i) == Some(&b'.') {
        let frac_start = i + 1;
        (m, i) = accumulate_digits(bytes, frac_start, m);
        frac_digits = i - frac_start;
    }
    let digits = int_digits + frac_digits;
    if digits == 0 || digits > MAX_DIGITS {
        return None;
    }
    let v = m as f64 / POW10[frac_digits];
    Some((if neg { -v } else { v }, i))
}

#[cfg(test)]
mod tests {
    use super::super::csv_load::{parse_csv, parse_slow, parses_plain};

    /// Random small files of plain and not so plain rows: whatever the fast path accepts reads
    /// exactly as the CSV reader reads it, errors read the same, and the usual shapes are
    /// accepted.
    #[test]
    fn the_fast_path_reads_what_the_csv_reader_reads() {
        let numbers = [
            "100",
            "100.5",
            "-0",
            "101.",
            ".5",
            "99.25",
            "1e2",
            "1234567890123456",
            " 100",
            "\"100\"",
            "",
            "x",
            "\u{e9}",
            "-3",
            "12345.678901234",
            "-",
            ".",
        ];
        let ends = ["\n", "\r\n", "\n", "\r", "\n\n", "", "\n \n"];
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        let mut next = move |n: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % n as u64) as usize
        };
        let mut plain = 0;
        for _ in 0..20_000 {
            let mut text = String::from(match next(4) {
                0 => "date,open,high,low,close,volume\r\n",
                1 => "time,close,open,low,high\n",
                2 => "Date,Open,High,Low,Close,Volume,note\n",
                _ => "date,open,high,low,close,volume\n",
            });
            let cols = text.split(',').count();
            for r in 0..=next(4) {
                let time = match next(8) {
                    0 => format!("2024-01-01T00:{r:02}:00Z"),
                    1 => format!("{}", 1_704_067_200 + 60 * r),
                    2 => format!(" 2024-01-01 00:{r:02} "),
                    3 => "2024-01-01 00:00:00".to_string(),
                    _ => format!("2024-01-01 00:{r:02}:00"),
                };
                let fields: Vec<&str> = match next(3) {
                    0 => (1..cols).map(|_| numbers[next(numbers.len())]).collect(),
                    _ => ["100", "100", "100", "100", "7", "n"][..cols - 1].to_vec(),
                };
                text.push_str(&time);
                for f in fields {
                    text.push(',');
                    text.push_str(f);
                }
                text.push_str(ends[next(ends.len())]);
            }
            let want = parse_slow(text.as_bytes()).map_err(|e| e.to_string());
            assert_eq!(
                parse_csv(&text).map_err(|e| e.to_string()),
                want,
                "{text:?}"
            );
            plain += usize::from(parses_plain(text.as_bytes()));
        }
        assert!(plain > 2_000, "{plain} files took the fast path");
    }
}
