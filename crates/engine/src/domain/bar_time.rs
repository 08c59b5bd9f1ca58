//! Bar times: the text forms a bar CSV may use (module docs of [`super::bars`]) parsed into
//! Unix milliseconds, with a day cache for a column of them.

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

impl TimeParser {
    /// The common case of [`TimeParser::parse`] straight from bytes: a canonical text
    /// (`YYYY-MM-DD HH:MM:SS`) of the date parsed last. `None` for anything else, which the
    /// caller then parses as text (the day cache is left as it is).
    pub(super) fn parse_canonical(&self, b: &[u8]) -> Option<i64> {
        let (date, midnight) = self.day.as_ref()?;
        if b.len() != 19 || b[..10] != date[..] || b[10] != b' ' || b[13] != b':' || b[16] != b':' {
            return None;
        }
        let two = |i: usize| {
            let (tens, ones) = (b[i].wrapping_sub(b'0'), b[i + 1].wrapping_sub(b'0'));
            (tens < 10 && ones < 10).then_some(i64::from(tens * 10 + ones))
        };
        let (hour, minute, second) = (two(11)?, two(14)?, two(17)?);
        (hour <= 23 && minute <= 59 && second <= 59)
            .then_some(midnight + ((hour * 60 + minute) * 60 + second) * 1000)
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

/// The year, month and day of a count of days since 1970-01-01 (Howard Hinnant's
/// `civil_from_days`, the inverse of [`days_from_civil`]).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = (if z >= 0 { z } else { z - 146_096 }) / 146_097;
    let doe = z - era * 146_097; // [0, 146096]
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365; // [0, 399]
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // [0, 365]
    let mp = (5 * doy + 2) / 153; // March = 0
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(month <= 2), month, day)
}

/// Whether a time text that parsed is in the canonical form `YYYY-MM-DD HH:MM:SS` (pandas'
/// default, and what most bar files hold), which [`canonical_text`] writes back byte for byte
/// from its time: the loader keeps no copy of such texts.
pub(super) fn is_canonical(parsed: &str) -> bool {
    let b = parsed.as_bytes();
    b.len() == 19 && b[10] == b' ' && b[13] == b':' && b[16] == b':'
}

/// `YYYY-MM-DD HH:MM:SS` of a Unix time in milliseconds, UTC.
pub(super) fn canonical_text(time_ms: i64) -> String {
    let (days, ms) = (
        time_ms.div_euclid(86_400_000),
        time_ms.rem_euclid(86_400_000),
    );
    let (year, month, day) = civil_from_days(days);
    let seconds = ms / 1000;
    let mut text = *b"0000-00-00 00:00:00";
    let fields = [
        (0, 4, year),
        (5, 2, month),
        (8, 2, day),
        (11, 2, seconds / 3600),
        (14, 2, seconds / 60 % 60),
        (17, 2, seconds % 60),
    ];
    for (at, width, mut value) in fields {
        for digit in text[at..at + width].iter_mut().rev() {
            *digit = b'0' + value.rem_euclid(10) as u8;
            value /= 10;
        }
    }
    String::from_utf8_lossy(&text).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_canonical_text_is_written_back_byte_for_byte() {
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        for _ in 0..100_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            // Whole seconds from year 0 to 9999.
            let seconds = (state % 315_537_897_600) as i64 - 62_167_219_200;
            let text = canonical_text(seconds * 1000);
            assert!(is_canonical(&text), "{text}");
            assert_eq!(parse_time(&text), Ok(seconds * 1000), "{text}");
        }
        for text in [
            "1970-01-01 00:00:00",
            "0000-03-01 00:00:00",
            "9999-12-31 23:59:59",
            "1969-12-31 23:59:59",
            "2024-02-29 12:34:56",
        ] {
            let ms = parse_time(text).expect("parses");
            assert_eq!(canonical_text(ms), text);
        }
        for text in [
            "2024-02-29T12:34:56",
            "2024-02-29 12:34",
            "2024-02-29 12:34:56Z",
            "1709164800",
        ] {
            assert!(!is_canonical(text), "{text}");
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
            // The byte path reads the canonical rows of the cached day, as the text path does.
            if let Some(ms) = parser.parse_canonical(row.as_bytes()) {
                assert_eq!(Ok(ms), parse_time(row), "{row:?}");
            }
            assert_eq!(parser.parse(row), parse_time(row), "{row:?}");
        }
        assert!(parser.parse("2024-01-01 00:00").is_ok());
        for text in [
            "2024-01-01 23:59:59",
            "2024-01-01 24:00:00",
            "2024-01-01 00:60:00",
        ] {
            let ms = parser.parse_canonical(text.as_bytes());
            assert_eq!(ms.ok_or(()), parse_time(text).map_err(|_| ()), "{text}");
        }
        assert_eq!(parser.parse_canonical(b"2024-01-01T00:00:00"), None);
        assert_eq!(parser.parse_canonical(b"2024-01-02 00:00:00"), None);
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
}
