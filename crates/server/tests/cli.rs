//! The `zigquant` command line as a user runs it: help, default config, bad config, backtest.

use std::path::PathBuf;
use std::process::{Command, Output};

/// The binary with the caller's `ZQ_*` settings removed, so a developer's environment does not
/// change what a test sees.
fn command() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_zigquant"));
    for name in [
        "ZQ_LISTEN",
        "ZQ_DATA_DIR",
        "ZQ_API_KEY",
        "ZQ_NAME",
        "ZQ_WEB_CONFIG_FILE",
    ] {
        command.env_remove(name);
    }
    command
}

fn zigquant(args: &[&str]) -> Output {
    command().args(args).output().expect("run zigquant")
}

/// `zigquant backtest --data <data> <args>`.
fn backtest(data: &str, args: &[&str]) -> Output {
    command()
        .args(["backtest", "--data", data])
        .args(args)
        .output()
        .expect("run zigquant backtest")
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("zq-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn help_explains_every_option() {
    let output = zigquant(&["--help"]);
    assert!(output.status.success());
    let help = String::from_utf8_lossy(&output.stdout);
    for needle in [
        "--listen",
        "ZQ_LISTEN",
        "--data-dir",
        "ZQ_DATA_DIR",
        "--config",
        "backtest",
        "serve",
    ] {
        assert!(help.contains(needle), "--help lacks {needle}:\n{help}");
    }
}

#[test]
fn default_config_is_printed_and_parses() {
    let output = zigquant(&["config", "--default"]);
    assert!(output.status.success());
    let text = String::from_utf8(output.stdout).unwrap();
    let config = zigquant_server::config::Config::parse(&text, "printed default").unwrap();
    config.validate().unwrap();
    for table in [
        "[server]",
        "[api]",
        "[metrics]",
        "[engine]",
        "[[engine.pairs]]",
        "[[engine.strategies]]",
        "[[engine.exchanges]]",
        "[engine.risk]",
    ] {
        assert!(text.contains(table), "default config lacks {table}");
    }
}

#[test]
fn invalid_config_fails_at_start_naming_the_field() {
    let dir = temp_dir("badconfig");
    let file = dir.join("bad.toml");
    for (body, field) in [
        ("[server]\nlisten = \"not an address\"\n", "listen"),
        (
            "[metrics]\napi_latency_buckets = [0.5, 0.1]\n",
            "metrics.api_latency_buckets",
        ),
        ("[engine.risk]\nnot_a_knob = 1\n", "not_a_knob"),
    ] {
        std::fs::write(&file, body).unwrap();
        let output = zigquant(&[
            "serve",
            "--config",
            file.to_str().unwrap(),
            "--data-dir",
            dir.to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
        ]);
        assert_eq!(output.status.code(), Some(2), "{body}: {}", stderr(&output));
        assert!(
            stderr(&output).contains(field),
            "{body}: {}",
            stderr(&output)
        );
        assert!(!stderr(&output).contains("panicked"));
    }
    let missing = zigquant(&["--config", "/nonexistent/zq.toml"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(stderr(&missing).contains("/nonexistent/zq.toml"));
}

#[test]
fn config_alone_prints_help() {
    let output = zigquant(&["config"]);
    assert_eq!(output.status.code(), Some(2));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        stderr(&output)
    );
    assert!(
        text.contains("--effective") && text.contains("--default"),
        "{text}"
    );
    assert!(!text.contains("nothing to do"), "{text}");
}

#[test]
fn effective_config_shows_the_file_over_the_defaults_and_hides_secrets() {
    let dir = temp_dir("effective");
    let file = dir.join("fee.toml");
    std::fs::write(
        &file,
        "[[engine.exchanges]]\nname = \"binance\"\nfee_rate = 0.002\n",
    )
    .unwrap();
    let output = command()
        .args(["config", "--effective", "--config", file.to_str().unwrap()])
        .args(["--listen", "localhost:8181"])
        .env("ZQ_API_KEY", "cli-secret-key-0123456789")
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(text.contains("listen = \"127.0.0.1:8181\""), "{text}");
    assert!(text.contains("name = \"hyperliquid\""), "{text}");
    assert!(text.contains("fee_rate = 0.002"), "{text}");
    assert!(!text.contains("cli-secret-key-0123456789"), "{text}");
    let config = zigquant_server::config::Config::parse(&text, "effective").unwrap();
    assert_eq!(config.engine.exchange_names(), ["hyperliquid", "binance"]);
}

#[test]
fn a_short_api_key_in_the_environment_is_named() {
    let output = command()
        .args(["config", "--effective"])
        .env("ZQ_API_KEY", "short")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("ZQ_API_KEY"),
        "{}",
        stderr(&output)
    );
}

/// Starts `zigquant serve` with `args`, quietly, in the background.
fn spawn_serve(args: &[&str]) -> std::process::Child {
    command()
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start zigquant serve")
}

/// Waits until `service` holds the data dir (its pid is in `lock`); fails if it exits first.
fn wait_until_it_holds(service: &mut std::process::Child, lock: &std::path::Path) {
    let pid = service.id().to_string();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while std::fs::read_to_string(lock).map_or(true, |held| held.trim() != pid) {
        if let Ok(Some(status)) = service.try_wait() {
            panic!("pid {pid} exited ({status}) without taking the data dir");
        }
        assert!(
            std::time::Instant::now() < deadline,
            "pid {pid} never took the data dir"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// A second service on a data dir in use is refused at start, naming the holder; once the first
/// is gone (killed: no clean-up ran) the data dir is free again.
#[test]
fn second_service_on_one_data_dir_is_refused() {
    let dir = temp_dir("lock");
    let data_dir = dir.to_str().unwrap();
    let args = ["serve", "--data-dir", data_dir, "--listen", "127.0.0.1:0"];
    let lock = dir.join(zigquant_server::serve::LOCK_FILE);
    let mut first = spawn_serve(&args);
    wait_until_it_holds(&mut first, &lock);

    let second = zigquant(&args);
    let _ = first.kill();
    let _ = first.wait();
    assert_eq!(second.status.code(), Some(1), "{}", stderr(&second));
    let message = stderr(&second);
    assert!(
        message.contains("in use by another zigquant process"),
        "{message}"
    );
    assert!(
        message.contains(&format!("pid {}", first.id())),
        "{message}"
    );
    assert!(!message.contains("panicked"), "{message}");

    // The first was killed without any clean-up: the OS released its lock.
    let mut third = spawn_serve(&args);
    wait_until_it_holds(&mut third, &lock);
    let _ = third.kill();
    let _ = third.wait();
}

const CSV: &str = "Date,Open,High,Low,Close,Volume\n";

fn write_prices(dir: &std::path::Path) -> PathBuf {
    // A rise, a fall and a rise again: an SMA(2)/SMA(4) cross up, down and up.
    let closes = [
        10.0, 10.0, 10.0, 10.0, 11.0, 12.0, 13.0, 12.0, 10.0, 8.0, 7.0, 9.0, 11.0, 13.0, 14.0, 15.0,
    ];
    let mut text = String::from(CSV);
    let mut open = 10.0;
    for (i, close) in closes.iter().enumerate() {
        text.push_str(&format!(
            "2024-01-{:02},{open},{},{},{close},100\n",
            i + 1,
            f64::max(open, *close) + 0.5,
            f64::min(open, *close) - 0.5
        ));
        open = *close;
    }
    let path = dir.join("prices.csv");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn backtest_prints_one_json_document() {
    let dir = temp_dir("backtest");
    let data = write_prices(&dir);
    let output = backtest(
        data.to_str().unwrap(),
        &[
            "--strategy",
            "sma-cross",
            "--fast",
            "2",
            "--slow",
            "4",
            "--mode",
            "long-short",
            "--qty",
            "1",
            "--cash",
            "1000",
            "--fee-rate",
            "0.001",
            "--periods-per-year",
            "252",
            "--format",
            "json",
        ],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let trades = report["trades"].as_array().unwrap();
    assert!(!trades.is_empty());
    for key in [
        "side",
        "qty",
        "entry_time",
        "entry_price",
        "exit_time",
        "exit_price",
        "fees",
        "realized_pnl",
    ] {
        assert!(trades[0].get(key).is_some(), "trade lacks {key}");
    }
    let stats = &report["stats"];
    for key in [
        "closed_trades",
        "wins",
        "losses",
        "breakevens",
        "win_rate",
        "total_realized_pnl",
        "total_fees",
        "final_equity",
        "sharpe",
        "cagr",
        "calmar",
        "max_drawdown",
        "var_95",
        "cvar_95",
        "max_drawdown_closed_trades",
    ] {
        assert!(stats.get(key).is_some(), "stats lack {key}");
    }
    let pnl: f64 = trades
        .iter()
        .map(|t| t["realized_pnl"].as_f64().unwrap())
        .sum();
    let total = stats["total_realized_pnl"].as_f64().unwrap();
    assert!((pnl - total).abs() < 1e-9, "{pnl} vs {total}");
    let final_equity = stats["final_equity"].as_f64().unwrap();
    assert!((final_equity - (1000.0 + total)).abs() < 1e-9);

    let table = backtest(
        data.to_str().unwrap(),
        &["--fast", "2", "--slow", "4", "--format", "table"],
    );
    assert!(table.status.success());
    assert!(String::from_utf8_lossy(&table.stdout).contains("win_rate"));
}

#[test]
fn malformed_csv_names_the_line_and_exits_2() {
    let dir = temp_dir("badcsv");
    let path = dir.join("bad.csv");
    std::fs::write(
        &path,
        "date,open,high,low,close\n2024-01-01,1,2,0.5,1.5\n2024-01-02,1,oops,0.5,1.5\n",
    )
    .unwrap();
    let output = backtest(path.to_str().unwrap(), &[]);
    assert_eq!(output.status.code(), Some(2));
    let err = stderr(&output);
    assert!(err.contains("line 3"), "{err}");
    assert!(!err.contains("panicked"));
    let missing = backtest("/nonexistent.csv", &[]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(stderr(&missing).contains("/nonexistent.csv"));
}

#[test]
fn backtest_takes_the_config_names_and_writes_a_report() {
    let dir = temp_dir("report");
    let data = write_prices(&dir);
    let data = data.to_str().unwrap();
    // Each strategy with its own parameters only: a flag of the other one is refused
    // (backtest_refuses_a_parameter_of_the_other_strategy).
    for (strategy, params) in [
        ("sma_cross", ["--fast", "2", "--slow", "4"].as_slice()),
        ("sma-cross", &["--fast", "2", "--slow", "4"]),
        ("mean_reversion", &["--window", "3"]),
        ("mean-reversion", &["--window", "3"]),
    ] {
        let mut args = vec!["backtest", "--data", data, "--strategy", strategy];
        args.extend_from_slice(params);
        args.extend(["--format", "json"]);
        let output = zigquant(&args);
        assert!(output.status.success(), "{strategy}: {}", stderr(&output));
        assert!(output.stderr.is_empty(), "no progress bar off a terminal");
    }
    let report = dir.join("report.html");
    let table = backtest(
        data,
        &[
            "--fast",
            "2",
            "--slow",
            "4",
            "--format",
            "table",
            "--report",
            report.to_str().unwrap(),
        ],
    );
    assert!(table.status.success(), "{}", stderr(&table));
    let stdout = String::from_utf8_lossy(&table.stdout);
    assert!(
        stdout.contains(&format!("Report: {}", report.display())),
        "{stdout}"
    );
    let html = std::fs::read_to_string(&report).expect("report written");
    assert!(html.starts_with("<!doctype html>"));
    assert!(html.contains("id=\"report-data\""));
    assert!(!html.contains("src=\"") && !html.contains("href=\""));

    let unwritable = backtest(
        data,
        &[
            "--fast",
            "2",
            "--slow",
            "4",
            "--report",
            "/nonexistent-dir/report.html",
        ],
    );
    assert_eq!(unwritable.status.code(), Some(2));
    assert!(stderr(&unwritable).contains("/nonexistent-dir/report.html"));
}

#[test]
fn backtest_takes_negative_values_to_its_own_validation() {
    let dir = temp_dir("negative");
    let data = write_prices(&dir);
    let output = backtest(data.to_str().unwrap(), &["--qty", "-1"]);
    assert_eq!(output.status.code(), Some(2));
    let message = stderr(&output);
    assert!(!message.contains("unexpected argument"), "{message}");
    assert!(message.contains("qty"), "{message}");
}

#[test]
fn backtest_refuses_a_parameter_of_the_other_strategy() {
    let dir = temp_dir("foreign");
    let data = write_prices(&dir);
    let data = data.to_str().unwrap();
    for (args, flag) in [
        (
            vec!["--strategy", "mean-reversion", "--fast", "5"],
            "--fast",
        ),
        (
            vec!["--strategy", "mean-reversion", "--mode", "long-only"],
            "--mode",
        ),
        (
            vec!["--strategy", "sma-cross", "--entry-z", "1.5"],
            "--entry-z",
        ),
    ] {
        let mut all = vec!["backtest", "--data", data];
        all.extend(args);
        let output = zigquant(&all);
        assert_eq!(output.status.code(), Some(2), "{all:?}");
        assert!(
            stderr(&output).contains(flag),
            "{all:?}: {}",
            stderr(&output)
        );
    }
}

fn write_csv(dir: &std::path::Path, rows: &[&str]) -> PathBuf {
    let path = dir.join("rows.csv");
    std::fs::write(&path, format!("{CSV}{}\n", rows.join("\n"))).unwrap();
    path
}

#[test]
fn backtest_warns_when_the_data_is_too_short_to_trade() {
    let dir = temp_dir("short");
    let data = write_prices(&dir); // 16 bars
    let output = backtest(data.to_str().unwrap(), &["--format", "json"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let message = stderr(&output);
    assert!(message.contains("warning: "), "{message}");
    assert!(message.contains("has 16 bars"), "{message}");
    assert!(message.contains("needs at least 32"), "{message}");
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["stats"]["closed_trades"], 0);

    // Long enough: no warning.
    let output = backtest(data.to_str().unwrap(), &["--fast", "2", "--slow", "4"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(!stderr(&output).contains("warning"), "{}", stderr(&output));

    // One bar: nothing can be computed.
    let one = write_csv(&dir, &["2024-01-01,10,11,9,10,5"]);
    let output = backtest(one.to_str().unwrap(), &[]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("needs at least 2"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn backtest_refuses_what_the_live_config_refuses() {
    let dir = temp_dir("refuse");
    let data = write_prices(&dir);
    let output = backtest(data.to_str().unwrap(), &["--fee-rate", "1.5"]);
    assert_eq!(output.status.code(), Some(2));
    let message = stderr(&output);
    assert!(
        message.contains("fee_rate") && message.contains("[0, 0.1)"),
        "{message}"
    );

    let bad = write_csv(
        &dir,
        &["2024-01-01,10,11,9,10,5", "2024-01-02,10,9,11,10,5"],
    );
    let output = backtest(bad.to_str().unwrap(), &[]);
    assert_eq!(output.status.code(), Some(2));
    let message = stderr(&output);
    assert!(
        message.contains("line 3") && message.contains("high 9 is below low 11"),
        "{message}"
    );
}

/// A disconnect is one log line (the risk alert), not two.
#[test]
fn a_disconnect_is_logged_once() {
    let dir = temp_dir("disconnect-log");
    let config = dir.join("outage.toml");
    std::fs::write(
        &config,
        "[engine.feed]\npacing = false\nmax_bars = 400\n[engine.noise]\nenabled = false\n\
         [[engine.exchanges]]\nname = \"hyperliquid\"\ndisconnect_rate_per_hour = 0.0\n\
         [[engine.exchanges]]\nname = \"binance\"\ndisconnect_rate_per_hour = 0.0\n\
         disconnect = [{ at_secs = 0.0, for_secs = 0.05 }]\n",
    )
    .unwrap();
    let log = dir.join("log");
    let mut service = command()
        .args(["serve", "--listen", "127.0.0.1:0", "--config"])
        .arg(&config)
        .arg("--data-dir")
        .arg(&dir)
        .env("ZQ_LOG", "info")
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let mut text = String::new();
    while std::time::Instant::now() < deadline {
        text = std::fs::read_to_string(&log).unwrap_or_default();
        if text.contains("exchange binance reconnected") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let _ = service.kill();
    let _ = service.wait();
    let count = |event: &str| {
        text.lines()
            .filter(|l| l.contains("binance") && l.contains(event) && !l.contains("more than"))
            .count()
    };
    assert_eq!(count("disconnected"), 1, "{text}");
    assert_eq!(count("reconnected"), 1, "{text}");
}
