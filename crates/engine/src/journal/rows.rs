//! Rows to values: the one place that parses the journal's text columns, so a corrupt value is
//! an error naming the column, never a panic.

use rusqlite::Row;

use super::OrderRecord;
use crate::domain::orders::{Order, OrderKind, OrderSide, OrderStatus, RejectReason};
use crate::report::views::TradeInfo;

pub(crate) fn bad_value(what: &str, v: &str) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(
        0,
        rusqlite::types::Type::Text,
        format!("bad {what} {v:?}").into(),
    )
}

pub(crate) fn order_from_row(row: &Row<'_>) -> rusqlite::Result<OrderRecord> {
    let side: String = row.get("side")?;
    let kind: String = row.get("kind")?;
    let status: String = row.get("status")?;
    let reason: Option<String> = row.get("reason")?;
    let kind = match kind.as_str() {
        "market" => OrderKind::Market,
        "limit" => OrderKind::Limit {
            price: row
                .get::<_, Option<f64>>("limit_price")?
                .unwrap_or(f64::NAN),
            time_in_force_secs: row.get("tif_secs")?,
        },
        other => return Err(bad_value("kind", other)),
    };
    Ok(OrderRecord {
        order: Order {
            id: row.get::<_, i64>("id")? as u64,
            strategy: row.get("strategy")?,
            pair: row.get("pair")?,
            exchange: row.get("exchange")?,
            side: OrderSide::parse(&side).ok_or_else(|| bad_value("side", &side))?,
            kind,
            qty: row.get("qty")?,
            filled_qty: row.get("filled_qty")?,
            avg_fill_price: row.get("avg_price")?,
            status: OrderStatus::parse(&status).ok_or_else(|| bad_value("status", &status))?,
            reject_reason: match reason {
                Some(r) => Some(RejectReason::parse(&r).ok_or_else(|| bad_value("reason", &r))?),
                None => None,
            },
            created_ms: row.get("created_ms")?,
            updated_ms: row.get("updated_ms")?,
            acknowledged_ms: row.get("ack_ms")?,
            fills: Vec::new(),
        },
        arrive_ms: row.get("arrive_ms")?,
        expire_ms: row.get("expire_ms")?,
    })
}

pub(crate) fn fill_from_row(row: &Row<'_>) -> rusqlite::Result<TradeInfo> {
    let side: String = row.get("side")?;
    Ok(TradeInfo {
        id: row.get::<_, i64>("id")? as u64,
        order_id: row.get::<_, i64>("order_id")? as u64,
        strategy: row.get("strategy")?,
        pair: row.get("pair")?,
        exchange: row.get("exchange")?,
        side: OrderSide::parse(&side).ok_or_else(|| bad_value("side", &side))?,
        qty: row.get("qty")?,
        price: row.get("price")?,
        fee: row.get("fee")?,
        time_ms: row.get("time_ms")?,
    })
}
