//! The accounting state as a checkpoint: every account (cash, fees, FIFO books, realized PnL
//! per pair, trade statistics, the running statistics of its equity curve) and the portfolio's
//! running statistics, encoded bit for bit (`zigquant_analytics::checkpoint`). Restoring it and
//! replaying the fills and equity samples journaled after it gives exactly the state a replay
//! of the whole history would, in time independent of the history's length. The rolling VaR
//! window is not in it: it is rebuilt from the last `var_window + 1` portfolio samples.

use std::collections::BTreeMap;

use zigquant_analytics::checkpoint::{StateError, StateReader, StateWriter};
use zigquant_analytics::live::{EquityCurve, EquityStats};
use zigquant_analytics::rolling::RollingVar;
use zigquant_analytics::trades::{FifoBook, TradeStats};

use super::portfolio::{Account, Portfolio};

/// Version of the encoding below; a checkpoint of another version is ignored (the journal is
/// replayed instead), so a format change never misreads an old file.
pub const CHECKPOINT_VERSION: u32 = 1;

/// What a checkpoint restores besides the portfolio.
#[derive(Clone, Debug, PartialEq)]
pub struct Restored {
    /// Fills journaled up to the checkpoint.
    pub fills: u64,
}

/// Encodes the portfolio's accounts and running statistics and the fill count.
pub fn encode(portfolio: &Portfolio, fills: u64) -> Vec<u8> {
    let mut w = StateWriter::new();
    w.u64(fills);
    portfolio.equity_stats.curve().encode(&mut w);
    w.u64(portfolio.accounts.len() as u64);
    for (name, a) in &portfolio.accounts {
        w.str(name);
        w.f64(a.initial_cash);
        w.f64(a.cash);
        w.f64(a.fees_paid);
        a.trades.encode(&mut w);
        a.equity_stats.encode(&mut w);
        w.u64(a.books.len() as u64);
        for (pair, book) in &a.books {
            w.str(pair);
            book.encode(&mut w);
        }
        w.u64(a.realized_by_pair.len() as u64);
        for (pair, pnl) in &a.realized_by_pair {
            w.str(pair);
            w.f64(*pnl);
        }
    }
    w.into_bytes()
}

/// Restores `portfolio`'s accounts and running statistics from `bytes` (accounts the
/// checkpoint holds replace the fresh ones; configured accounts it lacks stay fresh), with an
/// empty VaR window of `var_window` returns for the caller to refill.
pub fn decode_into(
    bytes: &[u8],
    portfolio: &mut Portfolio,
    var_window: usize,
) -> Result<Restored, StateError> {
    let mut r = StateReader::new(bytes);
    let fills = r.u64()?;
    let curve = EquityCurve::decode(&mut r)?;
    let n = r.u64()?;
    let mut accounts = BTreeMap::new();
    for _ in 0..n {
        let name = r.str()?;
        let initial_cash = r.f64()?;
        let cash = r.f64()?;
        let fees_paid = r.f64()?;
        let trades = TradeStats::decode(&mut r)?;
        let equity_stats = EquityCurve::decode(&mut r)?;
        let mut books = BTreeMap::new();
        for _ in 0..r.u64()? {
            let pair = r.str()?;
            books.insert(pair, FifoBook::decode(&mut r)?);
        }
        let mut realized_by_pair = BTreeMap::new();
        for _ in 0..r.u64()? {
            let pair = r.str()?;
            realized_by_pair.insert(pair, r.f64()?);
        }
        accounts.insert(
            name,
            Account {
                initial_cash,
                cash,
                books,
                realized_by_pair,
                trades,
                equity_stats,
                fees_paid,
            },
        );
    }
    r.finish()?;
    portfolio.accounts.extend(accounts);
    portfolio.equity_stats = EquityStats::from_parts(curve, RollingVar::new(var_window));
    Ok(Restored { fills })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::orders::OrderSide;

    #[test]
    fn a_decoded_portfolio_is_the_encoded_one() {
        let names = vec!["a".to_string(), "b".to_string()];
        let mut p = Portfolio::new(&names, 1000.0, 365.0, 50);
        if let Some(a) = p.accounts.get_mut("a") {
            a.apply_fill("X", OrderSide::Buy, 2.0, 10.0, 0.02, 0);
            a.apply_fill("X", OrderSide::Sell, 1.0, 11.0, 0.011, 1);
            for e in [1000.0, 1001.5, 998.0] {
                a.equity_stats.push(e);
            }
        }
        for e in [2000.0, 2003.0, f64::NAN, 1990.0] {
            p.equity_stats.push(e);
        }
        let bytes = encode(&p, 7);
        let mut q = Portfolio::new(&names, 1000.0, 365.0, 50);
        let restored = decode_into(&bytes, &mut q, 50).unwrap();
        assert_eq!(restored.fills, 7);
        assert_eq!(encode(&q, 7), bytes);
        let (a, b) = (&p.accounts["a"], &q.accounts["a"]);
        assert_eq!(a.books, b.books);
        assert_eq!(a.trades, b.trades);
        assert_eq!(a.cash.to_bits(), b.cash.to_bits());
        assert_eq!(
            a.equity_stats.sharpe().to_bits(),
            b.equity_stats.sharpe().to_bits()
        );
        assert!(decode_into(&bytes[..bytes.len() - 1], &mut q, 50).is_err());
    }
}
