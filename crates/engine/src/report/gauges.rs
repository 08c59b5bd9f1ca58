//! The gauge-shaped events (positions, per-strategy and portfolio statistics), built from state
//! in one place whichever step of the simulation reports them.

use super::events::EngineEvent;
use crate::state::portfolio::Portfolio;
use crate::state::stats::StrategyStats;

/// Net position and unrealized PnL of `pair` (a size within 1e-12 of 0 is reported as 0).
pub fn position(portfolio: &Portfolio, pair: &str) -> EngineEvent {
    let size = portfolio.net_position(pair);
    EngineEvent::Position {
        pair: pair.to_string(),
        size: if size.abs() < 1e-12 { 0.0 } else { size },
        unrealized_pnl: portfolio.pair_unrealized(pair),
    }
}

/// How many of `pairs` have a non-zero net position.
pub fn position_count<'a>(
    portfolio: &Portfolio,
    pairs: impl Iterator<Item = &'a str>,
) -> EngineEvent {
    EngineEvent::PositionCount(
        pairs
            .filter(|p| portfolio.net_position(p).abs() >= 1e-12)
            .count(),
    )
}

/// The statistics event of strategy `name`.
pub fn strategy_stats(name: &str, s: StrategyStats) -> EngineEvent {
    EngineEvent::StrategyStats {
        strategy: name.to_string(),
        realized_pnl_by_pair: s.realized_pnl_by_pair,
        win_rate: s.win_rate,
        sharpe: s.sharpe,
        calmar: s.calmar,
        equity: s.equity,
    }
}

/// Portfolio equity and its risk statistics.
pub fn portfolio_stats(portfolio: &Portfolio) -> EngineEvent {
    let s = &portfolio.equity_stats;
    EngineEvent::PortfolioStats {
        equity: portfolio.equity(),
        max_drawdown: s.max_drawdown(),
        var_95: s.var_95(),
        cvar_95: s.cvar_95(),
    }
}
