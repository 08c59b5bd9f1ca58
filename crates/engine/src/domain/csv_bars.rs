//! The bar CSV row parser (format in [`super::bars`]): the `csv` crate's byte records, one
//! record buffer reused for every row, fields parsed straight from bytes, time labels appended
//! to one buffer. Nothing is allocated per row. [`super::csv_load`] cuts a file into pieces and
//! parses each in parallel, with [`super::csv_plain`] first and with [`parse_rows`] if that
//! gives up.

use std::io::Read;

use csv::{ByteRecord, Reader, ReaderBuilder};

use super::bars::{Bar, BarSeries, CsvError, TimeParser};

/// Why a piece could not be parsed: its content, or reading it.
pub(super) enum Failure {
    /// The content is wrong (the error names the line).
    Csv(CsvError),
    /// The bytes could not be read.
    Io(std::io::Error),
}

impl From<CsvError> for Failure {
    fn from(e: CsvError) -> Self {
        Failure::Csv(e)
    }
}

/// The column positions the header names.
#[derive(Clone, Copy)]
pub(super) struct Columns {
    /// Fields per row.
    pub(super) count: usize,
    /// Where the open price is (the time is always column 0).
    pub(super) open: usize,
    /// Where the high price is.
    pub(super) high: usize,
    /// Where the low price is.
    pub(super) low: usize,
    /// Where the close price is.
    pub(super) close: usize,
    /// Where the volume is, if the file has one.
    pub(super) volume: Option<usize>,
}

/// Reads the next record that is not blank; `false` at the end.
fn next_row<R: Read>(rdr: &mut Reader<R>, rec: &mut ByteRecord) -> Result<bool, Failure> {
    loop {
        match rdr.read_byte_record(rec) {
            Ok(false) => return Ok(false),
            Ok(true) if rec.len() == 1 && rec[0].trim_ascii().is_empty() => continue,
            Ok(true) => return Ok(true),
            Err(e) => {
                return Err(match e.into_kind() {
                    csv::ErrorKind::Io(e) => Failure::Io(e),
                    other => Failure::Io(std::io::Error::other(format!("{other:?}"))),
                })
            }
        }
    }
}

/// Maps a byte offset to its 1-based line (shared by the threads of one load).
pub(super) type Locate<'a> = &'a (dyn Fn(u64) -> usize + Sync);

/// The byte offset a record starts at.
fn offset_of(rec: &ByteRecord) -> u64 {
    rec.position().map_or(0, |p| p.byte())
}

/// The record as UTF-8 (ASCII is checked first: it is the common case and much cheaper);
/// `base` is where the record's piece starts in the file.
fn check_utf8(rec: &ByteRecord, base: u64, locate: Locate<'_>) -> Result<(), CsvError> {
    let bytes = rec.as_slice();
    if bytes.is_ascii() || std::str::from_utf8(bytes).is_ok() {
        Ok(())
    } else {
        Err(CsvError::NotUtf8 {
            line: locate(base + offset_of(rec)),
        })
    }
}

/// A field known to be UTF-8 (its record passed [`check_utf8`]).
fn text(field: &[u8]) -> &str {
    std::str::from_utf8(field).unwrap_or_default()
}

/// Bytes per row below which a file is not expected to go (a bar row has six fields): sizes the
/// bar vector once instead of growing it by copies (untouched capacity costs no memory).
pub(super) const MIN_ROW_BYTES: u64 = 24;

/// A CSV reader over one piece of a file: no header handling (the first piece reads it with
/// [`read_header`]), rows of any length (the row parser names a wrong field count).
pub(super) fn reader<R: Read>(piece: R) -> Reader<R> {
    ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .buffer_capacity(1 << 16)
        .from_reader(piece)
}

/// Reads the header row: the columns and the byte offset the header starts at.
pub(super) fn read_header<R: Read>(
    rdr: &mut Reader<R>,
    locate: Locate<'_>,
) -> Result<(Columns, u64), Failure> {
    let mut rec = ByteRecord::new();
    if !next_row(rdr, &mut rec)? {
        return Err(CsvError::Header {
            line: 1,
            message:
                "the file is empty; expected a header row such as date,open,high,low,close,volume"
                    .into(),
        }
        .into());
    }
    check_utf8(&rec, 0, locate)?;
    let offset = offset_of(&rec);
    Ok((parse_header(locate(offset), &rec)?, offset))
}

/// Parses the rows of one piece that starts at byte `base` of the file and is about `bytes`
/// long: the bars and, if there is one, the file offset of its first row (for an error about
/// the row order across pieces).
pub(super) fn parse_rows<R: Read>(
    rdr: &mut Reader<R>,
    cols: Columns,
    base: u64,
    bytes: u64,
    locate: Locate<'_>,
) -> Result<(BarSeries, Option<u64>), Failure> {
    let mut rec = ByteRecord::new();
    let mut series = BarSeries::default();
    series.reserve(
        usize::try_from(bytes / MIN_ROW_BYTES)
            .unwrap_or(0)
            .min(1 << 26),
    );
    let mut first_offset = None;
    let mut times = TimeParser::default();
    while next_row(rdr, &mut rec)? {
        let offset = base + offset_of(&rec);
        first_offset.get_or_insert(offset);
        let line = || locate(offset);
        check_utf8(&rec, base, locate)?;
        if rec.len() != cols.count {
            return Err(CsvError::FieldCount {
                line: line(),
                expected: cols.count,
                found: rec.len(),
            }
            .into());
        }
        let label = text(rec[0].trim_ascii());
        let time_ms = times.parse(label).map_err(|reason| CsvError::Time {
            line: line(),
            value: label.to_string(),
            reason,
        })?;
        if series.last().is_some_and(|prev| time_ms <= prev.time_ms) {
            return Err(CsvError::NotIncreasing {
                line: line(),
                value: label.to_string(),
                previous: series.last_label(),
            }
            .into());
        }
        let price = |idx: usize, column: &'static str| parse_number(&line, column, &rec[idx]);
        let volume = match cols.volume {
            Some(idx) => {
                let v = price(idx, "volume")?;
                if v < 0.0 {
                    return Err(CsvError::Number {
                        line: line(),
                        column: "volume",
                        value: text(rec[idx].trim_ascii()).to_string(),
                        reason: "volume is negative",
                    }
                    .into());
                }
                v
            }
            None => 0.0,
        };
        let bar = Bar {
            time_ms,
            open: price(cols.open, "open")?,
            high: price(cols.high, "high")?,
            low: price(cols.low, "low")?,
            close: price(cols.close, "close")?,
            volume,
        };
        if let Some(message) = super::bars::ohlc_contradiction(&bar) {
            return Err(CsvError::Ohlc {
                line: line(),
                message,
            }
            .into());
        }
        series.push_parsed(bar, label);
    }
    Ok((series, first_offset))
}

fn parse_header(line: usize, rec: &ByteRecord) -> Result<Columns, CsvError> {
    let names: Vec<String> = rec
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let f = if i == 0 {
                f.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(f)
            } else {
                f
            };
            text(f).trim().to_ascii_lowercase()
        })
        .collect();
    let err = |message: String| CsvError::Header { line, message };
    if !matches!(
        names[0].as_str(),
        "" | "date" | "time" | "timestamp" | "datetime"
    ) {
        return Err(err(format!(
            "the first column must be the bar time (date, time, timestamp, datetime or empty), found {:?}",
            names[0]
        )));
    }
    let find = |want: &str| -> Result<Option<usize>, CsvError> {
        let mut hits = names
            .iter()
            .enumerate()
            .skip(1)
            .filter(|(_, n)| n.as_str() == want);
        let first = hits.next().map(|(i, _)| i);
        if hits.next().is_some() {
            return Err(err(format!("column {want:?} appears more than once")));
        }
        Ok(first)
    };
    let need = |want: &str| -> Result<usize, CsvError> {
        find(want)?.ok_or_else(|| {
            err(format!(
                "missing column {want:?} (need open, high, low, close; volume is optional)"
            ))
        })
    };
    Ok(Columns {
        count: names.len(),
        open: need("open")?,
        high: need("high")?,
        low: need("low")?,
        close: need("close")?,
        volume: find("volume")?,
    })
}

fn parse_number(
    line: &dyn Fn() -> usize,
    column: &'static str,
    field: &[u8],
) -> Result<f64, CsvError> {
    let bad = |reason| CsvError::Number {
        line: line(),
        column,
        value: text(field).to_string(),
        reason,
    };
    let field = field.trim_ascii();
    let v = match plain_decimal(field) {
        Some(v) => v,
        None => text(field).parse().map_err(|_| bad("not a number"))?,
    };
    if !v.is_finite() {
        return Err(bad("not a finite number"));
    }
    Ok(v)
}

/// Exact powers of ten as `f64` (all of 10^0..10^22 are representable exactly).
pub(super) const POW10: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

/// `[-]digits[.digits]` with at most 2^53 as the digits' integer value and at most 22 decimals:
/// `m / 10^k` of two exactly representable numbers, which IEEE division rounds correctly, so
/// the result is the very `f64` `str::parse` returns (Clinger's fast path). Anything else
/// (exponents, long mantissas, `inf`, junk) is `None` and goes to `str::parse`.
fn plain_decimal(b: &[u8]) -> Option<f64> {
    let (neg, digits) = match b.first()? {
        b'-' => (true, &b[1..]),
        _ => (false, b),
    };
    let (int, frac) = match digits.iter().position(|&c| c == b'.') {
        Some(dot) => (&digits[..dot], &digits[dot + 1..]),
        None => (digits, &digits[digits.len()..]),
    };
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    // Up to 8 + 8 digits (every price a CSV of bars holds) in two SWAR steps; more one by one.
    let mantissa = if int.len() <= 8 && frac.len() <= 8 {
        eight_digits(int)? * POW10_U64[frac.len()] + eight_digits(frac)?
    } else if int.len() + frac.len() <= 19 {
        int.iter().chain(frac).try_fold(0u64, |m, &c| {
            let d = c.wrapping_sub(b'0');
            (d < 10).then(|| m * 10 + u64::from(d))
        })?
    } else {
        return None;
    };
    if mantissa > (1u64 << 53) || frac.len() >= POW10.len() {
        return None;
    }
    let v = mantissa as f64 / POW10[frac.len()];
    Some(if neg { -v } else { v })
}

/// 10^0..10^8 as integers.
const POW10_U64: [u64; 9] = [
    1,
    10,
    100,
    1_000,
    10_000,
    100_000,
    1_000_000,
    10_000_000,
    100_000_000,
];

/// The value of at most 8 ASCII digits (`None` if any byte is not one), all at once: the
/// digits are left-padded with '0' into one little-endian word, checked with two carry-free
/// byte-wise tests, then combined pairwise in three multiplications (Lemire's
/// `parse_eight_digits_unrolled`).
fn eight_digits(d: &[u8]) -> Option<u64> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    let pad = 8usize.checked_sub(d.len())?;
    // Shifted into a register byte by byte: copying a short slice into a stack buffer and
    // loading it as one word stalls on store forwarding.
    let mut chunk = (0x30 * ONES).checked_shr(8 * d.len() as u32).unwrap_or(0);
    for (j, &c) in d.iter().enumerate() {
        chunk |= u64::from(c) << (8 * (pad + j));
    }
    // A byte below '0' borrows into bit 7 of `below`, one above '9' carries into bit 7 of
    // `above`; bytes of 0x80 and more set bit 7 of one of them. A lower byte's borrow or carry
    // can only come from a byte that is flagged itself.
    let below = chunk.wrapping_sub(0x30 * ONES);
    let above = chunk.wrapping_add(0x46 * ONES);
    if (below | above) & (0x80 * ONES) != 0 {
        return None;
    }
    // The products overflow by design: only the bits that land in the upper half are kept.
    let pairs = below.wrapping_mul(10).wrapping_add(below >> 8);
    let mask = 0x0000_00FF_0000_00FF;
    let high = (pairs & mask).wrapping_mul(100 + (1_000_000 << 32));
    let low = ((pairs >> 16) & mask).wrapping_mul(1 + (10_000 << 32));
    Some(high.wrapping_add(low) >> 32)
}

#[cfg(test)]
mod tests {
    use super::plain_decimal;

    #[test]
    fn the_fast_decimal_path_gives_the_bits_str_parse_gives() {
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        for _ in 0..200_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let int = state % 1_000_000;
            let decimals = (state >> 20) % 12;
            let frac = (state >> 24) % 10u64.pow(decimals as u32);
            let s = if decimals == 0 {
                format!("{int}")
            } else {
                format!("{int}.{frac:0width$}", width = decimals as usize)
            };
            let want: f64 = s.parse().unwrap();
            match plain_decimal(s.as_bytes()) {
                Some(v) => assert_eq!(v.to_bits(), want.to_bits(), "{s}"),
                // Only mantissas above 2^53 (16+ digits) leave the fast path.
                None => assert!(s.len() > 16, "{s}"),
            }
        }
        for s in ["-0.0", "0", "9007199254740992", "123.", ".5", "-.25"] {
            let want: f64 = s.parse().unwrap();
            assert_eq!(
                plain_decimal(s.as_bytes()).map(f64::to_bits),
                Some(want.to_bits()),
                "{s}"
            );
        }
        for s in [
            "1e5",
            "+1",
            "inf",
            "NaN",
            "",
            "-",
            ".",
            "1.2.3",
            "9007199254740993",
            "1 2",
            "12/4.5",
            "1:3",
            "99.9\u{7f}",
            "1.\u{e9}",
            "1234567\u{80}.1",
        ] {
            assert_eq!(plain_decimal(s.as_bytes()), None, "{s}");
        }
        // Random strings over digits, separators and junk (ASCII neighbours of '0' and '9',
        // bytes above 0x7f): whatever the fast path accepts, `str::parse` reads the same.
        let alphabet = b"0123456789.-/:e \x7f\x80\xb9\xff";
        for _ in 0..200_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let len = (state % 20) as usize;
            let bytes: Vec<u8> = (0..len)
                .map(|i| alphabet[((state >> (3 * i % 60)) % alphabet.len() as u64) as usize])
                .collect();
            if let Some(v) = plain_decimal(&bytes) {
                let text = std::str::from_utf8(&bytes).expect("only ASCII digits are accepted");
                let want: f64 = text.parse().expect("accepted means parseable");
                assert_eq!(v.to_bits(), want.to_bits(), "{text}");
            }
        }
    }
}
