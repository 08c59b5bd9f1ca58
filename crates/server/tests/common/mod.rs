//! Set-up shared by the server's integration tests: a service on the embedded defaults with its
//! own fresh data dir, so tests running at once never share a journal.
#![allow(dead_code)]

use std::sync::atomic::{AtomicU32, Ordering};

use zigquant_server::config::Config;
use zigquant_server::serve::{build, Service};

/// The embedded default config with a fresh data dir (`zq-<name>-test-<pid>-<n>` under the temp
/// dir) and `key` as the only API key.
pub fn test_config(name: &str, key: &str) -> Config {
    static N: AtomicU32 = AtomicU32::new(0);
    let dir = std::env::temp_dir().join(format!(
        "zq-{name}-test-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    let mut config = Config::embedded_default().expect("default config");
    config.server.data_dir = dir;
    config.api.keys = vec![key.to_string()];
    config
}

/// A service built from [`test_config`].
pub fn service(name: &str, key: &str) -> Service {
    build(&test_config(name, key)).expect("service builds")
}
