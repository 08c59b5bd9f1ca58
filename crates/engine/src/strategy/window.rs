//! The last N closes as one contiguous slice, for strategies that sum a window oldest first
//! every bar (an exact sum, no running-sum drift). A ring buffer would hand out two slices and
//! a sum over them runs half as fast; this buffer holds up to 2N values and moves the newest
//! N to the front when it fills, once every N pushes.

/// The most recent `capacity` values pushed, oldest first, as one slice.
#[derive(Clone, Debug)]
pub struct Window {
    capacity: usize,
    values: Vec<f64>,
}

impl Window {
    /// An empty window keeping the last `capacity` values.
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity,
            values: Vec::with_capacity(2 * capacity.max(1)),
        }
    }

    /// Adds the newest value, forgetting the oldest once `capacity` are held.
    pub fn push(&mut self, value: f64) {
        if self.values.len() == 2 * self.capacity.max(1) {
            let keep = self.values.len() - self.capacity;
            self.values.copy_within(keep.., 0);
            self.values.truncate(self.capacity);
        }
        self.values.push(value);
    }

    /// The last `n` values, oldest first, once `n` have been pushed (`n <= capacity`).
    pub fn last(&self, n: usize) -> Option<&[f64]> {
        let len = self.values.len().min(self.capacity.max(1));
        (n <= len).then(|| &self.values[self.values.len() - n..])
    }

    /// The values held (the last `capacity` at most), oldest first.
    pub fn all(&self) -> &[f64] {
        let n = self.values.len().min(self.capacity);
        &self.values[self.values.len() - n..]
    }
}

/// `x[0] + x[1] + ...`, added oldest first from -0.0 as `Iterator::sum` does: the rounding the
/// strategies' documented means use (docs/statistics.md §10).
pub fn sum_oldest_first(x: &[f64]) -> f64 {
    x.iter().fold(-0.0, |acc, v| acc + v)
}

#[cfg(test)]
mod tests {
    use super::Window;

    #[test]
    fn it_holds_the_last_values_in_order_across_refills() {
        let mut w = Window::new(3);
        assert_eq!(w.last(1), None);
        for i in 0..20 {
            w.push(f64::from(i));
            let want: Vec<f64> = ((i - 2).max(0)..=i).map(f64::from).collect();
            assert_eq!(w.all(), want.as_slice(), "after {i}");
            assert_eq!(w.last(2), (i >= 1).then(|| &want[want.len() - 2..]));
            assert_eq!(w.last(4), None);
        }
    }
}
