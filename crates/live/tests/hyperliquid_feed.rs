//! The Hyperliquid feed against a fixture venue speaking Hyperliquid's candle protocol over TLS
//! with a private CA: a candle closes when a later one arrives, application-level ping/pong, the
//! candleSnapshot history, and the faults of docs/live.md.

mod common;

use std::time::Duration;

use common::{fast_timing, Fixture, Recorder, RestFault, Step, TestCa, INTERVAL};
use zigquant_live::{ErrorReason, Feed, FeedSpec, MessageKind, Venue};

fn spec(fixture: &Fixture, ca: Option<&TestCa>) -> FeedSpec {
    FeedSpec {
        venue: Venue::Hyperliquid,
        ws_url: fixture.ws_url.clone(),
        rest_url: fixture.rest_url.clone(),
        tls_ca_file: ca.map(|c| c.ca_file.clone()),
        interval: INTERVAL,
        symbols: vec!["BTC".into()],
        warmup_bars: 3,
        timing: fast_timing(),
    }
}

fn update(k: i64, version: u32) -> Step {
    Step::Candle {
        k,
        version,
        closed: false,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn candles_close_on_the_next_one_and_reach_the_consumer_once_in_order_over_tls() {
    let ca = TestCa::new("hyperliquid");
    let scripts = vec![
        vec![
            update(5, 1),
            update(5, 2),
            update(6, 1),
            update(5, 3),
            Step::Candles(vec![(6, 2), (7, 1)]),
            Step::Raw(r#"{"channel":"notification","data":{"notification":"hello"}}"#.into()),
            Step::Raw("[1,2".into()),
            update(11, 1),
            update(12, 1),
            Step::Stall,
        ],
        vec![
            update(12, 2),
            update(13, 1),
            Step::Wait(Duration::from_millis(50)),
            Step::Close,
        ],
        vec![],
    ];
    let fixture = Fixture::start(Venue::Hyperliquid, 5, scripts, Some(&ca)).await;
    fixture.push_rest_fault(RestFault::Hang);
    let recorder = Recorder::default();
    let feed = Feed::new(spec(&fixture, Some(&ca)), recorder.sink()).unwrap();
    let task = tokio::spawn(feed.run());
    recorder
        .wait_for("the third connection up", Duration::from_secs(10), |r| {
            r.links().len() >= 6
        })
        .await;
    task.abort();

    let seen = fixture.seen_closes(&recorder);
    let expected = fixture.expected_closes(&[
        (2, 9),
        (3, 9),
        (4, 9),
        (5, 2),
        (6, 2),
        (7, 1),
        (8, 9),
        (9, 9),
        (10, 9),
        (11, 1),
        (12, 2),
    ]);
    assert_eq!(seen, expected, "the exact candle sequence");
    assert_eq!(recorder.links(), [false, true, false, true, false, true]);
    assert_eq!(recorder.reconnects(), 2);
    assert_eq!(recorder.errors(ErrorReason::Duplicate), 1);
    assert_eq!(recorder.errors(ErrorReason::Malformed), 1);
    assert_eq!(recorder.errors(ErrorReason::Gap), 1);
    assert_eq!(
        recorder.errors(ErrorReason::RestFailed),
        1,
        "the hung warm-up request"
    );
    assert_eq!(recorder.errors(ErrorReason::HeartbeatTimeout), 1);
    assert_eq!(recorder.errors(ErrorReason::OutOfOrder), 0);
    assert_eq!(recorder.messages(MessageKind::CandlePartial), 10);
    assert_eq!(recorder.messages(MessageKind::Unknown), 1);
    assert!(recorder.messages(MessageKind::SubscriptionResponse) >= 3);
    assert!(
        recorder.messages(MessageKind::Pong) >= 2,
        "answers to our pings (the third connection's may come after the test stops)"
    );

    let subscribe =
        r#"{"method":"subscribe","subscription":{"coin":"BTC","interval":"1m","type":"candle"}}"#;
    let texts = fixture.client_texts();
    let subscriptions: Vec<serde_json::Value> = texts
        .iter()
        .filter(|t| t.contains("subscribe"))
        .map(|t| serde_json::from_str(t).unwrap())
        .collect();
    assert_eq!(subscriptions.len(), 3, "one per connection");
    assert!(subscriptions
        .iter()
        .all(|s| *s == serde_json::from_str::<serde_json::Value>(subscribe).unwrap()));
    assert!(texts.iter().any(|t| t == r#"{"method":"ping"}"#));

    let rest = fixture.rest_requests();
    assert_eq!(
        rest.len(),
        3,
        "warm-up twice (one hung), one gap fill: {rest:#?}"
    );
    let fill: serde_json::Value = serde_json::from_str(
        rest[2]
            .split_once(' ')
            .unwrap()
            .1
            .split_once(' ')
            .unwrap()
            .1
            .split_once(' ')
            .unwrap()
            .1,
    )
    .unwrap();
    assert_eq!(
        fill,
        serde_json::json!({"type":"candleSnapshot","req":{"coin":"BTC","interval":"1m",
            "startTime": fixture.candle(8, 0).open_time_ms, "endTime": fixture.candle(10, 0).open_time_ms}})
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_venue_whose_certificate_is_not_trusted_never_counts_as_connected() {
    let ca = TestCa::new("untrusted");
    let fixture = Fixture::start(Venue::Hyperliquid, 5, vec![], Some(&ca)).await;
    let recorder = Recorder::default();
    let mut spec = spec(&fixture, None);
    spec.warmup_bars = 0;
    let task = tokio::spawn(Feed::new(spec, recorder.sink()).unwrap().run());
    tokio::time::sleep(Duration::from_millis(600)).await;
    task.abort();
    assert_eq!(recorder.links(), [false]);
    assert!(recorder.reconnects() >= 2);
    assert_eq!(
        fixture.connections(),
        0,
        "no WebSocket handshake without trust"
    );
}
