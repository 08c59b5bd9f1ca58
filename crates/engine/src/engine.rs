//! The engine thread: a discrete-event simulation on a virtual market clock, paced to wall time
//! by the feed's clock speed (or run flat out with pacing off), and the handle the server uses to
//! talk to it.
//!
//! Everything that happens is an event in one time-ordered queue (bar ticks, order arrivals at
//! an exchange, time-in-force expiries, link drops and recoveries). Every random draw is keyed
//! by what it is for, so the same seed and configuration give the same fills, with or without
//! pacing. API commands are applied at the current virtual time between two queued events.
//!
//! Each event runs inside one journal transaction; its notifications go to the [`EventSink`]
//! only after the commit, so nothing is reported that a crash could take back.

use std::collections::{BTreeMap, BinaryHeap};
use std::path::Path;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender, TryRecvError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::bars::Bar;
use crate::config::{ConfigError, EngineConfig, ExecutionStyle, StrategyConfig, MANUAL_STRATEGY};
use crate::events::{AlertLevel, EngineEvent, EventSink};
use crate::exchange::{limit_fill_price, marketable, PaperExchange};
use crate::feed::Feed;
use crate::journal::{Journal, JournalError, OrderRecord, PORTFOLIO_SCOPE};
use crate::orders::{
    Order, OrderError, OrderFill, OrderFilter, OrderKind, OrderRequest, OrderSide, OrderStatus,
    Page, RejectReason,
};
use crate::portfolio::Portfolio;
use crate::risk::{Alert, RiskMonitor};
use crate::rng::SplitMix64;
use crate::snapshot::{
    Health, OrderTotals, PositionInfo, Progress, StrategyInfo, StrategyPosition, StrategySummary,
    Summary, TradeInfo,
};
use crate::strategy::{Strategy, StrategyParams};

/// Random-stream tag of the noise order source.
const NOISE_TAG: u64 = 0x4e4f_4953_4500_0000;

/// Why the engine could not start or answer.
#[derive(Debug, thiserror::Error, Clone, PartialEq)]
pub enum EngineError {
    /// The configuration is invalid.
    #[error("invalid config: {0}")]
    Config(#[from] ConfigError),
    /// The journal could not be opened, read or written (the message says so and how), or
    /// the engine thread could not be started.
    #[error("{0}")]
    Journal(String),
    /// A market data feed could not be built.
    #[error("feed: {0}")]
    Feed(String),
    /// The engine thread is not running (shut down or died).
    #[error("engine is not running")]
    Stopped,
    /// No strategy with this name.
    #[error("unknown strategy {0:?}")]
    UnknownStrategy(String),
    /// This strategy cannot be started or stopped (`manual`).
    #[error("strategy {0:?} cannot be started or stopped")]
    NotControllable(String),
}

impl From<JournalError> for EngineError {
    fn from(e: JournalError) -> Self {
        EngineError::Journal(e.to_string())
    }
}

/// Entry point: `Engine::start` restores from the journal and spawns the engine thread.
#[derive(Debug)]
pub struct Engine;

type Reply<T> = Sender<T>;

enum Command {
    PlaceOrder(OrderRequest, Reply<Result<Order, OrderError>>),
    Cancel(u64, Reply<Result<Order, OrderError>>),
    Order(u64, Reply<Result<Option<Order>, EngineError>>),
    Orders(OrderFilter, Reply<Result<Page<Order>, EngineError>>),
    Strategies(Reply<Vec<StrategyInfo>>),
    SetRunning(String, bool, Reply<Result<StrategyInfo, EngineError>>),
    Positions(Reply<Vec<PositionInfo>>),
    Trades(usize, usize, Reply<Result<Page<TradeInfo>, EngineError>>),
    Summary(Reply<Summary>),
    Health(Reply<Health>),
    Progress(Reply<Progress>),
    Shutdown(Reply<()>),
}

/// A cheap, cloneable, thread-safe handle to the engine thread. Every method sends one command
/// and blocks until the engine answers (call it from `spawn_blocking` in async code).
#[derive(Clone)]
pub struct EngineHandle {
    tx: Sender<Command>,
    thread: Arc<Mutex<Option<JoinHandle<()>>>>,
}

impl std::fmt::Debug for EngineHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EngineHandle")
    }
}

impl EngineHandle {
    fn call<T>(&self, make: impl FnOnce(Reply<T>) -> Command) -> Result<T, EngineError> {
        let (tx, rx) = mpsc::channel();
        self.tx.send(make(tx)).map_err(|_| EngineError::Stopped)?;
        rx.recv().map_err(|_| EngineError::Stopped)
    }

    /// Places an order. `Err` for invalid requests (unknown names, bad quantity or price,
    /// trading halted); exchange and risk rejections come back as an order with status
    /// `rejected` and a reason.
    pub fn place_order(&self, req: OrderRequest) -> Result<Order, OrderError> {
        self.call(|r| Command::PlaceOrder(req, r))?
    }

    /// Cancels an open order.
    pub fn cancel_order(&self, id: u64) -> Result<Order, OrderError> {
        self.call(|r| Command::Cancel(id, r))?
    }

    /// One order with its fills (`Ok(None)` if unknown).
    pub fn order(&self, id: u64) -> Result<Option<Order>, EngineError> {
        self.call(|r| Command::Order(id, r))?
    }

    /// A page of orders, newest first.
    pub fn orders(&self, filter: &OrderFilter) -> Result<Page<Order>, EngineError> {
        let f = filter.clone();
        self.call(|r| Command::Orders(f, r))?
    }

    /// Every strategy (configured, noise, manual).
    pub fn strategies(&self) -> Result<Vec<StrategyInfo>, EngineError> {
        self.call(Command::Strategies)
    }

    /// One strategy by name.
    pub fn strategy(&self, name: &str) -> Result<Option<StrategyInfo>, EngineError> {
        Ok(self.strategies()?.into_iter().find(|s| s.name == name))
    }

    /// Starts a strategy (journaled).
    pub fn start_strategy(&self, name: &str) -> Result<StrategyInfo, EngineError> {
        let n = name.to_string();
        self.call(|r| Command::SetRunning(n, true, r))?
    }

    /// Stops a strategy (journaled: it stays stopped across restarts). Its position is kept.
    pub fn stop_strategy(&self, name: &str) -> Result<StrategyInfo, EngineError> {
        let n = name.to_string();
        self.call(|r| Command::SetRunning(n, false, r))?
    }

    /// Net position per configured pair.
    pub fn positions(&self) -> Result<Vec<PositionInfo>, EngineError> {
        self.call(Command::Positions)
    }

    /// A page of fills, newest first.
    pub fn trades(&self, offset: usize, limit: usize) -> Result<Page<TradeInfo>, EngineError> {
        self.call(|r| Command::Trades(offset, limit, r))?
    }

    /// Lifetime totals and current statistics.
    pub fn summary(&self) -> Result<Summary, EngineError> {
        self.call(Command::Summary)
    }

    /// Journal and feed liveness.
    pub fn health(&self) -> Result<Health, EngineError> {
        self.call(Command::Health)
    }

    /// Simulation progress (tests and tools).
    pub fn progress(&self) -> Result<Progress, EngineError> {
        self.call(Command::Progress)
    }

    /// Waits until the simulation has nothing left to do (feeds ended via `feed.max_bars` or a
    /// finished CSV, no pending events), polling every 5 ms. `false` on timeout.
    pub fn wait_idle(&self, timeout: Duration) -> Result<bool, EngineError> {
        let until = Instant::now() + timeout;
        loop {
            if self.progress()?.idle {
                return Ok(true);
            }
            if Instant::now() >= until {
                return Ok(false);
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Stops the engine thread, checkpoints the journal and waits for the thread to end.
    pub fn shutdown(self) -> Result<(), EngineError> {
        let _ = self.call(Command::Shutdown);
        let handle = self.thread.lock().map_err(|_| EngineError::Stopped)?.take();
        if let Some(h) = handle {
            h.join().map_err(|_| EngineError::Stopped)?;
        }
        Ok(())
    }
}

enum Logic {
    Rule {
        imp: Box<dyn Strategy>,
        cfg: StrategyConfig,
        pair: usize,
        exchange: usize,
    },
    Noise,
    Manual,
}

struct Slot {
    name: String,
    logic: Logic,
    running: bool,
}

struct PairState {
    name: String,
    min_qty: f64,
    feed: Feed,
    last_wall: Option<Instant>,
}

#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Ev {
    Tick,
    Arrive(u64),
    Expire(u64),
    Disconnect { exchange: usize, until_ms: i64 },
    Reconnect(usize),
    StillDown { exchange: usize, since_ms: i64 },
}

#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Scheduled {
    time_ms: i64,
    seq: u64,
    ev: Ev,
}

#[derive(Default)]
struct Totals {
    trades: u64,
    orders: BTreeMap<OrderStatus, u64>,
    alerts: BTreeMap<AlertLevel, u64>,
}

struct Core {
    cfg: EngineConfig,
    sink: Arc<dyn EventSink>,
    journal: Journal,
    halted: Option<String>,
    interval_ms: i64,
    speed_ms: f64,
    pacing: bool,
    pairs: Vec<PairState>,
    slots: Vec<Slot>,
    exchanges: Vec<PaperExchange>,
    open: BTreeMap<u64, OrderRecord>,
    next_order_id: u64,
    portfolio: Portfolio,
    risk: RiskMonitor,
    queue: BinaryHeap<std::cmp::Reverse<Scheduled>>,
    seq: u64,
    now_ms: i64,
    start_market_ms: i64,
    start_wall: Instant,
    tick: u64,
    ticks_run: u64,
    ticking: bool,
    pending: Vec<EngineEvent>,
    totals: Totals,
    identity_violations: u64,
    load: LoadStats,
    /// Due events run back to back since a waiting command was last looked at (paced runs).
    burst: u32,
    /// Queued events not tied to an order (bars, link faults) at the last compaction.
    other_events: usize,
    overload: Overload,
}

/// How often and how far the paced market clock slipped because the engine fell behind.
#[derive(Default)]
struct Overload {
    slips: u64,
    slipped_ms: i64,
    warned_at: Option<Instant>,
    unwarned_slips: u64,
    unwarned_ms: i64,
}

/// Paced and behind: at most this many due events run back to back before a waiting command
/// is answered. Events go first (a busy API must not freeze the market clock and let orders
/// pile up unprocessed), but a long backlog must not freeze the API either.
const EVENT_BURST: u32 = 16;

/// A paced event later than this (and than [`MAX_LAG_BARS`] bar intervals) means the engine
/// cannot keep up: the market clock slips instead of trying to catch up.
const MAX_LAG: Duration = Duration::from_secs(1);

/// See [`MAX_LAG`].
const MAX_LAG_BARS: f64 = 4.0;

/// At most one overload warning per this much wall time (the rest are summed into the next).
const OVERLOAD_WARN_EVERY: Duration = Duration::from_secs(10);

/// Every open order has at most one live queued event (its arrival or its expiry); the rest of
/// the queue is the next bar and a few link events. When the queue is longer than twice the open
/// orders plus this, it is mostly stale events and is compacted.
const COMPACT_SLACK: usize = 1024;

/// What the engine thread did since its last load report (debug log every [`LOAD_REPORT_EVERY`]).
#[derive(Default)]
struct LoadStats {
    since: Option<Instant>,
    events: u64,
    commands: u64,
    max_queued: usize,
    max_open: usize,
}

/// How often the engine logs its load (events and commands handled, queue and open-order sizes,
/// lag behind the wall clock) at debug level.
const LOAD_REPORT_EVERY: Duration = Duration::from_secs(5);

fn wall_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn strategy_kind(p: &StrategyParams) -> &'static str {
    match p {
        StrategyParams::SmaCross { .. } => "sma_cross",
        StrategyParams::MeanReversion { .. } => "mean_reversion",
    }
}

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
        let mut core = Core::restore(config, journal, sink).map_err(|e| match e {
            EngineError::Journal(m) => EngineError::Journal(format!(
                "{m} (while restoring from {})",
                journal_path.display()
            )),
            other => other,
        })?;
        let (tx, rx) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("zigquant-engine".into())
            .spawn(move || core.run(rx))
            .map_err(|e| EngineError::Journal(format!("cannot start the engine thread: {e}")))?;
        Ok(EngineHandle {
            tx,
            thread: Arc::new(Mutex::new(Some(thread))),
        })
    }
}

impl Core {
    fn restore(
        cfg: EngineConfig,
        journal: Journal,
        sink: Arc<dyn EventSink>,
    ) -> Result<Self, EngineError> {
        let interval_ms = (cfg.feed.bar_interval_secs * 1000.0).round().max(1.0) as i64;
        let mut pairs = Vec::new();
        for p in &cfg.pairs {
            let feed = Feed::new(
                p,
                cfg.seed,
                cfg.feed.bar_interval_secs,
                cfg.feed.start_time_ms,
            )
            .map_err(|e| EngineError::Feed(e.to_string()))?;
            pairs.push(PairState {
                name: p.name.clone(),
                min_qty: p.min_qty,
                feed,
                last_wall: None,
            });
        }
        let exchanges: Vec<PaperExchange> = cfg
            .exchanges
            .iter()
            .cloned()
            .map(PaperExchange::new)
            .collect();
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
                    imp: crate::strategy::build(&s.params),
                    cfg: s.clone(),
                    pair,
                    exchange,
                },
                running,
            });
        }
        if cfg.noise.enabled {
            slots.push(Slot {
                name: cfg.noise.name.clone(),
                logic: Logic::Noise,
                running: states.get(&cfg.noise.name).copied().unwrap_or(true),
            });
        }
        slots.push(Slot {
            name: MANUAL_STRATEGY.to_string(),
            logic: Logic::Manual,
            running: true,
        });
        let names: Vec<String> = slots.iter().map(|s| s.name.clone()).collect();
        let mut portfolio = Portfolio::new(&names, cfg.initial_cash, cfg.periods_per_year);

        // Replay fills and equity samples: every position and statistic as it was.
        let mut totals = Totals::default();
        for f in journal.all_fills()? {
            let acct = portfolio
                .accounts
                .entry(f.strategy.clone())
                .or_insert_with(|| {
                    crate::portfolio::Account::new(cfg.initial_cash, cfg.periods_per_year)
                });
            acct.apply_fill(&f.pair, f.side, f.qty, f.price, f.fee, f.time_ms);
            totals.trades += 1;
        }
        for (scope, equity) in journal.all_equity()? {
            if scope == PORTFOLIO_SCOPE {
                portfolio.equity_stats.push(equity);
            } else if let Some(a) = portfolio.accounts.get_mut(&scope) {
                a.equity_stats.push(equity);
            }
        }
        let mut tick = 0;
        for (pair, idx, bar) in journal.last_bars()? {
            if let Some(p) = pairs.iter_mut().find(|p| p.name == pair) {
                p.feed.resume(idx, bar.close);
                portfolio.marks.insert(pair, bar.close);
                tick = tick.max(idx + 1);
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
        for slot in &mut slots {
            if let Logic::Rule { imp, pair, .. } = &mut slot.logic {
                let pname = &cfg.pairs[*pair].name;
                let pos = portfolio
                    .accounts
                    .get(&slot.name)
                    .map_or(0.0, |a| a.position(pname));
                for bar in journal.recent_bars(pname, cfg.feed.warmup_bars)? {
                    let _ = imp.on_bar(&bar, pos);
                }
            }
        }

        let now_ms = if tick == 0 {
            cfg.feed.start_time_ms
        } else {
            cfg.feed.start_time_ms + tick as i64 * interval_ms
        };
        let mut core = Core {
            speed_ms: cfg.market_ms_per_wall_sec(),
            pacing: cfg.feed.pacing,
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
            queue: BinaryHeap::new(),
            seq: 0,
            now_ms,
            start_market_ms: now_ms,
            start_wall: Instant::now(),
            tick,
            ticks_run: 0,
            ticking: false,
            pending: Vec::new(),
            totals,
            identity_violations: 0,
            load: LoadStats::default(),
            burst: 0,
            other_events: 0,
            overload: Overload::default(),
            cfg,
        };
        core.next_order_id = core.journal.max_order_id()? + 1;
        for rec in core.journal.open_orders()? {
            let id = rec.order.id;
            if rec.order.acknowledged_ms.is_none() {
                core.schedule(rec.arrive_ms.max(now_ms), Ev::Arrive(id));
            } else if let Some(exp) = rec.expire_ms {
                core.schedule(exp.max(now_ms), Ev::Expire(id));
            }
            core.open.insert(id, rec);
        }
        let outages: Vec<(usize, crate::config::OutageConfig)> = core
            .cfg
            .exchanges
            .iter()
            .enumerate()
            .flat_map(|(i, x)| x.disconnect.iter().map(move |o| (i, o.clone())))
            .collect();
        {
            for (i, o) in outages {
                let at = now_ms + (o.at_secs * core.speed_ms) as i64;
                let until = at + (o.for_secs * core.speed_ms) as i64;
                core.schedule(
                    at,
                    Ev::Disconnect {
                        exchange: i,
                        until_ms: until,
                    },
                );
            }
        }
        if core.feeds_can_continue() {
            core.ticking = true;
            let t = core.tick_time(core.tick);
            core.schedule(t, Ev::Tick);
        }

        core.sink.on_event(&EngineEvent::Restored(restored));
        for x in &core.exchanges {
            core.sink.on_event(&EngineEvent::ExchangeConnection {
                exchange: x.cfg.name.clone(),
                connected: x.connected,
            });
        }
        for s in &core.slots {
            core.sink.on_event(&EngineEvent::StrategyState {
                strategy: s.name.clone(),
                running: s.running,
            });
        }
        core.push_gauges(true);
        core.flush();
        tracing::info!(
            tick = core.tick,
            trades = core.totals.trades,
            open_orders = core.open.len(),
            "engine restored from journal"
        );
        Ok(core)
    }

    fn tick_time(&self, k: u64) -> i64 {
        self.cfg.feed.start_time_ms + (k as i64 + 1) * self.interval_ms
    }

    fn feeds_can_continue(&self) -> bool {
        let limit = self.cfg.feed.max_bars;
        (limit == 0 || self.ticks_run < limit) && self.pairs.iter().any(|p| !p.feed.is_exhausted())
    }

    fn schedule(&mut self, time_ms: i64, ev: Ev) {
        self.seq += 1;
        self.queue.push(std::cmp::Reverse(Scheduled {
            time_ms,
            seq: self.seq,
            ev,
        }));
    }

    fn deadline(&self, t: i64) -> Instant {
        let secs = ((t - self.start_market_ms) as f64 / self.speed_ms).max(0.0);
        self.start_wall + Duration::from_secs_f64(secs)
    }

    /// The virtual time at which an API command takes effect: wall-paced, but never before the
    /// last processed event nor after the next queued one.
    fn command_time(&self) -> i64 {
        if !self.pacing {
            return self.now_ms;
        }
        let elapsed = self.start_wall.elapsed().as_secs_f64();
        let mut t = self.start_market_ms + (elapsed * self.speed_ms) as i64;
        if let Some(next) = self.queue.peek() {
            t = t.min(next.0.time_ms);
        }
        t.max(self.now_ms)
    }

    fn run(&mut self, rx: Receiver<Command>) {
        loop {
            let next = if self.halted.is_some() {
                None
            } else {
                self.queue.peek().map(|s| s.0.time_ms)
            };
            let cmd = match next {
                None => match rx.recv() {
                    Ok(c) => c,
                    Err(_) => break,
                },
                Some(t) => {
                    let now = Instant::now();
                    let deadline = if self.pacing { self.deadline(t) } else { now };
                    if deadline <= now {
                        // Unpaced, commands come first: an endless feed is always due.
                        // Paced, the due events come first, a waiting command every
                        // EVENT_BURST events.
                        if self.pacing && self.burst < EVENT_BURST {
                            self.burst += 1;
                            self.step();
                            continue;
                        }
                        self.burst = 0;
                        match rx.try_recv() {
                            Ok(c) => c,
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

    fn shutdown(&mut self) {
        if let Err(e) = self.journal.checkpoint() {
            tracing::warn!(error = %e, "journal checkpoint at shutdown failed");
        }
        tracing::info!("engine stopped");
    }

    /// Runs `f` inside one journal transaction; reports its events only after the commit.
    fn transact(&mut self, f: impl FnOnce(&mut Self) -> Result<(), JournalError>) {
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

    fn flush(&mut self) {
        for ev in std::mem::take(&mut self.pending) {
            self.sink.on_event(&ev);
        }
    }

    /// Market milliseconds the simulation trails the wall-paced clock (0 when unpaced or on
    /// time).
    fn lag_ms(&self) -> i64 {
        if !self.pacing {
            return 0;
        }
        let paced =
            self.start_market_ms + (self.start_wall.elapsed().as_secs_f64() * self.speed_ms) as i64;
        match self.queue.peek() {
            Some(next) => (paced - next.0.time_ms).max(0),
            None => 0,
        }
    }

    fn report_load(&mut self) {
        let l = &mut self.load;
        l.max_queued = l.max_queued.max(self.queue.len());
        l.max_open = l.max_open.max(self.open.len());
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
            queued = self.queue.len(),
            queue_capacity = self.queue.capacity(),
            open = self.open.len(),
            lag_ms = self.lag_ms(),
            "engine load"
        );
    }

    fn step(&mut self) {
        self.load.events += 1;
        self.report_load();
        let Some(std::cmp::Reverse(s)) = self.queue.pop() else {
            return;
        };
        if self.pacing {
            self.keep_up(s.time_ms);
        }
        self.now_ms = self.now_ms.max(s.time_ms);
        self.transact(|c| c.handle_event(s.ev));
        self.compact_queue();
    }

    /// Paced: if the event at market time `t` runs later than [`MAX_LAG`] (and [`MAX_LAG_BARS`]
    /// bars) behind its wall deadline, the engine is overloaded. Instead of catching up in a
    /// burst (and queueing ever more while it does), the market clock slips: the rest of the
    /// simulation moves later in wall time. What happens is unchanged, only when. Slips are
    /// counted ([`Progress`], [`EngineEvent::ClockSlipped`]) and logged as a warning at most
    /// every [`OVERLOAD_WARN_EVERY`].
    fn keep_up(&mut self, t: i64) {
        let now = Instant::now();
        let Some(late) = now.checked_duration_since(self.deadline(t)) else {
            return;
        };
        let bars =
            Duration::from_secs_f64((self.interval_ms as f64 / self.speed_ms) * MAX_LAG_BARS);
        if late <= MAX_LAG.max(bars) {
            return;
        }
        self.start_wall += late;
        self.sink.on_event(&EngineEvent::ClockSlipped);
        let ms = (late.as_secs_f64() * self.speed_ms) as i64;
        let o = &mut self.overload;
        o.slips += 1;
        o.slipped_ms += ms;
        o.unwarned_slips += 1;
        o.unwarned_ms += ms;
        if o.warned_at
            .is_none_or(|w| w.elapsed() >= OVERLOAD_WARN_EVERY)
        {
            tracing::warn!(
                behind_wall_ms = late.as_millis() as u64,
                slips = o.unwarned_slips,
                slipped_market_ms = o.unwarned_ms,
                total_slipped_market_ms = o.slipped_ms,
                queued_events = self.queue.len(),
                open_orders = self.open.len(),
                "engine overloaded: it fell behind the wall clock, so the market clock slipped \
                 (bars come later than the configured clock speed; nothing is skipped)"
            );
            o.warned_at = Some(now);
            o.unwarned_slips = 0;
            o.unwarned_ms = 0;
        }
    }

    /// Drops queued events that can no longer do anything (arrivals and expiries of orders
    /// that became final first) once they are many, and gives back the queue's spare capacity
    /// after a backlog, so neither outlives the orders they were for.
    fn compact_queue(&mut self) {
        if self.queue.len() > 2 * self.open.len() + self.other_events + COMPACT_SLACK {
            let open = &self.open;
            let mut other = 0;
            self.queue.retain(|s| match s.0.ev {
                Ev::Arrive(id) | Ev::Expire(id) => open.contains_key(&id),
                _ => {
                    other += 1;
                    true
                }
            });
            self.other_events = other;
        }
        let (len, cap) = (self.queue.len(), self.queue.capacity());
        if cap > 1024 && len < cap / 4 {
            self.queue.shrink_to(len * 2);
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
            Ev::Disconnect { exchange, until_ms } => self.on_disconnect(exchange, until_ms),
            Ev::Reconnect(i) => {
                let x = &mut self.exchanges[i];
                if !x.connected && self.now_ms >= x.down_until_ms {
                    x.connected = true;
                    x.down_since_ms = None;
                    x.critical_alerted = false;
                    let name = x.cfg.name.clone();
                    tracing::info!(exchange = %name, "exchange reconnected");
                    self.pending.push(EngineEvent::ExchangeConnection {
                        exchange: name.clone(),
                        connected: true,
                    });
                    let a = self.risk.on_reconnect(&name);
                    self.raise(a)?;
                }
                Ok(())
            }
            Ev::StillDown { exchange, since_ms } => {
                let x = &mut self.exchanges[exchange];
                if !x.connected && x.down_since_ms == Some(since_ms) && !x.critical_alerted {
                    x.critical_alerted = true;
                    let a = self.risk.on_still_down(&x.cfg.name.clone());
                    self.raise(a)?;
                }
                Ok(())
            }
        }
    }

    fn on_disconnect(&mut self, i: usize, until_ms: i64) -> Result<(), JournalError> {
        let now = self.now_ms;
        let x = &mut self.exchanges[i];
        x.down_until_ms = x.down_until_ms.max(until_ms);
        self.schedule(until_ms, Ev::Reconnect(i));
        let x = &mut self.exchanges[i];
        if x.connected {
            x.connected = false;
            x.down_since_ms = Some(now);
            let name = x.cfg.name.clone();
            tracing::warn!(exchange = %name, "exchange disconnected");
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

    fn raise(&mut self, a: Alert) -> Result<(), JournalError> {
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

    fn on_tick(&mut self) -> Result<(), JournalError> {
        let k = self.tick;
        let mut bars: Vec<(usize, Bar)> = Vec::new();
        let wall = wall_ms();
        for pi in 0..self.pairs.len() {
            let p = &mut self.pairs[pi];
            if let Some((idx, bar)) = p.feed.next_bar() {
                p.last_wall = Some(Instant::now());
                self.journal.insert_bar(&p.name, idx, &bar)?;
                self.portfolio.marks.insert(p.name.clone(), bar.close);
                self.pending.push(EngineEvent::MarketData {
                    pair: p.name.clone(),
                    time_ms: bar.time_ms,
                    wall_time_ms: wall,
                });
                bars.push((pi, bar));
            }
        }
        self.tick += 1;
        self.ticks_run += 1;
        if k % 1024 == 1023 {
            let keep_from = (k + 1).saturating_sub(self.cfg.feed.warmup_bars.max(1) as u64);
            for p in &self.pairs {
                self.journal.prune_bars(&p.name, keep_from)?;
            }
        }
        if bars.is_empty() {
            self.ticking = false;
            return Ok(());
        }
        // Resting limit orders trade against the new bars.
        for (pi, bar) in &bars {
            let pair = self.pairs[*pi].name.clone();
            let crossing: Vec<(u64, f64)> = self
                .open
                .values()
                .filter(|r| r.order.pair == pair && r.order.acknowledged_ms.is_some())
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
        }
        // Strategies decide at the bar close.
        for si in 0..self.slots.len() {
            let name = self.slots[si].name.clone();
            let Logic::Rule { pair: pi, .. } = &self.slots[si].logic else {
                continue;
            };
            let pi = *pi;
            let Some((_, bar)) = bars.iter().find(|(p, _)| *p == pi) else {
                continue;
            };
            let pos = self
                .portfolio
                .accounts
                .get(&name)
                .map_or(0.0, |a| a.position(&self.pairs[pi].name));
            let target = match &mut self.slots[si].logic {
                Logic::Rule { imp, .. } => imp.on_bar(bar, pos),
                _ => None,
            };
            if let (true, Some(target)) = (self.slots[si].running, target) {
                self.reconcile(si, pi, target, bar.close)?;
            }
        }
        self.run_noise(k)?;
        // Random link faults.
        let tick_wall_secs = self.interval_ms as f64 / self.speed_ms;
        for i in 0..self.exchanges.len() {
            if let Some(secs) = self.exchanges[i].random_outage(self.cfg.seed, k, tick_wall_secs) {
                let until = self.now_ms + (secs * self.speed_ms) as i64;
                self.on_disconnect(i, until)?;
            }
        }
        // Sample equity once per bar (ANALYTICS.md §9).
        let marks = self.portfolio.marks.clone();
        let mut total = 0.0;
        let names: Vec<String> = self.portfolio.accounts.keys().cloned().collect();
        for name in &names {
            let Some(a) = self.portfolio.accounts.get_mut(name) else {
                continue;
            };
            let eq = a.equity(&marks);
            let check = a.cash_plus_positions(&marks);
            if (eq - check).abs() > 1e-6 * eq.abs().max(1.0) {
                self.identity_violations += 1;
                tracing::error!(strategy = %name, eq, check, "equity identity violated");
            }
            a.equity_stats.push(eq);
            total += eq;
            self.journal.insert_equity(k, name, eq)?;
        }
        self.portfolio.equity_stats.push(total);
        self.journal.insert_equity(k, PORTFOLIO_SCOPE, total)?;
        // Risk checks.
        if let Some(a) = self
            .risk
            .on_drawdown(self.portfolio.equity_stats.max_drawdown())
        {
            self.raise(a)?;
        }
        for pi in 0..self.pairs.len() {
            let name = self.pairs[pi].name.clone();
            let notional = self.portfolio.net_position(&name) * marks.get(&name).unwrap_or(&0.0);
            if let Some(a) = self.risk.on_position(&name, notional) {
                self.raise(a)?;
            }
        }
        self.push_gauges(true);
        if self.feeds_can_continue() {
            let t = self.tick_time(self.tick);
            self.schedule(t, Ev::Tick);
        } else {
            self.ticking = false;
            tracing::info!(ticks = self.ticks_run, "feeds ended");
        }
        Ok(())
    }

    fn reconcile(
        &mut self,
        si: usize,
        pi: usize,
        target: f64,
        close: f64,
    ) -> Result<(), JournalError> {
        let Logic::Rule { cfg, exchange, .. } = &self.slots[si].logic else {
            return Ok(());
        };
        let (style, tif, off, ex) = (
            cfg.execution,
            cfg.time_in_force_secs,
            cfg.limit_offset_bps / 10_000.0,
            *exchange,
        );
        let name = self.slots[si].name.clone();
        let pair = self.pairs[pi].name.clone();
        let pos = self
            .portfolio
            .accounts
            .get(&name)
            .map_or(0.0, |a| a.position(&pair));
        let pending: f64 = self
            .open
            .values()
            .filter(|r| r.order.strategy == name && r.order.pair == pair)
            .map(|r| r.order.side.sign() * (r.order.qty - r.order.filled_qty))
            .sum();
        let diff = target - (pos + pending);
        if diff.abs() <= 1e-9 * target.abs().max(1.0) {
            return Ok(());
        }
        let side = if diff > 0.0 {
            OrderSide::Buy
        } else {
            OrderSide::Sell
        };
        let kind = match style {
            ExecutionStyle::Market => OrderKind::Market,
            ExecutionStyle::Limit => OrderKind::Limit {
                price: match side {
                    OrderSide::Buy => close * (1.0 - off),
                    OrderSide::Sell => close * (1.0 + off),
                },
                time_in_force_secs: Some(tif),
            },
        };
        self.submit(name, pi, ex, side, kind, diff.abs())?;
        Ok(())
    }

    fn run_noise(&mut self, k: u64) -> Result<(), JournalError> {
        let Some(si) = self
            .slots
            .iter()
            .position(|s| matches!(s.logic, Logic::Noise))
        else {
            return Ok(());
        };
        if !self.slots[si].running {
            return Ok(());
        }
        let n = self.cfg.noise.clone();
        let mut rng = SplitMix64::keyed(self.cfg.seed, NOISE_TAG, k);
        if !rng.chance(n.order_prob) {
            return Ok(());
        }
        let pi = rng.index(self.pairs.len());
        let ex = rng.index(self.exchanges.len());
        let pair = self.pairs[pi].name.clone();
        let Some(mark) = self.portfolio.marks.get(&pair).copied() else {
            return Ok(());
        };
        let name = self.slots[si].name.clone();
        let pos = self
            .portfolio
            .accounts
            .get(&name)
            .map_or(0.0, |a| a.position(&pair));
        // Lean against the current position so the noise book mean-reverts.
        let lean = (pos * mark / (4.0 * n.notional)).clamp(-1.0, 1.0);
        let side = if rng.chance(0.5 - 0.4 * lean) {
            OrderSide::Buy
        } else {
            OrderSide::Sell
        };
        let min_qty = self.pairs[pi].min_qty;
        let fat = rng.chance(n.fat_finger_prob);
        let tiny = rng.chance(n.tiny_prob);
        let mut qty = ((n.notional / mark) / min_qty).round().max(1.0) * min_qty;
        if fat {
            qty *= 100.0;
        } else if tiny {
            qty = min_qty / 2.0;
        }
        let kind = if rng.chance(n.limit_prob) {
            let off = rng.uniform() * n.max_offset_bps / 10_000.0;
            let price = match side {
                OrderSide::Buy => mark * (1.0 - off),
                OrderSide::Sell => mark * (1.0 + off),
            };
            OrderKind::Limit {
                price,
                time_in_force_secs: Some(n.time_in_force_secs),
            }
        } else {
            OrderKind::Market
        };
        self.submit(name, pi, ex, side, kind, qty)?;
        Ok(())
    }

    /// Creates an order at the current time and routes it: pre-trade risk check, link check,
    /// then off to the exchange with a sampled latency. Returns its id.
    fn submit(
        &mut self,
        strategy: String,
        pi: usize,
        ex: usize,
        side: OrderSide,
        kind: OrderKind,
        qty: f64,
    ) -> Result<u64, JournalError> {
        let id = self.next_order_id;
        self.next_order_id += 1;
        let pair = self.pairs[pi].name.clone();
        let latency = self.exchanges[ex].latency_ms(self.cfg.seed, id);
        let arrive_ms = self.now_ms + latency.ceil() as i64;
        let rec = OrderRecord {
            order: Order {
                id,
                strategy,
                pair: pair.clone(),
                exchange: self.exchanges[ex].cfg.name.clone(),
                side,
                kind,
                qty,
                filled_qty: 0.0,
                avg_fill_price: None,
                status: OrderStatus::Open,
                reject_reason: None,
                created_ms: self.now_ms,
                updated_ms: self.now_ms,
                acknowledged_ms: None,
                fills: Vec::new(),
            },
            arrive_ms,
            expire_ms: None,
        };
        self.journal.upsert_order(&rec)?;
        self.open.insert(id, rec);
        let price = match kind {
            OrderKind::Limit { price, .. } => Some(price),
            OrderKind::Market => self.portfolio.marks.get(&pair).copied(),
        };
        let net = self.portfolio.net_position(&pair);
        let new_net = net + side.sign() * qty;
        let reason = match price {
            None => Some(RejectReason::Other),
            Some(p)
                if new_net.abs() > net.abs()
                    && new_net.abs() * p > self.cfg.risk.max_position_notional =>
            {
                Some(RejectReason::RiskLimit)
            }
            _ if !self.exchanges[ex].connected => Some(RejectReason::ExchangeDisconnected),
            _ => None,
        };
        if let Some(r) = reason {
            self.finish(id, OrderStatus::Rejected, Some(r))?;
        } else {
            self.schedule(arrive_ms, Ev::Arrive(id));
            self.pending
                .push(EngineEvent::OrdersActive(self.open.len()));
        }
        Ok(id)
    }

    fn on_arrive(&mut self, id: u64) -> Result<(), JournalError> {
        let Some(rec) = self.open.get(&id) else {
            return Ok(());
        };
        let o = &rec.order;
        let Some(pi) = self.pairs.iter().position(|p| p.name == o.pair) else {
            return self.finish(id, OrderStatus::Rejected, Some(RejectReason::UnknownPair));
        };
        let Some(ex) = self.exchanges.iter().position(|x| x.cfg.name == o.exchange) else {
            return self.finish(id, OrderStatus::Rejected, Some(RejectReason::Other));
        };
        if !self.exchanges[ex].connected {
            return self.finish(
                id,
                OrderStatus::Rejected,
                Some(RejectReason::ExchangeDisconnected),
            );
        }
        if o.qty < self.pairs[pi].min_qty * (1.0 - 1e-9) {
            return self.finish(
                id,
                OrderStatus::Rejected,
                Some(RejectReason::InvalidQuantity),
            );
        }
        let (kind, side, created, pair) = (o.kind, o.side, o.created_ms, o.pair.clone());
        let Some(mark) = self.portfolio.marks.get(&pair).copied() else {
            return self.finish(id, OrderStatus::Rejected, Some(RejectReason::Other));
        };
        let latency_seconds = (self.now_ms - created) as f64 / 1000.0;
        self.pending
            .push(EngineEvent::OrderAcknowledged { latency_seconds });
        let now = self.now_ms;
        if let Some(r) = self.open.get_mut(&id) {
            r.order.acknowledged_ms = Some(now);
            r.order.updated_ms = now;
        }
        match kind {
            OrderKind::Market => self.fill(id, mark),
            OrderKind::Limit { price, .. } if marketable(side, price, mark) => self.fill(id, mark),
            OrderKind::Limit {
                time_in_force_secs, ..
            } => {
                let expire = time_in_force_secs.map(|s| now + (s * self.speed_ms) as i64);
                if let Some(r) = self.open.get_mut(&id) {
                    r.expire_ms = expire;
                    self.journal.upsert_order(r)?;
                }
                if let Some(t) = expire {
                    self.schedule(t, Ev::Expire(id));
                }
                Ok(())
            }
        }
    }

    /// Fills an open order in full at `price`, if the account can afford it.
    fn fill(&mut self, id: u64, price: f64) -> Result<(), JournalError> {
        let Some(rec) = self.open.get(&id) else {
            return Ok(());
        };
        let o = rec.order.clone();
        let Some(ex) = self.exchanges.iter().find(|x| x.cfg.name == o.exchange) else {
            return self.finish(id, OrderStatus::Rejected, Some(RejectReason::Other));
        };
        let qty = o.qty - o.filled_qty;
        let fee = ex.fee(qty, price);
        let marks = &self.portfolio.marks;
        let affordable = match self.portfolio.accounts.get(&o.strategy) {
            None => false,
            Some(a) => {
                let pos = a.position(&o.pair);
                let new = pos + o.side.sign() * qty;
                match o.side {
                    OrderSide::Buy => {
                        let opening = (new.max(0.0) - pos.max(0.0)).max(0.0);
                        opening * price + fee <= a.cash
                    }
                    OrderSide::Sell => {
                        let opening = ((-new).max(0.0) - (-pos).max(0.0)).max(0.0);
                        opening * price + fee <= a.equity(marks)
                    }
                }
            }
        };
        if !affordable {
            return self.finish(
                id,
                OrderStatus::Rejected,
                Some(RejectReason::InsufficientBalance),
            );
        }
        let now = self.now_ms;
        let fill_id = self.journal.insert_fill(
            id,
            &o.strategy,
            &o.pair,
            &o.exchange,
            o.side,
            qty,
            price,
            fee,
            now,
        )?;
        if let Some(a) = self.portfolio.accounts.get_mut(&o.strategy) {
            a.apply_fill(&o.pair, o.side, qty, price, fee, now);
        }
        self.totals.trades += 1;
        if let Some(r) = self.open.get_mut(&id) {
            let prev = r.order.avg_fill_price.unwrap_or(0.0) * r.order.filled_qty;
            r.order.filled_qty += qty;
            r.order.avg_fill_price = Some((prev + qty * price) / r.order.filled_qty);
            r.order.fills.push(OrderFill {
                id: fill_id,
                qty,
                price,
                fee,
                time_ms: now,
            });
        }
        self.pending.push(EngineEvent::Fill {
            strategy: o.strategy.clone(),
            pair: o.pair.clone(),
            exchange: o.exchange.clone(),
            side: o.side,
            qty,
            price,
            fee,
        });
        self.finish(id, OrderStatus::Filled, None)?;
        self.push_pair_gauges(&o.pair);
        self.push_strategy_stats(&o.strategy);
        Ok(())
    }

    /// Moves an open order to a terminal state, journals it and counts it.
    fn finish(
        &mut self,
        id: u64,
        status: OrderStatus,
        reason: Option<RejectReason>,
    ) -> Result<(), JournalError> {
        let Some(mut rec) = self.open.remove(&id) else {
            return Ok(());
        };
        rec.order.status = status;
        rec.order.reject_reason = reason;
        rec.order.updated_ms = self.now_ms;
        self.journal.upsert_order(&rec)?;
        *self.totals.orders.entry(status).or_insert(0) += 1;
        if let Some(r) = reason {
            tracing::debug!(order = id, reason = r.as_str(), "order rejected");
        }
        self.pending
            .push(EngineEvent::OrderFinished { status, reason });
        self.pending
            .push(EngineEvent::OrdersActive(self.open.len()));
        if let Some(a) = self.risk.on_terminal(status == OrderStatus::Rejected) {
            self.raise(a)?;
        }
        Ok(())
    }

    fn push_pair_gauges(&mut self, pair: &str) {
        let size = self.portfolio.net_position(pair);
        self.pending.push(EngineEvent::Position {
            pair: pair.to_string(),
            size: if size.abs() < 1e-12 { 0.0 } else { size },
            unrealized_pnl: self.portfolio.pair_unrealized(pair),
        });
        let count = self
            .pairs
            .iter()
            .filter(|p| self.portfolio.net_position(&p.name).abs() >= 1e-12)
            .count();
        self.pending.push(EngineEvent::PositionCount(count));
    }

    fn push_strategy_stats(&mut self, name: &str) {
        let Some(a) = self.portfolio.accounts.get(name) else {
            return;
        };
        if !self.slots.iter().any(|s| s.name == name) {
            return;
        }
        self.pending.push(EngineEvent::StrategyStats {
            strategy: name.to_string(),
            realized_pnl_by_pair: a
                .realized_by_pair
                .iter()
                .map(|(p, v)| (p.clone(), *v))
                .collect(),
            win_rate: a.trades.win_rate(),
            sharpe: a.equity_stats.sharpe(),
            calmar: a.equity_stats.calmar(),
            equity: a.equity(&self.portfolio.marks),
        });
    }

    /// Every gauge: positions, strategy and portfolio statistics, open orders.
    fn push_gauges(&mut self, portfolio: bool) {
        let pairs: Vec<String> = self.pairs.iter().map(|p| p.name.clone()).collect();
        for p in &pairs {
            self.pending.push(EngineEvent::Position {
                pair: p.clone(),
                size: {
                    let s = self.portfolio.net_position(p);
                    if s.abs() < 1e-12 {
                        0.0
                    } else {
                        s
                    }
                },
                unrealized_pnl: self.portfolio.pair_unrealized(p),
            });
        }
        let count = pairs
            .iter()
            .filter(|p| self.portfolio.net_position(p).abs() >= 1e-12)
            .count();
        self.pending.push(EngineEvent::PositionCount(count));
        let names: Vec<String> = self.slots.iter().map(|s| s.name.clone()).collect();
        for n in &names {
            self.push_strategy_stats(n);
        }
        if portfolio {
            let s = &self.portfolio.equity_stats;
            self.pending.push(EngineEvent::PortfolioStats {
                equity: self.portfolio.equity(),
                max_drawdown: s.max_drawdown(),
                var_95: s.var_95(),
                cvar_95: s.cvar_95(),
            });
        }
        self.pending
            .push(EngineEvent::OrdersActive(self.open.len()));
    }

    // ----- commands -------------------------------------------------------------------------

    fn command(&mut self, cmd: Command) {
        match cmd {
            Command::PlaceOrder(req, reply) => {
                let r = self.place_order(req);
                let _ = reply.send(r);
            }
            Command::Cancel(id, reply) => {
                let r = self.cancel(id);
                let _ = reply.send(r);
            }
            Command::Order(id, reply) => {
                let r = match self.open.get(&id) {
                    Some(rec) => Ok(Some(rec.order.clone())),
                    None => self.journal.order(id).map_err(EngineError::from),
                };
                let _ = reply.send(r);
            }
            Command::Orders(f, reply) => {
                let _ = reply.send(self.journal.orders(&f).map_err(EngineError::from));
            }
            Command::Strategies(reply) => {
                let v = (0..self.slots.len()).map(|i| self.info(i)).collect();
                let _ = reply.send(v);
            }
            Command::SetRunning(name, running, reply) => {
                let r = self.set_running(&name, running);
                let _ = reply.send(r);
            }
            Command::Positions(reply) => {
                let _ = reply.send(self.positions());
            }
            Command::Trades(offset, limit, reply) => {
                let _ = reply.send(
                    self.journal
                        .trades(offset, limit)
                        .map_err(EngineError::from),
                );
            }
            Command::Summary(reply) => {
                let _ = reply.send(self.summary());
            }
            Command::Health(reply) => {
                let _ = reply.send(self.health());
            }
            Command::Progress(reply) => {
                let _ = reply.send(Progress {
                    ticks: self.ticks_run,
                    idle: self.halted.is_some() || self.queue.iter().all(|s| self.is_noop(&s.0.ev)),
                    identity_violations: self.identity_violations,
                    queued_events: self.queue.len(),
                    open_orders: self.open.len(),
                    behind_ms: self.lag_ms(),
                    clock_slips: self.overload.slips,
                    clock_slipped_ms: self.overload.slipped_ms,
                });
            }
            Command::Shutdown(reply) => {
                let _ = reply.send(());
            }
        }
    }

    /// Whether a queued event can no longer change anything (a stale timer).
    fn is_noop(&self, ev: &Ev) -> bool {
        match ev {
            Ev::Tick | Ev::Disconnect { .. } => false,
            Ev::Arrive(id) | Ev::Expire(id) => !self.open.contains_key(id),
            Ev::Reconnect(i) => self.exchanges[*i].connected,
            Ev::StillDown { exchange, since_ms } => {
                let x = &self.exchanges[*exchange];
                x.connected || x.down_since_ms != Some(*since_ms) || x.critical_alerted
            }
        }
    }

    fn place_order(&mut self, req: OrderRequest) -> Result<Order, OrderError> {
        let pi = self
            .pairs
            .iter()
            .position(|p| p.name == req.pair)
            .ok_or_else(|| OrderError::UnknownPair(req.pair.clone()))?;
        let strategy = req
            .strategy
            .clone()
            .unwrap_or_else(|| MANUAL_STRATEGY.to_string());
        let si = self
            .slots
            .iter()
            .position(|s| s.name == strategy)
            .ok_or_else(|| OrderError::UnknownStrategy(strategy.clone()))?;
        let ex = match &req.exchange {
            Some(x) => self
                .exchanges
                .iter()
                .position(|e| &e.cfg.name == x)
                .ok_or_else(|| OrderError::UnknownExchange(x.clone()))?,
            None => match &self.slots[si].logic {
                Logic::Rule { exchange, .. } => *exchange,
                _ => 0,
            },
        };
        if !(req.qty.is_finite() && req.qty > 0.0) {
            return Err(OrderError::InvalidQuantity(format!(
                "qty must be a finite number > 0, got {}",
                req.qty
            )));
        }
        if let OrderKind::Limit {
            price,
            time_in_force_secs,
        } = req.kind
        {
            if !(price.is_finite() && price > 0.0) {
                return Err(OrderError::InvalidPrice(format!(
                    "limit price must be a finite number > 0, got {price}"
                )));
            }
            if let Some(t) = time_in_force_secs {
                if !(t.is_finite() && t > 0.0) {
                    return Err(OrderError::InvalidPrice(format!(
                        "time_in_force_secs must be a finite number > 0, got {t}"
                    )));
                }
            }
        }
        if let Some(h) = &self.halted {
            return Err(OrderError::TradingHalted(h.clone()));
        }
        self.now_ms = self.command_time();
        let mut id = None;
        self.transact(|c| {
            id = Some(c.submit(strategy, pi, ex, req.side, req.kind, req.qty)?);
            Ok(())
        });
        if let Some(h) = &self.halted {
            return Err(OrderError::TradingHalted(h.clone()));
        }
        let id = id.ok_or(OrderError::Engine(EngineError::Stopped))?;
        match self.open.get(&id) {
            Some(r) => Ok(r.order.clone()),
            None => self
                .journal
                .order(id)
                .map_err(|e| OrderError::Engine(e.into()))?
                .ok_or(OrderError::NotFound(id)),
        }
    }

    fn cancel(&mut self, id: u64) -> Result<Order, OrderError> {
        if !self.open.contains_key(&id) {
            let o = self
                .journal
                .order(id)
                .map_err(|e| OrderError::Engine(e.into()))?
                .ok_or(OrderError::NotFound(id))?;
            return Err(OrderError::AlreadyFinal {
                id,
                status: o.status,
            });
        }
        if let Some(h) = &self.halted {
            return Err(OrderError::TradingHalted(h.clone()));
        }
        self.now_ms = self.command_time();
        self.transact(|c| c.finish(id, OrderStatus::Cancelled, None));
        if let Some(h) = &self.halted {
            return Err(OrderError::TradingHalted(h.clone()));
        }
        self.journal
            .order(id)
            .map_err(|e| OrderError::Engine(e.into()))?
            .ok_or(OrderError::NotFound(id))
    }

    fn set_running(&mut self, name: &str, running: bool) -> Result<StrategyInfo, EngineError> {
        let si = self
            .slots
            .iter()
            .position(|s| s.name == name)
            .ok_or_else(|| EngineError::UnknownStrategy(name.to_string()))?;
        if matches!(self.slots[si].logic, Logic::Manual) {
            return Err(EngineError::NotControllable(name.to_string()));
        }
        if let Some(h) = &self.halted {
            return Err(EngineError::Journal(h.clone()));
        }
        self.journal.set_strategy_state(name, running)?;
        self.slots[si].running = running;
        tracing::info!(strategy = name, running, "strategy state changed");
        self.sink.on_event(&EngineEvent::StrategyState {
            strategy: name.to_string(),
            running,
        });
        Ok(self.info(si))
    }

    fn info(&self, si: usize) -> StrategyInfo {
        let s = &self.slots[si];
        let (kind, pair, exchange, params) = match &s.logic {
            Logic::Rule {
                cfg,
                pair,
                exchange,
                ..
            } => (
                strategy_kind(&cfg.params).to_string(),
                Some(self.pairs[*pair].name.clone()),
                Some(self.exchanges[*exchange].cfg.name.clone()),
                Some(cfg.params.clone()),
            ),
            Logic::Noise => ("noise".to_string(), None, None, None),
            Logic::Manual => ("manual".to_string(), None, None, None),
        };
        let marks = &self.portfolio.marks;
        let a = self.portfolio.accounts.get(&s.name);
        StrategyInfo {
            name: s.name.clone(),
            kind,
            pair,
            exchange,
            running: s.running,
            params,
            realized_pnl: a.map_or(0.0, |a| a.realized_pnl()),
            win_rate: a.map_or(f64::NAN, |a| a.trades.win_rate()),
            closed_trades: a.map_or(0, |a| a.trades.closed()),
            sharpe: a.map_or(f64::NAN, |a| a.equity_stats.sharpe()),
            calmar: a.map_or(f64::NAN, |a| a.equity_stats.calmar()),
            equity: a.map_or(self.cfg.initial_cash, |a| a.equity(marks)),
            cash: a.map_or(self.cfg.initial_cash, |a| a.cash),
            fees_paid: a.map_or(0.0, |a| a.fees_paid),
        }
    }

    fn positions(&self) -> Vec<PositionInfo> {
        self.pairs
            .iter()
            .map(|p| {
                let mark = self.portfolio.marks.get(&p.name).copied();
                let by_strategy = self
                    .portfolio
                    .accounts
                    .iter()
                    .filter_map(|(name, a)| {
                        let b = a.books.get(&p.name)?;
                        if b.is_flat() {
                            return None;
                        }
                        Some(StrategyPosition {
                            strategy: name.clone(),
                            size: b.position(),
                            avg_entry_price: b.avg_entry_price(),
                            unrealized_pnl: mark.map_or(0.0, |m| b.unrealized_pnl(m)),
                        })
                    })
                    .collect();
                PositionInfo {
                    pair: p.name.clone(),
                    size: self.portfolio.net_position(&p.name),
                    mark_price: mark,
                    unrealized_pnl: self.portfolio.pair_unrealized(&p.name),
                    by_strategy,
                }
            })
            .collect()
    }

    fn summary(&self) -> Summary {
        let s = &self.portfolio.equity_stats;
        let marks = &self.portfolio.marks;
        let count = |st: OrderStatus| self.totals.orders.get(&st).copied().unwrap_or(0);
        Summary {
            trades_total: self.totals.trades,
            orders_total: OrderTotals {
                filled: count(OrderStatus::Filled),
                cancelled: count(OrderStatus::Cancelled),
                rejected: count(OrderStatus::Rejected),
                open: self.open.len() as u64,
            },
            alerts_total: AlertLevel::ALL
                .iter()
                .map(|l| {
                    (
                        l.as_str().to_string(),
                        self.totals.alerts.get(l).copied().unwrap_or(0),
                    )
                })
                .collect(),
            equity: self.portfolio.equity(),
            max_drawdown: s.max_drawdown(),
            var_95: s.var_95(),
            cvar_95: s.cvar_95(),
            equity_samples: s.points() as u64,
            strategies: self
                .portfolio
                .accounts
                .iter()
                .map(|(name, a)| StrategySummary {
                    name: name.clone(),
                    realized_pnl: a.realized_pnl(),
                    win_rate: a.trades.win_rate(),
                    sharpe: a.equity_stats.sharpe(),
                    calmar: a.equity_stats.calmar(),
                    equity: a.equity(marks),
                    closed_trades: a.trades.closed(),
                })
                .collect(),
        }
    }

    fn health(&self) -> Health {
        let bar_wall =
            Duration::from_secs_f64((self.interval_ms as f64 / self.speed_ms).max(0.0) * 5.0 + 1.0);
        // Live means every pair has delivered a bar in this run, recently: before the first
        // bar there is no price to trade at.
        let fresh = self.pairs.iter().all(|p| {
            p.last_wall
                .is_some_and(|t| !self.pacing || t.elapsed() <= bar_wall)
        });
        Health {
            journal_ok: self.halted.is_none(),
            feeds_live: self.halted.is_none() && self.ticking && fresh,
            halted: self.halted.clone(),
        }
    }
}
