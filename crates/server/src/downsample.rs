//! Min/max-preserving downsampling of a time series, for charts.
//!
//! A chart a few hundred pixels wide cannot show 100 000 points, but averaging or skipping points
//! would smooth drawdowns away. Each bucket instead keeps its lowest and its highest point, in
//! time order, so every peak and every trough survives and the largest drawdown read off the
//! downsampled curve equals the one of the full curve. Used by `GET /api/v1/equity`, by the
//! bounded live equity history and by the backtest report.

/// One point: time (Unix ms) and value.
pub type Point = (i64, f64);

/// At most `max_points` points of `points` (at least 2 are kept when there are 2): `points`
/// itself when it fits, else `max_points / 2` equal-count buckets, each giving its minimum and
/// maximum (first occurrence, in time order; one point when they coincide). NaN values never win
/// a minimum or maximum; a bucket of NaN only keeps its first point.
pub fn min_max(points: &[Point], max_points: usize) -> Vec<Point> {
    let max_points = max_points.max(2);
    if points.len() <= max_points {
        return points.to_vec();
    }
    let buckets = max_points / 2;
    let mut out = Vec::with_capacity(buckets * 2);
    for b in 0..buckets {
        let start = b * points.len() / buckets;
        let end = (b + 1) * points.len() / buckets;
        let bucket = &points[start..end];
        let mut lo: Option<usize> = None;
        let mut hi: Option<usize> = None;
        for (i, (_, v)) in bucket.iter().enumerate() {
            if v.is_nan() {
                continue;
            }
            if lo.is_none_or(|l| *v < bucket[l].1) {
                lo = Some(i);
            }
            if hi.is_none_or(|h| *v > bucket[h].1) {
                hi = Some(i);
            }
        }
        match (lo, hi) {
            (Some(l), Some(h)) if l == h => out.push(bucket[l]),
            (Some(l), Some(h)) => {
                out.push(bucket[l.min(h)]);
                out.push(bucket[l.max(h)]);
            }
            _ => {
                if let Some(first) = bucket.first() {
                    out.push(*first);
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn max_drawdown(points: &[Point]) -> f64 {
        let mut peak = f64::MIN;
        let mut worst = 0.0f64;
        for (_, v) in points {
            peak = peak.max(*v);
            worst = worst.max((peak - v) / peak);
        }
        worst
    }

    #[test]
    fn short_series_are_returned_unchanged() {
        let points = vec![(1, 1.0), (2, 2.0), (3, 0.5)];
        assert_eq!(min_max(&points, 10), points);
        assert_eq!(min_max(&points, 3), points);
    }

    #[test]
    fn extremes_and_drawdown_survive() {
        // A noisy curve with one deep, one-sample crash in the middle.
        let mut points: Vec<Point> = (0..10_000)
            .map(|i| {
                (
                    i,
                    1000.0 + ((i * 7919) % 97) as f64 - 48.0 + i as f64 * 0.01,
                )
            })
            .collect();
        points[5_123].1 = 700.0;
        let small = min_max(&points, 200);
        assert!(small.len() <= 200, "{} points", small.len());
        assert!(small.windows(2).all(|w| w[0].0 < w[1].0), "time order kept");
        let min = |p: &[Point]| p.iter().map(|x| x.1).fold(f64::MAX, f64::min);
        let max = |p: &[Point]| p.iter().map(|x| x.1).fold(f64::MIN, f64::max);
        assert_eq!(min(&small), 700.0);
        assert_eq!(max(&small), max(&points));
        assert_eq!(max_drawdown(&small), max_drawdown(&points));
    }

    #[test]
    fn nan_never_wins_and_all_nan_buckets_keep_one_point() {
        let points: Vec<Point> = (0..8)
            .map(|i| (i, if i < 4 { f64::NAN } else { i as f64 }))
            .collect();
        let small = min_max(&points, 4);
        assert_eq!(small.len(), 3);
        assert!(small[0].1.is_nan());
        assert_eq!(&small[1..], &[(4, 4.0), (7, 7.0)]);
    }
}
