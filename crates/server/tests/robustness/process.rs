//! The `zigquant` binary under test: started on a free port with its own data dir and config,
//! its log and resident memory readable, killed and cleaned up on drop.

use std::io::Read;
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::KEY;

pub struct Server {
    child: Child,
    pub addr: SocketAddr,
    dir: std::path::PathBuf,
    stderr_log: std::path::PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Server {
    pub fn binary() -> std::path::PathBuf {
        let path = std::env::var_os("ZIGQUANT_BIN")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| env!("CARGO_BIN_EXE_zigquant").into());
        assert!(
            path.is_file(),
            "zigquant binary not found at {} (ZIGQUANT_BIN); build it with `cargo build --release --bin zigquant`",
            path.display()
        );
        path
    }

    pub fn start(name: &str) -> Server {
        let dir = std::env::temp_dir().join(format!("zq-robust-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().expect("addr");
        let stderr_log = dir.join("stderr.log");
        // The per-address limits are off: the load comes from one address on purpose and mixes
        // in unauthenticated requests; the limits have their own tests (tests/limits.rs).
        let config = dir.join("zigquant.toml");
        let toml = zigquant_server::config::default_toml()
            .replace(
                "auth_failures_per_minute = 10\n",
                "auth_failures_per_minute = 1000000\n",
            )
            .replace("requests_per_second = 1000\n", "requests_per_second = 0\n");
        assert!(
            toml.contains("requests_per_second = 0\n"),
            "default config changed"
        );
        std::fs::write(&config, toml).expect("config file");
        let child = Command::new(Self::binary())
            .args(["serve", "--listen", &addr.to_string(), "--data-dir"])
            .arg(dir.join("data"))
            .arg("--config")
            .arg(&config)
            .env("ZQ_API_KEY", KEY)
            .env("ZQ_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&stderr_log).expect("log file"))
            .spawn()
            .expect("zigquant starts");
        let server = Server {
            child,
            addr,
            dir,
            stderr_log,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(addr).is_err() {
            assert!(
                Instant::now() < deadline,
                "zigquant did not listen within 30 s:\n{}",
                server.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        server
    }

    pub fn log(&self) -> String {
        let mut s = String::new();
        if let Ok(mut f) = std::fs::File::open(&self.stderr_log) {
            let _ = f.read_to_string(&mut s);
        }
        s
    }

    /// (VmRSS, RssAnon, RssFile + RssShmem) in kB.
    pub fn rss_kb(&self) -> Rss {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .expect("/proc status");
        let field = |name: &str| -> u64 {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.split_whitespace().next())
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| panic!("{name} in /proc/pid/status"))
        };
        Rss {
            total: field("VmRSS:"),
            anon: field("RssAnon:"),
            file: field("RssFile:") + field("RssShmem:"),
        }
    }
}

/// Resident memory, kB: total, anonymous (heap, stacks) and file-backed + shared (the binary's
/// pages, SQLite's WAL index).
#[derive(Clone, Copy, Debug)]
pub struct Rss {
    pub total: u64,
    pub anon: u64,
    pub file: u64,
}
