//! A cheap monotonic clock for timing what happens on every request.
//!
//! Timing a request takes two clock reads. Through the vDSO (`Instant::now`) each costs ~25 ns
//! in a tight loop and measurably more on a server between two requests, where the kernel's
//! network work has pushed the vDSO's data out of the cache: on the 2-vCPU machine of
//! docs/benchmarks.md §3 the two reads were most of what the request metrics cost. Where the
//! kernel itself keeps `CLOCK_MONOTONIC` on the CPU's time-stamp counter (clocksource `tsc`,
//! which Linux only selects when the TSC ticks at a constant rate, keeps ticking in idle states
//! and is synchronized across cores), this clock reads the TSC directly (~10 ns), calibrated
//! once against `Instant`. Everywhere else it is `Instant`.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// A reading of the [`TickClock`]; only differences of two readings mean anything.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Ticks(u64);

impl Ticks {
    /// The raw count, to keep in an atomic.
    pub(crate) fn raw(self) -> u64 {
        self.0
    }

    /// A reading kept with [`Ticks::raw`].
    pub(crate) fn from_raw(raw: u64) -> Self {
        Self(raw)
    }
}

/// What [`TickClock`] reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClockSource {
    /// The CPU's time-stamp counter, calibrated against the monotonic clock.
    Tsc,
    /// `std::time::Instant` (the monotonic clock).
    Monotonic,
}

/// The process's timing clock: see the module documentation.
#[derive(Debug)]
pub struct TickClock {
    source: ClockSource,
    seconds_per_tick: f64,
    origin: Instant,
}

/// How long the TSC is compared with the monotonic clock: the calibration error is about two
/// clock reads (~50 ns) over this, i.e. 1e-5 of any duration measured.
const CALIBRATION: Duration = Duration::from_millis(5);

/// The clock, calibrated on first use (a 5 ms busy wait, once per process).
pub fn clock() -> &'static TickClock {
    static CLOCK: OnceLock<TickClock> = OnceLock::new();
    CLOCK.get_or_init(TickClock::calibrate)
}

impl TickClock {
    fn calibrate() -> Self {
        let origin = Instant::now();
        let monotonic = Self {
            source: ClockSource::Monotonic,
            seconds_per_tick: 1e-9,
            origin,
        };
        if !kernel_clocksource_is_tsc() {
            return monotonic;
        }
        let (tsc0, t0) = (tsc::read(), Instant::now());
        while t0.elapsed() < CALIBRATION {
            std::hint::spin_loop();
        }
        let (tsc1, t1) = (tsc::read(), Instant::now());
        let seconds_per_tick = (t1 - t0).as_secs_f64() / tsc1.wrapping_sub(tsc0) as f64;
        // 100 MHz to 20 GHz: anything else is not a TSC this clock can trust.
        if !(5e-11..=1e-8).contains(&seconds_per_tick) {
            return monotonic;
        }
        Self {
            source: ClockSource::Tsc,
            seconds_per_tick,
            origin,
        }
    }

    /// What this clock reads.
    pub fn source(&self) -> ClockSource {
        self.source
    }

    /// Now.
    #[inline]
    pub fn now(&self) -> Ticks {
        match self.source {
            ClockSource::Tsc => Ticks(tsc::read()),
            ClockSource::Monotonic => Ticks(self.origin.elapsed().as_nanos() as u64),
        }
    }

    /// Seconds from `start` to `end`; 0 when `end` is not later (two cores' TSCs may differ by
    /// a few cycles).
    #[inline]
    pub fn seconds_between(&self, start: Ticks, end: Ticks) -> f64 {
        end.0.saturating_sub(start.0) as f64 * self.seconds_per_tick
    }

    /// Seconds since `start`.
    #[inline]
    pub fn seconds_since(&self, start: Ticks) -> f64 {
        self.seconds_between(start, self.now())
    }
}

/// Whether Linux keeps `CLOCK_MONOTONIC` on the TSC (it then vouches for the TSC being invariant
/// and synchronized across cores).
fn kernel_clocksource_is_tsc() -> bool {
    cfg!(target_arch = "x86_64")
        && std::fs::read_to_string(
            "/sys/devices/system/clocksource/clocksource0/current_clocksource",
        )
        .is_ok_and(|s| s.trim() == "tsc")
}

#[cfg(target_arch = "x86_64")]
mod tsc {
    /// The time-stamp counter.
    #[inline]
    #[allow(unsafe_code)]
    pub fn read() -> u64 {
        // SAFETY: RDTSC has no preconditions and every x86-64 CPU has it; the intrinsic is
        // `unsafe` only because all `core::arch` intrinsics are.
        unsafe { core::arch::x86_64::_rdtsc() }
    }
}

#[cfg(not(target_arch = "x86_64"))]
mod tsc {
    /// Never called: [`super::kernel_clocksource_is_tsc`] is false off x86-64.
    pub fn read() -> u64 {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whatever the source, a sleep measures as at least its length and not absurdly more: the
    /// calibration is neither off by a factor nor upside down.
    #[test]
    fn measures_a_sleep() {
        let c = clock();
        for _ in 0..3 {
            let start = c.now();
            std::thread::sleep(Duration::from_millis(20));
            let s = c.seconds_since(start);
            assert!(
                (0.0195..1.0).contains(&s),
                "{s} s for a 20 ms sleep ({:?})",
                c.source()
            );
        }
    }

    /// Where the kernel uses the TSC, so does this clock.
    #[test]
    fn follows_the_kernel_choice() {
        let expected = if kernel_clocksource_is_tsc() {
            ClockSource::Tsc
        } else {
            ClockSource::Monotonic
        };
        assert_eq!(clock().source(), expected);
    }

    #[test]
    fn an_end_before_the_start_is_zero_seconds_not_negative() {
        let c = clock();
        let earlier = c.now();
        std::thread::sleep(Duration::from_millis(1));
        let start = c.now();
        assert_eq!(c.seconds_between(start, earlier), 0.0);
        assert!(c.seconds_between(earlier, start) > 0.0);
    }
}
