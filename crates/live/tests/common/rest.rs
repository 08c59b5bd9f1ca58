//! The fixture's REST server: one HTTP/1.1 request per connection, answering Hyperliquid's
//! `POST /info` candleSnapshot or Binance's `GET /api/v3/klines` with the published candles, or
//! a queued [`RestFault`].

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use zigquant_live::Venue;

use super::timeline::{candle_at, candle_json, MS};
use super::State;

/// A REST answer other than the candles.
#[derive(Clone, Debug)]
pub enum RestFault {
    /// Answer with this status (429, 500, ...).
    Status(u16),
    /// Accept the request and never answer.
    Hang,
}

pub(super) async fn serve_rest<S>(
    venue: Venue,
    base_ms: i64,
    mut stream: S,
    state: Arc<Mutex<State>>,
) where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let (head_end, content_length) = loop {
        let Ok(n) = stream.read(&mut chunk).await else {
            return;
        };
        if n == 0 {
            return;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..i]).to_ascii_lowercase();
            let len = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok())
                .unwrap_or(0);
            break (i + 4, len);
        }
    };
    while buf.len() < head_end + content_length {
        let Ok(n) = stream.read(&mut chunk).await else {
            return;
        };
        if n == 0 {
            return;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let body = String::from_utf8_lossy(&buf[head_end..head_end + content_length]).into_owned();
    let request_line = head.lines().next().unwrap_or_default().to_owned();
    let (fault, published) = {
        let mut s = state.lock().unwrap();
        s.rest_requests.push(format!("{request_line} {body}"));
        (s.rest_faults.pop_front(), s.published)
    };
    let (status, answer) =
        match fault {
            Some(RestFault::Hang) => {
                tokio::time::sleep(Duration::from_secs(3600)).await;
                return;
            }
            Some(RestFault::Status(code)) => (code, r#"{"error":"fixture fault"}"#.to_owned()),
            None => {
                let range = match venue {
                    Venue::Hyperliquid => {
                        let v: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
                        let ok = request_line.starts_with("POST /info ")
                            && v["type"] == "candleSnapshot"
                            && v["req"]["coin"] == "BTC"
                            && v["req"]["interval"] == "1m";
                        ok.then(|| (v["req"]["startTime"].as_i64(), v["req"]["endTime"].as_i64()))
                    }
                    Venue::Binance => {
                        let query = request_line
                            .strip_prefix("GET /api/v3/klines?")
                            .and_then(|r| r.split(' ').next())
                            .unwrap_or_default();
                        let param = |name: &str| {
                            query.split('&').find_map(|kv| {
                                kv.strip_prefix(&format!("{name}=")).map(str::to_owned)
                            })
                        };
                        let ok = param("symbol").as_deref() == Some("BTCUSDT")
                            && param("interval").as_deref() == Some("1m");
                        ok.then(|| {
                            (
                                param("startTime").and_then(|v| v.parse().ok()),
                                param("endTime").and_then(|v| v.parse().ok()),
                            )
                        })
                    }
                };
                match range {
                    Some((Some(start), Some(end))) => {
                        let items: Vec<String> = (0..published)
                        .map(|k| (k, base_ms + k * MS))
                        .filter(|(_, t)| *t >= start && *t <= end)
                        .map(|(k, _)| {
                            let c = candle_at(base_ms, k, 9);
                            match venue {
                                Venue::Hyperliquid => candle_json(venue, base_ms, k, 9, true),
                                Venue::Binance => format!(
                                    r#"[{},"{}","{}","{}","{}","{}",{},"1.0",3,"0.5","0.5","0"]"#,
                                    c.open_time_ms, c.open, c.high, c.low, c.close, c.volume,
                                    c.open_time_ms + MS - 1
                                ),
                            }
                        })
                        .collect();
                        (200, format!("[{}]", items.join(",")))
                    }
                    _ => (400, r#"{"code":-1100,"msg":"bad request"}"#.to_owned()),
                }
            }
        };
    let response = format!(
        "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{answer}",
        answer.len()
    );
    let _ = stream.write_all(response.as_bytes()).await;
    let _ = stream.shutdown().await;
}
