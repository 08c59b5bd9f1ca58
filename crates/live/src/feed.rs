//! One venue's live feed: warm-up over REST, then forever: connect, subscribe, read candles and
//! heartbeats, fill holes over REST, and reconnect with backoff when the link breaks. Everything
//! it learns leaves as a [`LiveEvent`] through the sink.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures_util::{SinkExt, StreamExt};
use tokio::time::MissedTickBehavior;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;

use crate::candle::Candle;
use crate::events::{CandleOrigin, ErrorReason, LiveEvent, MessageKind, SharedSink};
use crate::link::{Backoff, LinkLog};
use crate::protocol::{HistoryRequest, Inbound, Malformed};
use crate::rest::RestClient;
use crate::sequencer::{Sequencer, Verdict};
use crate::transport::{self, Endpoint, Tls, TransportError};
use crate::venue::{Interval, Venue};
use crate::{binance, hyperliquid};

/// Largest WebSocket message accepted (a candle message is a few hundred bytes).
const MAX_MESSAGE_BYTES: usize = 1 << 20;

/// The timings of a feed. The defaults suit the public venues; tests shorten them.
#[derive(Clone, Debug, PartialEq)]
pub struct Timing {
    /// Heartbeat period: a ping is sent every period and a stall is declared when a whole
    /// period passes after a ping without any message (so within two periods of the stall).
    /// 20 s: Hyperliquid drops connections idle for 60 s; Binance pings every 20 s.
    pub heartbeat: Duration,
    /// TCP + TLS + WebSocket handshake deadline.
    pub connect_timeout: Duration,
    /// Deadline of one REST request.
    pub rest_timeout: Duration,
    /// First reconnect wait. 1 s keeps Binance's 300 attempts per 5 minutes out of reach.
    pub backoff_initial: Duration,
    /// Longest reconnect wait.
    pub backoff_max: Duration,
    /// How often a link that stays down is logged again.
    pub reminder_every: Duration,
    /// REST attempts per history fetch before giving up (each failure counted).
    pub rest_attempts: u32,
}

impl Default for Timing {
    fn default() -> Self {
        Self {
            heartbeat: Duration::from_secs(20),
            connect_timeout: Duration::from_secs(10),
            rest_timeout: Duration::from_secs(10),
            backoff_initial: Duration::from_secs(1),
            backoff_max: Duration::from_secs(60),
            reminder_every: Duration::from_secs(60),
            rest_attempts: 3,
        }
    }
}

/// What one feed connects to and subscribes.
#[derive(Clone, Debug, PartialEq)]
pub struct FeedSpec {
    /// The venue.
    pub venue: Venue,
    /// WebSocket URL (Hyperliquid: the socket itself; Binance: the base the stream path is
    /// appended to).
    pub ws_url: String,
    /// REST base URL.
    pub rest_url: String,
    /// Extra CA certificates (PEM) to trust, for a private CA.
    pub tls_ca_file: Option<PathBuf>,
    /// Candle interval.
    pub interval: Interval,
    /// The venue's symbols (`BTC`; `BTCUSDT`).
    pub symbols: Vec<String>,
    /// Closed candles fetched at start to warm the strategies up (0 = none).
    pub warmup_bars: usize,
    /// Timings.
    pub timing: Timing,
}

/// A feed could not be set up (a configuration error, reported at start).
#[derive(Debug, thiserror::Error)]
pub enum FeedError {
    /// A URL or the CA file is unusable.
    #[error("{venue}: {source}")]
    Transport {
        /// The venue.
        venue: Venue,
        /// What is wrong.
        #[source]
        source: TransportError,
    },
    /// No symbol to subscribe.
    #[error("{0}: no symbol to subscribe")]
    NoSymbols(Venue),
}

/// A venue module's history request builder (symbol, interval, first and last open time).
type HistoryRequestFn = fn(&str, Interval, i64, i64) -> HistoryRequest;

/// How a session ended.
enum SessionEnd {
    /// The venue announced a shutdown: reconnect at once.
    ServerShutdown,
    /// The link broke; the text says how.
    Failed(String),
}

struct Symbol {
    name: Arc<str>,
    sequencer: Sequencer,
}

/// A live feed, validated and ready to [`run`](Feed::run).
pub struct Feed {
    spec: FeedSpec,
    tls: Tls,
    rest: RestClient,
    sink: SharedSink,
    symbols: Vec<Symbol>,
    /// Venue symbol (upper case for Binance, whose events spell it so) -> index in `symbols`.
    by_venue_name: HashMap<String, usize>,
    link: LinkLog,
    /// Whether the current session delivered a candle (a healthy session resets the backoff).
    session_delivered: bool,
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

impl Feed {
    /// Checks the URLs, reads the CA file and prepares one sequencer per symbol.
    pub fn new(mut spec: FeedSpec, sink: SharedSink) -> Result<Feed, FeedError> {
        let venue = spec.venue;
        let err = |source| FeedError::Transport { venue, source };
        if spec.symbols.is_empty() {
            return Err(FeedError::NoSymbols(venue));
        }
        if venue == Venue::Binance {
            for s in &mut spec.symbols {
                *s = s.to_ascii_uppercase();
            }
        }
        Endpoint::parse(&spec.ws_url).map_err(err)?;
        let tls = Tls::new(spec.tls_ca_file.as_deref()).map_err(err)?;
        let rest =
            RestClient::new(&spec.rest_url, tls.clone(), spec.timing.rest_timeout).map_err(err)?;
        let interval_ms = spec.interval.millis();
        let symbols: Vec<Symbol> = spec
            .symbols
            .iter()
            .map(|s| Symbol {
                name: Arc::from(s.as_str()),
                sequencer: Sequencer::new(interval_ms),
            })
            .collect();
        let by_venue_name = spec
            .symbols
            .iter()
            .enumerate()
            .map(|(i, s)| (s.clone(), i))
            .collect();
        let link = LinkLog::new(venue, spec.timing.reminder_every);
        Ok(Feed {
            spec,
            tls,
            rest,
            sink,
            symbols,
            by_venue_name,
            link,
            session_delivered: false,
        })
    }

    fn emit(&self, event: LiveEvent) {
        self.sink.on_event(event);
    }

    fn count(&self, kind: MessageKind) {
        self.emit(LiveEvent::Message {
            venue: self.spec.venue,
            kind,
        });
    }

    fn error(&self, reason: ErrorReason) {
        self.emit(LiveEvent::Error {
            venue: self.spec.venue,
            reason,
        });
    }

    /// Runs the feed until the task is dropped: warm-up, then connect / read / reconnect forever.
    pub async fn run(mut self) {
        let venue = self.spec.venue;
        self.emit(LiveEvent::Link { venue, up: false });
        self.warm_up().await;
        let mut backoff = Backoff::new(
            self.spec.timing.backoff_initial,
            self.spec.timing.backoff_max,
        );
        let mut first = true;
        loop {
            if !first {
                self.emit(LiveEvent::Reconnect { venue });
            }
            first = false;
            self.session_delivered = false;
            let end = self.session().await;
            if self.session_delivered {
                backoff.reset();
            }
            let why = match &end {
                SessionEnd::ServerShutdown => "the venue announced a shutdown".to_owned(),
                SessionEnd::Failed(why) => why.clone(),
            };
            if self.link.down(&why) {
                self.emit(LiveEvent::Link { venue, up: false });
            }
            let immediate = matches!(end, SessionEnd::ServerShutdown) && self.session_delivered;
            if !immediate {
                tokio::time::sleep(backoff.next_delay()).await;
            }
        }
    }

    /// Fetches the last `warmup_bars` closed candles of every symbol and hands them on.
    async fn warm_up(&mut self) {
        if self.spec.warmup_bars == 0 {
            return;
        }
        let interval_ms = self.spec.interval.millis();
        let now = now_ms();
        let end = now - now.rem_euclid(interval_ms);
        let start = end - self.spec.warmup_bars as i64 * interval_ms;
        for i in 0..self.symbols.len() {
            let Some(candles) = self.fetch_range(i, start, end).await else {
                tracing::warn!(
                    venue = %self.spec.venue,
                    symbol = %self.symbols[i].name,
                    "warm-up history unavailable; strategies warm up on the live stream"
                );
                continue;
            };
            let closed: Vec<Candle> = candles
                .into_iter()
                .filter(|c| c.open_time_ms + interval_ms <= now)
                .collect();
            let skip = closed.len().saturating_sub(self.spec.warmup_bars);
            self.hand_on_history(i, closed.into_iter().skip(skip), CandleOrigin::Warmup, now);
        }
    }

    /// Hands on the history candles the sequencer accepts.
    fn hand_on_history(
        &mut self,
        i: usize,
        candles: impl IntoIterator<Item = Candle>,
        origin: CandleOrigin,
        now: i64,
    ) {
        for candle in candles {
            if let Some(candle) = self.symbols[i].sequencer.accept_history(candle, now) {
                self.emit(LiveEvent::Candle {
                    venue: self.spec.venue,
                    symbol: self.symbols[i].name.clone(),
                    candle,
                    origin,
                });
            }
        }
    }

    /// Closed and forming candles of symbol `i` with open times in `start..=end`, sorted, over
    /// as many REST pages as needed; `None` when a page failed `rest_attempts` times.
    async fn fetch_range(&self, i: usize, start: i64, end: i64) -> Option<Vec<Candle>> {
        let interval_ms = self.spec.interval.millis();
        let (limit, request): (usize, HistoryRequestFn) = match self.spec.venue {
            Venue::Hyperliquid => (hyperliquid::HISTORY_LIMIT, hyperliquid::history_request),
            Venue::Binance => (binance::HISTORY_LIMIT, binance::history_request),
        };
        let mut out: Vec<Candle> = Vec::new();
        let mut page_start = start;
        while page_start <= end {
            let page_end = end.min(page_start + (limit as i64 - 1) * interval_ms);
            let req = request(
                &self.symbols[i].name,
                self.spec.interval,
                page_start,
                page_end,
            );
            let mut page = None;
            let mut retry = Backoff::new(
                self.spec.timing.backoff_initial / 2,
                self.spec.timing.backoff_max,
            );
            for attempt in 1..=self.spec.timing.rest_attempts.max(1) {
                match self.fetch_page(&req).await {
                    Ok(candles) => {
                        page = Some(candles);
                        break;
                    }
                    Err(why) => {
                        self.error(ErrorReason::RestFailed);
                        tracing::warn!(
                            venue = %self.spec.venue,
                            symbol = %self.symbols[i].name,
                            "history request failed (attempt {attempt}): {why}"
                        );
                        if attempt < self.spec.timing.rest_attempts {
                            tokio::time::sleep(retry.next_delay()).await;
                        }
                    }
                }
            }
            out.extend(page?);
            page_start = page_end + interval_ms;
        }
        out.sort_by_key(|c| c.open_time_ms);
        out.dedup_by_key(|c| c.open_time_ms);
        out.retain(|c| c.open_time_ms >= start && c.open_time_ms <= end);
        Some(out)
    }

    async fn fetch_page(&self, req: &HistoryRequest) -> Result<Vec<Candle>, String> {
        let body = self.rest.send(req).await.map_err(|e| e.to_string())?;
        let decoded: Result<Vec<Candle>, Malformed> = match self.spec.venue {
            Venue::Hyperliquid => hyperliquid::decode_history(&body),
            Venue::Binance => binance::decode_history(&body),
        };
        decoded.map_err(|e| e.to_string())
    }

    /// Fetches and hands on the closed candles after each symbol's last one (after a reconnect).
    async fn backfill_all(&mut self) {
        let interval_ms = self.spec.interval.millis();
        for i in 0..self.symbols.len() {
            let Some(last) = self.symbols[i].sequencer.last_emitted_ms() else {
                continue;
            };
            let now = now_ms();
            let end = now - now.rem_euclid(interval_ms) - interval_ms;
            if end <= last {
                continue;
            }
            if let Some(candles) = self.fetch_range(i, last + interval_ms, end).await {
                self.hand_on_history(i, candles, CandleOrigin::Backfill, now_ms());
            }
        }
    }

    fn stream_url(&self) -> String {
        match self.spec.venue {
            Venue::Hyperliquid => self.spec.ws_url.clone(),
            Venue::Binance => {
                binance::stream_url(&self.spec.ws_url, &self.spec.symbols, self.spec.interval)
            }
        }
    }

    fn heartbeat(&self) -> Message {
        match self.spec.venue {
            Venue::Hyperliquid => Message::text(hyperliquid::PING),
            Venue::Binance => Message::Ping(b"zigquant".to_vec().into()),
        }
    }

    /// One connection, from connect to its end.
    async fn session(&mut self) -> SessionEnd {
        let url = self.stream_url();
        let endpoint = match Endpoint::parse(&url) {
            Ok(e) => e,
            Err(e) => return SessionEnd::Failed(e.to_string()),
        };
        let timing = self.spec.timing.clone();
        let handshake = async {
            let stream = transport::connect(&endpoint, &self.tls, timing.connect_timeout)
                .await
                .map_err(|e| e.to_string())?;
            let config = WebSocketConfig::default().max_message_size(Some(MAX_MESSAGE_BYTES));
            tokio_tungstenite::client_async_with_config(url.as_str(), stream, Some(config))
                .await
                .map(|(ws, _)| ws)
                .map_err(|e| format!("WebSocket handshake: {e}"))
        };
        let mut ws = match tokio::time::timeout(timing.connect_timeout, handshake).await {
            Ok(Ok(ws)) => ws,
            Ok(Err(why)) => return SessionEnd::Failed(why),
            Err(_) => return SessionEnd::Failed("connect timed out".into()),
        };
        let mut opening: Vec<Message> = Vec::new();
        if self.spec.venue == Venue::Hyperliquid {
            for s in &self.spec.symbols {
                opening.push(Message::text(hyperliquid::subscribe_message(
                    s,
                    self.spec.interval,
                )));
            }
        }
        opening.push(self.heartbeat());
        for m in opening {
            if let Err(e) = ws.send(m).await {
                return SessionEnd::Failed(format!("send: {e}"));
            }
        }
        for s in &mut self.symbols {
            s.sequencer.reset_forming();
        }
        let mut ticker = tokio::time::interval_at(
            tokio::time::Instant::now() + timing.heartbeat,
            timing.heartbeat,
        );
        ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut awaiting_answer = true;
        let mut up = false;
        loop {
            tokio::select! {
                message = ws.next() => {
                    let message = match message {
                        None => return SessionEnd::Failed("connection closed".into()),
                        Some(Err(e)) => return SessionEnd::Failed(format!("read: {e}")),
                        Some(Ok(m)) => m,
                    };
                    awaiting_answer = false;
                    if !up {
                        up = true;
                        if self.link.up() {
                            self.emit(LiveEvent::Link { venue: self.spec.venue, up: true });
                        }
                        self.backfill_all().await;
                        ticker.reset();
                    }
                    let text = match message {
                        Message::Text(text) => text,
                        Message::Ping(_) => { self.count(MessageKind::Ping); continue; }
                        Message::Pong(_) => { self.count(MessageKind::Pong); continue; }
                        Message::Close(frame) => {
                            let why = frame.map_or(String::new(), |f| format!(" ({} {})", f.code, f.reason));
                            return SessionEnd::Failed(format!("closed by the venue{why}"));
                        }
                        Message::Binary(_) | Message::Frame(_) => { self.count(MessageKind::Unknown); continue; }
                    };
                    match self.on_text(text.as_str()).await {
                        Some(end) => return end,
                        None => {
                            if self.session_delivered {
                                // A REST fill may have kept us from reading: the answer to the
                                // last ping may be waiting unread, so give it a full period.
                                ticker.reset();
                            }
                        }
                    }
                }
                _ = ticker.tick() => {
                    if awaiting_answer {
                        self.error(ErrorReason::HeartbeatTimeout);
                        return SessionEnd::Failed(format!(
                            "no answer to the heartbeat within {:?} (silent stall)", timing.heartbeat));
                    }
                    if let Err(e) = ws.send(self.heartbeat()).await {
                        return SessionEnd::Failed(format!("send: {e}"));
                    }
                    awaiting_answer = true;
                }
            }
        }
    }

    /// Handles one text message; `Some` ends the session.
    async fn on_text(&mut self, text: &str) -> Option<SessionEnd> {
        let decoded = match self.spec.venue {
            Venue::Hyperliquid => hyperliquid::decode(text),
            Venue::Binance => binance::decode(text).map(|m| vec![m]),
        };
        let inbound = match decoded {
            Ok(inbound) => inbound,
            Err(e) => {
                self.count(MessageKind::Malformed);
                self.error(ErrorReason::Malformed);
                tracing::debug!(venue = %self.spec.venue, "{e}");
                return None;
            }
        };
        for message in inbound {
            match message {
                Inbound::Candle {
                    symbol,
                    candle,
                    closed,
                    event_time_ms,
                } => {
                    self.count(if closed == Some(true) {
                        MessageKind::Candle
                    } else {
                        MessageKind::CandlePartial
                    });
                    if let Some(event_ms) = event_time_ms {
                        self.emit(LiveEvent::Delay {
                            venue: self.spec.venue,
                            seconds: (now_ms() - event_ms).max(0) as f64 / 1000.0,
                        });
                    }
                    self.on_candle(&symbol, candle, closed).await;
                }
                Inbound::Pong => self.count(MessageKind::Pong),
                Inbound::SubscriptionResponse => self.count(MessageKind::SubscriptionResponse),
                Inbound::Unknown => self.count(MessageKind::Unknown),
                Inbound::ServerShutdown => {
                    self.count(MessageKind::ServerShutdown);
                    return Some(SessionEnd::ServerShutdown);
                }
            }
        }
        None
    }

    async fn on_candle(&mut self, symbol: &str, candle: Candle, closed: Option<bool>) {
        let Some(&i) = self.by_venue_name.get(symbol) else {
            // A symbol we did not subscribe: the venue's business, not a strategy's.
            self.count(MessageKind::Unknown);
            return;
        };
        let venue = self.spec.venue;
        self.emit(LiveEvent::Update {
            venue,
            symbol: self.symbols[i].name.clone(),
        });
        let verdict = self.symbols[i].sequencer.on_stream(candle, closed);
        match verdict {
            Verdict::Emit(candle) => {
                self.session_delivered = true;
                self.emit(LiveEvent::Candle {
                    venue,
                    symbol: self.symbols[i].name.clone(),
                    candle,
                    origin: CandleOrigin::Stream,
                });
            }
            Verdict::Fill {
                from_ms,
                to_ms,
                then,
            } => {
                self.session_delivered = true;
                self.error(ErrorReason::Gap);
                let missing = (to_ms - from_ms) / self.spec.interval.millis() + 1;
                tracing::info!(venue = %venue, symbol, "stream skipped {missing} candles; fetching them over REST");
                if let Some(candles) = self.fetch_range(i, from_ms, to_ms).await {
                    // Everything before a closed candle is closed, whatever the clocks say.
                    let closed_before = then.open_time_ms;
                    self.hand_on_history(i, candles, CandleOrigin::Backfill, closed_before);
                } else {
                    tracing::warn!(venue = %venue, symbol, "could not fetch {missing} missing candles; strategies skip them");
                }
                if let Some(candle) = self.symbols[i].sequencer.accept_history(then, i64::MAX) {
                    self.emit(LiveEvent::Candle {
                        venue,
                        symbol: self.symbols[i].name.clone(),
                        candle,
                        origin: CandleOrigin::Stream,
                    });
                }
            }
            Verdict::Partial => {}
            Verdict::Duplicate => self.error(ErrorReason::Duplicate),
            Verdict::OutOfOrder => self.error(ErrorReason::OutOfOrder),
            Verdict::Malformed => self.error(ErrorReason::Malformed),
        }
    }
}
