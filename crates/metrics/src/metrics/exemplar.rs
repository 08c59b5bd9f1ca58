//! Exemplars: the last observation of a bucket (or increment of a counter) with a few labels
//! naming what caused it (an order id, a request id), so a latency spike leads to its cause.
//!
//! Only OpenMetrics text and protobuf carry exemplars; text 0.0.4 never reads these cells, so a
//! plain scrape pays nothing for them. Recording never waits: a cell another thread is writing
//! or a scrape is reading is skipped (an exemplar is a sample, losing one is harmless).

use std::sync::atomic::AtomicU64;
use std::sync::{Mutex, PoisonError, TryLockError};
use std::time::{SystemTime, UNIX_EPOCH};

/// Most UTF-8 characters the label names and values of one exemplar may hold together
/// (OpenMetrics 1.0: "MUST NOT exceed 128 UTF-8 code points").
pub const EXEMPLAR_MAX_CHARS: usize = 128;

/// What one exemplar carries.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ExemplarData {
    /// Label names and values, in the order they were given.
    pub labels: Vec<(String, String)>,
    /// The observed value (or the increment, for a counter).
    pub value: f64,
    /// Unix time of the observation in milliseconds.
    pub timestamp_ms: i64,
}

/// Checks an exemplar label set: valid label names, at most [`EXEMPLAR_MAX_CHARS`] characters.
pub(crate) fn valid_exemplar_labels(labels: &[(&str, &str)]) -> bool {
    let mut chars = 0usize;
    for (name, value) in labels {
        let mut cs = name.chars();
        let name_ok = matches!(cs.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
            && cs.all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !name_ok {
            return false;
        }
        chars += name.len() + value.chars().count();
    }
    chars <= EXEMPLAR_MAX_CHARS
}

/// Unix time now, in milliseconds.
pub(crate) fn unix_ms_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// One exemplar slot. The label strings are reused, so recording does not allocate once the
/// slot has held a label set as long.
#[derive(Default)]
pub(crate) struct ExemplarCell {
    slot: Mutex<Option<ExemplarData>>,
    /// [`crate::clock::Ticks`] of the last write through a sampled slot (0: none), so a hot
    /// path can tell whether the exemplar is due without taking the lock.
    pub(crate) sampled_at: AtomicU64,
}

impl ExemplarCell {
    /// Replaces the exemplar unless another thread holds the cell (then this one is dropped).
    /// `labels` must have passed [`valid_exemplar_labels`].
    pub(crate) fn record(&self, labels: &[(&str, &str)], value: f64, timestamp_ms: i64) {
        let mut slot = match self.slot.try_lock() {
            Ok(g) => g,
            Err(TryLockError::Poisoned(p)) => p.into_inner(),
            Err(TryLockError::WouldBlock) => return,
        };
        let data = slot.get_or_insert_with(ExemplarData::default);
        data.labels.truncate(labels.len());
        for (i, (name, value)) in labels.iter().enumerate() {
            if let Some((n, v)) = data.labels.get_mut(i) {
                n.clear();
                n.push_str(name);
                v.clear();
                v.push_str(value);
            } else {
                data.labels.push(((*name).to_owned(), (*value).to_owned()));
            }
        }
        data.value = value;
        data.timestamp_ms = timestamp_ms;
    }

    /// Calls `f` with the exemplar, if one was recorded (holding the cell meanwhile).
    pub(crate) fn with<R>(&self, f: impl FnOnce(&ExemplarData) -> R) -> Option<R> {
        let slot = self.slot.lock().unwrap_or_else(PoisonError::into_inner);
        slot.as_ref().map(f)
    }

    /// A copy of the exemplar, if one was recorded.
    pub(crate) fn get(&self) -> Option<ExemplarData> {
        self.with(Clone::clone)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_sets_are_checked() {
        assert!(valid_exemplar_labels(&[
            ("order_id", "42"),
            ("exchange", "sim")
        ]));
        assert!(!valid_exemplar_labels(&[("bad-name", "x")]));
        assert!(!valid_exemplar_labels(&[("", "x")]));
        // 8 + 120 = 128 characters: allowed; one more is not. Characters, not bytes.
        let v120 = "é".repeat(120);
        assert!(valid_exemplar_labels(&[("order_id", &v120)]));
        let v121 = "é".repeat(121);
        assert!(!valid_exemplar_labels(&[("order_id", &v121)]));
    }

    #[test]
    fn a_cell_keeps_the_last_exemplar() {
        let c = ExemplarCell::default();
        assert!(c.get().is_none());
        c.record(&[("a", "1"), ("b", "2")], 0.5, 10);
        c.record(&[("a", "3")], 0.7, 20);
        let e = c.get().expect("recorded");
        assert_eq!(e.labels, vec![("a".to_owned(), "3".to_owned())]);
        assert_eq!((e.value, e.timestamp_ms), (0.7, 20));
    }
}
