//! The discrete-event simulation, with no threads and no wall clock of its own: the runtime (or
//! a test) calls [`Simulation::step`] with an [`Input`] and the current [`Now`].
//!
//! Everything that happens is an event in one time-ordered queue (bar ticks, order arrivals at
//! a venue, time-in-force expiries, link drops and recoveries) or an input from outside (an API
//! command, a pushed market event). Every random draw is keyed by what it is for, so the same
//! seed and configuration give the same fills, with or without pacing.
//!
//! Each event runs inside one journal transaction; its notifications go to the [`EventSink`]
//! only after the commit, so nothing is reported that a crash could take back.

mod commands;
mod orders;
mod pushed;
mod queue;
mod restore;
mod tick;
mod upkeep;
mod views;

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::config::EngineConfig;
use crate::domain::alerts::AlertLevel;
use crate::domain::ids::PairId;
use crate::domain::orders::{Order, OrderError, OrderRequest, OrderStatus};
use crate::error::EngineError;
use crate::execution::PaperExchange;
use crate::journal::{Journal, JournalError, OrderRecord};
use crate::market::{MarketSource, StampedEvent};
use crate::report::events::{EngineEvent, EventSink};
use crate::report::views::StrategyInfo;
use crate::risk::{Alert, RiskMonitor};
use crate::state::portfolio::Portfolio;
use crate::strategy::reconcile::Execution;
use crate::strategy::Strategy;

pub use queue::{Ev, EventQueue};

use crate::domain::audit::AuditContext;

/// The current time, as whoever drives the simulation sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Now {
    /// Market time the wall clock has reached when paced; `None` when running flat out (an
    /// API command then takes effect at the last processed event).
    pub paced_market_ms: Option<i64>,
    /// Wall clock, Unix ms: stamps market data events and judges feed freshness.
    pub wall_ms: i64,
}

impl Now {
    /// Flat out, at wall time `wall_ms` (tests pass a constant).
    pub fn flat_out(wall_ms: i64) -> Self {
        Self {
            paced_market_ms: None,
            wall_ms,
        }
    }
}

/// One thing for the simulation to do.
#[derive(Debug)]
pub enum Input {
    /// Run the earliest queued event (the driver decided it is due).
    Due,
    /// Place an order (API).
    Place(OrderRequest),
    /// Cancel an open order (API).
    Cancel(u64),
    /// Start or stop a strategy (API).
    SetRunning {
        /// Strategy name.
        name: String,
        /// Whether it should act on bars.
        running: bool,
    },
    /// A pushed market event from a [`crate::market::MarketInbox`].
    Pushed(StampedEvent),
}

/// What a step produced.
#[derive(Debug)]
pub enum Output {
    /// An event ran (or nothing was queued); its notifications were reported.
    Stepped,
    /// The answer to [`Input::Place`] or [`Input::Cancel`].
    Order(Result<Order, OrderError>),
    /// The answer to [`Input::SetRunning`].
    Strategy(Result<StrategyInfo, EngineError>),
}

/// How a strategy slot decides.
pub(crate) enum Logic {
    /// A strategy instance.
    Rule {
        imp: Box<dyn Strategy>,
        /// The pair it decides on; `None` for a whole-market strategy (noise), called once per
        /// tick.
        pair: Option<usize>,
        /// Its default venue.
        exchange: usize,
        /// How its targets become orders (`None`: it sends explicit orders).
        execution: Option<Execution>,
        /// Registry kind (`sma_cross`, `noise`, ...).
        kind: &'static str,
        /// Configured parameters (shown by the API).
        params: Option<crate::strategy::StrategyParams>,
    },
    /// API orders without a strategy.
    Manual,
}

pub(crate) struct Slot {
    pub(crate) name: String,
    pub(crate) logic: Logic,
    pub(crate) running: bool,
}

pub(crate) struct PairState {
    pub(crate) id: PairId,
    pub(crate) min_qty: f64,
    pub(crate) source: Box<dyn MarketSource>,
    /// Wall time (Unix ms) of its last bar in this run.
    pub(crate) last_bar_wall_ms: Option<i64>,
}

#[derive(Default)]
pub(crate) struct Totals {
    pub(crate) trades: u64,
    pub(crate) orders: BTreeMap<OrderStatus, u64>,
    pub(crate) alerts: BTreeMap<AlertLevel, u64>,
}

/// See the module header.
pub struct Simulation {
    pub(crate) cfg: EngineConfig,
    pub(crate) sink: Arc<dyn EventSink>,
    pub(crate) journal: Journal,
    pub(crate) halted: Option<String>,
    pub(crate) interval_ms: i64,
    /// Market ms per wall second (converts wall-second durations).
    pub(crate) speed_ms: f64,
    pub(crate) pairs: Vec<PairState>,
    pub(crate) slots: Vec<Slot>,
    pub(crate) exchanges: Vec<PaperExchange>,
    pub(crate) open: BTreeMap<u64, OrderRecord>,
    pub(crate) next_order_id: u64,
    pub(crate) portfolio: Portfolio,
    pub(crate) risk: RiskMonitor,
    pub(crate) queue: EventQueue,
    pub(crate) now_ms: i64,
    pub(crate) tick: u64,
    pub(crate) ticks_run: u64,
    pub(crate) ticking: bool,
    /// Bar period (close time / bar interval) of the last equity sample: at most one sample per
    /// period, whatever mix of pulled ticks and pushed candles closes in it.
    pub(crate) sampled_period: Option<i64>,
    pub(crate) pending: Vec<EngineEvent>,
    pub(crate) totals: Totals,
    pub(crate) identity_violations: u64,
    /// Wall time of the step being run (stamps market data events).
    pub(crate) wall_ms: i64,
    /// On whose behalf the API command being run acts (audit trail), if anyone's.
    pub(crate) acting_for: Option<AuditContext>,
}

impl std::fmt::Debug for Simulation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Simulation")
            .field("now_ms", &self.now_ms)
            .field("tick", &self.tick)
            .field("open_orders", &self.open.len())
            .finish_non_exhaustive()
    }
}

impl Simulation {
    /// [`Simulation::step`] for an API command made on behalf of `who`: the command's change and
    /// its audit entry are journaled in one transaction (a refused command gets an entry alone).
    pub fn step_as(&mut self, input: Input, who: Option<AuditContext>, now: Now) -> Output {
        self.acting_for = who;
        let output = self.step(input, now);
        self.acting_for = None;
        output
    }

    /// Does one thing at `now` and reports what it did.
    pub fn step(&mut self, input: Input, now: Now) -> Output {
        self.wall_ms = now.wall_ms;
        match input {
            Input::Due => {
                self.step_due_group(1, now);
                Output::Stepped
            }
            Input::Place(req) => Output::Order(self.place_order(req, now)),
            Input::Cancel(id) => Output::Order(self.cancel(id, now)),
            Input::SetRunning { name, running } => {
                Output::Strategy(self.set_running(&name, running))
            }
            Input::Pushed(ev) => {
                self.on_pushed(ev, now);
                Output::Stepped
            }
        }
    }

    /// Market time of the earliest queued event (`None`: nothing to do until an input arrives,
    /// or trading is halted).
    pub fn next_due(&self) -> Option<i64> {
        if self.halted.is_some() {
            return None;
        }
        self.queue.next_due()
    }

    /// Market time of the last processed event.
    pub fn now_ms(&self) -> i64 {
        self.now_ms
    }

    /// Market ms per wall second at the configured clock speed.
    pub fn market_ms_per_wall_sec(&self) -> f64 {
        self.speed_ms
    }

    /// Market ms between two bars.
    pub fn bar_interval_ms(&self) -> i64 {
        self.interval_ms
    }

    /// Queued events and their allocated room (load reports).
    pub fn queue_len(&self) -> (usize, usize) {
        (self.queue.len(), self.queue.capacity())
    }

    /// Orders open right now.
    pub fn open_orders(&self) -> usize {
        self.open.len()
    }

    /// Ends the simulation and hands back its journal (tests restore a new one from it).
    pub fn into_journal(self) -> Journal {
        self.journal
    }

    /// Checkpoints the journal (at shutdown).
    pub fn checkpoint(&self) -> Result<(), JournalError> {
        self.journal.checkpoint()
    }

    /// Runs up to `max` due events inside **one** journal transaction and reports their
    /// notifications after its commit; returns how many ran. For flat-out runs, where nothing
    /// waits on an individual event: nothing is reported before the commit that makes it
    /// durable, exactly as with one transaction per event ([`Input::Due`] is a group of one),
    /// but the commit (an fsync under `synchronous = full`) is paid once per group.
    pub fn step_due_group(&mut self, max: usize, now: Now) -> usize {
        self.wall_ms = now.wall_ms;
        let mut ran = 0;
        self.transact(|s| {
            while ran < max {
                let Some((time_ms, ev)) = s.queue.pop() else {
                    break;
                };
                s.now_ms = s.now_ms.max(time_ms);
                s.handle_event(ev)?;
                s.queue.compact(&s.open);
                ran += 1;
            }
            Ok(())
        });
        ran
    }

    pub(crate) fn schedule(&mut self, time_ms: i64, ev: Ev) {
        self.queue.push(time_ms, ev);
    }

    /// Runs `f` inside one journal transaction; reports its events only after the commit.
    pub(crate) fn transact(&mut self, f: impl FnOnce(&mut Self) -> Result<(), JournalError>) {
        if self.halted.is_some() {
            return;
        }
        let r = self
            .journal
            .begin()
            .and_then(|_| f(self))
            .and_then(|_| self.journal.commit());
        match r {
            Ok(()) => self.flush(),
            Err(e) => {
                self.journal.rollback();
                self.pending.clear();
                self.fail(e);
            }
        }
    }

    fn fail(&mut self, e: JournalError) {
        let message = format!("{e}; trading halted, new orders are refused");
        tracing::error!(%message, "journal write failed");
        self.halted = Some(message.clone());
        self.sink.on_event(&EngineEvent::JournalError {
            message: message.clone(),
        });
        self.sink.on_event(&EngineEvent::RiskAlert {
            level: AlertLevel::Critical,
            message: format!("journal failure: {message}"),
        });
        *self.totals.alerts.entry(AlertLevel::Critical).or_insert(0) += 1;
    }

    pub(crate) fn flush(&mut self) {
        for ev in std::mem::take(&mut self.pending) {
            self.sink.on_event(&ev);
        }
    }

    fn handle_event(&mut self, ev: Ev) -> Result<(), JournalError> {
        match ev {
            Ev::Tick => self.on_tick(),
            Ev::Arrive(id) => self.on_arrive(id),
            Ev::Expire(id) => {
                if self.open.contains_key(&id) {
                    self.finish(id, OrderStatus::Cancelled, None)?;
                }
                Ok(())
            }
            Ev::Disconnect { exchange, until_ms } => self.link_down(exchange, until_ms),
            Ev::Reconnect(i) => {
                if self.exchanges[i].link.try_reconnect(self.now_ms) {
                    self.link_came_up(i)?;
                }
                Ok(())
            }
            Ev::StillDown { exchange, since_ms } => {
                if self.exchanges[exchange].link.still_down(since_ms) {
                    let name = self.exchanges[exchange].cfg.name.clone();
                    let a = self.risk.on_still_down(&name);
                    self.raise(a)?;
                }
                Ok(())
            }
        }
    }

    /// Venue `i`'s link drops until `until_ms`: a reconnect check is queued then; if it was up,
    /// the drop is reported, alerted, and a critical check is queued.
    pub(crate) fn link_down(&mut self, i: usize, until_ms: i64) -> Result<(), JournalError> {
        let now = self.now_ms;
        let went_down = self.exchanges[i].link.go_down(now, until_ms);
        if until_ms != i64::MAX {
            self.schedule(until_ms, Ev::Reconnect(i));
        }
        if went_down {
            let name = self.exchanges[i].cfg.name.clone();
            // Logged once, by the risk alert raised below ("exchange <name> disconnected").
            self.pending.push(EngineEvent::ExchangeConnection {
                exchange: name.clone(),
                connected: false,
            });
            let crit = now + (self.cfg.risk.disconnect_critical_secs * self.speed_ms) as i64;
            self.schedule(
                crit,
                Ev::StillDown {
                    exchange: i,
                    since_ms: now,
                },
            );
            let a = self.risk.on_disconnect(&name);
            self.raise(a)?;
        }
        Ok(())
    }

    /// Venue `i`'s link just came back up: reported and alerted.
    pub(crate) fn link_came_up(&mut self, i: usize) -> Result<(), JournalError> {
        let name = self.exchanges[i].cfg.name.clone();
        // Logged once, by the risk alert raised below.
        self.pending.push(EngineEvent::ExchangeConnection {
            exchange: name.clone(),
            connected: true,
        });
        let a = self.risk.on_reconnect(&name);
        self.raise(a)
    }

    pub(crate) fn raise(&mut self, a: Alert) -> Result<(), JournalError> {
        match a.level {
            AlertLevel::Critical => tracing::error!(level = "critical", "{}", a.message),
            AlertLevel::Warning => tracing::warn!(level = "warning", "{}", a.message),
            AlertLevel::Info => tracing::info!(level = "info", "{}", a.message),
        }
        self.journal
            .insert_alert(self.now_ms, a.level, &a.message)?;
        *self.totals.alerts.entry(a.level).or_insert(0) += 1;
        self.pending.push(EngineEvent::RiskAlert {
            level: a.level,
            message: a.message,
        });
        Ok(())
    }

    /// Whether a queued event can no longer change anything (a stale timer).
    pub(crate) fn is_noop(&self, ev: &Ev) -> bool {
        match ev {
            Ev::Tick | Ev::Disconnect { .. } => false,
            Ev::Arrive(id) | Ev::Expire(id) => !self.open.contains_key(id),
            Ev::Reconnect(i) => self.exchanges[*i].link.connected,
            Ev::StillDown { exchange, since_ms } => self.exchanges[*exchange]
                .link
                .is_stale_still_down(*since_ms),
        }
    }

    /// Nothing left to simulate: no queued event can change anything (or trading is halted).
    pub fn is_idle(&self) -> bool {
        self.halted.is_some() || self.queue.iter().all(|ev| self.is_noop(ev))
    }
}
