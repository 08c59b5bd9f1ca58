//! What a feed handed on, recorded for assertions, and timings short enough for tests.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use zigquant_live::{Candle, LiveEvent, Timing};

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
