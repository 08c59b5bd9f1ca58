//! Hyperliquid's public candle protocol (docs/live.md, "Hyperliquid"): the subscribe and ping
//! messages we send, the `candle` / `pong` / `subscriptionResponse` channels we read, and the
//! `candleSnapshot` REST history. A candle is sent again and again while it forms; it is final
//! once a candle with a later `t` arrives (sequencer.rs applies that rule).

use serde::Deserialize;
use serde_json::value::RawValue;

use crate::candle::{millis, number, Candle};
use crate::protocol::{HistoryRequest, Inbound, Malformed};
use crate::venue::Interval;

/// The application-level heartbeat; the server answers `{"channel":"pong"}` and closes a
/// connection it has not heard from for 60 s.
pub const PING: &str = r#"{"method":"ping"}"#;

/// Candles one `candleSnapshot` answer holds at most (only the most recent 5000 exist).
pub const HISTORY_LIMIT: usize = 5000;

/// The subscription for `coin`'s candles of `interval`.
pub fn subscribe_message(coin: &str, interval: Interval) -> String {
    serde_json::json!({
        "method": "subscribe",
        "subscription": {"type": "candle", "coin": coin, "interval": interval.as_str()}
    })
    .to_string()
}

/// The `POST /info` candleSnapshot request for `coin` between two times (Unix ms, inclusive).
pub fn history_request(
    coin: &str,
    interval: Interval,
    start_ms: i64,
    end_ms: i64,
) -> HistoryRequest {
    HistoryRequest::PostJson {
        path: "/info".to_owned(),
        body: serde_json::json!({
            "type": "candleSnapshot",
            "req": {"coin": coin, "interval": interval.as_str(), "startTime": start_ms, "endTime": end_ms}
        })
        .to_string(),
    }
}

#[derive(Deserialize)]
struct WireCandle {
    #[serde(deserialize_with = "millis")]
    t: i64,
    s: String,
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
}

impl WireCandle {
    fn into_candle(self) -> (String, Candle) {
        (
            self.s,
            Candle {
                open_time_ms: self.t,
                open: self.o,
                high: self.h,
                low: self.l,
                close: self.c,
                volume: self.v,
            },
        )
    }
}

/// `data` of the candle channel: one candle, or (as some SDKs model it) an array of them.
#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    Many(Vec<WireCandle>),
    One(WireCandle),
}

/// Every message is `{"channel": .., "data": ..}`; `data` is decoded once the channel is known.
#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(borrow)]
    channel: std::borrow::Cow<'a, str>,
    #[serde(borrow, default)]
    data: Option<&'a RawValue>,
}

/// Decodes one text message from the WebSocket.
pub fn decode(text: &str) -> Result<Vec<Inbound>, Malformed> {
    let envelope: Envelope = serde_json::from_str(text)?;
    Ok(match envelope.channel.as_ref() {
        "candle" => {
            let data = envelope
                .data
                .ok_or_else(|| Malformed("candle message without data".into()))?;
            match serde_json::from_str::<OneOrMany>(data.get())? {
                OneOrMany::One(c) => vec![candle(c)],
                OneOrMany::Many(cs) => cs.into_iter().map(candle).collect(),
            }
        }
        "pong" => vec![Inbound::Pong],
        "subscriptionResponse" => vec![Inbound::SubscriptionResponse],
        _ => vec![Inbound::Unknown],
    })
}

fn candle(c: WireCandle) -> Inbound {
    let (symbol, candle) = c.into_candle();
    Inbound::Candle {
        symbol,
        candle,
        closed: None,
        event_time_ms: None,
    }
}

/// Decodes a candleSnapshot answer: an array of candle objects.
pub fn decode_history(body: &[u8]) -> Result<Vec<Candle>, Malformed> {
    let candles: Vec<WireCandle> = serde_json::from_slice(body)?;
    Ok(candles.into_iter().map(|c| c.into_candle().1).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subscribe_and_snapshot_requests_are_the_documented_json() {
        let sub: serde_json::Value =
            serde_json::from_str(&subscribe_message("BTC", Interval::M1)).unwrap();
        assert_eq!(
            sub,
            serde_json::json!({"method":"subscribe","subscription":{"type":"candle","coin":"BTC","interval":"1m"}})
        );
        let HistoryRequest::PostJson { path, body } = history_request("ETH", Interval::H1, 1, 2)
        else {
            panic!("candleSnapshot is a POST")
        };
        assert_eq!(path, "/info");
        let body: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(
            body,
            serde_json::json!({"type":"candleSnapshot","req":{"coin":"ETH","interval":"1h","startTime":1,"endTime":2}})
        );
    }

    #[test]
    fn candles_decode_from_strings_numbers_and_arrays() {
        let text = r#"{"channel":"candle","data":{"t":1700000000000,"T":1700000059999,"s":"BTC","i":"1m","o":"100.5","c":101,"h":"102","l":"99.5","v":"3.25","n":17}}"#;
        let expected = Candle {
            open_time_ms: 1_700_000_000_000,
            open: 100.5,
            high: 102.0,
            low: 99.5,
            close: 101.0,
            volume: 3.25,
        };
        assert_eq!(
            decode(text).unwrap(),
            vec![Inbound::Candle {
                symbol: "BTC".into(),
                candle: expected.clone(),
                closed: None,
                event_time_ms: None
            }]
        );
        let array = format!(
            r#"{{"channel":"candle","data":[{0},{0}]}}"#,
            r#"{"t":"1700000000000","T":1700000059999,"s":"BTC","i":"1m","o":100.5,"c":"101","h":102,"l":99.5,"v":3.25,"n":17}"#
        );
        assert_eq!(decode(&array).unwrap().len(), 2);
    }

    #[test]
    fn control_channels_and_unknown_channels_decode() {
        assert_eq!(
            decode(r#"{"channel":"pong"}"#).unwrap(),
            vec![Inbound::Pong]
        );
        assert_eq!(
            decode(r#"{"channel":"subscriptionResponse","data":{"method":"subscribe","subscription":{"type":"candle","coin":"BTC","interval":"1m"}}}"#).unwrap(),
            vec![Inbound::SubscriptionResponse]
        );
        assert_eq!(
            decode(r#"{"channel":"trades","data":[{"px":"1"}]}"#).unwrap(),
            vec![Inbound::Unknown]
        );
    }

    #[test]
    fn malformed_messages_are_errors_not_panics() {
        for text in [
            "not json",
            r#"{"channel":"candle","data":{"t":1,"s":"BTC"}}"#,
            r#"{"channel":"candle","data":{"t":1,"T":2,"s":"BTC","i":"1m","o":"x","c":"1","h":"1","l":"1","v":"1"}}"#,
            r#"{"data":{}}"#,
            "",
        ] {
            assert!(decode(text).is_err(), "{text}");
        }
        assert!(decode_history(b"{\"error\":1}").is_err());
    }
}
