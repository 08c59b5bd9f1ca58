//! The configuration's loading, precedence, merge and validation, from the outside.

use super::*;

#[test]
fn embedded_default_parses_and_validates() {
    let config = Config::embedded_default().expect("default parses");
    config.validate().expect("default validates");
    assert_eq!(config.server.listen.to_string(), "127.0.0.1:8080");
    for story_bound in [0.01, 0.05, 0.1, 0.5, 1.0] {
        assert!(config.metrics.order_latency_buckets.contains(&story_bound));
        assert!(config.metrics.api_latency_buckets.contains(&story_bound));
        assert!(config
            .metrics
            .market_data_delay_buckets
            .contains(&story_bound));
    }
}

#[test]
fn a_file_without_metrics_gets_the_documented_buckets() {
    // MetricsConfig::default applies when a file omits [metrics]; it must say what
    // default-config.toml documents.
    let documented = Config::embedded_default().unwrap().metrics;
    let fallback = MetricsConfig::default();
    assert_eq!(
        documented.order_latency_buckets,
        fallback.order_latency_buckets
    );
    assert_eq!(documented.api_latency_buckets, fallback.api_latency_buckets);
    assert_eq!(
        documented.market_data_delay_buckets,
        fallback.market_data_delay_buckets
    );
}

#[test]
fn overrides_beat_the_file() {
    let dir = std::env::temp_dir().join(format!("zq-config-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("c.toml");
    std::fs::write(
        &file,
        "[server]\nlisten = \"127.0.0.1:9000\"\ndata_dir = \"/tmp/x\"\n",
    )
    .unwrap();
    let from_file = Config::load(Some(&file), Overrides::default()).unwrap();
    assert_eq!(from_file.server.listen.port(), 9000);
    let overridden = Config::load(
        Some(&file),
        Overrides {
            listen: Some("127.0.0.1:9100".parse().unwrap()),
            ..Overrides::default()
        },
    )
    .unwrap();
    assert_eq!(overridden.server.listen.port(), 9100);
    assert_eq!(overridden.server.data_dir, PathBuf::from("/tmp/x"));
}

/// The shipped live example loads; a live pair needs a published interval and a symbol.
#[test]
fn the_live_example_loads_and_live_pairs_are_checked() {
    let example = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../deploy/examples/live.toml"
    );
    let config = Config::load(Some(Path::new(example)), Overrides::default()).unwrap();
    assert_eq!(config.engine.live_venues(), ["binance", "hyperliquid"]);
    // Its replace_defaults keeps the default entries (the simulated sma_cross_eth) out.
    let strategies: Vec<&str> = config
        .engine
        .strategies
        .iter()
        .map(|s| s.name.as_str())
        .collect();
    assert_eq!(strategies, ["sma_cross", "mean_reversion"]);
    assert_eq!(config.engine.exchange_names(), ["hyperliquid", "binance"]);
    assert_eq!(config.engine.pairs.len(), 2);
    let text = std::fs::read_to_string(example).unwrap();
    let bad = text.replace("bar_interval_secs = 60.0", "bar_interval_secs = 120.0");
    let err = Config::parse(&bad, "t")
        .and_then(|c| c.validate())
        .unwrap_err();
    assert!(
        err.to_string().contains(
            "bar_interval_secs = 120 is not a live candle interval; allowed: 60 (1m), 180 (3m)"
        ),
        "{err}"
    );
    let bad = text.replace("symbol = \"BTC\"\n", "");
    let err = Config::parse(&bad, "t")
        .and_then(|c| c.validate())
        .unwrap_err();
    assert!(err.to_string().contains("engine.pairs[0].symbol"), "{err}");
    // The same interval is fine when every pair is simulated.
    let synthetic = Config::parse("[engine.feed]\nbar_interval_secs = 120.0\n", "t").unwrap();
    synthetic.validate().unwrap();
}

fn write(name: &str, body: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("zq-config-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("c.toml");
    std::fs::write(&file, body).unwrap();
    file
}

#[test]
fn a_file_changing_one_exchange_keeps_the_others() {
    // The README user's file: before the merge-by-name rule, it replaced the whole list and
    // the default strategies lost their exchange.
    let file = write(
        "one-exchange",
        "[[engine.exchanges]]\nname = \"binance\"\nfee_rate = 0.002\n",
    );
    let config = Config::load(Some(&file), Overrides::default()).unwrap();
    assert_eq!(config.engine.exchange_names(), ["hyperliquid", "binance"]);
    let binance = &config.engine.exchanges[1];
    assert_eq!(binance.fee_rate, 0.002);
    let default = Config::embedded_default().unwrap();
    assert_eq!(
        binance.latency_median_ms,
        default.engine.exchanges[1].latency_median_ms
    );
    assert_eq!(config.engine.strategies, default.engine.strategies);
}

#[test]
fn a_conflict_names_the_file_and_the_default_entry() {
    let file = write(
        "replace",
        "replace_defaults = [\"engine.exchanges\"]\n[[engine.exchanges]]\nname = \"binance\"\n",
    );
    let err = Config::load(Some(&file), Overrides::default())
        .unwrap_err()
        .to_string();
    for needle in [
        file.to_str().unwrap(),
        "engine.strategies[0].exchange",
        "unknown exchange \"hyperliquid\"",
        "strategy \"sma_cross\" of the embedded defaults",
        "remove = true",
    ] {
        assert!(err.contains(needle), "{needle:?} missing from: {err}");
    }
}

#[test]
fn a_short_env_key_names_the_variable() {
    let err = Config::load(
        None,
        Overrides {
            api_key: Some("short".into()),
            ..Overrides::default()
        },
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("ZQ_API_KEY"), "{err}");
    assert!(!err.contains("api.keys"), "{err}");
}

#[test]
fn listen_resolves_host_names() {
    assert_eq!(
        resolve_listen("localhost:8080").unwrap(),
        SocketAddr::from(([127, 0, 0, 1], 8080))
    );
    assert_eq!(resolve_listen("[::1]:9").unwrap().port(), 9);
    assert!(resolve_listen("localhost").unwrap_err().contains("no port"));
    let config = Config::parse("[server]\nlisten = \"localhost:9001\"\n", "t").unwrap();
    assert_eq!(
        config.server.listen,
        SocketAddr::from(([127, 0, 0, 1], 9001))
    );
}

#[test]
fn the_effective_config_reads_back_as_itself_with_secrets_redacted() {
    let file = write(
        "effective",
        "[metrics]\nbearer_token = \"scrape-secret-0123\"\n[[engine.strategies]]\nname = \"sma_cross_eth\"\nremove = true\n[[engine.pairs]]\nname = \"SOL-USDT\"\n",
    );
    let config = Config::load(
        Some(&file),
        Overrides {
            api_key: Some("env-key-0123456789abcdef".into()),
            ..Overrides::default()
        },
    )
    .unwrap();
    let text = config.effective_toml("test").unwrap();
    assert!(!text.contains("env-key-0123456789abcdef"), "{text}");
    assert!(!text.contains("scrape-secret-0123"), "{text}");
    assert!(text.contains("keys = [\"<redacted>\"]"), "{text}");
    assert!(
        text.contains("# Seed of every random draw"),
        "comments kept:\n{text}"
    );
    assert!(
        !text.lines().any(|l| l == "name = \"sma_cross_eth\""),
        "{text}"
    );
    let mut back = Config::parse(&text, "effective").unwrap();
    back.api.keys = config.api.keys.clone();
    back.metrics.bearer_token = config.metrics.bearer_token.clone();
    back.document_hash = config.document_hash.clone();
    assert_eq!(format!("{back:?}"), format!("{config:?}"));
}

#[test]
fn an_empty_strategy_list_survives_the_effective_print() {
    let config = Config::parse("[engine]\nstrategies = []\n", "t").unwrap();
    assert!(config.engine.strategies.is_empty());
    let back = Config::parse(&config.effective_toml("t").unwrap(), "e").unwrap();
    assert!(back.engine.strategies.is_empty());
}

#[test]
fn the_name_comes_from_flag_env_file_or_host() {
    let from_file = Config::parse("[server]\nname = \"bot-a\"\n", "t").unwrap();
    assert_eq!(from_file.server.bot_name().as_str(), "bot-a");
    let err = Config::parse("[server]\nname = \"bot a\"\n", "t").unwrap_err();
    assert!(err.to_string().contains("name"), "{err}");
    assert!(err.to_string().contains("' '"), "{err}");
    let overridden = Config::load(
        None,
        Overrides {
            name: Some("bot-b".into()),
            ..Overrides::default()
        },
    )
    .unwrap();
    assert_eq!(overridden.server.bot_name().as_str(), "bot-b");
    let err = Config::load(
        None,
        Overrides {
            name: Some("bad/name".into()),
            ..Overrides::default()
        },
    )
    .unwrap_err();
    assert!(err.to_string().contains("ZQ_NAME"), "{err}");
    let host = Config::load(None, Overrides::default()).unwrap();
    assert_eq!(host.server.name, Some(BotName::from_host()));
    let empty = Config::load(
        None,
        Overrides {
            name: Some(String::new()),
            ..Overrides::default()
        },
    )
    .unwrap();
    assert_eq!(empty.server.name, Some(BotName::from_host()));
}

#[test]
fn the_document_hash_follows_the_text() {
    let a = Config::parse("[server]\n", "t").unwrap();
    let b = Config::parse("[server]\n# a comment\n", "t").unwrap();
    assert_eq!(a.document_hash, ConfigHash::of("[server]\n"));
    assert_ne!(a.document_hash, b.document_hash);
    let default = Config::embedded_default().unwrap();
    assert_eq!(default.document_hash, ConfigHash::of(&default_toml()));
}

#[test]
fn the_quiet_example_turns_the_injected_faults_off() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/examples/quiet.toml");
    let config = Config::load(Some(&path), Overrides::default()).unwrap();
    assert!(!config.engine.noise.enabled);
    for exchange in &config.engine.exchanges {
        assert_eq!(exchange.disconnect_rate_per_hour, 0.0, "{}", exchange.name);
        assert!(exchange.disconnect.is_empty(), "{}", exchange.name);
    }
    let default = Config::embedded_default().unwrap();
    assert_eq!(config.engine.strategies, default.engine.strategies);
    assert_eq!(
        config.engine.exchange_names(),
        default.engine.exchange_names()
    );
}

#[test]
fn errors_name_the_field() {
    let err = Config::parse("[metrics]\napi_latency_buckets = \"x\"\n", "t").unwrap_err();
    assert!(err.to_string().contains("api_latency_buckets"), "{err}");
    let err = Config::parse("[server]\nlisten = \"nope\"\n", "t").unwrap_err();
    assert!(err.to_string().contains("listen"), "{err}");
    let err = Config::parse("[serverr]\n", "t").unwrap_err();
    assert!(err.to_string().contains("serverr"), "{err}");
    let mut config = Config::embedded_default().unwrap();
    config.metrics.api_latency_buckets = vec![0.5, 0.1];
    let err = config.validate().unwrap_err();
    assert!(
        err.to_string().contains("metrics.api_latency_buckets"),
        "{err}"
    );
}
