//! The counting allocator, installed as this test binary's global allocator, tracks live bytes.

use zigquant_metrics::alloc::{live_heap_bytes, CountingAllocator};
use zigquant_metrics::{Catalogue, CatalogueConfig, Format};

#[global_allocator]
static ALLOC: CountingAllocator = CountingAllocator;

#[test]
fn live_bytes_follow_allocations_and_reach_the_heap_metric() {
    let before = live_heap_bytes().expect("installed, so Some");
    let big = vec![7u8; 8 << 20];
    let during = live_heap_bytes().expect("installed");
    // Other test threads may allocate meanwhile; 8 MiB dwarfs them.
    assert!(during >= before + (7 << 20), "{before} -> {during}");
    drop(big);
    let after = live_heap_bytes().expect("installed");
    assert!(after + (7 << 20) <= during, "{during} -> {after}");

    let c = Catalogue::new(CatalogueConfig::default());
    let mut out = Vec::new();
    c.encode(Format::Text, &mut out);
    let text = String::from_utf8(out).expect("utf8");
    let heap = text
        .lines()
        .find_map(|l| l.strip_prefix("zigquant_memory_bytes{type=\"heap\"} "))
        .expect("heap series present when the allocator is installed");
    assert!(heap.parse::<f64>().expect("number") > 0.0);
}
