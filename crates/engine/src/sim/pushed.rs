//! Pushed market events (from a [`crate::market::MarketInbox`]): each is journaled in the same
//! transaction that applies it, before anything acts on it. A closed candle marks its venue's
//! price, trades that venue's resting limit orders, lets the pair's strategies decide and then
//! settles the bar close as a tick does (equity sampled at the candle's close time, risk checked,
//! gauges reported: [`Simulation::settle_bar_close`]), so an all-live config has statistics and
//! risk alerts; a link event drives the venue's link state machine. Events naming an unconfigured
//! venue or pair are journaled and otherwise ignored (with a warning), never turned into new label
//! values.

use super::{Logic, Now, Simulation};
use crate::domain::ids::PairId;
use crate::journal::JournalError;
use crate::market::{PushedEvent, StampedEvent};
use crate::report::events::EngineEvent;
use crate::strategy::Ctx;

impl Simulation {
    pub(crate) fn on_pushed(&mut self, ev: StampedEvent, now: Now) {
        if let Some(t) = now.paced_market_ms {
            self.now_ms = self.now_ms.max(t);
        }
        self.transact(|s| {
            s.journal.insert_pushed(s.now_ms, &ev)?;
            s.apply_pushed(ev.event)
        });
    }

    fn apply_pushed(&mut self, ev: PushedEvent) -> Result<(), JournalError> {
        match ev {
            PushedEvent::Candle { venue, pair, bar } => {
                let pi = self.pairs.iter().position(|p| p.id == pair);
                let ex = self.exchanges.iter().position(|x| x.id == venue);
                let (Some(pi), Some(ex)) = (pi, ex) else {
                    tracing::warn!(%venue, %pair, "pushed candle for an unconfigured venue or pair ignored");
                    return Ok(());
                };
                self.portfolio.marks.set(&venue, &pair, bar.close);
                self.pairs[pi].last_bar_wall_ms = Some(self.wall_ms);
                self.pending.push(EngineEvent::MarketData {
                    pair: pair.as_str().to_string(),
                    time_ms: bar.time_ms,
                    wall_time_ms: self.wall_ms,
                });
                self.match_resting(pi, Some(ex), &bar)?;
                let k = self.tick;
                let close_ms = bar.time_ms + self.interval_ms;
                self.run_strategies(k, &[(pi, bar)], false)?;
                self.settle_bar_close(k, close_ms)
            }
            PushedEvent::WarmupCandle { venue, pair, bar } => {
                let Some(pi) = self.pairs.iter().position(|p| p.id == pair) else {
                    tracing::warn!(%venue, %pair, "pushed warm-up candle for an unconfigured pair ignored");
                    return Ok(());
                };
                self.portfolio.marks.set(&venue, &pair, bar.close);
                self.warm_up_strategies(pi, &bar);
                Ok(())
            }
            PushedEvent::Link { venue, up } => {
                let Some(ex) = self.exchanges.iter().position(|x| x.id == venue) else {
                    tracing::warn!(%venue, "pushed link event for an unconfigured venue ignored");
                    return Ok(());
                };
                if !up {
                    return self.link_down(ex, i64::MAX);
                }
                if self.exchanges[ex].link.force_up() {
                    self.link_came_up(ex)?;
                }
                Ok(())
            }
        }
    }
}

impl Simulation {
    /// Feeds `bar` to the indicators of the strategies on pair `pi`, as a restart does with
    /// journaled bars: their decisions are ignored (history is not traded).
    fn warm_up_strategies(&mut self, pi: usize, bar: &crate::domain::bars::Bar) {
        let venues: Vec<_> = self.exchanges.iter().map(|x| x.id.clone()).collect();
        let pair = self.pairs[pi].id.clone();
        for slot in &mut self.slots {
            if let Logic::Rule {
                imp, pair: Some(p), ..
            } = &mut slot.logic
            {
                if *p != pi {
                    continue;
                }
                let account = self.portfolio.accounts.get(&slot.name);
                let position = account.map_or(0.0, |a| a.position(pair.as_str()));
                let positions = |p: &PairId| account.map_or(0.0, |a| a.position(p.as_str()));
                let ctx = Ctx {
                    tick: self.tick,
                    pair: &pair,
                    position,
                    market: &[],
                    venues: &venues,
                    positions: &positions,
                };
                let _ = imp.on_bar(&ctx, bar);
            }
        }
    }
}
