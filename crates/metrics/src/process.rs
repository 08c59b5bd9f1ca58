//! Process metrics, read from `/proc/self` at every scrape (Linux; elsewhere only what the
//! process can tell about itself: uptime and heap).

use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::encoding::{self, protobuf, FamilyMeta, Format, MetricType, Scratch};
use crate::family::Collect;

/// Clock ticks per second of `/proc/<pid>/stat` times. The kernel exports `USER_HZ`, fixed at
/// 100 on every mainstream Linux architecture, independent of the kernel's internal HZ; reading
/// it through `sysconf(_SC_CLK_TCK)` would need `libc` for a constant.
const USER_HZ: f64 = 100.0;

/// One reading of the process's own statistics.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ProcessStats {
    /// User + system CPU time, seconds.
    pub cpu_seconds: Option<f64>,
    /// Resident set size, bytes.
    pub resident_bytes: Option<u64>,
    /// Virtual memory size, bytes.
    pub virtual_bytes: Option<u64>,
    /// OS threads.
    pub threads: Option<u64>,
    /// Open file descriptors.
    pub open_fds: Option<u64>,
    /// Soft limit on file descriptors.
    pub max_fds: Option<u64>,
    /// Process start, seconds since the Unix epoch.
    pub start_time_seconds: Option<f64>,
    /// Bytes live in the counting allocator (None when it is not installed).
    pub heap_bytes: Option<u64>,
}

fn boot_time() -> Option<f64> {
    static BTIME: OnceLock<Option<f64>> = OnceLock::new();
    *BTIME.get_or_init(|| {
        let stat = std::fs::read_to_string("/proc/stat").ok()?;
        stat.lines()
            .find_map(|l| l.strip_prefix("btime "))
            .and_then(|v| v.trim().parse().ok())
    })
}

fn kib_field(status: &str, key: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with(key))?;
    let kb: u64 = line[key.len()..].split_whitespace().next()?.parse().ok()?;
    Some(kb * 1024)
}

impl ProcessStats {
    /// Reads `/proc/self/{stat,status,fd,limits}`; a field that cannot be read is `None`.
    pub fn read() -> Self {
        let mut s = ProcessStats {
            heap_bytes: crate::alloc::live_heap_bytes(),
            ..Default::default()
        };
        if let Ok(stat) = std::fs::read_to_string("/proc/self/stat") {
            // Fields after the command name (which may contain spaces) start at field 3.
            if let Some((_, rest)) = stat.rsplit_once(')') {
                let f: Vec<&str> = rest.split_whitespace().collect();
                let num = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok());
                if let (Some(u), Some(st)) = (num(11), num(12)) {
                    s.cpu_seconds = Some((u + st) as f64 / USER_HZ);
                }
                s.threads = num(17);
                if let (Some(start), Some(bt)) = (num(19), boot_time()) {
                    s.start_time_seconds = Some(bt + start as f64 / USER_HZ);
                }
                s.virtual_bytes = num(20);
            }
        }
        if let Ok(status) = std::fs::read_to_string("/proc/self/status") {
            s.resident_bytes = kib_field(&status, "VmRSS:");
        }
        if let Ok(dir) = std::fs::read_dir("/proc/self/fd") {
            s.open_fds = Some(dir.count() as u64);
        }
        if let Ok(limits) = std::fs::read_to_string("/proc/self/limits") {
            s.max_fds = limits
                .lines()
                .find_map(|l| l.strip_prefix("Max open files"))
                .and_then(|rest| rest.split_whitespace().next())
                .and_then(|v| v.parse().ok());
        }
        s
    }
}

fn now_seconds() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// The process families, collected at scrape time (no state to keep in sync).
pub(crate) struct ProcessCollector {
    metas: Vec<FamilyMeta>,
    /// The label sets a process sample can have, rendered once: none, `type="heap"`,
    /// `type="rss"` (the two `zigquant_memory_bytes` series).
    no_labels: SampleLabels,
    heap: SampleLabels,
    rss: SampleLabels,
    /// When the collector was created: the uptime origin when `/proc` is unavailable.
    fallback_start: f64,
}

/// A process sample's labels in the text and protobuf encodings, made when the collector is.
struct SampleLabels {
    text: &'static str,
    pb: Box<[u8]>,
}

impl SampleLabels {
    fn memory_type(text: &'static str, value: &str) -> Self {
        let pb = protobuf::label_pairs(std::iter::once(("type", value)));
        Self { text, pb }
    }
}

/// Indices into `ProcessCollector::metas`.
const MEMORY: usize = 0;
const UPTIME: usize = 1;
const THREADS: usize = 2;
const CPU: usize = 3;
const RESIDENT: usize = 4;
const VIRTUAL: usize = 5;
const OPEN_FDS: usize = 6;
const MAX_FDS: usize = 7;
const START: usize = 8;

impl ProcessCollector {
    pub(crate) fn new() -> Self {
        use MetricType::{Counter, Gauge};
        let m = FamilyMeta::new;
        Self {
            metas: vec![
                m("zigquant_memory_bytes", "Memory of the zigquant process in bytes: type heap is bytes live in the allocator, type rss the resident set reported by the OS.", Gauge),
                m("zigquant_uptime_seconds", "Seconds since the zigquant process started.", Gauge),
                m("zigquant_threads", "OS threads of the zigquant process.", Gauge),
                m("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.", Counter),
                m("process_resident_memory_bytes", "Resident memory size in bytes.", Gauge),
                m("process_virtual_memory_bytes", "Virtual memory size in bytes.", Gauge),
                m("process_open_fds", "Number of open file descriptors.", Gauge),
                m("process_max_fds", "Maximum number of open file descriptors.", Gauge),
                m("process_start_time_seconds", "Start time of the process since unix epoch in seconds.", Gauge),
            ],
            no_labels: SampleLabels {
                text: "",
                pb: Box::new([]),
            },
            heap: SampleLabels::memory_type("type=\"heap\"", "heap"),
            rss: SampleLabels::memory_type("type=\"rss\"", "rss"),
            fallback_start: now_seconds(),
        }
    }

    pub(crate) fn metas(&self) -> &[FamilyMeta] {
        &self.metas
    }

    /// Writes family `i` with its samples (labels and value; `None` where the value could not
    /// be read). Nothing when no sample was read. Allocates nothing: the labels are rendered.
    fn write(
        &self,
        i: usize,
        format: Format,
        samples: &[Option<(&SampleLabels, f64)>],
        out: &mut Vec<u8>,
    ) {
        if samples.iter().all(Option::is_none) {
            return;
        }
        let meta = &self.metas[i];
        let counter = meta.kind == MetricType::Counter;
        if format == Format::Protobuf {
            protobuf::write_family(meta, 1, out, |out| {
                for (labels, v) in samples.iter().flatten() {
                    if counter {
                        protobuf::write_counter(&labels.pb, *v, None, None, out);
                    } else {
                        protobuf::write_gauge(&labels.pb, *v, out);
                    }
                }
            });
            return;
        }
        encoding::write_header(meta, format, out);
        for (labels, v) in samples.iter().flatten() {
            if counter {
                encoding::write_counter_sample_f64(&meta.base, labels.text, *v, out);
            } else {
                encoding::write_gauge_sample(&meta.base, labels.text, *v, out);
            }
        }
    }
}

impl Collect for ProcessCollector {
    fn encode(&self, format: Format, _: &mut Scratch, out: &mut Vec<u8>) {
        let s = ProcessStats::read();
        let one = |v: Option<f64>| [v.map(|v| (&self.no_labels, v))];
        let memory = [
            s.heap_bytes.map(|h| (&self.heap, h as f64)),
            s.resident_bytes.map(|r| (&self.rss, r as f64)),
        ];
        self.write(MEMORY, format, &memory, out);
        let start = s.start_time_seconds.unwrap_or(self.fallback_start);
        let uptime = Some((now_seconds() - start).max(0.0));
        self.write(UPTIME, format, &one(uptime), out);
        self.write(THREADS, format, &one(s.threads.map(|v| v as f64)), out);
        self.write(CPU, format, &one(s.cpu_seconds), out);
        let resident = s.resident_bytes.map(|v| v as f64);
        self.write(RESIDENT, format, &one(resident), out);
        let virtual_bytes = s.virtual_bytes.map(|v| v as f64);
        self.write(VIRTUAL, format, &one(virtual_bytes), out);
        self.write(OPEN_FDS, format, &one(s.open_fds.map(|v| v as f64)), out);
        self.write(MAX_FDS, format, &one(s.max_fds.map(|v| v as f64)), out);
        self.write(START, format, &one(Some(start)), out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(target_os = "linux")]
    fn reads_proc_self() {
        let s = ProcessStats::read();
        assert!(s.cpu_seconds.is_some());
        assert!(s.resident_bytes.unwrap_or(0) > 0);
        assert!(s.virtual_bytes.unwrap_or(0) > 0);
        assert!(s.threads.unwrap_or(0) >= 1);
        assert!(s.open_fds.unwrap_or(0) >= 1);
        assert!(s.max_fds.unwrap_or(0) >= 1);
        let start = s.start_time_seconds.unwrap_or(0.0);
        assert!(start > 1.0e9 && start <= now_seconds() + 1.0);
    }
}
