//! Bounded label values: the reason the number of series cannot grow with hostile input.

use std::collections::HashMap;

use crate::hash::FxBuild;
use crate::MetricsError;

/// The closed set of values one label may take, plus the fallback every other value maps to.
///
/// A route, strategy or pair that is not in the set becomes the fallback (`"other"`,
/// `"unmatched"`, ...), so a family's series count is at most the product of its domains' sizes.
#[derive(Clone, Debug)]
pub struct LabelDomain {
    name: Box<str>,
    values: Vec<Box<str>>,
    index: HashMap<Box<str>, u32, FxBuild>,
    fallback: u32,
}

/// Is `name` a valid Prometheus label name we may use (`[a-zA-Z_][a-zA-Z0-9_]*`, not `le`,
/// not reserved `__`)?
pub(crate) fn valid_label_name(name: &str) -> bool {
    let mut chars = name.chars();
    let first_ok = matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_');
    first_ok
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && name != "le"
        && !name.starts_with("__")
}

impl LabelDomain {
    /// A domain for label `name` with the `allowed` values; anything else maps to `fallback`
    /// (which is added to the set if absent). Duplicates are ignored. An invalid label name is
    /// sanitized (invalid characters become `_`); use [`LabelDomain::try_new`] to reject it.
    pub fn new(
        name: &str,
        allowed: impl IntoIterator<Item = impl Into<String>>,
        fallback: &str,
    ) -> Self {
        let mut clean: String = name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        if !valid_label_name(&clean) {
            clean.insert_str(0, "l_");
        }
        Self::build(clean, allowed, fallback)
    }

    /// Like [`LabelDomain::new`] but rejects an invalid label name.
    pub fn try_new(
        name: &str,
        allowed: impl IntoIterator<Item = impl Into<String>>,
        fallback: &str,
    ) -> Result<Self, MetricsError> {
        if !valid_label_name(name) {
            return Err(MetricsError::InvalidLabelName(name.to_owned()));
        }
        Ok(Self::build(name.to_owned(), allowed, fallback))
    }

    fn build(
        name: String,
        allowed: impl IntoIterator<Item = impl Into<String>>,
        fallback: &str,
    ) -> Self {
        let mut d = Self {
            name: name.into(),
            values: Vec::new(),
            index: HashMap::default(),
            fallback: 0,
        };
        for v in allowed {
            d.insert(v.into());
        }
        d.fallback = d.insert(fallback.to_owned());
        d
    }

    fn insert(&mut self, v: String) -> u32 {
        if let Some(&i) = self.index.get(v.as_str()) {
            return i;
        }
        let i = self.values.len() as u32;
        let v: Box<str> = v.into();
        self.values.push(v.clone());
        self.index.insert(v, i);
        i
    }

    /// The label name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The value a string maps to (itself if allowed, else the fallback).
    pub fn resolve<'a>(&'a self, value: &str) -> &'a str {
        &self.values[self.index_of(value) as usize]
    }

    /// The fallback value.
    pub fn fallback(&self) -> &str {
        &self.values[self.fallback as usize]
    }

    /// Number of distinct values, fallback included: the most series this label can split into.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Never true (the fallback is always a member); here because clippy expects it beside `len`.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// All values, fallback included.
    pub fn values(&self) -> impl Iterator<Item = &str> {
        self.values.iter().map(|v| &**v)
    }

    #[inline]
    pub(crate) fn index_of(&self, value: &str) -> u32 {
        self.index.get(value).copied().unwrap_or(self.fallback)
    }

    #[inline]
    pub(crate) fn fallback_index(&self) -> u32 {
        self.fallback
    }

    pub(crate) fn value_at(&self, i: u32) -> &str {
        &self.values[i as usize]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_values_map_to_fallback() {
        let d = LabelDomain::new("side", ["buy", "sell"], "other");
        assert_eq!(d.resolve("buy"), "buy");
        assert_eq!(d.resolve("BUY"), "other");
        assert_eq!(d.len(), 3);
    }

    #[test]
    fn names_are_checked_or_sanitized() {
        assert!(LabelDomain::try_new("bad-name", ["a"], "x").is_err());
        assert!(LabelDomain::try_new("le", ["a"], "x").is_err());
        assert_eq!(LabelDomain::new("bad-name", ["a"], "x").name(), "bad_name");
        assert_eq!(LabelDomain::new("9", ["a"], "x").name(), "l_9");
    }
}
