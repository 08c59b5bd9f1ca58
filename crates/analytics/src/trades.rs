//! Trade-level bookkeeping and statistics (docs/statistics.md §6): FIFO round trips as
//! backtesting.py forms them, realized PnL net of fees, and the win rate.

use std::collections::VecDeque;

use crate::checkpoint::{StateError, StateReader, StateWriter};

/// The side of a fill.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Side {
    /// Buys base (adds to a long or reduces a short).
    Buy,
    /// Sells base (reduces a long or adds to a short).
    Sell,
}

impl Side {
    /// `+1.0` for a buy, `-1.0` for a sell.
    pub fn sign(self) -> f64 {
        match self {
            Side::Buy => 1.0,
            Side::Sell => -1.0,
        }
    }
}

/// The direction of a position or a round-trip trade.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Bought first, sold to close: profits when the price rises.
    Long,
    /// Sold first, bought to close: profits when the price falls.
    Short,
}

impl Direction {
    /// `+1.0` for long, `-1.0` for short (the `s` of §6).
    pub fn sign(self) -> f64 {
        match self {
            Direction::Long => 1.0,
            Direction::Short => -1.0,
        }
    }

    fn of(side: Side) -> Self {
        match side {
            Side::Buy => Direction::Long,
            Side::Sell => Direction::Short,
        }
    }
}

/// One execution: what the book needs to know about a fill.
#[derive(Clone, Debug, PartialEq)]
pub struct Fill {
    /// Buy or sell.
    pub side: Side,
    /// Base quantity, > 0.
    pub qty: f64,
    /// Fill price, quote per base.
    pub price: f64,
    /// Fee paid on this fill, quote currency (≥ 0).
    pub fee: f64,
    /// Fill time, Unix milliseconds.
    pub time_ms: i64,
}

/// A closed round trip: the units of one entry matched with (part of) one exit.
#[derive(Clone, Debug, PartialEq)]
pub struct ClosedTrade {
    /// Long or short.
    pub direction: Direction,
    /// Base quantity closed, > 0.
    pub qty: f64,
    /// Time of the entry fill, Unix milliseconds.
    pub entry_time_ms: i64,
    /// Entry fill price.
    pub entry_price: f64,
    /// Time of the exit fill, Unix milliseconds.
    pub exit_time_ms: i64,
    /// Exit fill price.
    pub exit_price: f64,
    /// Entry and exit fees attributed to these units (pro rata by quantity).
    pub fees: f64,
    /// `s * qty * (exit - entry) - fees` (§6).
    pub realized_pnl: f64,
}

/// An open lot: the still-open part of one entry fill (public so a checkpoint can hold a book).
#[derive(Clone, Debug, PartialEq)]
pub struct OpenLot {
    /// Long or short.
    pub direction: Direction,
    /// Base quantity still open, > 0.
    pub qty: f64,
    /// Entry fill price.
    pub price: f64,
    /// Entry fee already paid on `qty` (the remaining share of the entry fill's fee).
    pub fee: f64,
    /// Time of the entry fill, Unix milliseconds.
    pub time_ms: i64,
}

/// Quantities within this relative distance are treated as equal when matching lots, so float
/// dust (`0.3 - 0.1 - 0.2`) never leaves a phantom lot open.
const QTY_EPS: f64 = 1e-12;

/// FIFO position book for one instrument: turns fills into closed round trips.
///
/// An exit closes the oldest opposite lots first; a partial close is its own trade; an exit
/// larger than the position closes it all and opens the rest in the other direction. Each fill's
/// fee is split pro rata by quantity between the part that closes and the part that opens.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FifoBook {
    lots: VecDeque<OpenLot>,
}

impl FifoBook {
    /// An empty (flat) book.
    pub fn new() -> Self {
        Self::default()
    }

    /// The open lots, oldest first (the next exit closes the first).
    pub fn open_lots(&self) -> impl ExactSizeIterator<Item = &OpenLot> {
        self.lots.iter()
    }

    /// A book holding `lots` (oldest first), as [`FifoBook::open_lots`] listed them.
    pub fn from_open_lots(lots: Vec<OpenLot>) -> Self {
        Self { lots: lots.into() }
    }

    /// Appends the open lots to a checkpoint.
    pub fn encode(&self, w: &mut StateWriter) {
        w.u64(self.lots.len() as u64);
        for l in &self.lots {
            w.bool(l.direction == Direction::Long);
            w.f64(l.qty);
            w.f64(l.price);
            w.f64(l.fee);
            w.u64(l.time_ms as u64);
        }
    }

    /// Reads a book written by [`FifoBook::encode`].
    pub fn decode(r: &mut StateReader<'_>) -> Result<Self, StateError> {
        let n = r.u64()?;
        let mut lots = VecDeque::new();
        for _ in 0..n {
            lots.push_back(OpenLot {
                direction: if r.bool()? {
                    Direction::Long
                } else {
                    Direction::Short
                },
                qty: r.f64()?,
                price: r.f64()?,
                fee: r.f64()?,
                time_ms: r.u64()? as i64,
            });
        }
        Ok(Self { lots })
    }

    /// Applies one fill and returns the trades it closed (in FIFO order, possibly none).
    /// A fill with a non-positive or non-finite quantity is ignored.
    pub fn apply(&mut self, fill: &Fill) -> Vec<ClosedTrade> {
        let mut closed = Vec::new();
        if !(fill.qty.is_finite() && fill.qty > 0.0) {
            return closed;
        }
        let dir = Direction::of(fill.side);
        let mut remaining = fill.qty;
        let mut exit_fee_used = 0.0;
        while remaining > 0.0 {
            let Some(lot) = self.lots.front_mut() else {
                break;
            };
            if lot.direction == dir {
                break;
            }
            let full = lot.qty <= remaining * (1.0 + QTY_EPS);
            let (qty, entry_fee) = if full {
                (lot.qty, lot.fee)
            } else {
                (remaining, lot.fee * remaining / lot.qty)
            };
            let exit_fee = fill.fee * qty / fill.qty;
            exit_fee_used += exit_fee;
            let fees = entry_fee + exit_fee;
            let s = lot.direction.sign();
            closed.push(ClosedTrade {
                direction: lot.direction,
                qty,
                entry_time_ms: lot.time_ms,
                entry_price: lot.price,
                exit_time_ms: fill.time_ms,
                exit_price: fill.price,
                fees,
                realized_pnl: s * qty * (fill.price - lot.price) - fees,
            });
            if full {
                self.lots.pop_front();
                remaining -= qty;
                if remaining <= fill.qty * QTY_EPS {
                    remaining = 0.0;
                }
            } else {
                lot.qty -= qty;
                lot.fee -= entry_fee;
                remaining = 0.0;
            }
        }
        if remaining > 0.0 {
            self.lots.push_back(OpenLot {
                direction: dir,
                qty: remaining,
                price: fill.price,
                // The opening part pays the rest of the fill's fee (so fees add up exactly).
                fee: if exit_fee_used == 0.0 {
                    fill.fee
                } else {
                    fill.fee - exit_fee_used
                },
                time_ms: fill.time_ms,
            });
        }
        closed
    }

    /// Signed base position: positive long, negative short, `0.0` flat.
    pub fn position(&self) -> f64 {
        no_neg_zero(
            self.lots
                .iter()
                .map(|l| l.direction.sign() * l.qty)
                .sum::<f64>(),
        )
    }

    /// Gross unrealized PnL of the open lots marked at `mark` (fees not deducted).
    pub fn unrealized_pnl(&self, mark: f64) -> f64 {
        no_neg_zero(
            self.lots
                .iter()
                .map(|l| l.direction.sign() * l.qty * (mark - l.price))
                .sum::<f64>(),
        )
    }

    /// Entry fees already paid on the still-open quantity; mark-to-market equity subtracts them
    /// (§9) because realized PnL only charges them when the trade closes.
    pub fn open_entry_fees(&self) -> f64 {
        self.lots.iter().map(|l| l.fee).sum::<f64>()
    }

    /// Quantity-weighted average entry price of the open lots, `None` when flat.
    pub fn avg_entry_price(&self) -> Option<f64> {
        let qty: f64 = self.lots.iter().map(|l| l.qty).sum();
        if self.lots.is_empty() || qty <= 0.0 {
            return None;
        }
        Some(self.lots.iter().map(|l| l.qty * l.price).sum::<f64>() / qty)
    }

    /// Whether no lot is open.
    pub fn is_flat(&self) -> bool {
        self.lots.is_empty()
    }
}

/// Running trade statistics over closed round trips (§6): counts, win rate, realized PnL, fees.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TradeStats {
    closed: u64,
    wins: u64,
    losses: u64,
    breakevens: u64,
    total_realized_pnl: f64,
    total_fees: f64,
}

impl TradeStats {
    /// Records one closed trade. A trade whose PnL is NaN cannot be classified and is ignored.
    pub fn record(&mut self, t: &ClosedTrade) {
        if t.realized_pnl.is_nan() {
            return;
        }
        self.record_pnl(t.realized_pnl);
        self.total_fees += t.fees;
    }

    fn record_pnl(&mut self, pnl: f64) {
        self.closed += 1;
        if pnl > 0.0 {
            self.wins += 1;
        } else if pnl < 0.0 {
            self.losses += 1;
        } else {
            self.breakevens += 1;
        }
        self.total_realized_pnl += pnl;
    }

    /// Appends the statistics to a checkpoint (restored bit for bit by [`TradeStats::decode`]).
    pub fn encode(&self, w: &mut StateWriter) {
        for v in [self.closed, self.wins, self.losses, self.breakevens] {
            w.u64(v);
        }
        w.f64(self.total_realized_pnl);
        w.f64(self.total_fees);
    }

    /// Reads statistics written by [`TradeStats::encode`].
    pub fn decode(r: &mut StateReader<'_>) -> Result<Self, StateError> {
        let s = Self {
            closed: r.u64()?,
            wins: r.u64()?,
            losses: r.u64()?,
            breakevens: r.u64()?,
            total_realized_pnl: r.f64()?,
            total_fees: r.f64()?,
        };
        let sum = s
            .wins
            .checked_add(s.losses)
            .and_then(|v| v.checked_add(s.breakevens));
        if sum != Some(s.closed) {
            return Err(StateError::Invalid {
                field: "trade counts",
                why: "wins + losses + breakevens != closed",
            });
        }
        Ok(s)
    }

    /// Closed round trips recorded.
    pub fn closed(&self) -> u64 {
        self.closed
    }

    /// Trades with realized PnL > 0 (net of fees).
    pub fn wins(&self) -> u64 {
        self.wins
    }

    /// Trades with realized PnL < 0.
    pub fn losses(&self) -> u64 {
        self.losses
    }

    /// Trades with realized PnL exactly 0 (closed, but not winning).
    pub fn breakevens(&self) -> u64 {
        self.breakevens
    }

    /// `wins / closed` as a fraction; NaN when no trade has closed.
    pub fn win_rate(&self) -> f64 {
        if self.closed == 0 {
            f64::NAN
        } else {
            self.wins as f64 / self.closed as f64
        }
    }

    /// Σ realized PnL, net of fees (`0.0` when none).
    pub fn total_realized_pnl(&self) -> f64 {
        no_neg_zero(self.total_realized_pnl)
    }

    /// Σ fees of the closed trades (entry and exit).
    pub fn total_fees(&self) -> f64 {
        no_neg_zero(self.total_fees)
    }
}

/// Win rate of closed trades given their realized PnL (§6): `wins / closed`, breakevens count
/// as closed but not winning; NaN when there are none (NaN PnL values are ignored).
pub fn win_rate(realized_pnls: &[f64]) -> f64 {
    let mut stats = TradeStats::default();
    for p in realized_pnls.iter().filter(|p| !p.is_nan()) {
        stats.record_pnl(*p);
    }
    stats.win_rate()
}

fn no_neg_zero(v: f64) -> f64 {
    crate::returns::no_neg_zero(v)
}
