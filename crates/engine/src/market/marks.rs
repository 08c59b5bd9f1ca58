//! Last prices, keyed by `(venue, pair)` so two venues quoting one pair never overwrite each
//! other. Fills and pre-trade checks read the venue's own mark; valuation (equity, unrealized
//! PnL) reads the pair's latest mark from any venue.

use std::collections::BTreeMap;

use crate::domain::ids::{PairId, VenueId};

/// See the module header.
#[derive(Clone, Debug, Default)]
pub struct Marks {
    /// Venue, then pair: a lookup borrows the ids instead of building an owned key.
    by_venue: BTreeMap<VenueId, BTreeMap<PairId, f64>>,
    /// The latest price of each pair from any venue, keyed by pair name (what accounts value
    /// positions at).
    valuation: BTreeMap<String, f64>,
}

impl Marks {
    /// Records a price of `pair` on `venue` (every bar, every venue: the ids are cloned only
    /// the first time a venue quotes a pair).
    pub fn set(&mut self, venue: &VenueId, pair: &PairId, price: f64) {
        match self.by_venue.get_mut(venue) {
            Some(pairs) => match pairs.get_mut(pair) {
                Some(p) => *p = price,
                None => {
                    pairs.insert(pair.clone(), price);
                }
            },
            None => {
                self.by_venue
                    .insert(venue.clone(), BTreeMap::from([(pair.clone(), price)]));
            }
        }
        match self.valuation.get_mut(pair.as_str()) {
            Some(p) => *p = price,
            None => {
                self.valuation.insert(pair.as_str().to_string(), price);
            }
        }
    }

    /// The last price of `pair` on `venue`.
    pub fn get(&self, venue: &VenueId, pair: &PairId) -> Option<f64> {
        self.by_venue.get(venue)?.get(pair).copied()
    }

    /// The latest price of `pair` from any venue.
    pub fn pair(&self, pair: &str) -> Option<f64> {
        self.valuation.get(pair).copied()
    }

    /// Latest price per pair name: what positions are valued at.
    pub fn valuation(&self) -> &BTreeMap<String, f64> {
        &self.valuation
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_venues_keep_their_own_mark_of_one_pair() {
        let mut m = Marks::default();
        let (a, b, p) = (VenueId::from("a"), VenueId::from("b"), PairId::from("X"));
        m.set(&a, &p, 10.0);
        m.set(&b, &p, 11.0);
        assert_eq!(m.get(&a, &p), Some(10.0));
        assert_eq!(m.get(&b, &p), Some(11.0));
        assert_eq!(m.pair("X"), Some(11.0));
    }
}
