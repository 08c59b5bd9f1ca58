//! The fixture's candle timeline and how each venue spells a candle on the wire: candle `k` at
//! update `version` has fixed prices, so a test can say what the consumer must see.

use std::time::{SystemTime, UNIX_EPOCH};

use zigquant_live::{Candle, Interval, Venue};

pub const INTERVAL: Interval = Interval::M1;
pub const MS: i64 = 60_000;

pub(super) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// The timeline's candle `k`, update `version`.
pub fn candle_at(base_ms: i64, k: i64, version: u32) -> Candle {
    let open = 100.0 + k as f64;
    let close = open + 0.1 * version as f64;
    Candle {
        open_time_ms: base_ms + k * MS,
        open,
        high: close + 1.0,
        low: open - 1.0,
        close,
        volume: 1.0 + version as f64,
    }
}

/// A WebSocket candle: Hyperliquid's candle object, or Binance's combined-stream kline event.
pub(super) fn candle_json(
    venue: Venue,
    base_ms: i64,
    k: i64,
    version: u32,
    closed: bool,
) -> String {
    let c = candle_at(base_ms, k, version);
    let t = c.open_time_ms;
    match venue {
        Venue::Hyperliquid => format!(
            r#"{{"t":{t},"T":{},"s":"BTC","i":"1m","o":"{}","c":"{}","h":"{}","l":"{}","v":"{}","n":3}}"#,
            t + MS - 1,
            c.open,
            c.close,
            c.high,
            c.low,
            c.volume
        ),
        Venue::Binance => format!(
            r#"{{"stream":"btcusdt@kline_1m","data":{{"e":"kline","E":{},"s":"BTCUSDT","k":{{"t":{t},"T":{},"s":"BTCUSDT","i":"1m","f":100,"L":200,"o":"{}","c":"{}","h":"{}","l":"{}","v":"{}","n":3,"x":{closed},"q":"1.0","V":"0.5","Q":"0.5","B":"0"}}}}}}"#,
            now_ms(),
            t + MS - 1,
            c.open,
            c.close,
            c.high,
            c.low,
            c.volume
        ),
    }
}
