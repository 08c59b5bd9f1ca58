//! Fixture venues for the feed tests: a WebSocket server and a REST server on 127.0.0.1 (free
//! ports) speaking Hyperliquid's or Binance's documented protocol byte for byte, replaying a
//! candle timeline and playing the faults of docs/live.md on a script, one script per
//! connection. Optional TLS with a CA made in the test.
#![allow(dead_code)]

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio_rustls::TlsAcceptor;
use tokio_tungstenite::tungstenite::Message;

use zigquant_live::{Candle, Interval, LiveEvent, Timing, Venue};

pub const INTERVAL: Interval = Interval::M1;
pub const MS: i64 = 60_000;

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

/// A REST answer other than the candles.
#[derive(Clone, Debug)]
pub enum RestFault {
    /// Answer with this status (429, 500, ...).
    Status(u16),
    /// Accept the request and never answer.
    Hang,
}

#[derive(Default)]
struct State {
    scripts: VecDeque<Vec<Step>>,
    /// Candles `0..published` are visible over REST (the stream publishes as it sends).
    published: i64,
    rest_faults: VecDeque<RestFault>,
    rest_requests: Vec<String>,
    connections: usize,
    client_texts: Vec<String>,
    /// The script of connections beyond `scripts`.
    default_script: Vec<Step>,
    /// The next candle a `Flow` sends.
    flow_next: i64,
}

/// A CA and a server certificate for 127.0.0.1 signed by it.
pub struct TestCa {
    pub ca_file: PathBuf,
    acceptor: TlsAcceptor,
}

impl TestCa {
    pub fn new(name: &str) -> TestCa {
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "zigquant test CA");
        let ca_cert = ca_params.self_signed(&ca_key).unwrap();
        let issuer = rcgen::Issuer::from_params(&ca_params, &ca_key);
        let leaf_key = rcgen::KeyPair::generate().unwrap();
        let leaf_params = rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned()]).unwrap();
        let leaf = leaf_params.signed_by(&leaf_key, &issuer).unwrap();
        let ca_file = std::env::temp_dir().join(format!(
            "zq-live-{name}-{}-{}.pem",
            std::process::id(),
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        ));
        std::fs::write(&ca_file, ca_cert.pem()).unwrap();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(
                vec![CertificateDer::from(leaf.der().to_vec())],
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der())),
            )
            .unwrap();
        TestCa {
            ca_file,
            acceptor: TlsAcceptor::from(Arc::new(config)),
        }
    }
}

/// A fixture venue.
pub struct Fixture {
    pub venue: Venue,
    pub ws_url: String,
    pub rest_url: String,
    /// Open time of candle 0.
    pub base_ms: i64,
    state: Arc<Mutex<State>>,
}

fn now_ms() -> i64 {
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

impl Fixture {
    /// Starts a fixture whose candles `0..published` are closed history (candle `published - 1`
    /// is the last one closed before now); later candles come from the scripts.
    pub async fn start(
        venue: Venue,
        published: i64,
        scripts: Vec<Vec<Step>>,
        tls: Option<&TestCa>,
    ) -> Fixture {
        let ws = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let rest = TcpListener::bind("127.0.0.1:0").await.unwrap();
        Self::start_on(venue, published, scripts, tls, ws, rest).await
    }

    /// Like [`start`], on listeners the caller bound (to come up on a port a feed already tries).
    pub async fn start_on(
        venue: Venue,
        published: i64,
        scripts: Vec<Vec<Step>>,
        tls: Option<&TestCa>,
        ws: TcpListener,
        rest: TcpListener,
    ) -> Fixture {
        // Keep a test off a minute boundary: the warm-up window is aligned on wall minutes.
        let into_minute = now_ms().rem_euclid(MS);
        if into_minute > 50_000 {
            tokio::time::sleep(Duration::from_millis((MS - into_minute + 200) as u64)).await;
        }
        let now = now_ms();
        let base_ms = now - now.rem_euclid(MS) - published * MS;
        let state = Arc::new(Mutex::new(State {
            scripts: scripts.into(),
            published,
            flow_next: published,
            ..State::default()
        }));
        let scheme = if tls.is_some() { "s" } else { "" };
        let ws_path = match venue {
            Venue::Hyperliquid => "/ws",
            Venue::Binance => "",
        };
        let ws_url = format!("ws{scheme}://{}{ws_path}", ws.local_addr().unwrap());
        let rest_url = format!("http{scheme}://{}", rest.local_addr().unwrap());
        let acceptor = tls.map(|t| t.acceptor.clone());
        spawn_accept_loop(
            ws,
            Server::Ws,
            acceptor.clone(),
            venue,
            base_ms,
            state.clone(),
        );
        spawn_accept_loop(rest, Server::Rest, acceptor, venue, base_ms, state.clone());
        Fixture {
            venue,
            ws_url,
            rest_url,
            base_ms,
            state,
        }
    }

    pub fn candle(&self, k: i64, version: u32) -> Candle {
        candle_at(self.base_ms, k, version)
    }

    /// The script of every connection beyond the ones given at start.
    pub fn set_default_script(&self, script: Vec<Step>) {
        self.state.lock().unwrap().default_script = script;
    }

    pub fn push_rest_fault(&self, fault: RestFault) {
        self.state.lock().unwrap().rest_faults.push_back(fault);
    }

    pub fn rest_requests(&self) -> Vec<String> {
        self.state.lock().unwrap().rest_requests.clone()
    }

    pub fn connections(&self) -> usize {
        self.state.lock().unwrap().connections
    }

    /// Text messages the client sent (subscriptions, pings).
    pub fn client_texts(&self) -> Vec<String> {
        self.state.lock().unwrap().client_texts.clone()
    }

    /// The candle index of an open time.
    pub fn index_of(&self, open_time_ms: i64) -> i64 {
        (open_time_ms - self.base_ms) / MS
    }

    /// The candles a recorder saw, as `(timeline index, close)` in arrival order.
    pub fn seen_closes(&self, recorder: &Recorder) -> Vec<(i64, f64)> {
        recorder
            .candles()
            .iter()
            .map(|c| (self.index_of(c.open_time_ms), c.close))
            .collect()
    }

    /// What [`Fixture::seen_closes`] should be: `(timeline index, close)` of candle `k` at
    /// update `version` for each `(k, version)`.
    pub fn expected_closes(&self, updates: &[(i64, u32)]) -> Vec<(i64, f64)> {
        updates
            .iter()
            .map(|&(k, v)| (k, self.candle(k, v).close))
            .collect()
    }
}

/// Which of a fixture's two servers a listener is.
#[derive(Clone, Copy)]
enum Server {
    Ws,
    Rest,
}

/// Accepts connections on `listener` until the runtime stops (through TLS when `acceptor` is
/// set), serving each on its own task.
fn spawn_accept_loop(
    listener: TcpListener,
    server: Server,
    acceptor: Option<TlsAcceptor>,
    venue: Venue,
    base_ms: i64,
    state: Arc<Mutex<State>>,
) {
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let state = state.clone();
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                match acceptor {
                    Some(a) => {
                        if let Ok(s) = a.accept(tcp).await {
                            serve(server, venue, base_ms, s, state).await
                        }
                    }
                    None => serve(server, venue, base_ms, tcp, state).await,
                }
            });
        }
    });
}

async fn serve<S>(server: Server, venue: Venue, base_ms: i64, stream: S, state: Arc<Mutex<State>>)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    match server {
        Server::Ws => serve_ws(venue, base_ms, stream, state).await,
        Server::Rest => serve_rest(venue, base_ms, stream, state).await,
    }
}

fn candle_json(venue: Venue, base_ms: i64, k: i64, version: u32, closed: bool) -> String {
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

async fn serve_ws<S>(venue: Venue, base_ms: i64, stream: S, state: Arc<Mutex<State>>)
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
                        let c = candle_json(venue, base_ms, k, version, closed);
                        match venue {
                            Venue::Hyperliquid => format!(r#"{{"channel":"candle","data":{c}}}"#),
                            Venue::Binance => c,
                        }
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
                        let c = candle_json(venue, base_ms, k, 1, true);
                        let text = match venue {
                            Venue::Hyperliquid => format!(r#"{{"channel":"candle","data":{c}}}"#),
                            Venue::Binance => c,
                        };
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

async fn serve_rest<S>(venue: Venue, base_ms: i64, mut stream: S, state: Arc<Mutex<State>>)
where
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

/// Timings short enough for tests.
pub fn fast_timing() -> Timing {
    Timing {
        heartbeat: Duration::from_millis(300),
        connect_timeout: Duration::from_secs(2),
        rest_timeout: Duration::from_millis(500),
        backoff_initial: Duration::from_millis(40),
        backoff_max: Duration::from_millis(200),
        reminder_every: Duration::from_secs(60),
        rest_attempts: 3,
    }
}

/// Records every event with the time it arrived.
#[derive(Clone, Default)]
pub struct Recorder {
    events: Arc<Mutex<Vec<(Instant, LiveEvent)>>>,
}

impl Recorder {
    pub fn sink(&self) -> zigquant_live::SharedSink {
        let events = self.events.clone();
        Arc::new(move |e: LiveEvent| events.lock().unwrap().push((Instant::now(), e)))
    }

    pub fn events(&self) -> Vec<(Instant, LiveEvent)> {
        self.events.lock().unwrap().clone()
    }

    /// The candles handed on, as (timeline index, version-bearing close).
    pub fn candles(&self) -> Vec<Candle> {
        self.events()
            .into_iter()
            .filter_map(|(_, e)| match e {
                LiveEvent::Candle { candle, .. } => Some(candle),
                _ => None,
            })
            .collect()
    }

    pub fn links(&self) -> Vec<bool> {
        self.events()
            .into_iter()
            .filter_map(|(_, e)| match e {
                LiveEvent::Link { up, .. } => Some(up),
                _ => None,
            })
            .collect()
    }

    pub fn errors(&self, reason: zigquant_live::ErrorReason) -> usize {
        self.events()
            .iter()
            .filter(|(_, e)| matches!(e, LiveEvent::Error { reason: r, .. } if *r == reason))
            .count()
    }

    pub fn messages(&self, kind: zigquant_live::MessageKind) -> usize {
        self.events()
            .iter()
            .filter(|(_, e)| matches!(e, LiveEvent::Message { kind: k, .. } if *k == kind))
            .count()
    }

    pub fn reconnects(&self) -> usize {
        self.events()
            .iter()
            .filter(|(_, e)| matches!(e, LiveEvent::Reconnect { .. }))
            .count()
    }

    /// Waits until `done` holds (polling), or panics with `what` after `timeout`.
    pub async fn wait_for(&self, what: &str, timeout: Duration, done: impl Fn(&Recorder) -> bool) {
        let deadline = Instant::now() + timeout;
        while !done(self) {
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; events: {:#?}",
                self.events().iter().map(|(_, e)| e).collect::<Vec<_>>()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}
