//! Numbers as the text formats spell them: integers two digits per division, floats through
//! Ryu with Prometheus' names for the non-finite ones, Unix milliseconds as exact seconds. A
//! scrape writes one or more of these per sample, so none of them allocates.

/// Two-digit pairs `00`..`99`, for writing integers two digits per division.
const DIGIT_PAIRS: &[u8; 200] = b"0001020304050607080910111213141516171819\
2021222324252627282930313233343536373839\
4041424344454647484950515253545556575859\
6061626364656667686970717273747576777879\
8081828384858687888990919293949596979899";

/// Appends an unsigned integer in decimal.
#[inline]
pub fn write_u64(v: u64, out: &mut Vec<u8>) {
    // Small values (bucket counts, most counters) as one fixed-size append, no copy call.
    if v < 10 {
        out.push(b'0' + v as u8);
    } else if v < 100 {
        out.extend_from_slice(&pair(v));
    } else if v < 1000 {
        let [a, b] = pair(v % 100);
        out.extend_from_slice(&[b'0' + (v / 100) as u8, a, b]);
    } else {
        write_u64_long(v, out);
    }
}

/// Appends an unsigned integer in decimal and a newline (the end of most sample lines).
#[inline]
pub(crate) fn write_u64_line(v: u64, out: &mut Vec<u8>) {
    if v < 10 {
        out.extend_from_slice(&[b'0' + v as u8, b'\n']);
    } else if v < 100 {
        let [a, b] = pair(v);
        out.extend_from_slice(&[a, b, b'\n']);
    } else {
        write_u64(v, out);
        out.push(b'\n');
    }
}

/// The two digits of `v` (below 100).
#[inline]
fn pair(v: u64) -> [u8; 2] {
    let i = (v % 100) as usize * 2;
    [DIGIT_PAIRS[i], DIGIT_PAIRS[i + 1]]
}

/// [`write_u64`] for values of four digits or more.
fn write_u64_long(mut v: u64, out: &mut Vec<u8>) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    while v >= 100 {
        let pair = (v % 100) as usize * 2;
        v /= 100;
        i -= 2;
        buf[i..i + 2].copy_from_slice(&DIGIT_PAIRS[pair..pair + 2]);
    }
    if v >= 10 {
        let pair = v as usize * 2;
        i -= 2;
        buf[i..i + 2].copy_from_slice(&DIGIT_PAIRS[pair..pair + 2]);
    } else {
        i -= 1;
        buf[i] = b'0' + v as u8;
    }
    out.extend_from_slice(&buf[i..]);
}

/// Appends a float as Prometheus spells it: `NaN`, `+Inf`, `-Inf`, integers without a
/// fraction, otherwise the shortest representation that round-trips (Ryu: plain decimal for
/// moderate magnitudes, exponent form for very large or small ones; Go's `ParseFloat`, which
/// Prometheus reads with, takes both). Ryu is several times faster than `core::fmt` here, and
/// a scrape writes a float per gauge and per histogram sum.
#[inline]
pub fn write_f64(v: f64, out: &mut Vec<u8>) {
    if v.is_nan() {
        out.extend_from_slice(b"NaN");
    } else if v == f64::INFINITY {
        out.extend_from_slice(b"+Inf");
    } else if v == f64::NEG_INFINITY {
        out.extend_from_slice(b"-Inf");
    } else if v.abs() < 1e15 && (v as i64) as f64 == v {
        // An integer (the test is two conversions; `fract` is a libm call without SSE4.1).
        if v < 0.0 {
            out.push(b'-');
        }
        write_u64(v.abs() as u64, out);
    } else if !write_short_decimal(v, out) {
        let mut buf = ryu::Buffer::new();
        out.extend_from_slice(buf.format_finite(v).as_bytes());
    }
}

/// Most decimal places [`write_short_decimal`] writes (`x.123456`).
const SHORT_DECIMAL_DIGITS: u32 = 6;
const SHORT_DECIMAL_SCALE: f64 = 1e6;

/// Writes a non-integer `v` with 1e-4 <= |v| < 1e9 that has a decimal of at most six places
/// reading back as `v` (a price, a ratio, `0.25`: most gauges), exactly as Ryu spells it, and
/// says whether it did; Ryu's general digit loop costs several times more for such values.
///
/// Why it is Ryu's output: in that range the interval of reals that round to `v` is narrower
/// than 1e-6, so it holds at most one decimal of k places for each k <= 6. If some decimal of
/// k <= 6 places reads back as `v`, it is also a decimal of six places, so the one six-place
/// candidate decides: `n / 10^6` with `n` the integer nearest `v * 10^6` (the product is within
/// 2^-52 of it relatively, far less than 0.5), which reads back as `v` exactly when the
/// correctly rounded division `n / 10^6` is `v`. Its trailing zeros cut off give the decimal
/// with the fewest digits, which is Ryu's (shortest; unique, so no tie to break), and Ryu
/// writes a number of this size in plain notation: `[-]int.frac`, `frac` with exactly k
/// digits. One test decides for every value, so a value that is not short costs one
/// multiplication and comparison before Ryu, not six.
#[inline]
fn write_short_decimal(v: f64, out: &mut Vec<u8>) -> bool {
    let a = v.abs();
    if !(1e-4..1e9).contains(&a) {
        return false;
    }
    let p = a * SHORT_DECIMAL_SCALE;
    // Below 2^50, so adding 0.5 is exact and the conversion rounds to nearest (through i64:
    // one instruction each way, where u64 takes several).
    let n = (p + 0.5) as i64;
    // Cheap filter before the division: a decimal that reads back as `v` is within p * 2^-52
    // of p; anything farther cannot be one.
    if (p - n as f64).abs() > p * (4.0 * f64::EPSILON) || n as f64 / SHORT_DECIMAL_SCALE != a {
        return false;
    }
    let mut n = n.unsigned_abs();
    let mut places = SHORT_DECIMAL_DIGITS;
    while places > 0 && n.is_multiple_of(10) {
        n /= 10;
        places -= 1;
    }
    if places == 0 {
        // An integer: the caller writes those.
        return false;
    }
    if v < 0.0 {
        out.push(b'-');
    }
    let unit = 10u64.pow(places);
    write_u64(n / unit, out);
    let mut frac = n % unit;
    let mut digits = [b'.'; SHORT_DECIMAL_DIGITS as usize + 1];
    let k = places as usize;
    for d in digits[1..=k].iter_mut().rev() {
        *d = b'0' + (frac % 10) as u8;
        frac /= 10;
    }
    out.extend_from_slice(&digits[..=k]);
    true
}

/// Unix milliseconds as seconds with up to three decimals, exactly (`1700000000.123`).
pub(crate) fn write_unix_ms_as_seconds(ms: i64, out: &mut Vec<u8>) {
    if ms < 0 {
        out.push(b'-');
    }
    let ms = ms.unsigned_abs();
    write_u64(ms / 1000, out);
    let frac = ms % 1000;
    if frac != 0 {
        out.push(b'.');
        let digits = [
            b'0' + (frac / 100) as u8,
            b'0' + (frac / 10 % 10) as u8,
            b'0' + (frac % 10) as u8,
        ];
        let keep = if frac.is_multiple_of(100) {
            1
        } else if frac.is_multiple_of(10) {
            2
        } else {
            3
        };
        out.extend_from_slice(&digits[..keep]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unix_ms_as_seconds() {
        let s = |ms| {
            let mut out = Vec::new();
            write_unix_ms_as_seconds(ms, &mut out);
            String::from_utf8(out).expect("utf8")
        };
        assert_eq!(s(1_700_000_000_123), "1700000000.123");
        assert_eq!(s(1_700_000_000_120), "1700000000.12");
        assert_eq!(s(1_700_000_000_100), "1700000000.1");
        assert_eq!(s(1_700_000_000_000), "1700000000");
        assert_eq!(s(5), "0.005");
        assert_eq!(s(-1500), "-1.5");
    }

    fn f(v: f64) -> String {
        let mut out = Vec::new();
        write_f64(v, &mut out);
        String::from_utf8(out).expect("utf8")
    }

    #[test]
    fn numbers_as_prometheus_spells_them() {
        assert_eq!(f(f64::NAN), "NaN");
        assert_eq!(f(f64::INFINITY), "+Inf");
        assert_eq!(f(f64::NEG_INFINITY), "-Inf");
        assert_eq!(f(0.0), "0");
        assert_eq!(f(-3.0), "-3");
        assert_eq!(f(0.25), "0.25");
        assert_eq!(f(1e300), "1e300");
        assert_eq!(f(-1.5e-300), "-1.5e-300");
        for v in [
            0.1,
            1.0 / 3.0,
            123456.789,
            5e-324,
            f64::MAX,
            f64::MIN_POSITIVE,
        ] {
            assert_eq!(f(v).parse::<f64>().expect("parses"), v);
        }
    }

    proptest::proptest! {
        #[test]
        fn floats_round_trip_and_are_spelled_as_prometheus_does(v in proptest::num::f64::ANY) {
            let s = f(v);
            if v.is_nan() {
                proptest::prop_assert_eq!(s, "NaN");
            } else {
                let back: f64 = s.replace("+Inf", "inf").replace("-Inf", "-inf").parse().expect("parses");
                proptest::prop_assert_eq!(back, v);
            }
        }
    }

    /// Every float the short-decimal path could take is spelled as Ryu spells it: short
    /// decimals of every length up to the limit and past it, the same scaled, values that only
    /// look short (`1.1099999999999999`), the range's edges, negatives, random bit patterns.
    #[test]
    fn short_decimals_are_spelled_as_ryu_spells_them() {
        let ryu = |v: f64| ryu::Buffer::new().format_finite(v).to_owned();
        let mut values = Vec::new();
        for i in 0..20_000u32 {
            let i = f64::from(i);
            values.extend([i * 0.37, i / 37.0, i * 0.001, i * 1e-4, i * 0.1 + 0.05]);
            values.extend([i * 12_345.678_9, i * 1e-7, 1e9 - i * 0.5, 1e-4 + i * 1e-9]);
        }
        for places in 1..=9 {
            let unit = 10f64.powi(places);
            for n in [
                1.0,
                3.0,
                7.0,
                11.0,
                99.0,
                12_345.0,
                999_999.0,
                123_456_789.0,
            ] {
                values.push(n / unit);
                values.push((n + unit) / unit);
            }
        }
        values.extend([
            1e-4,
            1.000_000_1e-4,
            9.999_999e-5,
            1e9,
            999_999_999.5,
            0.3,
            0.1 + 0.2,
        ]);
        let mut bits = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..200_000 {
            bits ^= bits << 13;
            bits ^= bits >> 7;
            bits ^= bits << 17;
            let v = f64::from_bits(bits);
            values.push(v);
            // Random values of the right size, and their six-place roundings.
            let v = (bits >> 11) as f64 / (1u64 << 53) as f64 * 10f64.powi((bits % 14) as i32 - 4);
            values.push(v);
            values.push((v * 1e6).round() / 1e6);
        }
        let mut taken = 0;
        for v in values {
            for v in [v, -v] {
                if !v.is_finite() || (v as i64) as f64 == v {
                    continue;
                }
                let mut out = Vec::new();
                let spelled = ryu(v);
                if write_short_decimal(v, &mut out) {
                    assert_eq!(String::from_utf8(out).expect("ascii"), spelled, "{v:e}");
                    taken += 1;
                } else {
                    // Declined only when Ryu's spelling is not a short plain decimal in range.
                    let short = (1e-4..1e9).contains(&v.abs())
                        && !spelled.contains('e')
                        && spelled.split_once('.').is_some_and(|(_, f)| f.len() <= 6);
                    assert!(!short, "{spelled} could have taken the short path");
                }
            }
        }
        assert!(taken > 200_000, "the short path was taken {taken} times");
        let took = |v: f64| write_short_decimal(v, &mut Vec::new());
        assert!(took(0.37) && took(-369.63) && took(0.0027) && took(123_456.123_456));
        assert!(!took(1.109_999_999_999_999_9) && !took(0.1 + 0.2) && !took(1e-5));
    }

    #[test]
    fn integers_in_decimal() {
        for v in [
            0u64,
            7,
            10,
            42,
            99,
            100,
            101,
            999,
            1000,
            12345,
            1_000_000,
            u64::MAX,
        ] {
            let mut out = Vec::new();
            write_u64(v, &mut out);
            assert_eq!(String::from_utf8(out).expect("ascii"), v.to_string());
            let mut line = Vec::new();
            write_u64_line(v, &mut line);
            assert_eq!(String::from_utf8(line).expect("ascii"), format!("{v}\n"));
        }
    }
}
