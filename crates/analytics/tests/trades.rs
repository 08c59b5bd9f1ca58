//! Hand-checked FIFO round trips and trade statistics (docs/statistics.md §6).

use zigquant_analytics::trades::*;

#[track_caller]
fn assert_close(actual: f64, expected: f64) {
    assert!(
        (actual - expected).abs() <= 1e-9 * expected.abs().max(1.0),
        "got {actual}, want {expected}"
    );
}

fn fill(side: Side, qty: f64, price: f64, fee: f64, time_ms: i64) -> Fill {
    Fill {
        side,
        qty,
        price,
        fee,
        time_ms,
    }
}

#[test]
fn long_round_trip_charges_both_fees() {
    let mut book = FifoBook::new();
    assert!(book.apply(&fill(Side::Buy, 2.0, 100.0, 0.2, 1)).is_empty());
    assert_eq!(book.position(), 2.0);
    assert_close(book.open_entry_fees(), 0.2);
    assert_eq!(book.avg_entry_price(), Some(100.0));
    // unrealized at 105: 2 · 5 = 10 (gross)
    assert_close(book.unrealized_pnl(105.0), 10.0);
    let t = book.apply(&fill(Side::Sell, 2.0, 110.0, 0.22, 2));
    // gross = 2 · (110 - 100) = 20; fees = 0.2 + 0.22 = 0.42 → 19.58
    assert_eq!(t.len(), 1);
    assert_eq!(t[0].direction, Direction::Long);
    assert_eq!((t[0].entry_time_ms, t[0].exit_time_ms), (1, 2));
    assert_eq!((t[0].entry_price, t[0].exit_price), (100.0, 110.0));
    assert_close(t[0].fees, 0.42);
    assert_close(t[0].realized_pnl, 19.58);
    assert_eq!(book.position(), 0.0);
    assert!(book.position().is_sign_positive());
    assert_eq!(book.avg_entry_price(), None);
    assert_eq!(book.open_entry_fees(), 0.0);
}

#[test]
fn short_round_trip_profits_when_price_falls() {
    let mut book = FifoBook::new();
    book.apply(&fill(Side::Sell, 1.0, 100.0, 1.0, 1));
    assert_eq!(book.position(), -1.0);
    // unrealized at 90: -1 · 1 · (90 - 100) = 10
    assert_close(book.unrealized_pnl(90.0), 10.0);
    let t = book.apply(&fill(Side::Buy, 1.0, 90.0, 0.9, 2));
    // gross = -1 · 1 · (90 - 100) = 10; fees 1.9 → 8.1
    assert_eq!(t[0].direction, Direction::Short);
    assert_close(t[0].realized_pnl, 8.1);
}

#[test]
fn partial_close_is_its_own_trade_with_pro_rata_fees() {
    let mut book = FifoBook::new();
    book.apply(&fill(Side::Buy, 2.0, 100.0, 2.0, 1));
    let t = book.apply(&fill(Side::Sell, 1.0, 110.0, 1.0, 2));
    // closes 1 of 2: entry fee share 2 · 1/2 = 1, exit fee 1 → pnl = 10 - 2 = 8
    assert_eq!(t.len(), 1);
    assert_eq!(t[0].qty, 1.0);
    assert_close(t[0].fees, 2.0);
    assert_close(t[0].realized_pnl, 8.0);
    assert_eq!(book.position(), 1.0);
    assert_close(book.open_entry_fees(), 1.0);
    let t = book.apply(&fill(Side::Sell, 1.0, 120.0, 1.0, 3));
    // the rest: 20 - (1 + 1) = 18
    assert_close(t[0].realized_pnl, 18.0);
    assert_eq!(t[0].entry_time_ms, 1);
}

#[test]
fn exits_close_the_oldest_lots_first() {
    let mut book = FifoBook::new();
    book.apply(&fill(Side::Buy, 1.0, 100.0, 0.0, 1));
    book.apply(&fill(Side::Buy, 1.0, 120.0, 0.0, 2));
    assert_eq!(book.avg_entry_price(), Some(110.0));
    let t = book.apply(&fill(Side::Sell, 1.0, 130.0, 0.0, 3));
    // FIFO: the lot bought at 100 closes: 30
    assert_close(t[0].realized_pnl, 30.0);
    assert_eq!(book.avg_entry_price(), Some(120.0));
    // one exit spanning two lots makes two trades
    book.apply(&fill(Side::Buy, 1.0, 125.0, 0.0, 4));
    let t = book.apply(&fill(Side::Sell, 2.0, 130.0, 0.0, 5));
    assert_eq!(t.len(), 2);
    assert_close(t[0].realized_pnl, 10.0);
    assert_close(t[1].realized_pnl, 5.0);
    assert!(book.is_flat());
}

#[test]
fn oversized_exit_flips_the_position_and_splits_the_fee() {
    let mut book = FifoBook::new();
    book.apply(&fill(Side::Buy, 1.0, 100.0, 1.0, 1));
    let t = book.apply(&fill(Side::Sell, 3.0, 90.0, 3.0, 2));
    // closing part: 1 of 3 units → exit fee 1; pnl = -10 - (1 + 1) = -12
    assert_eq!(t.len(), 1);
    assert_close(t[0].realized_pnl, -12.0);
    // opening part: short 2 @ 90 carrying the other 2 of the fee
    assert_eq!(book.position(), -2.0);
    assert_close(book.open_entry_fees(), 2.0);
    assert_eq!(book.avg_entry_price(), Some(90.0));
    assert_close(book.unrealized_pnl(80.0), 20.0);
}

#[test]
fn float_dust_does_not_leave_a_phantom_lot() {
    let mut book = FifoBook::new();
    book.apply(&fill(Side::Buy, 0.1, 100.0, 0.0, 1));
    book.apply(&fill(Side::Buy, 0.2, 100.0, 0.0, 2));
    // 0.3 - 0.1 = 0.19999999999999998 < 0.2: treated as the whole lot.
    let t = book.apply(&fill(Side::Sell, 0.3, 100.0, 0.0, 3));
    assert_eq!(t.len(), 2);
    assert!(book.is_flat());
    assert_eq!(book.position(), 0.0);
}

#[test]
fn invalid_fills_are_ignored() {
    let mut book = FifoBook::new();
    assert!(book.apply(&fill(Side::Buy, 0.0, 100.0, 0.0, 1)).is_empty());
    assert!(book
        .apply(&fill(Side::Buy, f64::NAN, 100.0, 0.0, 1))
        .is_empty());
    assert!(book.is_flat());
}

#[test]
fn trade_stats_count_breakevens_as_closed_not_won() {
    let mut stats = TradeStats::default();
    assert!(stats.win_rate().is_nan());
    assert_eq!(stats.total_realized_pnl(), 0.0);
    let mk = |pnl: f64, fees: f64| ClosedTrade {
        direction: Direction::Long,
        qty: 1.0,
        entry_time_ms: 0,
        entry_price: 1.0,
        exit_time_ms: 1,
        exit_price: 1.0,
        fees,
        realized_pnl: pnl,
    };
    for (pnl, fees) in [(5.0, 0.5), (-2.0, 0.5), (0.0, 1.0), (1.0, 0.0)] {
        stats.record(&mk(pnl, fees));
    }
    assert_eq!(
        (
            stats.closed(),
            stats.wins(),
            stats.losses(),
            stats.breakevens()
        ),
        (4, 2, 1, 1)
    );
    // 2 wins / 4 closed
    assert_eq!(stats.win_rate(), 0.5);
    assert_close(stats.total_realized_pnl(), 4.0);
    assert_close(stats.total_fees(), 2.0);
}

#[test]
fn win_rate_of_pnls() {
    assert!(win_rate(&[]).is_nan());
    // 1 win / 3 closed (the breakeven is in the denominator)
    assert_eq!(win_rate(&[1.0, -1.0, 0.0]), 1.0 / 3.0);
    assert_eq!(win_rate(&[0.0, 0.0]), 0.0);
    assert_eq!(win_rate(&[f64::NAN, 2.0]), 1.0);
}
