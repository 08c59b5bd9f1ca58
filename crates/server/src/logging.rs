//! Which log filter the service uses: `ZQ_LOG`, else `RUST_LOG` (what the Rust ecosystem and
//! `deploy/docker-compose.yml` set), else `info`.

/// The filter directives (tracing `EnvFilter` syntax) from the two variables' values; an unset
/// or empty variable does not count.
pub fn filter_directives(zq_log: Option<&str>, rust_log: Option<&str>) -> String {
    [zq_log, rust_log]
        .into_iter()
        .flatten()
        .map(str::trim)
        .find(|v| !v.is_empty())
        .unwrap_or("info")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::filter_directives;

    #[test]
    fn zq_log_wins_then_rust_log_then_info() {
        assert_eq!(filter_directives(Some("debug"), Some("warn")), "debug");
        assert_eq!(filter_directives(None, Some("warn")), "warn");
        assert_eq!(filter_directives(Some(""), Some("warn")), "warn");
        assert_eq!(filter_directives(None, None), "info");
    }
}
