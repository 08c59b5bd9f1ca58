//! Binance spot's public kline protocol (docs/live.md, "Binance"): the combined-stream URL we
//! connect to, the `kline` and `serverShutdown` events we read (raw or wrapped as
//! `{"stream":..,"data":..}`), and the `/api/v3/klines` REST history. `k.x = true` marks a
//! closed candle. Heartbeats are WebSocket ping/pong frames (feed.rs).

use serde::Deserialize;

use crate::candle::{millis, number, Candle};
use crate::protocol::{HistoryRequest, Inbound, Malformed};
use crate::venue::Interval;

/// Klines one `/api/v3/klines` answer holds at most.
pub const HISTORY_LIMIT: usize = 1000;

/// The combined-stream URL for `symbols` on base `ws_url` (`wss://stream.binance.com:9443`):
/// `<base>/stream?streams=btcusdt@kline_1m/ethusdt@kline_1m` (stream names are lower case).
pub fn stream_url(ws_url: &str, symbols: &[String], interval: Interval) -> String {
    let streams: Vec<String> = symbols
        .iter()
        .map(|s| format!("{}@kline_{}", s.to_ascii_lowercase(), interval.as_str()))
        .collect();
    format!(
        "{}/stream?streams={}",
        ws_url.trim_end_matches('/'),
        streams.join("/")
    )
}

/// The `GET /api/v3/klines` request for `symbol` between two open times (Unix ms, inclusive).
pub fn history_request(
    symbol: &str,
    interval: Interval,
    start_ms: i64,
    end_ms: i64,
) -> HistoryRequest {
    HistoryRequest::Get {
        path_and_query: format!(
            "/api/v3/klines?symbol={}&interval={}&startTime={start_ms}&endTime={end_ms}&limit={HISTORY_LIMIT}",
            symbol.to_ascii_uppercase(),
            interval.as_str()
        ),
    }
}

#[derive(Deserialize)]
struct WireKline {
    #[serde(deserialize_with = "millis")]
    t: i64,
    #[serde(deserialize_with = "number")]
    o: f64,
    #[serde(deserialize_with = "number")]
    h: f64,
    #[serde(deserialize_with = "number")]
    l: f64,
    #[serde(deserialize_with = "number")]
    c: f64,
    #[serde(deserialize_with = "number")]
    v: f64,
    x: bool,
}

/// Every message shape in one flat struct, decoded in one pass (an untagged enum would buffer
/// each message first): a raw event (`e`, `E`, `s`, `k`), a combined-stream wrapper (`data` holds
/// the event; `stream` is ignored), or a reply to a control request (`id`, `result`).
#[derive(Deserialize)]
struct WireEvent {
    e: Option<String>,
    #[serde(rename = "E", default, deserialize_with = "optional_millis")]
    event_time: Option<i64>,
    s: Option<String>,
    k: Option<WireKline>,
    data: Option<Box<WireEvent>>,
    id: Option<serde::de::IgnoredAny>,
}

fn optional_millis<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    millis(d).map(Some)
}

/// Decodes one text message from the WebSocket.
pub fn decode(text: &str) -> Result<Inbound, Malformed> {
    let message: WireEvent = serde_json::from_str(text)?;
    let event = match message.data {
        Some(data) => *data,
        None if message.e.is_none() && message.id.is_some() => {
            return Ok(Inbound::SubscriptionResponse)
        }
        None => message,
    };
    match event.e.as_deref() {
        Some("kline") => {
            let (Some(symbol), Some(k)) = (event.s, event.k) else {
                return Err(Malformed("kline event without s or k".into()));
            };
            Ok(Inbound::Candle {
                symbol,
                candle: Candle {
                    open_time_ms: k.t,
                    open: k.o,
                    high: k.h,
                    low: k.l,
                    close: k.c,
                    volume: k.v,
                },
                closed: Some(k.x),
                event_time_ms: event.event_time,
            })
        }
        Some("serverShutdown") => Ok(Inbound::ServerShutdown),
        Some(_) => Ok(Inbound::Unknown),
        None => Err(Malformed("event without an `e` type".into())),
    }
}

/// Decodes a `/api/v3/klines` answer: arrays `[open ms, "o", "h", "l", "c", "v", close ms, ...]`.
pub fn decode_history(body: &[u8]) -> Result<Vec<Candle>, Malformed> {
    #[derive(Deserialize)]
    struct Row(
        #[serde(deserialize_with = "millis")] i64,
        #[serde(deserialize_with = "number")] f64,
        #[serde(deserialize_with = "number")] f64,
        #[serde(deserialize_with = "number")] f64,
        #[serde(deserialize_with = "number")] f64,
        #[serde(deserialize_with = "number")] f64,
        #[serde(default)] serde::de::IgnoredAny,
        #[serde(default)] serde::de::IgnoredAny,
        #[serde(default)] serde::de::IgnoredAny,
        #[serde(default)] serde::de::IgnoredAny,
        #[serde(default)] serde::de::IgnoredAny,
        #[serde(default)] serde::de::IgnoredAny,
    );
    let rows: Vec<Row> = serde_json::from_slice(body)?;
    Ok(rows
        .into_iter()
        .map(|r| Candle {
            open_time_ms: r.0,
            open: r.1,
            high: r.2,
            low: r.3,
            close: r.4,
            volume: r.5,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    const KLINE: &str = r#"{"e":"kline","E":1700000060123,"s":"BTCUSDT","k":{"t":1700000000000,"T":1700000059999,"s":"BTCUSDT","i":"1m","f":100,"L":200,"o":"100.5","c":"101.0","h":"102.0","l":"99.5","v":"3.25","n":100,"x":true,"q":"1.0","V":"0.5","Q":"0.6","B":"123"}}"#;

    fn expected(closed: bool) -> Inbound {
        Inbound::Candle {
            symbol: "BTCUSDT".into(),
            candle: Candle {
                open_time_ms: 1_700_000_000_000,
                open: 100.5,
                high: 102.0,
                low: 99.5,
                close: 101.0,
                volume: 3.25,
            },
            closed: Some(closed),
            event_time_ms: Some(1_700_000_060_123),
        }
    }

    #[test]
    fn raw_and_combined_klines_decode_with_their_closed_flag() {
        assert_eq!(decode(KLINE).unwrap(), expected(true));
        let wrapped = format!(
            r#"{{"stream":"btcusdt@kline_1m","data":{}}}"#,
            KLINE.replace(r#""x":true"#, r#""x":false"#)
        );
        assert_eq!(decode(&wrapped).unwrap(), expected(false));
        let numbers = KLINE.replace(r#""o":"100.5""#, r#""o":100.5"#);
        assert_eq!(decode(&numbers).unwrap(), expected(true));
    }

    #[test]
    fn shutdown_replies_and_unknown_events_decode() {
        assert_eq!(
            decode(r#"{"e":"serverShutdown","E":1700000000000}"#).unwrap(),
            Inbound::ServerShutdown
        );
        assert_eq!(
            decode(r#"{"stream":"x","data":{"e":"serverShutdown","E":1}}"#).unwrap(),
            Inbound::ServerShutdown
        );
        assert_eq!(
            decode(r#"{"result":null,"id":1}"#).unwrap(),
            Inbound::SubscriptionResponse
        );
        assert_eq!(
            decode(r#"{"e":"trade","E":1,"s":"BTCUSDT"}"#).unwrap(),
            Inbound::Unknown
        );
        for bad in [
            "{",
            "[]",
            r#"{"e":"kline","E":1,"s":"BTCUSDT"}"#,
            r#"{"x":1}"#,
        ] {
            assert!(decode(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn stream_url_and_history_request_follow_the_docs() {
        assert_eq!(
            stream_url(
                "wss://stream.binance.com:9443/",
                &["BTCUSDT".into(), "ETHUSDT".into()],
                Interval::M1
            ),
            "wss://stream.binance.com:9443/stream?streams=btcusdt@kline_1m/ethusdt@kline_1m"
        );
        assert_eq!(
            history_request("btcusdt", Interval::M5, 10, 20),
            HistoryRequest::Get {
                path_and_query:
                    "/api/v3/klines?symbol=BTCUSDT&interval=5m&startTime=10&endTime=20&limit=1000"
                        .into()
            }
        );
    }

    #[test]
    fn history_rows_decode_strings_or_numbers() {
        let body = br#"[[1700000000000,"100.5","102","99.5","101","3.25",1700000059999,"1",10,"1","1","0"],[1700000060000,101,103,100,102,1,1700000119999,"1",10,"1","1","0"]]"#;
        let candles = decode_history(body).unwrap();
        assert_eq!(candles.len(), 2);
        assert_eq!(candles[1].open_time_ms, 1_700_000_060_000);
        assert_eq!(candles[1].close, 102.0);
        assert!(decode_history(br#"[[1,"x"]]"#).is_err());
        assert!(decode_history(br#"{"code":-1121,"msg":"Invalid symbol."}"#).is_err());
    }
}
