//! API commands applied to the simulation: place and cancel orders, start and stop strategies.
//! A command takes effect at the current market time: wall-paced, but never before the last
//! processed event nor after the next queued one.

use super::{Logic, Now, Simulation};
use crate::config::MANUAL_STRATEGY;
use crate::domain::audit::AuditAction;
use crate::domain::orders::{Order, OrderError, OrderKind, OrderRequest, OrderStatus};
use crate::error::EngineError;
use crate::journal::JournalError;
use crate::report::events::EngineEvent;
use crate::report::views::StrategyInfo;

impl Simulation {
    /// The market time at which a command takes effect.
    fn command_time(&self, now: Now) -> i64 {
        let Some(mut t) = now.paced_market_ms else {
            return self.now_ms;
        };
        if let Some(next) = self.queue.next_due() {
            t = t.min(next);
        }
        t.max(self.now_ms)
    }

    /// Journals the audit entry of the command being run, if it runs on someone's behalf
    /// (inside the caller's transaction when one is open).
    fn record_audit(
        &self,
        action: AuditAction,
        target: &str,
        outcome: &str,
    ) -> Result<(), JournalError> {
        match &self.acting_for {
            Some(who) => self
                .journal
                .insert_audit(self.wall_ms, who, action, target, outcome),
            None => Ok(()),
        }
    }

    /// The entry of a command refused before it changed anything, in a transaction of its own.
    fn audit_refusal(&mut self, action: AuditAction, target: &str, reason: &str) {
        if self.acting_for.is_none() {
            return;
        }
        let reason: String = reason.chars().take(200).collect();
        let outcome = format!("refused: {reason}");
        let r = self
            .journal
            .begin()
            .and_then(|_| self.record_audit(action, target, &outcome))
            .and_then(|_| self.journal.commit());
        if let Err(e) = r {
            self.journal.rollback();
            tracing::error!(error = %e, "cannot journal the audit entry of a refused command");
        }
    }

    pub(crate) fn place_order(&mut self, req: OrderRequest, now: Now) -> Result<Order, OrderError> {
        let result = self.place_order_checked(req, now);
        if let Err(e) = &result {
            self.audit_refusal(AuditAction::PlaceOrder, "-", &e.to_string());
        }
        result
    }

    fn place_order_checked(&mut self, req: OrderRequest, now: Now) -> Result<Order, OrderError> {
        let pi = self
            .pairs
            .iter()
            .position(|p| p.id.as_str() == req.pair)
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
                Logic::Manual => 0,
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
        self.now_ms = self.command_time(now);
        let mut id = None;
        self.transact(|s| {
            let order_id = s.submit(strategy, pi, ex, req.side, req.kind, req.qty)?;
            id = Some(order_id);
            let outcome = match s.open.get(&order_id) {
                Some(r) => format!("ok: {}", r.order.status.as_str()),
                None => match s.journal.order(order_id)? {
                    Some(o) => match o.reject_reason {
                        Some(reason) => format!("ok: {} ({})", o.status.as_str(), reason.as_str()),
                        None => format!("ok: {}", o.status.as_str()),
                    },
                    None => "ok".to_string(),
                },
            };
            s.record_audit(AuditAction::PlaceOrder, &order_id.to_string(), &outcome)
        });
        if let Some(h) = &self.halted {
            return Err(OrderError::TradingHalted(h.clone()));
        }
        let id = id.ok_or_else(|| OrderError::from(EngineError::Stopped))?;
        match self.open.get(&id) {
            Some(r) => Ok(r.order.clone()),
            None => self
                .journal
                .order(id)
                .map_err(|e| OrderError::from(EngineError::from(e)))?
                .ok_or(OrderError::NotFound(id)),
        }
    }

    pub(crate) fn cancel(&mut self, id: u64, now: Now) -> Result<Order, OrderError> {
        let result = self.cancel_checked(id, now);
        if let Err(e) = &result {
            self.audit_refusal(AuditAction::CancelOrder, &id.to_string(), &e.to_string());
        }
        result
    }

    fn cancel_checked(&mut self, id: u64, now: Now) -> Result<Order, OrderError> {
        if !self.open.contains_key(&id) {
            let o = self
                .journal
                .order(id)
                .map_err(|e| OrderError::from(EngineError::from(e)))?
                .ok_or(OrderError::NotFound(id))?;
            return Err(OrderError::AlreadyFinal {
                id,
                status: o.status,
            });
        }
        if let Some(h) = &self.halted {
            return Err(OrderError::TradingHalted(h.clone()));
        }
        self.now_ms = self.command_time(now);
        self.transact(|s| {
            s.finish(id, OrderStatus::Cancelled, None)?;
            s.record_audit(AuditAction::CancelOrder, &id.to_string(), "ok: cancelled")
        });
        if let Some(h) = &self.halted {
            return Err(OrderError::TradingHalted(h.clone()));
        }
        self.journal
            .order(id)
            .map_err(|e| OrderError::from(EngineError::from(e)))?
            .ok_or(OrderError::NotFound(id))
    }

    pub(crate) fn set_running(
        &mut self,
        name: &str,
        running: bool,
    ) -> Result<StrategyInfo, EngineError> {
        let action = if running {
            AuditAction::StartStrategy
        } else {
            AuditAction::StopStrategy
        };
        let result = self.set_running_checked(name, running, action);
        if let Err(e) = &result {
            self.audit_refusal(action, name, &e.to_string());
        }
        result
    }

    fn set_running_checked(
        &mut self,
        name: &str,
        running: bool,
        action: AuditAction,
    ) -> Result<StrategyInfo, EngineError> {
        let si = self
            .slots
            .iter()
            .position(|s| s.name == name)
            .ok_or_else(|| EngineError::UnknownStrategy(name.to_string()))?;
        if matches!(self.slots[si].logic, Logic::Manual) {
            return Err(EngineError::NotControllable(name.to_string()));
        }
        if let Some(h) = &self.halted {
            return Err(EngineError::Halted(h.clone()));
        }
        let outcome = if running {
            "ok: running"
        } else {
            "ok: stopped"
        };
        let written = self
            .journal
            .begin()
            .and_then(|_| self.journal.set_strategy_state(name, running))
            .and_then(|_| self.record_audit(action, name, outcome))
            .and_then(|_| self.journal.commit());
        if let Err(e) = written {
            self.journal.rollback();
            return Err(e.into());
        }
        self.slots[si].running = running;
        tracing::info!(strategy = name, running, "strategy state changed");
        self.sink.on_event(&EngineEvent::StrategyState {
            strategy: name.to_string(),
            running,
        });
        Ok(self.info(si))
    }
}
