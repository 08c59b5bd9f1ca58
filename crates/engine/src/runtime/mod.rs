//! The engine thread: owns the [`Simulation`], paces it to wall time (or runs it flat out),
//! answers [`EngineHandle`] commands between events and drains the [`MarketInbox`].
//!
//! Paced, due events come first (a busy API must not freeze the market clock) but a waiting
//! command is answered at least every [`EVENT_BURST`] events; unpaced, commands come first (an
//! endless feed is always due) and due events run in groups of [`FLAT_OUT_GROUP`] per journal
//! transaction (nothing of a group is reported before its commit).

mod handle;
mod pacing;

use std::path::Path;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, TryRecvError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use handle::Command;
pub use handle::EngineHandle;
use pacing::Pacer;

use crate::config::EngineConfig;
use crate::error::EngineError;
use crate::journal::Journal;
use crate::market::{MarketInbox, StampedEvent};
use crate::report::events::EventSink;
use crate::report::views::Progress;
use crate::sim::{Input, Output, Simulation};

/// Paced and behind: at most this many due events run back to back before a waiting command
/// is answered. Events go first (a busy API must not freeze the market clock and let orders
/// pile up unprocessed), but a long backlog must not freeze the API either.
const EVENT_BURST: u32 = 16;

/// Unpaced, this many due events share one journal transaction (a command waits for at most
/// one group: a few milliseconds).
const FLAT_OUT_GROUP: usize = 256;

/// How often the engine logs its load (events and commands handled, queue and open-order sizes,
/// lag behind the wall clock) at debug level.
const LOAD_REPORT_EVERY: Duration = Duration::from_secs(5);

/// Entry point: `Engine::start` restores from the journal and spawns the engine thread.
#[derive(Debug)]
pub struct Engine;

impl Engine {
    /// Validates the config, opens (or creates) the journal, restores every position and
    /// statistic from it, emits `Restored` and the current gauges, then spawns the engine
    /// thread.
    pub fn start(
        config: EngineConfig,
        journal_path: &Path,
        sink: Arc<dyn EventSink>,
    ) -> Result<EngineHandle, EngineError> {
        config.validate()?;
        let journal = Journal::open(journal_path, config.journal.synchronous)?;
        let reader = journal.reader()?.map(Arc::new);
        let sim = Simulation::restore(config, journal, sink.clone()).map_err(|e| match e {
            EngineError::Journal(source) => EngineError::Restore {
                path: journal_path.to_path_buf(),
                source,
            },
            other => other,
        })?;
        let (tx, rx) = mpsc::channel();
        let wake_tx = Mutex::new(tx.clone());
        let (inbox, inbox_rx) = MarketInbox::new(Arc::new(move || {
            if let Ok(tx) = wake_tx.lock() {
                let _ = tx.send(Command::Wake);
            }
        }));
        let pacing = sim.cfg.feed.pacing;
        let pacer = Pacer::new(
            pacing,
            sim.market_ms_per_wall_sec(),
            sim.bar_interval_ms(),
            sim.now_ms(),
        );
        let mut runner = Runner {
            sim,
            sink,
            pacer,
            inbox: inbox_rx,
            burst: 0,
            load: LoadStats::default(),
        };
        let thread = std::thread::Builder::new()
            .name("zigquant-engine".into())
            .spawn(move || runner.run(rx))
            .map_err(EngineError::Spawn)?;
        Ok(EngineHandle {
            tx,
            thread: Arc::new(Mutex::new(Some(thread))),
            reader,
            inbox,
        })
    }
}

/// What the engine thread did since its last load report (debug log every
/// [`LOAD_REPORT_EVERY`]).
#[derive(Default)]
struct LoadStats {
    since: Option<Instant>,
    events: u64,
    commands: u64,
    max_queued: usize,
    max_open: usize,
}

struct Runner {
    sim: Simulation,
    sink: Arc<dyn EventSink>,
    pacer: Pacer,
    inbox: Receiver<StampedEvent>,
    /// Due events run back to back since a waiting command was last looked at (paced runs).
    burst: u32,
    load: LoadStats,
}

impl Runner {
    fn run(&mut self, rx: Receiver<Command>) {
        loop {
            self.drain_inbox();
            let cmd = match self.sim.next_due() {
                None => match rx.recv() {
                    Ok(c) => c,
                    Err(_) => break,
                },
                Some(t) => {
                    let now = Instant::now();
                    let deadline = if self.pacer.pacing {
                        self.pacer.deadline(t)
                    } else {
                        now
                    };
                    if deadline <= now {
                        if self.pacer.pacing && self.burst < EVENT_BURST {
                            self.burst += 1;
                            self.step();
                            continue;
                        }
                        self.burst = 0;
                        match rx.try_recv() {
                            Ok(c) => c,
                            Err(TryRecvError::Empty) if !self.pacer.pacing => {
                                self.step_group();
                                continue;
                            }
                            Err(TryRecvError::Empty) => {
                                self.step();
                                continue;
                            }
                            Err(TryRecvError::Disconnected) => break,
                        }
                    } else {
                        self.burst = 0;
                        match rx.recv_timeout(deadline - now) {
                            Ok(c) => c,
                            Err(RecvTimeoutError::Timeout) => {
                                self.step();
                                continue;
                            }
                            Err(RecvTimeoutError::Disconnected) => break,
                        }
                    }
                }
            };
            if let Command::Shutdown(reply) = cmd {
                self.shutdown();
                let _ = reply.send(());
                return;
            }
            self.load.commands += 1;
            self.command(cmd);
            self.report_load();
        }
        self.shutdown();
    }

    fn drain_inbox(&mut self) {
        while let Ok(ev) = self.inbox.try_recv() {
            let now = self.pacer.now();
            self.sim.step(Input::Pushed(ev), now);
        }
    }

    fn step(&mut self) {
        self.load.events += 1;
        self.report_load();
        if self.pacer.pacing {
            if let Some(t) = self.sim.next_due() {
                let (queued, _) = self.sim.queue_len();
                let open = self.sim.open_orders();
                self.pacer.keep_up(t, self.sink.as_ref(), queued, open);
            }
        }
        let now = self.pacer.now();
        self.sim.step(Input::Due, now);
    }

    /// Flat out: a group of due events in one transaction (see [`Simulation::step_due_group`]);
    /// commands and pushed events are looked at between groups.
    fn step_group(&mut self) {
        let now = self.pacer.now();
        let ran = self.sim.step_due_group(FLAT_OUT_GROUP, now);
        self.load.events += ran as u64;
        self.report_load();
    }

    fn shutdown(&mut self) {
        if let Err(e) = self.sim.checkpoint() {
            tracing::warn!(error = %e, "journal checkpoint at shutdown failed");
        }
        tracing::info!("engine stopped");
    }

    fn report_load(&mut self) {
        let (queued, capacity) = self.sim.queue_len();
        let open = self.sim.open_orders();
        let l = &mut self.load;
        l.max_queued = l.max_queued.max(queued);
        l.max_open = l.max_open.max(open);
        let since = *l.since.get_or_insert_with(Instant::now);
        if since.elapsed() < LOAD_REPORT_EVERY {
            return;
        }
        let l = std::mem::take(&mut self.load);
        self.load.since = Some(Instant::now());
        tracing::debug!(
            events = l.events,
            commands = l.commands,
            max_queued = l.max_queued,
            max_open = l.max_open,
            queued,
            queue_capacity = capacity,
            open,
            lag_ms = self.pacer.lag_ms(self.sim.next_due()),
            "engine load"
        );
    }

    fn command(&mut self, cmd: Command) {
        let now = self.pacer.now();
        match cmd {
            Command::PlaceOrder(req, who, reply) => {
                if let Output::Order(r) = self.sim.step_as(Input::Place(req), who, now) {
                    let _ = reply.send(r);
                }
            }
            Command::Cancel(id, who, reply) => {
                if let Output::Order(r) = self.sim.step_as(Input::Cancel(id), who, now) {
                    let _ = reply.send(r);
                }
            }
            Command::SetRunning(name, running, who, reply) => {
                if let Output::Strategy(r) =
                    self.sim
                        .step_as(Input::SetRunning { name, running }, who, now)
                {
                    let _ = reply.send(r);
                }
            }
            Command::Order(id, reply) => {
                let _ = reply.send(self.sim.order(id).map_err(EngineError::from));
            }
            Command::Orders(f, reply) => {
                let _ = reply.send(self.sim.orders(&f).map_err(EngineError::from));
            }
            Command::Audit(offset, limit, reply) => {
                let _ = reply.send(
                    self.sim
                        .journal
                        .audit(offset, limit)
                        .map_err(EngineError::from),
                );
            }
            Command::Trades(offset, limit, reply) => {
                let _ = reply.send(self.sim.trades(offset, limit).map_err(EngineError::from));
            }
            Command::Strategies(reply) => {
                let _ = reply.send(self.sim.strategies());
            }
            Command::Positions(reply) => {
                let _ = reply.send(self.sim.positions());
            }
            Command::Summary(reply) => {
                let _ = reply.send(self.sim.summary());
            }
            Command::Health(reply) => {
                let _ = reply.send(self.sim.health(now));
            }
            Command::Progress(reply) => {
                let (ticks, identity_violations) = self.sim.ticks_and_violations();
                let (queued_events, _) = self.sim.queue_len();
                let _ = reply.send(Progress {
                    ticks,
                    idle: self.sim.is_idle(),
                    identity_violations,
                    queued_events,
                    open_orders: self.sim.open_orders(),
                    behind_ms: self.pacer.lag_ms(self.sim.next_due()),
                    clock_slips: self.pacer.overload.slips,
                    clock_slipped_ms: self.pacer.overload.slipped_ms,
                });
            }
            Command::Wake => {}
            Command::Shutdown(reply) => {
                let _ = reply.send(());
            }
        }
    }
}
