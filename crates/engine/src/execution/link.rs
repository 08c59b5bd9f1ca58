//! The state machine of one venue link: up, down until some market time (outages may overlap:
//! the latest end wins), and whether the "still down" critical alert was raised for the current
//! outage. Scheduled outages, random outages and pushed link events all drive this one machine.

/// See the module header.
#[derive(Clone, Debug, PartialEq)]
pub struct Link {
    /// Whether the link is up.
    pub connected: bool,
    /// Market time the link went down.
    pub down_since_ms: Option<i64>,
    /// Market time the current outage ends.
    pub down_until_ms: i64,
    /// A critical "still down" alert was raised for the current outage.
    pub critical_alerted: bool,
}

impl Default for Link {
    fn default() -> Self {
        Self {
            connected: true,
            down_since_ms: None,
            down_until_ms: i64::MIN,
            critical_alerted: false,
        }
    }
}

impl Link {
    /// An outage until `until_ms` (`i64::MAX`: until a link-up event). `true` if the link was up
    /// and just went down.
    pub fn go_down(&mut self, now_ms: i64, until_ms: i64) -> bool {
        self.down_until_ms = self.down_until_ms.max(until_ms);
        if !self.connected {
            return false;
        }
        self.connected = false;
        self.down_since_ms = Some(now_ms);
        true
    }

    /// The outage may be over at `now_ms`. `true` if the link just came back up.
    pub fn try_reconnect(&mut self, now_ms: i64) -> bool {
        if self.connected || now_ms < self.down_until_ms {
            return false;
        }
        self.come_up();
        true
    }

    /// The venue says the link is up, whatever outage was scheduled. `true` if it was down.
    pub fn force_up(&mut self) -> bool {
        if self.connected {
            return false;
        }
        self.down_until_ms = i64::MIN;
        self.come_up();
        true
    }

    fn come_up(&mut self) {
        self.connected = true;
        self.down_since_ms = None;
        self.critical_alerted = false;
    }

    /// The outage that began at `since_ms` reached the critical time: `true` (once) if it is
    /// still the current outage.
    pub fn still_down(&mut self, since_ms: i64) -> bool {
        if self.is_stale_still_down(since_ms) {
            return false;
        }
        self.critical_alerted = true;
        true
    }

    /// Whether a queued "still down" check for the outage since `since_ms` can do nothing.
    pub fn is_stale_still_down(&self, since_ms: i64) -> bool {
        self.connected || self.down_since_ms != Some(since_ms) || self.critical_alerted
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlapping_outages_end_at_the_latest_end_and_alert_once() {
        let mut l = Link::default();
        assert!(l.go_down(0, 100));
        assert!(!l.go_down(50, 200));
        assert!(!l.try_reconnect(100));
        assert!(l.still_down(0));
        assert!(!l.still_down(0));
        assert!(l.try_reconnect(200));
        assert!(!l.critical_alerted);
        assert!(l.go_down(300, i64::MAX));
        assert!(l.force_up());
    }
}
