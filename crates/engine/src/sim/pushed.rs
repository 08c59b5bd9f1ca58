//! Pushed market events (from a [`crate::market::MarketInbox`]): each is journaled in the same
//! transaction that applies it, before anything acts on it. A closed candle marks its venue's
//! price, trades that venue's resting limit orders and lets the pair's strategies decide; a
//! link event drives the venue's link state machine. Events naming an unconfigured venue or pair
//! are journaled and otherwise ignored (with a warning), never turned into new label values.

use super::{Now, Simulation};
use crate::journal::JournalError;
use crate::market::{PushedEvent, StampedEvent};
use crate::report::events::EngineEvent;

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
                self.run_strategies(k, &[(pi, bar)], false)?;
                self.push_pair_gauges(pair.as_str());
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
