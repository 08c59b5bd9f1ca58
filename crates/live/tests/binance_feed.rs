//! The Binance feed against a fixture venue speaking Binance's kline protocol, with every fault
//! of docs/live.md: what the strategies would see (the exact candle sequence), the link over
//! time, and every counter.

mod common;

use std::time::Duration;

use common::{fast_timing, keep_off_minute_boundary, Fixture, Recorder, RestFault, Step, INTERVAL};
use zigquant_live::{ErrorReason, Feed, FeedSpec, LiveEvent, MessageKind, Venue};

fn spec(fixture: &Fixture, warmup_bars: usize) -> FeedSpec {
    FeedSpec {
        venue: Venue::Binance,
        ws_url: fixture.ws_url.clone(),
        rest_url: fixture.rest_url.clone(),
        tls_ca_file: None,
        interval: INTERVAL,
        symbols: vec!["btcusdt".into()],
        warmup_bars,
        timing: fast_timing(),
    }
}

fn closed(k: i64, version: u32) -> Step {
    Step::Candle {
        k,
        version,
        closed: true,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_closed_kline_reaches_the_consumer_once_in_order_through_every_fault() {
    let scripts = vec![
        vec![
            Step::Candle {
                k: 5,
                version: 1,
                closed: false,
            },
            closed(5, 2),
            closed(5, 2),
            closed(6, 1),
            Step::Raw("{oops".into()),
            Step::Raw(
                r#"{"stream":"btcusdt@trade","data":{"e":"trade","E":1,"s":"BTCUSDT"}}"#.into(),
            ),
            closed(4, 1),
            Step::Ping,
            closed(10, 1),
            Step::Wait(Duration::from_millis(50)),
            Step::Close,
        ],
        vec![
            closed(11, 1),
            Step::Candle {
                k: 12,
                version: 1,
                closed: false,
            },
            Step::ServerShutdown,
        ],
        vec![closed(12, 2), Step::Stall],
        vec![
            closed(14, 1),
            Step::Wait(Duration::from_millis(50)),
            Step::Abort,
        ],
        vec![],
    ];
    let fixture = Fixture::start(Venue::Binance, 5, scripts, None).await;
    fixture.push_rest_fault(RestFault::Status(429));
    let recorder = Recorder::default();
    let feed = Feed::new(spec(&fixture, 3), recorder.sink()).unwrap();
    let task = tokio::spawn(feed.run());

    recorder
        .wait_for("candle 12", Duration::from_secs(10), |r| {
            r.candles()
                .iter()
                .any(|c| fixture.index_of(c.open_time_ms) == 12)
        })
        .await;
    // The next gap fill meets a 500 first.
    fixture.push_rest_fault(RestFault::Status(500));
    recorder
        .wait_for(
            "the link up after the abort",
            Duration::from_secs(10),
            |r| r.links().len() >= 10,
        )
        .await;
    task.abort();

    let seen = fixture.seen_closes(&recorder);
    let expected = fixture.expected_closes(&[
        (2, 9),
        (3, 9),
        (4, 9),
        (5, 2),
        (6, 1),
        (7, 9),
        (8, 9),
        (9, 9),
        (10, 1),
        (11, 1),
        (12, 2),
        (13, 9),
        (14, 1),
    ]);
    assert_eq!(seen, expected, "the exact candle sequence");
    for (k, c) in seen.iter().zip(recorder.candles()) {
        assert_eq!(
            c,
            fixture.candle(k.0, ((k.1 - 100.0 - k.0 as f64) * 10.0).round() as u32)
        );
    }

    assert_eq!(
        recorder.links(),
        [false, true, false, true, false, true, false, true, false, true],
        "down at start, then up and down once per connection"
    );
    assert_eq!(recorder.reconnects(), 4);
    assert_eq!(recorder.errors(ErrorReason::Duplicate), 1);
    assert_eq!(recorder.errors(ErrorReason::OutOfOrder), 1);
    assert_eq!(recorder.errors(ErrorReason::Malformed), 1);
    assert_eq!(recorder.errors(ErrorReason::Gap), 2);
    assert_eq!(
        recorder.errors(ErrorReason::RestFailed),
        2,
        "the 429 and the 500"
    );
    assert_eq!(recorder.errors(ErrorReason::HeartbeatTimeout), 1);
    assert_eq!(recorder.messages(MessageKind::Candle), 8);
    assert_eq!(recorder.messages(MessageKind::CandlePartial), 2);
    assert_eq!(recorder.messages(MessageKind::Unknown), 1);
    assert_eq!(recorder.messages(MessageKind::Malformed), 1);
    assert_eq!(recorder.messages(MessageKind::ServerShutdown), 1);
    assert!(recorder.messages(MessageKind::Ping) >= 1, "the server ping");
    assert!(
        recorder.messages(MessageKind::Pong) >= 1,
        "answers to our pings"
    );

    // The stall (no data, no pong) is detected within two heartbeat periods.
    let events = recorder.events();
    let twelve = events
        .iter()
        .position(|(_, e)| matches!(e, LiveEvent::Candle { candle, .. } if fixture.index_of(candle.open_time_ms) == 12))
        .unwrap();
    let (down_at, _) = events[twelve..]
        .iter()
        .find(|(_, e)| matches!(e, LiveEvent::Link { up: false, .. }))
        .unwrap();
    let stalled_for = down_at.duration_since(events[twelve].0);
    let limit = 2 * fast_timing().heartbeat + Duration::from_millis(150);
    assert!(
        stalled_for <= limit,
        "stall detected after {stalled_for:?} (limit {limit:?})"
    );

    // Venue event time -> receipt, one observation per kline message.
    let delays: Vec<f64> = events
        .iter()
        .filter_map(|(_, e)| match e {
            LiveEvent::Delay { seconds, .. } => Some(*seconds),
            _ => None,
        })
        .collect();
    assert_eq!(delays.len(), 10);
    assert!(delays.iter().all(|d| (0.0..1.0).contains(d)), "{delays:?}");

    // The history requests are the documented ones: warm-up (429, then again) and two fills.
    let rest = fixture.rest_requests();
    assert!(
        rest.iter()
            .all(|r| r.starts_with("GET /api/v3/klines?symbol=BTCUSDT&interval=1m&startTime=")),
        "{rest:#?}"
    );
    assert_eq!(rest.len(), 5, "{rest:#?}");
    let fill = format!(
        "startTime={}&endTime={}&limit=1000",
        fixture.candle(7, 0).open_time_ms,
        fixture.candle(9, 0).open_time_ms
    );
    assert!(rest[2].contains(&fill), "{rest:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_venue_costs_backoff_paced_attempts_and_the_link_comes_up_when_it_returns() {
    let ws = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let rest = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let (ws_addr, rest_addr) = (ws.local_addr().unwrap(), rest.local_addr().unwrap());
    drop(ws);
    let recorder = Recorder::default();
    let feed = Feed::new(
        FeedSpec {
            venue: Venue::Binance,
            ws_url: format!("ws://{ws_addr}"),
            rest_url: format!("http://{rest_addr}"),
            tls_ca_file: None,
            interval: INTERVAL,
            symbols: vec!["BTCUSDT".into()],
            warmup_bars: 0,
            timing: fast_timing(),
        },
        recorder.sink(),
    )
    .unwrap();
    let task = tokio::spawn(feed.run());
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let attempts = recorder.reconnects();
    // 40 ms doubling to a 200 ms cap with jitter down to half: 8 to 40 attempts in 1.5 s; a
    // spinning loop would make thousands.
    assert!((5..=40).contains(&attempts), "{attempts} attempts in 1.5 s");
    assert_eq!(recorder.links(), [false], "one down, no flapping");

    keep_off_minute_boundary().await;
    let ws = tokio::net::TcpListener::bind(ws_addr).await.unwrap();
    let fixture =
        Fixture::start_on(Venue::Binance, 5, vec![vec![closed(5, 1)]], None, ws, rest).await;
    recorder
        .wait_for("the link up", Duration::from_secs(5), |r| {
            r.links() == [false, true]
        })
        .await;
    recorder
        .wait_for("candle 5", Duration::from_secs(5), |r| {
            r.candles() == [fixture.candle(5, 1)]
        })
        .await;
    task.abort();
}
