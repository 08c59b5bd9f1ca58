//! The fixture's WebSocket server: plays one script of [`Step`]s per connection, answers
//! Hyperliquid's application pings and subscriptions, and publishes to REST what it streamed.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_tungstenite::tungstenite::Message;

use zigquant_live::Venue;

use super::timeline::{candle_json, now_ms};
use super::State;

/// One step of a connection's script.
#[derive(Clone, Debug)]
pub enum Step {
    /// Candle `k` of the timeline, update `version` (Binance: with `x = closed`).
    Candle { k: i64, version: u32, closed: bool },
    /// Hyperliquid: several candles in one message (`data` as an array).
    Candles(Vec<(i64, u32)>),
    /// A text message as is.
    Raw(String),
    /// Binance `serverShutdown`.
    ServerShutdown,
    /// A WebSocket ping frame.
    Ping,
    /// Wait before the next step.
    Wait(Duration),
    /// Close the WebSocket cleanly.
    Close,
    /// Drop the TCP connection without a close frame.
    Abort,
    /// Stop reading and answering (no pong) but keep the connection open.
    Stall,
    /// From here on, forever: the next candle of the timeline every `every` (Binance: closed;
    /// Hyperliquid: its first update, which closes the one before), continuing across
    /// connections.
    Flow { every: Duration },
}

/// One candle as the stream sends it: Hyperliquid wraps it in the `candle` channel; Binance's
/// combined-stream event is already the whole message.
fn candle_message(venue: Venue, base_ms: i64, k: i64, version: u32, closed: bool) -> String {
    let c = candle_json(venue, base_ms, k, version, closed);
    match venue {
        Venue::Hyperliquid => format!(r#"{{"channel":"candle","data":{c}}}"#),
        Venue::Binance => c,
    }
}

pub(super) async fn serve_ws<S>(venue: Venue, base_ms: i64, stream: S, state: Arc<Mutex<State>>)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let Ok(mut ws) = tokio_tungstenite::accept_async(stream).await else {
        return;
    };
    let script = {
        let mut s = state.lock().unwrap();
        s.connections += 1;
        let default = s.default_script.clone();
        s.scripts.pop_front().unwrap_or(default)
    };
    let mut steps: VecDeque<Step> = script.into();
    let mut next_step = tokio::time::Instant::now() + Duration::from_millis(20);
    loop {
        let has_step = !steps.is_empty();
        tokio::select! {
            incoming = ws.next() => {
                let Some(Ok(message)) = incoming else { return };
                if let Message::Text(text) = message {
                    state.lock().unwrap().client_texts.push(text.to_string());
                    if venue == Venue::Hyperliquid {
                        let reply = if text.contains(r#""method":"ping""#) {
                            Some(r#"{"channel":"pong"}"#.to_owned())
                        } else if text.contains(r#""method":"subscribe""#) {
                            Some(format!(r#"{{"channel":"subscriptionResponse","data":{text}}}"#))
                        } else { None };
                        if let Some(reply) = reply {
                            if ws.send(Message::text(reply)).await.is_err() { return }
                        }
                    }
                }
            }
            _ = tokio::time::sleep_until(next_step), if has_step => {
                let Some(step) = steps.pop_front() else { continue };
                let text = match step {
                    Step::Candle { k, version, closed } => {
                        let mut s = state.lock().unwrap();
                        let visible = if closed || venue == Venue::Hyperliquid { k + 1 } else { k };
                        // A later candle proves the earlier ones closed: REST shows them.
                        s.published = s.published.max(if venue == Venue::Hyperliquid { k } else { visible });
                        candle_message(venue, base_ms, k, version, closed)
                    }
                    Step::Candles(list) => {
                        let mut s = state.lock().unwrap();
                        let items: Vec<String> = list.iter().map(|(k, v)| {
                            s.published = s.published.max(*k);
                            candle_json(venue, base_ms, *k, *v, false)
                        }).collect();
                        format!(r#"{{"channel":"candle","data":[{}]}}"#, items.join(","))
                    }
                    Step::Raw(text) => text,
                    Step::ServerShutdown => format!(r#"{{"e":"serverShutdown","E":{}}}"#, now_ms()),
                    Step::Ping => {
                        if ws.send(Message::Ping(b"fixture".to_vec().into())).await.is_err() { return }
                        continue;
                    }
                    Step::Wait(d) => { next_step = tokio::time::Instant::now() + d; continue; }
                    Step::Close => { let _ = ws.close(None).await; return; }
                    Step::Abort => return,
                    Step::Stall => {
                        tokio::time::sleep(Duration::from_secs(3600)).await;
                        return;
                    }
                    Step::Flow { every } => {
                        steps.push_front(Step::Flow { every });
                        let k = {
                            let mut s = state.lock().unwrap();
                            let k = s.flow_next;
                            s.flow_next += 1;
                            s.published = s.published.max(if venue == Venue::Hyperliquid { k } else { k + 1 });
                            k
                        };
                        let text = candle_message(venue, base_ms, k, 1, true);
                        if ws.send(Message::text(text)).await.is_err() { return }
                        next_step = tokio::time::Instant::now() + every;
                        continue;
                    }
                };
                if ws.send(Message::text(text)).await.is_err() { return }
                next_step = tokio::time::Instant::now() + Duration::from_millis(5);
            }
        }
    }
}
