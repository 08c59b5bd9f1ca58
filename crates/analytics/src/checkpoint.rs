//! A byte encoding for statistics checkpoints.
//!
//! The live statistics are restored after a restart from a checkpoint instead of a replay of the
//! whole history, and they must come back *bit-identical* (the gauges may not move because the
//! service restarted). Every `f64` is therefore stored as its IEEE-754 bits (NaN, ±Inf and -0.0
//! included: text formats and SQLite REAL columns lose some of them), little-endian, with
//! lengths as `u64`. The format has no self-description; the caller stores a version next to
//! it and decodes with the same code that encoded.

/// A checkpoint could not be decoded.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum StateError {
    /// The bytes ended before the state did.
    #[error("checkpoint truncated: needed {needed} more bytes, {left} left")]
    Truncated {
        /// Bytes the next field needs.
        needed: usize,
        /// Bytes that were left.
        left: usize,
    },
    /// Bytes were left over after the state was read.
    #[error("checkpoint has {0} unexpected trailing bytes")]
    Trailing(usize),
    /// A field held a value the state cannot have.
    #[error("checkpoint field {field} is invalid: {why}")]
    Invalid {
        /// Which field.
        field: &'static str,
        /// What is wrong with it.
        why: &'static str,
    },
}

/// Appends checkpoint fields to a byte buffer.
#[derive(Debug, Default)]
pub struct StateWriter {
    buf: Vec<u8>,
}

impl StateWriter {
    /// An empty buffer.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends an unsigned integer.
    pub fn u64(&mut self, v: u64) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }

    /// Appends a float, bit for bit.
    pub fn f64(&mut self, v: f64) {
        self.u64(v.to_bits());
    }

    /// Appends a length-prefixed list of floats.
    pub fn f64s(&mut self, vs: &[f64]) {
        self.u64(vs.len() as u64);
        for v in vs {
            self.f64(*v);
        }
    }

    /// Appends a length-prefixed UTF-8 string.
    pub fn str(&mut self, s: &str) {
        self.u64(s.len() as u64);
        self.buf.extend_from_slice(s.as_bytes());
    }

    /// Appends a bool as one byte.
    pub fn bool(&mut self, b: bool) {
        self.buf.push(u8::from(b));
    }

    /// The encoded bytes.
    pub fn into_bytes(self) -> Vec<u8> {
        self.buf
    }
}

/// Reads checkpoint fields in the order a [`StateWriter`] wrote them.
#[derive(Debug)]
pub struct StateReader<'a> {
    rest: &'a [u8],
}

impl<'a> StateReader<'a> {
    /// Reads from the start of `bytes`.
    pub fn new(bytes: &'a [u8]) -> Self {
        Self { rest: bytes }
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], StateError> {
        if self.rest.len() < n {
            return Err(StateError::Truncated {
                needed: n,
                left: self.rest.len(),
            });
        }
        let (head, tail) = self.rest.split_at(n);
        self.rest = tail;
        Ok(head)
    }

    /// Reads an unsigned integer.
    pub fn u64(&mut self) -> Result<u64, StateError> {
        let mut b = [0u8; 8];
        b.copy_from_slice(self.take(8)?);
        Ok(u64::from_le_bytes(b))
    }

    /// Reads a float, bit for bit.
    pub fn f64(&mut self) -> Result<f64, StateError> {
        Ok(f64::from_bits(self.u64()?))
    }

    /// Reads a length that must fit in the bytes left (`unit` bytes per element), so a corrupt
    /// length cannot make the reader allocate more than the checkpoint's own size.
    fn len(&mut self, unit: usize) -> Result<usize, StateError> {
        let n = self.u64()?;
        let left = self.rest.len();
        match usize::try_from(n) {
            Ok(n) if n.checked_mul(unit).is_some_and(|b| b <= left) => Ok(n),
            _ => Err(StateError::Truncated {
                needed: usize::try_from(n)
                    .unwrap_or(usize::MAX)
                    .saturating_mul(unit),
                left,
            }),
        }
    }

    /// Reads a length-prefixed list of floats.
    pub fn f64s(&mut self) -> Result<Vec<f64>, StateError> {
        let n = self.len(8)?;
        (0..n).map(|_| self.f64()).collect()
    }

    /// Reads a length-prefixed UTF-8 string.
    pub fn str(&mut self) -> Result<String, StateError> {
        let n = self.len(1)?;
        let bytes = self.take(n)?;
        String::from_utf8(bytes.to_vec()).map_err(|_| StateError::Invalid {
            field: "string",
            why: "not UTF-8",
        })
    }

    /// Reads a bool written by [`StateWriter::bool`].
    pub fn bool(&mut self) -> Result<bool, StateError> {
        match self.take(1)?[0] {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(StateError::Invalid {
                field: "bool",
                why: "neither 0 nor 1",
            }),
        }
    }

    /// Ends reading: an error if bytes are left over (the state was not the one encoded).
    pub fn finish(self) -> Result<(), StateError> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err(StateError::Trailing(self.rest.len()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_float_comes_back_bit_for_bit() {
        let odd = [
            f64::NAN,
            -0.0,
            f64::INFINITY,
            f64::NEG_INFINITY,
            1e-310,
            0.1,
        ];
        let mut w = StateWriter::new();
        w.f64s(&odd);
        w.str("BTC-USD");
        w.bool(true);
        w.u64(u64::MAX);
        let bytes = w.into_bytes();
        let mut r = StateReader::new(&bytes);
        let back = r.f64s().unwrap();
        assert_eq!(
            back.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
            odd.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
        );
        assert_eq!(r.str().unwrap(), "BTC-USD");
        assert!(r.bool().unwrap());
        assert_eq!(r.u64().unwrap(), u64::MAX);
        r.finish().unwrap();
    }

    #[test]
    fn corrupt_lengths_and_leftovers_are_errors_not_allocations() {
        let mut w = StateWriter::new();
        w.u64(u64::MAX / 2); // a list length far beyond the bytes
        let bytes = w.into_bytes();
        assert!(matches!(
            StateReader::new(&bytes).f64s(),
            Err(StateError::Truncated { .. })
        ));
        let mut r = StateReader::new(&[0, 0, 0]);
        assert!(r.u64().is_err());
        let r = StateReader::new(&[1]);
        assert_eq!(r.finish(), Err(StateError::Trailing(1)));
    }
}
