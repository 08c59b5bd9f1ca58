//! The bar tick, in the order it happens: every pulled source's bar is journaled and marked,
//! resting limit orders trade against it, strategies decide at the close, random link faults are
//! drawn, the bar close is settled (equity sampled, docs/statistics.md §9; risk checked; gauges
//! reported) and the next tick is queued. Settling a bar close is shared with pushed (live)
//! candles, see [`Simulation::settle_bar_close`].

use super::{Ev, Logic, Simulation};
use crate::domain::bars::Bar;
use crate::domain::ids::PairId;
use crate::domain::orders::OrderKind;
use crate::execution::limit_fill_price;
use crate::journal::{JournalError, PORTFOLIO_SCOPE};
use crate::report::events::EngineEvent;
use crate::strategy::reconcile::order_for_target;
use crate::strategy::{Ctx, Intent, PairQuote};

impl Simulation {
    pub(crate) fn tick_time(&self, k: u64) -> i64 {
        self.cfg.feed.start_time_ms + (k as i64 + 1) * self.interval_ms
    }

    pub(crate) fn feeds_can_continue(&self) -> bool {
        let limit = self.cfg.feed.max_bars;
        (limit == 0 || self.ticks_run < limit)
            && self.pairs.iter().any(|p| !p.source.is_exhausted())
    }

    pub(crate) fn on_tick(&mut self) -> Result<(), JournalError> {
        let k = self.tick;
        let bars = self.pull_bars()?;
        self.tick += 1;
        self.ticks_run += 1;
        if k % 1024 == 1023 {
            let keep_from = (k + 1).saturating_sub(self.cfg.feed.warmup_bars.max(1) as u64);
            for p in &self.pairs {
                self.journal.prune_bars(p.id.as_str(), keep_from)?;
            }
        }
        if bars.is_empty() {
            self.ticking = false;
            return Ok(());
        }
        for (pi, bar) in &bars {
            self.match_resting(*pi, None, bar)?;
        }
        self.run_strategies(k, &bars, true)?;
        self.draw_link_faults(k)?;
        self.settle_bar_close(k, self.tick_time(k))?;
        if self.feeds_can_continue() {
            let t = self.tick_time(self.tick);
            self.schedule(t, Ev::Tick);
        } else {
            self.ticking = false;
            tracing::info!(ticks = self.ticks_run, "feeds ended");
        }
        Ok(())
    }

    /// What follows a bar close once prices moved and strategies decided, for a pulled tick and a
    /// pushed (live) candle alike: equity is sampled at `close_ms` (journaled as tick `k`), the
    /// risk monitor runs and every gauge is reported.
    ///
    /// One sample per bar period (docs/statistics.md §9): a sample is taken only when `close_ms`
    /// falls in a later bar period (`close_ms / interval`, periods aligned to the Unix epoch like
    /// the venues' candles) than the last sample's. So live pairs closing together, or a pulled
    /// tick and live candles in the same period (a mixed config), sample once, whichever comes
    /// first; the others still run the risk checks and report gauges at their new prices. Pulled
    /// ticks are one period apart, so a pulled-only run samples every tick.
    ///
    /// An all-live config has no pulled tick: there each sampled period is tick `k` and the next
    /// one is `k + 1`, so the checkpoint cadence, equity retention and keyed random draws run
    /// on live candles as on ticks (otherwise every sample would be tick 0: no checkpoint, a
    /// restart reading the whole history, nothing ever thinned).
    pub(crate) fn settle_bar_close(&mut self, k: u64, close_ms: i64) -> Result<(), JournalError> {
        let period = close_ms.div_euclid(self.interval_ms);
        if self.sampled_period.is_none_or(|last| period > last) {
            self.sampled_period = Some(period);
            self.sample_equity(k)?;
            self.journal_upkeep(k)?;
            if self.cfg.all_pairs_live() {
                self.tick = k + 1;
            }
        }
        self.check_risk()?;
        self.push_gauges(true);
        Ok(())
    }

    /// The due bar of every pulled source: journaled, marked on every venue, reported.
    fn pull_bars(&mut self) -> Result<Vec<(usize, Bar)>, JournalError> {
        let mut bars = Vec::new();
        let now = self.now_ms;
        for pi in 0..self.pairs.len() {
            let p = &mut self.pairs[pi];
            if let Some((idx, bar)) = p.source.poll(now) {
                p.last_bar_wall_ms = Some(self.wall_ms);
                self.journal.insert_bar(p.id.as_str(), idx, &bar)?;
                for x in &self.exchanges {
                    self.portfolio.marks.set(&x.id, &p.id, bar.close);
                }
                self.pending.push(EngineEvent::MarketData {
                    pair: p.id.as_str().to_string(),
                    time_ms: bar.time_ms,
                    wall_time_ms: self.wall_ms,
                });
                bars.push((pi, bar));
            }
        }
        Ok(bars)
    }

    /// Resting (acknowledged) limit orders of pair `pi` (on `venue` only, if given) that `bar`
    /// reaches are filled.
    pub(crate) fn match_resting(
        &mut self,
        pi: usize,
        venue: Option<usize>,
        bar: &Bar,
    ) -> Result<(), JournalError> {
        let pair = self.pairs[pi].id.as_str();
        let venue = venue.map(|v| self.exchanges[v].cfg.name.as_str());
        let crossing: Vec<(u64, f64)> = self
            .open
            .values()
            .filter(|r| r.order.pair == pair && r.order.acknowledged_ms.is_some())
            .filter(|r| venue.is_none_or(|v| r.order.exchange == v))
            .filter_map(|r| match r.order.kind {
                OrderKind::Limit { price, .. } => {
                    limit_fill_price(r.order.side, price, bar).map(|p| (r.order.id, p))
                }
                OrderKind::Market => None,
            })
            .collect();
        for (id, price) in crossing {
            self.fill(id, price)?;
        }
        Ok(())
    }

    /// Every strategy decides at the close of its pair's bar (whole-market ones once, on the
    /// first bar of a tick); stopped strategies still see the bar (indicators stay warm) but their
    /// intents are dropped.
    pub(crate) fn run_strategies(
        &mut self,
        k: u64,
        bars: &[(usize, Bar)],
        whole_market: bool,
    ) -> Result<(), JournalError> {
        let market: Vec<PairQuote> = self
            .pairs
            .iter()
            .map(|p| PairQuote {
                pair: p.id.clone(),
                min_qty: p.min_qty,
                mark: self.portfolio.marks.pair(p.id.as_str()),
            })
            .collect();
        for si in 0..self.slots.len() {
            let Logic::Rule { pair, .. } = &self.slots[si].logic else {
                continue;
            };
            let found = match pair {
                Some(pi) => bars.iter().find(|(p, _)| p == pi),
                None if whole_market => bars.first(),
                None => None,
            };
            let Some((pi, bar)) = found else {
                continue;
            };
            let intents = self.decide(si, k, *pi, bar, &market);
            if !self.slots[si].running {
                continue;
            }
            for intent in intents {
                self.apply_intent(si, *pi, bar.close, intent)?;
            }
        }
        Ok(())
    }

    fn decide(
        &mut self,
        si: usize,
        k: u64,
        pi: usize,
        bar: &Bar,
        market: &[PairQuote],
    ) -> Vec<Intent> {
        let Simulation {
            slots,
            portfolio,
            pairs,
            exchanges,
            ..
        } = self;
        let slot = &mut slots[si];
        let Logic::Rule { imp, .. } = &mut slot.logic else {
            return Vec::new();
        };
        let account = portfolio.accounts.get(&slot.name);
        let pair = &pairs[pi].id;
        let positions = |p: &PairId| account.map_or(0.0, |a| a.position(p.as_str()));
        let venues: Vec<_> = exchanges.iter().map(|x| x.id.clone()).collect();
        let ctx = Ctx {
            tick: k,
            pair,
            position: positions(pair),
            market,
            venues: &venues,
            positions: &positions,
        };
        imp.on_bar(&ctx, bar)
    }

    fn apply_intent(
        &mut self,
        si: usize,
        pi: usize,
        close: f64,
        intent: Intent,
    ) -> Result<(), JournalError> {
        let name = self.slots[si].name.clone();
        match intent {
            Intent::Target { qty: target } => {
                let Logic::Rule {
                    execution: Some(exec),
                    exchange,
                    ..
                } = &self.slots[si].logic
                else {
                    return Ok(());
                };
                let (exec, ex) = (*exec, *exchange);
                let pair = self.pairs[pi].id.as_str();
                let pos = self
                    .portfolio
                    .accounts
                    .get(&name)
                    .map_or(0.0, |a| a.position(pair));
                let pending: f64 = self
                    .open
                    .values()
                    .filter(|r| r.order.strategy == name && r.order.pair == pair)
                    .map(|r| r.order.side.sign() * (r.order.qty - r.order.filled_qty))
                    .sum();
                if let Some((side, kind, qty)) =
                    order_for_target(&exec, target, pos, pending, close)
                {
                    self.submit(name, pi, ex, side, kind, qty)?;
                }
            }
            Intent::Order(o) => {
                let pi = self.pairs.iter().position(|p| p.id == o.pair);
                let ex = self.exchanges.iter().position(|x| x.id == o.venue);
                if let (Some(pi), Some(ex)) = (pi, ex) {
                    self.submit(name, pi, ex, o.side, o.kind, o.qty)?;
                } else {
                    tracing::warn!(strategy = %name, pair = %o.pair, venue = %o.venue, "strategy asked for an unknown pair or venue; order dropped");
                }
            }
        }
        Ok(())
    }

    /// Random link faults, one keyed draw per venue and tick.
    fn draw_link_faults(&mut self, k: u64) -> Result<(), JournalError> {
        let tick_wall_secs = self.interval_ms as f64 / self.speed_ms;
        for i in 0..self.exchanges.len() {
            if let Some(secs) = self.exchanges[i].random_outage(self.cfg.seed, k, tick_wall_secs) {
                let until = self.now_ms + (secs * self.speed_ms) as i64;
                self.link_down(i, until)?;
            }
        }
        Ok(())
    }

    /// Samples every account's and the portfolio's equity once per bar (docs/statistics.md §9),
    /// checking equity == cash + position value on the way.
    fn sample_equity(&mut self, k: u64) -> Result<(), JournalError> {
        // Disjoint fields: the marks are read while the accounts are updated, no copy of either.
        let marks = self.portfolio.marks.valuation();
        let mut total = 0.0;
        for (name, a) in self.portfolio.accounts.iter_mut() {
            let eq = a.equity(marks);
            let check = a.cash_plus_positions(marks);
            if (eq - check).abs() > 1e-6 * eq.abs().max(1.0) {
                self.identity_violations += 1;
                tracing::error!(strategy = %name, eq, check, "equity identity violated");
            }
            a.equity_stats.push(eq);
            total += eq;
            self.journal.insert_equity(k, name, eq)?;
        }
        self.portfolio.equity_stats.push(total);
        self.journal.insert_equity(k, PORTFOLIO_SCOPE, total)
    }

    /// Drawdown and per-pair notional thresholds.
    fn check_risk(&mut self) -> Result<(), JournalError> {
        if let Some(a) = self
            .risk
            .on_drawdown(self.portfolio.equity_stats.max_drawdown())
        {
            self.raise(a)?;
        }
        for pi in 0..self.pairs.len() {
            let name = self.pairs[pi].id.as_str().to_string();
            let mark = self.portfolio.marks.pair(&name).unwrap_or(0.0);
            let notional = self.portfolio.net_position(&name) * mark;
            if let Some(a) = self.risk.on_position(&name, notional) {
                self.raise(a)?;
            }
        }
        Ok(())
    }
}
