//! Shared by the server benches: a minimal HTTP/1.1 keep-alive client over a real loopback
//! socket, machine facts for the report, and small statistics helpers.
//!
//! The client is deliberately raw (one request written, one response read by `Content-Length`)
//! so that it costs as little CPU as possible next to the server it measures on a small machine.
#![allow(dead_code)]

use std::io;
use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// One keep-alive connection.
pub struct Client {
    stream: TcpStream,
    buf: Vec<u8>,
}

/// A parsed response: status code and body bytes.
pub struct Reply {
    /// HTTP status code.
    pub status: u16,
    /// Body (not decoded: gzip stays gzip).
    pub body: Vec<u8>,
}

/// `GET path` with extra header lines (each ending in `\r\n`), as bytes ready to send.
pub fn get_request(path: &str, extra_headers: &str) -> Vec<u8> {
    format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{extra_headers}\r\n").into_bytes()
}

impl Client {
    /// Connects with `TCP_NODELAY`, as a load generator should.
    pub async fn connect(addr: SocketAddr) -> io::Result<Self> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        Ok(Self {
            stream,
            buf: Vec::with_capacity(16 * 1024),
        })
    }

    /// Sends `request` and reads one whole response; returns its status and body length,
    /// without copying the body out.
    pub async fn roundtrip(&mut self, request: &[u8]) -> io::Result<(u16, usize)> {
        self.stream.write_all(request).await?;
        let (status, head_len, body_len) = self.read_response().await?;
        self.buf.drain(..head_len + body_len);
        Ok((status, body_len))
    }

    /// Sends `request` and returns the whole response.
    pub async fn fetch(&mut self, request: &[u8]) -> io::Result<Reply> {
        self.stream.write_all(request).await?;
        let (status, head_len, body_len) = self.read_response().await?;
        let body = self.buf[head_len..head_len + body_len].to_vec();
        self.buf.drain(..head_len + body_len);
        Ok(Reply { status, body })
    }

    /// Reads until one response (head + `Content-Length` body) is buffered.
    async fn read_response(&mut self) -> io::Result<(u16, usize, usize)> {
        loop {
            if let Some(head_len) = find_head_end(&self.buf) {
                let (status, body_len) = parse_head(&self.buf[..head_len])?;
                while self.buf.len() < head_len + body_len {
                    self.fill().await?;
                }
                return Ok((status, head_len, body_len));
            }
            self.fill().await?;
        }
    }

    async fn fill(&mut self) -> io::Result<()> {
        let old = self.buf.len();
        self.buf.resize(old + 16 * 1024, 0);
        let n = self.stream.read(&mut self.buf[old..]).await;
        match n {
            Ok(0) => {
                self.buf.truncate(old);
                Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "server closed the connection",
                ))
            }
            Ok(n) => {
                self.buf.truncate(old + n);
                Ok(())
            }
            Err(e) => {
                self.buf.truncate(old);
                Err(e)
            }
        }
    }
}

fn find_head_end(buf: &[u8]) -> Option<usize> {
    buf.windows(4).position(|w| w == b"\r\n\r\n").map(|p| p + 4)
}

fn parse_head(head: &[u8]) -> io::Result<(u16, usize)> {
    let bad = |what: &str| io::Error::new(io::ErrorKind::InvalidData, what.to_string());
    let text = std::str::from_utf8(head).map_err(|_| bad("non-UTF-8 response head"))?;
    let mut lines = text.split("\r\n");
    let status_line = lines.next().ok_or_else(|| bad("empty response"))?;
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse::<u16>().ok())
        .ok_or_else(|| bad("bad status line"))?;
    let mut body_len = None;
    for line in lines {
        if let Some((name, value)) = line.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                body_len = value.trim().parse::<usize>().ok();
            } else if name.eq_ignore_ascii_case("transfer-encoding") {
                return Err(bad("chunked responses are not supported by this client"));
            }
        }
    }
    Ok((status, body_len.unwrap_or(0)))
}

/// The bearer key the benches configure.
pub const KEY: &str = "bench-key-0123456789abcdef";

/// The embedded default configuration for a bench: a fresh data dir under the temp dir named
/// after `tag` (remove it when done), the bench key, and an unpaced market that stops after
/// `bars` bars, so the engine sits idle while the API is measured.
pub fn bench_config(tag: &str, bars: u64) -> anyhow::Result<zigquant_server::config::Config> {
    let data_dir = std::env::temp_dir().join(format!("zq-bench-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data_dir);
    let mut config = zigquant_server::config::Config::embedded_default()?;
    config.server.data_dir = data_dir;
    config.api.keys = vec![KEY.to_string()];
    config.engine.feed.pacing = false;
    config.engine.feed.max_bars = bars;
    Ok(config)
}

/// The 1-minute load average, from `/proc/loadavg`.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "?".to_string())
}

/// Logical CPUs available to this process.
pub fn cpus() -> usize {
    std::thread::available_parallelism().map_or(0, |n| n.get())
}

/// Restricts the calling thread (and threads it starts later) to `cpu`, so a measurement is not
/// disturbed by the scheduler moving it or by its own other threads.
pub fn pin_to_cpu(cpu: usize) -> io::Result<()> {
    // SAFETY: `set` is a plain bit set that lives across the call; pid 0 is the calling thread.
    let rc = unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set)
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Median of `values` (sorted in place).
pub fn median(values: &mut [f64]) -> f64 {
    percentile(values, 0.5)
}

/// Nearest-rank percentile `p` (0..=1) of `values` (sorted in place).
pub fn percentile(values: &mut [f64], p: f64) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    values.sort_by(f64::total_cmp);
    let rank = ((p * values.len() as f64).ceil() as usize).clamp(1, values.len());
    values[rank - 1]
}

/// A positive integer from the environment, or `default`.
pub fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&v| v > 0)
        .unwrap_or(default)
}

/// A positive number from the environment, or `default`.
pub fn env_f64(name: &str, default: f64) -> f64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&v: &f64| v > 0.0 && v.is_finite())
        .unwrap_or(default)
}
