//! A scrape allocates per scrape, never per series: label text is rendered when a series is made
//! (protobuf label pairs on the first protobuf scrape), and exemplars cost a text 0.0.4 scrape
//! nothing. This binary counts every allocation (its own global allocator) and compares a
//! registry of 100 series per family with one of 1,000.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

use zigquant_metrics::{Format, LabelDomain, NativeConfig, Registry};

struct CountingAllocations;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is forwarded to `System` unchanged; the count is a relaxed atomic add.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for CountingAllocations {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Relaxed);
        // SAFETY: forwarded with the caller's layout.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System.alloc` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Relaxed);
        // SAFETY: forwarded unchanged.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOC: CountingAllocations = CountingAllocations;

/// A counter, a gauge and a native histogram family of `n` series each, every series with an
/// exemplar where the type has one.
fn registry(n: usize) -> Registry {
    let r = Registry::new();
    let ids: Vec<String> = (0..n).map(|i| format!("s{i}")).collect();
    let domain = || vec![LabelDomain::new("id", ids.iter().cloned(), "other")];
    let counters = r
        .counter_family("c_total", "C.", domain())
        .expect("counter");
    let gauges = r.gauge_family("g", "G.", domain()).expect("gauge");
    let native = NativeConfig::default();
    let hists = r
        .histogram_family_native("h_seconds", "H.", domain(), &[0.1, 1.0], native)
        .expect("histogram");
    for id in &ids {
        counters.get(&[id]).inc_with_exemplar(&[("trade_id", id)]);
        gauges.get(&[id]).set(1.5);
        let h = hists.get(&[id]);
        h.observe_with_exemplar(0.05, &[("request_id", id)]);
        h.observe(2.0);
    }
    r
}

/// Allocations of one scrape in `format`, after two scrapes into the same buffer (the second
/// reserves by the size of the first, so the buffer has its steady capacity).
fn allocations_of_a_scrape(r: &Registry, format: Format) -> usize {
    let mut out = Vec::new();
    for _ in 0..2 {
        r.encode(format, &mut out);
        out.clear();
    }
    let before = ALLOCATIONS.load(Relaxed);
    r.encode(format, &mut out);
    let n = ALLOCATIONS.load(Relaxed) - before;
    assert!(!out.is_empty());
    n
}

#[test]
fn a_scrape_allocates_the_same_for_100_and_1000_series() {
    let (small, large) = (registry(100), registry(1_000));
    for format in [Format::Text, Format::OpenMetrics, Format::Protobuf] {
        let a = allocations_of_a_scrape(&small, format);
        let b = allocations_of_a_scrape(&large, format);
        assert_eq!(
            a, b,
            "{format:?}: 100 series {a} allocations, 1,000 series {b}"
        );
        // The per-scrape scratch buffers only (1 for text, 5 for protobuf when written).
        assert!(a <= 8, "{format:?}: {a} allocations per scrape");
    }
}
