//! Fixture venues for the feed tests: a WebSocket server (ws.rs) and a REST server (rest.rs) on
//! 127.0.0.1 (free ports) speaking Hyperliquid's or Binance's documented protocol byte for byte,
//! replaying a candle timeline (timeline.rs) and playing the faults of docs/live.md on a script,
//! one script per connection. Optional TLS with a CA made in the test (tls.rs); recorder.rs keeps
//! what the feed handed on.
// Each user (the two feed tests, the fixture_venue example) takes a part of it.
#![allow(dead_code, unused_imports)]

mod recorder;
mod rest;
mod timeline;
mod tls;
mod ws;

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use zigquant_live::{Candle, Venue};

pub use recorder::{fast_timing, Recorder};
pub use rest::RestFault;
pub use timeline::{candle_at, INTERVAL, MS};
pub use tls::TestCa;
pub use ws::Step;

use timeline::now_ms;

/// What the two servers of a fixture share: the scripts, what REST may show, what the client did.
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

/// A fixture venue.
pub struct Fixture {
    pub venue: Venue,
    pub ws_url: String,
    pub rest_url: String,
    /// Open time of candle 0.
    pub base_ms: i64,
    state: Arc<Mutex<State>>,
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
        keep_off_minute_boundary().await;
        let ws = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let rest = TcpListener::bind("127.0.0.1:0").await.unwrap();
        Self::start_on(venue, published, scripts, tls, ws, rest).await
    }

    /// Like [`start`], on listeners the caller bound (to come up on a port a feed already tries).
    /// The caller awaits [`keep_off_minute_boundary`] before binding: waiting here, with the
    /// listeners bound and not accepted from, would leave a feed's timed-out handshakes in the
    /// backlog to take the first script.
    pub async fn start_on(
        venue: Venue,
        published: i64,
        scripts: Vec<Vec<Step>>,
        tls: Option<&TestCa>,
        ws: TcpListener,
        rest: TcpListener,
    ) -> Fixture {
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

/// Waits out the last 10 s of a wall minute, so a test's candle timeline (aligned on wall minutes,
/// like the warm-up window) does not move under it.
pub async fn keep_off_minute_boundary() {
    let into_minute = now_ms().rem_euclid(MS);
    if into_minute > 50_000 {
        tokio::time::sleep(Duration::from_millis((MS - into_minute + 200) as u64)).await;
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
        Server::Ws => ws::serve_ws(venue, base_ms, stream, state).await,
        Server::Rest => rest::serve_rest(venue, base_ms, stream, state).await,
    }
}
