//! Building a simulation from its configuration and its journal: every position, statistic,
//! open order, strategy run state and indicator as it was, so a restart continues the run.

use std::collections::BTreeMap;
use std::sync::Arc;

use zigquant_analytics::live::EquityStats;
use zigquant_analytics::rolling::RollingVar;

use super::{Ev, EventQueue, Logic, PairState, Simulation, Slot, Totals};
use crate::config::{EngineConfig, MANUAL_STRATEGY};
use crate::domain::ids::{PairId, VenueId};
use crate::error::EngineError;
use crate::execution::PaperExchange;
use crate::journal::{Journal, JournalError, PORTFOLIO_SCOPE};
use crate::market::feed::Feed;
use crate::report::events::{EngineEvent, EventSink};
use crate::risk::RiskMonitor;
use crate::state::checkpoint::{self, CHECKPOINT_VERSION};
use crate::state::portfolio::{Account, Portfolio};
use crate::strategy::reconcile::Execution;
use crate::strategy::{registry, Ctx, NoiseTrader};

impl Simulation {
    /// Builds the simulation for `cfg` (already validated) on `journal`, restoring everything
    /// the journal holds, and reports `Restored` and the current gauges to `sink`.
    pub fn restore(
        mut cfg: EngineConfig,
        journal: Journal,
        sink: Arc<dyn EventSink>,
    ) -> Result<Self, EngineError> {
        // A venue some pair takes live prices from: its link is the real connection
        // (docs/live.md), so no simulated outage applies to it.
        let live = cfg.live_venues();
        for x in cfg
            .exchanges
            .iter_mut()
            .filter(|x| live.contains(&x.name.as_str()))
        {
            x.disconnect.clear();
            x.disconnect_rate_per_hour = 0.0;
        }
        let mut pairs = Vec::new();
        for p in &cfg.pairs {
            let feed = Feed::new(
                p,
                cfg.seed,
                cfg.feed.bar_interval_secs,
                cfg.feed.start_time_ms,
            )?;
            pairs.push(PairState {
                id: PairId::new(p.name.clone()),
                min_qty: p.min_qty,
                source: Box::new(feed),
                last_bar_wall_ms: None,
            });
        }
        let slots = build_slots(&cfg, &journal)?;
        Self::from_parts(cfg, journal, sink, pairs, slots).map_err(EngineError::from)
    }

    fn from_parts(
        cfg: EngineConfig,
        journal: Journal,
        sink: Arc<dyn EventSink>,
        mut pairs: Vec<PairState>,
        mut slots: Vec<Slot>,
    ) -> Result<Self, JournalError> {
        let interval_ms = (cfg.feed.bar_interval_secs * 1000.0).round().max(1.0) as i64;
        let live = cfg.live_venues();
        let mut exchanges: Vec<PaperExchange> = cfg
            .exchanges
            .iter()
            .cloned()
            .map(PaperExchange::new)
            .collect();
        // A live venue is down until its feed reports the link up (no alert: nothing broke).
        for x in exchanges
            .iter_mut()
            .filter(|x| live.contains(&x.cfg.name.as_str()))
        {
            x.link.go_down(cfg.feed.start_time_ms, i64::MAX);
        }
        let names: Vec<String> = slots.iter().map(|s| s.name.clone()).collect();
        let mut portfolio = Portfolio::new(
            &names,
            cfg.initial_cash,
            cfg.periods_per_year,
            cfg.risk.var_window,
        );
        let mut totals = Totals::default();
        restore_accounts(&cfg, &journal, &mut portfolio, &mut totals)?;
        let mut tick = 0;
        for (pair, idx, bar) in journal.last_bars()? {
            if let Some(p) = pairs.iter_mut().find(|p| p.id.as_str() == pair) {
                p.source.resume(idx, bar.close);
                for x in &exchanges {
                    portfolio.marks.set(&x.id, &p.id, bar.close);
                }
                tick = tick.max(idx + 1);
            }
        }
        // A live pair's mark is the close of its latest applied candle, per venue.
        for (p, pc) in pairs.iter().zip(&cfg.pairs) {
            if let Some(venue) = pc.source.live_venue() {
                if let Some(close) = journal.last_pushed_close(venue, p.id.as_str())? {
                    portfolio.marks.set(&VenueId::from(venue), &p.id, close);
                }
            }
        }
        let restored = journal.totals()?;
        for (s, n) in &restored.orders {
            totals.orders.insert(*s, *n);
        }
        for (l, n) in &restored.alerts {
            totals.alerts.insert(*l, *n);
        }
        let mut risk = RiskMonitor::new(cfg.risk.clone());
        risk.restore_drawdown(portfolio.equity_stats.max_drawdown());

        // Warm up indicators on the journaled bars (decisions ignored: they were taken).
        let venues: Vec<_> = exchanges.iter().map(|x| x.id.clone()).collect();
        for slot in &mut slots {
            if let Logic::Rule {
                imp,
                pair: Some(pi),
                ..
            } = &mut slot.logic
            {
                let pair = &pairs[*pi].id;
                let account = portfolio.accounts.get(&slot.name);
                let position = account.map_or(0.0, |a| a.position(pair.as_str()));
                let positions = |p: &PairId| account.map_or(0.0, |a| a.position(p.as_str()));
                let ctx = Ctx {
                    tick,
                    pair,
                    position,
                    market: &[],
                    venues: &venues,
                    positions: &positions,
                };
                for bar in journal.recent_bars(pair.as_str(), cfg.feed.warmup_bars)? {
                    let _ = imp.on_bar(&ctx, &bar);
                }
            }
        }

        // Bar closes already settled (pulled tick `tick - 1` closes at `start + tick ×
        // interval`; a pushed candle at its open + interval): the first close after the restart
        // samples equity only in a later bar period, as it would have without the restart.
        let last_pulled_close =
            (tick > 0).then(|| cfg.feed.start_time_ms + tick as i64 * interval_ms);
        let last_pushed_close = journal.last_pushed_candle_ms()?.map(|t| t + interval_ms);
        let sampled_period = last_pulled_close
            .max(last_pushed_close)
            .map(|close| close.div_euclid(interval_ms));
        let now_ms = if tick == 0 {
            cfg.feed.start_time_ms
        } else {
            cfg.feed.start_time_ms + tick as i64 * interval_ms
        };
        // An all-live run counts its sampled bar periods as ticks (`settle_bar_close`).
        if cfg.all_pairs_live() {
            tick = journal.last_equity_tick()?.map_or(0, |t| t + 1);
        }
        let mut sim = Simulation {
            speed_ms: cfg.market_ms_per_wall_sec(),
            interval_ms,
            sink,
            journal,
            halted: None,
            pairs,
            slots,
            exchanges,
            open: BTreeMap::new(),
            next_order_id: 0,
            portfolio,
            risk,
            queue: EventQueue::default(),
            now_ms,
            tick,
            ticks_run: 0,
            ticking: false,
            sampled_period,
            pending: Vec::new(),
            totals,
            identity_violations: 0,
            wall_ms: 0,
            acting_for: None,
            cfg,
        };
        sim.next_order_id = sim.journal.max_order_id()? + 1;
        for rec in sim.journal.open_orders()? {
            let id = rec.order.id;
            if rec.order.acknowledged_ms.is_none() {
                sim.schedule(rec.arrive_ms.max(now_ms), Ev::Arrive(id));
            } else if let Some(exp) = rec.expire_ms {
                sim.schedule(exp.max(now_ms), Ev::Expire(id));
            }
            sim.open.insert(id, rec);
        }
        let outages: Vec<(usize, crate::config::OutageConfig)> = sim
            .cfg
            .exchanges
            .iter()
            .enumerate()
            .flat_map(|(i, x)| x.disconnect.iter().map(move |o| (i, o.clone())))
            .collect();
        for (i, o) in outages {
            let at = now_ms + (o.at_secs * sim.speed_ms) as i64;
            let until = at + (o.for_secs * sim.speed_ms) as i64;
            sim.schedule(
                at,
                Ev::Disconnect {
                    exchange: i,
                    until_ms: until,
                },
            );
        }
        if sim.feeds_can_continue() {
            sim.ticking = true;
            let t = sim.tick_time(sim.tick);
            sim.schedule(t, Ev::Tick);
        }

        sim.sink.on_event(&EngineEvent::Restored(restored));
        for x in &sim.exchanges {
            sim.sink.on_event(&EngineEvent::ExchangeConnection {
                exchange: x.cfg.name.clone(),
                connected: x.link.connected,
            });
        }
        for s in &sim.slots {
            sim.sink.on_event(&EngineEvent::StrategyState {
                strategy: s.name.clone(),
                running: s.running,
            });
        }
        sim.push_gauges(true);
        sim.flush();
        tracing::info!(
            tick = sim.tick,
            trades = sim.totals.trades,
            open_orders = sim.open.len(),
            "engine restored from journal"
        );
        Ok(sim)
    }
}

/// Every account and statistic as it was: from the checkpoint plus the fills and equity
/// samples journaled after it (a bounded read), or, for a journal without a usable checkpoint,
/// by replaying the whole history. The VaR window is rebuilt from the last `var_window + 1`
/// portfolio samples either way, so its returns are the very ones the live window held.
fn restore_accounts(
    cfg: &EngineConfig,
    journal: &Journal,
    portfolio: &mut Portfolio,
    totals: &mut Totals,
) -> Result<(), JournalError> {
    let window = cfg.risk.var_window;
    let mut from = None;
    if let Some(c) = journal.read_checkpoint()? {
        if c.version != CHECKPOINT_VERSION {
            tracing::warn!(
                version = c.version,
                "journal checkpoint has another version; replaying the whole journal"
            );
        } else {
            match checkpoint::decode_into(&c.state, portfolio, window) {
                Ok(r) => {
                    totals.trades = r.fills;
                    from = Some((c.last_fill_id, c.last_equity_seq));
                }
                Err(e) => {
                    tracing::warn!(error = %e, "journal checkpoint unreadable; replaying the whole journal");
                    let names: Vec<String> = portfolio.accounts.keys().cloned().collect();
                    *portfolio =
                        Portfolio::new(&names, cfg.initial_cash, cfg.periods_per_year, window);
                }
            }
        }
    }
    let (fills, equity) = match from {
        Some((fill_id, seq)) => (journal.fills_after(fill_id)?, journal.equity_after(seq)?),
        None => (journal.all_fills()?, journal.all_equity()?),
    };
    for f in fills {
        let acct = portfolio
            .accounts
            .entry(f.strategy.clone())
            .or_insert_with(|| Account::new(cfg.initial_cash, cfg.periods_per_year));
        acct.apply_fill(&f.pair, f.side, f.qty, f.price, f.fee, f.time_ms);
        totals.trades += 1;
    }
    for (scope, equity) in equity {
        if scope == PORTFOLIO_SCOPE {
            portfolio.equity_stats.push(equity);
        } else if let Some(a) = portfolio.accounts.get_mut(&scope) {
            a.equity_stats.push(equity);
        }
    }
    if from.is_some() {
        let mut tail = RollingVar::new(window);
        for pair in journal.recent_portfolio_equity(window + 1)?.windows(2) {
            tail.push(pair[1] / pair[0] - 1.0);
        }
        let curve = portfolio.equity_stats.curve().clone();
        portfolio.equity_stats = EquityStats::from_parts(curve, tail);
    }
    Ok(())
}

/// One slot per configured strategy (via the registry), the noise trader, and `manual`; run
/// states come from the journal unless the config disables a strategy.
fn build_slots(cfg: &EngineConfig, journal: &Journal) -> Result<Vec<Slot>, JournalError> {
    let states = journal.strategy_states()?;
    let mut slots = Vec::new();
    for s in &cfg.strategies {
        let pair = cfg.pairs.iter().position(|p| p.name == s.pair).unwrap_or(0);
        let exchange = s
            .exchange
            .as_ref()
            .and_then(|x| cfg.exchanges.iter().position(|e| &e.name == x))
            .unwrap_or(0);
        // A config `enabled = false` always wins; otherwise the journaled state does.
        let running = s.enabled && states.get(&s.name).copied().unwrap_or(true);
        slots.push(Slot {
            name: s.name.clone(),
            logic: Logic::Rule {
                imp: registry::build(&s.params),
                pair: Some(pair),
                exchange,
                execution: Some(Execution {
                    style: s.execution,
                    time_in_force_secs: s.time_in_force_secs,
                    limit_offset_bps: s.limit_offset_bps,
                }),
                kind: registry::kind(&s.params),
                params: Some(s.params.clone()),
            },
            running,
        });
    }
    if cfg.noise.enabled {
        slots.push(Slot {
            name: cfg.noise.name.clone(),
            logic: Logic::Rule {
                imp: Box::new(NoiseTrader::new(cfg.noise.clone(), cfg.seed)),
                pair: None,
                exchange: 0,
                execution: None,
                kind: "noise",
                params: None,
            },
            running: states.get(&cfg.noise.name).copied().unwrap_or(true),
        });
    }
    slots.push(Slot {
        name: MANUAL_STRATEGY.to_string(),
        logic: Logic::Manual,
        running: true,
    });
    Ok(slots)
}
