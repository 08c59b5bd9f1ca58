//! The server's side of the engine: a cheap, cloneable handle whose methods send one command to
//! the engine thread and wait for its answer. Order and trade listings skip the thread and read
//! the journal through a read-only connection.

use std::sync::mpsc::{self, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::domain::audit::{AuditContext, AuditEntry};
use crate::domain::orders::{Order, OrderError, OrderFilter, OrderRequest, Page};
use crate::error::EngineError;
use crate::journal::JournalReader;
use crate::market::MarketInbox;
use crate::report::views::{Health, PositionInfo, Progress, StrategyInfo, Summary, TradeInfo};

pub(crate) type Reply<T> = Sender<T>;

/// One request to the engine thread.
pub(crate) enum Command {
    PlaceOrder(
        OrderRequest,
        Option<AuditContext>,
        Reply<Result<Order, OrderError>>,
    ),
    Cancel(u64, Option<AuditContext>, Reply<Result<Order, OrderError>>),
    Order(u64, Reply<Result<Option<Order>, EngineError>>),
    Orders(OrderFilter, Reply<Result<Page<Order>, EngineError>>),
    Strategies(Reply<Vec<StrategyInfo>>),
    SetRunning(
        String,
        bool,
        Option<AuditContext>,
        Reply<Result<StrategyInfo, EngineError>>,
    ),
    Audit(usize, usize, Reply<Result<Page<AuditEntry>, EngineError>>),
    Positions(Reply<Vec<PositionInfo>>),
    Trades(usize, usize, Reply<Result<Page<TradeInfo>, EngineError>>),
    Summary(Reply<Summary>),
    Health(Reply<Health>),
    Progress(Reply<Progress>),
    /// A market event was pushed into the inbox: look at it.
    Wake,
    Shutdown(Reply<()>),
}

/// A cheap, cloneable, thread-safe handle to the engine thread. Every method sends one command
/// and blocks until the engine answers (call it from `spawn_blocking` in async code).
#[derive(Clone)]
pub struct EngineHandle {
    pub(crate) tx: Sender<Command>,
    pub(crate) thread: Arc<Mutex<Option<JoinHandle<()>>>>,
    pub(crate) reader: Option<Arc<JournalReader>>,
    pub(crate) inbox: MarketInbox,
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

    /// The push side of market data: live feeds send closed candles and link events here.
    pub fn market_inbox(&self) -> MarketInbox {
        self.inbox.clone()
    }

    /// Places an order. `Err` for invalid requests (unknown names, bad quantity or price,
    /// trading halted); venue and risk rejections come back as an order with status
    /// `rejected` and a reason.
    pub fn place_order(&self, req: OrderRequest) -> Result<Order, OrderError> {
        self.call(|r| Command::PlaceOrder(req, None, r))?
    }

    /// Cancels an open order.
    pub fn cancel_order(&self, id: u64) -> Result<Order, OrderError> {
        self.call(|r| Command::Cancel(id, None, r))?
    }

    /// One order with its fills (`Ok(None)` if unknown).
    pub fn order(&self, id: u64) -> Result<Option<Order>, EngineError> {
        self.call(|r| Command::Order(id, r))?
    }

    /// A page of orders, newest first (read on the caller's thread).
    pub fn orders(&self, filter: &OrderFilter) -> Result<Page<Order>, EngineError> {
        match &self.reader {
            Some(r) => {
                self.ensure_running()?;
                Ok(r.orders(filter)?)
            }
            None => {
                let f = filter.clone();
                self.call(|r| Command::Orders(f, r))?
            }
        }
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
        self.call(|r| Command::SetRunning(n, true, None, r))?
    }

    /// Stops a strategy (journaled: it stays stopped across restarts). Its position is kept.
    pub fn stop_strategy(&self, name: &str) -> Result<StrategyInfo, EngineError> {
        let n = name.to_string();
        self.call(|r| Command::SetRunning(n, false, None, r))?
    }

    /// Net position per configured pair.
    pub fn positions(&self) -> Result<Vec<PositionInfo>, EngineError> {
        self.call(Command::Positions)
    }

    /// A page of fills, newest first (read on the caller's thread).
    pub fn trades(&self, offset: usize, limit: usize) -> Result<Page<TradeInfo>, EngineError> {
        match &self.reader {
            Some(r) => {
                self.ensure_running()?;
                Ok(r.trades(offset, limit)?)
            }
            None => self.call(|r| Command::Trades(offset, limit, r))?,
        }
    }

    /// [`EngineHandle::place_order`] on behalf of `who`: journaled in the audit trail in the same
    /// transaction as the order (a refused request gets an entry too).
    pub fn place_order_as(
        &self,
        req: OrderRequest,
        who: AuditContext,
    ) -> Result<Order, OrderError> {
        self.call(|r| Command::PlaceOrder(req, Some(who), r))?
    }

    /// [`EngineHandle::cancel_order`] on behalf of `who`, audited likewise.
    pub fn cancel_order_as(&self, id: u64, who: AuditContext) -> Result<Order, OrderError> {
        self.call(|r| Command::Cancel(id, Some(who), r))?
    }

    /// Starts (`running`) or stops a strategy on behalf of `who`, audited likewise.
    pub fn set_running_as(
        &self,
        name: &str,
        running: bool,
        who: AuditContext,
    ) -> Result<StrategyInfo, EngineError> {
        let n = name.to_string();
        self.call(|r| Command::SetRunning(n, running, Some(who), r))?
    }

    /// A page of the audit trail, newest first (read on the caller's thread).
    pub fn audit(&self, offset: usize, limit: usize) -> Result<Page<AuditEntry>, EngineError> {
        match &self.reader {
            Some(r) => {
                self.ensure_running()?;
                Ok(r.audit(offset, limit)?)
            }
            None => self.call(|r| Command::Audit(offset, limit, r))?,
        }
    }

    /// A stopped engine answers nothing, listings included.
    fn ensure_running(&self) -> Result<(), EngineError> {
        let running = self
            .thread
            .lock()
            .map(|t| t.as_ref().is_some_and(|h| !h.is_finished()))
            .unwrap_or(false);
        if running {
            Ok(())
        } else {
            Err(EngineError::Stopped)
        }
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
