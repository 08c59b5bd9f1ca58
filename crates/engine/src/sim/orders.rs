//! The order lifecycle inside the simulation: submit (pre-trade checks, latency), arrival at
//! the venue (link and quantity checks, marketable or resting), fill (affordability) and the
//! terminal states. The rules themselves are in `execution` and `risk::pre_trade`; this file
//! applies them to the open-order book, the journal and the reported events.

use super::{Ev, Simulation};
use crate::domain::orders::{Order, OrderFill, OrderKind, OrderSide, OrderStatus, RejectReason};
use crate::execution::marketable;
use crate::journal::{JournalError, OrderRecord};
use crate::report::events::EngineEvent;
use crate::risk::pre_trade;

impl Simulation {
    /// Creates an order at the current time and routes it: pre-trade risk check, link check,
    /// then off to the venue with a sampled latency. Returns its id.
    pub(crate) fn submit(
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
        let pair = self.pairs[pi].id.as_str().to_string();
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
            OrderKind::Market => self
                .portfolio
                .marks
                .get(&self.exchanges[ex].id, &self.pairs[pi].id),
        };
        let reason = pre_trade::check_submit(
            price,
            self.portfolio.net_position(&pair),
            side,
            qty,
            self.cfg.risk.max_position_notional,
            self.exchanges[ex].link.connected,
        );
        if let Some(r) = reason {
            self.finish(id, OrderStatus::Rejected, Some(r))?;
        } else {
            self.schedule(arrive_ms, Ev::Arrive(id));
            self.pending
                .push(EngineEvent::OrdersActive(self.open.len()));
        }
        Ok(id)
    }

    pub(crate) fn on_arrive(&mut self, id: u64) -> Result<(), JournalError> {
        let Some(rec) = self.open.get(&id) else {
            return Ok(());
        };
        let o = &rec.order;
        let Some(pi) = self.pairs.iter().position(|p| p.id.as_str() == o.pair) else {
            return self.finish(id, OrderStatus::Rejected, Some(RejectReason::UnknownPair));
        };
        let Some(ex) = self.exchanges.iter().position(|x| x.cfg.name == o.exchange) else {
            return self.finish(id, OrderStatus::Rejected, Some(RejectReason::Other));
        };
        if !self.exchanges[ex].link.connected {
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
        let (kind, side, created) = (o.kind, o.side, o.created_ms);
        let exchange = o.exchange.clone();
        let mark = self
            .portfolio
            .marks
            .get(&self.exchanges[ex].id, &self.pairs[pi].id);
        let Some(mark) = mark else {
            return self.finish(id, OrderStatus::Rejected, Some(RejectReason::Other));
        };
        let latency_seconds = (self.now_ms - created) as f64 / 1000.0;
        self.pending.push(EngineEvent::OrderAcknowledged {
            order_id: id,
            exchange,
            latency_seconds,
        });
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
    pub(crate) fn fill(&mut self, id: u64, price: f64) -> Result<(), JournalError> {
        let Some(rec) = self.open.get(&id) else {
            return Ok(());
        };
        let o = rec.order.clone();
        let Some(ex) = self.exchanges.iter().find(|x| x.cfg.name == o.exchange) else {
            return self.finish(id, OrderStatus::Rejected, Some(RejectReason::Other));
        };
        let qty = o.qty - o.filled_qty;
        let fee = ex.fee(qty, price);
        let affordable = pre_trade::affordable(
            self.portfolio.accounts.get(&o.strategy),
            &o.pair,
            o.side,
            qty,
            price,
            fee,
            self.portfolio.marks.valuation(),
        );
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
            trade_id: fill_id,
            order_id: id,
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
    pub(crate) fn finish(
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
}
