//! `zigquant`: the trading service (`serve`, the default), the `backtest` command and
//! `config --default | --effective`.

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};
use zigquant_engine::strategy::{registry, Mode, StrategyParams};
use zigquant_metrics::alloc::CountingAllocator;
use zigquant_server::config::{self, Config, Overrides};
use zigquant_server::keys_cli::{self, KeysCommand};
use zigquant_server::{backtest_cli, serve};

/// Counts live heap bytes for `zigquant_memory_bytes{type="heap"}`.
#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

#[derive(Parser)]
#[command(
    name = "zigquant",
    version,
    about = "Paper-trading service with Prometheus metrics, REST API, alert rules and a Grafana dashboard.",
    long_about = "Runs strategies against a market (a seeded simulated one by default), executes their \
orders on paper exchanges, journals everything in SQLite and exports every fact as Prometheus metrics \
on /metrics. Without a subcommand it runs `serve`.",
    args_conflicts_with_subcommands = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    serve: ServeArgs,
}

#[derive(Subcommand)]
enum Command {
    /// Run the service: engine, REST API and /metrics (the default).
    Serve(ServeArgs),
    /// Backtest a strategy over an OHLCV CSV file (backtesting.py semantics) and print the report.
    #[command(allow_negative_numbers = true)]
    Backtest(BacktestArgs),
    /// Print the default configuration (--default) or the one in force (--effective).
    #[command(arg_required_else_help = true)]
    Config(ConfigArgs),
    /// Manage API keys: only their hashes are stored; a running server picks changes up.
    Keys(KeysArgs),
}

#[derive(Args)]
struct KeysArgs {
    /// Data dir holding the key store [default: the configured one, ./data].
    #[arg(long, env = "ZQ_DATA_DIR", value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// TOML configuration file, to find the data dir.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    action: KeysAction,
}

#[derive(Subcommand)]
enum KeysAction {
    /// Create a key, print it once (stdout) and store only its hash.
    Add {
        /// Name shown in logs, `keys list` and the audit trail (A-Z a-z 0-9 . _ -).
        #[arg(long)]
        name: String,
    },
    /// List key names with creation and last use (never the keys).
    List,
    /// Revoke a key by name.
    Revoke {
        /// The key's name.
        name: String,
    },
}

#[derive(Args, Clone, Default)]
struct ServeArgs {
    /// Address to listen on, IP:PORT or HOST:PORT (e.g. localhost:8080) [default: 127.0.0.1:8080].
    #[arg(long, env = "ZQ_LISTEN", value_name = "ADDR", value_parser = parse_listen)]
    listen: Option<SocketAddr>,
    /// Directory for the SQLite journal and the generated API key [default: ./data].
    #[arg(long, env = "ZQ_DATA_DIR", value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// The bot's name in a fleet (letters, digits, '-', '_', '.') [default: the host name].
    #[arg(long, env = "ZQ_NAME", value_name = "NAME")]
    name: Option<String>,
    /// TOML configuration file; keys it omits keep the embedded defaults (see `zigquant config --default`).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Prometheus exporter-toolkit web config (YAML): TLS, basic auth, headers.
    #[arg(
        long = "web.config.file",
        env = "ZQ_WEB_CONFIG_FILE",
        value_name = "FILE"
    )]
    web_config_file: Option<PathBuf>,
}

#[derive(Args)]
#[group(id = "what", required = true, multiple = false)]
struct ConfigArgs {
    /// Print the embedded default configuration, with comments.
    #[arg(long, group = "what")]
    default: bool,
    /// Print the configuration in force: the defaults, the --config file laid over them, then
    /// environment and flags; commented like the defaults, secrets redacted.
    #[arg(long, group = "what")]
    effective: bool,
    #[command(flatten)]
    serve: ServeArgs,
}

fn parse_listen(text: &str) -> Result<SocketAddr, String> {
    config::resolve_listen(text)
}

/// A strategy kind the registry knows (`sma-cross` or `sma_cross`, ...).
fn parse_strategy_kind(s: &str) -> Result<&'static str, String> {
    registry::lookup(s).ok_or_else(|| {
        format!(
            "unknown strategy {s:?}; known: {}",
            registry::KINDS.join(", ")
        )
    })
}

#[derive(Clone, Copy, ValueEnum)]
enum ModeArg {
    LongShort,
    LongOnly,
}

#[derive(Clone, Copy, ValueEnum)]
enum OutputFormat {
    Json,
    Table,
}

#[derive(Args)]
struct BacktestArgs {
    /// OHLCV CSV file: header row, a date/time first column, open, high, low, close[, volume].
    #[arg(long, value_name = "FILE.csv")]
    data: PathBuf,
    /// Strategy to run.
    #[arg(long, default_value = "sma_cross", value_name = "NAME", value_parser = parse_strategy_kind)]
    strategy: &'static str,
    /// sma-cross: fast SMA window, in bars [default: 10].
    #[arg(long)]
    fast: Option<usize>,
    /// sma-cross: slow SMA window, in bars [default: 30].
    #[arg(long)]
    slow: Option<usize>,
    /// sma-cross: position mode [default: long-short].
    #[arg(long, value_enum)]
    mode: Option<ModeArg>,
    /// mean-reversion: rolling window, in bars [default: 20].
    #[arg(long)]
    window: Option<usize>,
    /// mean-reversion: enter when |z| exceeds this [default: 2.0].
    #[arg(long)]
    entry_z: Option<f64>,
    /// mean-reversion: exit when |z| falls below this [default: 0.5].
    #[arg(long)]
    exit_z: Option<f64>,
    /// Base quantity per position.
    #[arg(long, default_value_t = 1.0)]
    qty: f64,
    /// Initial cash, quote currency.
    #[arg(long, default_value_t = 10_000.0)]
    cash: f64,
    /// Fee per fill as a fraction of notional.
    #[arg(long, default_value_t = 0.0)]
    fee_rate: f64,
    /// Periods per year for Sharpe, CAGR and Calmar (252 trading days, 365 calendar days).
    #[arg(long, default_value_t = 252.0)]
    periods_per_year: f64,
    /// Output format [default: table on a terminal, json otherwise].
    #[arg(long, value_enum)]
    format: Option<OutputFormat>,
    /// Also write a self-contained HTML report (charts, statistics, trades) to this file.
    #[arg(long, value_name = "FILE.html")]
    report: Option<PathBuf>,
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    match cli.command {
        Some(Command::Config(args)) => {
            if args.default {
                print!("{}", config::default_toml());
                ExitCode::SUCCESS
            } else {
                print_effective(args.serve)
            }
        }
        Some(Command::Backtest(args)) => run_backtest(args),
        Some(Command::Keys(args)) => run_keys(args),
        Some(Command::Serve(args)) => run_serve(args),
        None => run_serve(cli.serve),
    }
}

/// The configuration `args` and the environment select, or the exit code of a clear error.
fn load_config(args: &ServeArgs) -> Result<Config, ExitCode> {
    let overrides = Overrides {
        listen: args.listen,
        data_dir: args.data_dir.clone(),
        api_key: std::env::var("ZQ_API_KEY").ok(),
        web_config_file: args.web_config_file.clone(),
        name: args.name.clone(),
    };
    Config::load(args.config.as_deref(), overrides).map_err(|e| {
        eprintln!("error: {e}");
        ExitCode::from(2)
    })
}

fn print_effective(args: ServeArgs) -> ExitCode {
    let config = match load_config(&args) {
        Ok(config) => config,
        Err(code) => return code,
    };
    let sources = match &args.config {
        Some(file) => format!(
            "embedded defaults, {} laid over them, environment and flags",
            file.display()
        ),
        None => "embedded defaults, environment and flags".to_string(),
    };
    match config.effective_toml(&sources) {
        Ok(text) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run_serve(args: ServeArgs) -> ExitCode {
    init_tracing();
    let config = match load_config(&args) {
        Ok(config) => config,
        Err(code) => return code,
    };
    match serve::run(config) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run_keys(args: KeysArgs) -> ExitCode {
    let overrides = Overrides {
        data_dir: args.data_dir,
        ..Overrides::default()
    };
    let config = match Config::load(args.config.as_deref(), overrides) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let command = match args.action {
        KeysAction::Add { name } => KeysCommand::Add(name),
        KeysAction::List => KeysCommand::List,
        KeysAction::Revoke { name } => KeysCommand::Revoke(name),
    };
    match keys_cli::run(&config.server.data_dir, command) {
        Ok(output) => {
            if !output.stdout.is_empty() {
                println!("{}", output.stdout);
            }
            eprintln!("{}", output.note);
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

/// The strategy parameters the flags select. A flag the chosen kind does not take is an error,
/// as a key of another kind is in the configuration file's `params`: the registry says which
/// parameters each kind reads, for both.
fn backtest_params(args: &BacktestArgs) -> Result<StrategyParams, String> {
    let given = [
        ("fast", args.fast.is_some()),
        ("slow", args.slow.is_some()),
        ("mode", args.mode.is_some()),
        ("window", args.window.is_some()),
        ("entry_z", args.entry_z.is_some()),
        ("exit_z", args.exit_z.is_some()),
    ];
    let takes = registry::parameters_of(args.strategy);
    if let Some((name, _)) = given
        .iter()
        .find(|(name, given)| *given && !takes.contains(name))
    {
        let flags: Vec<String> = takes
            .iter()
            .map(|p| format!("--{}", p.replace('_', "-")))
            .collect();
        return Err(format!(
            "--{} is not a parameter of {} (it takes {})",
            name.replace('_', "-"),
            args.strategy,
            flags.join(", ")
        ));
    }
    let defaults = registry::Knobs::default();
    let knobs = registry::Knobs {
        fast: args.fast.unwrap_or(defaults.fast),
        slow: args.slow.unwrap_or(defaults.slow),
        mode: match args.mode {
            Some(ModeArg::LongShort) => Mode::LongShort,
            Some(ModeArg::LongOnly) => Mode::LongOnly,
            None => defaults.mode,
        },
        window: args.window.unwrap_or(defaults.window),
        entry_z: args.entry_z.unwrap_or(defaults.entry_z),
        exit_z: args.exit_z.unwrap_or(defaults.exit_z),
        qty: args.qty,
    };
    registry::params_from_knobs(args.strategy, &knobs)
        .ok_or_else(|| format!("unknown strategy {:?}", args.strategy))
}

fn run_backtest(args: BacktestArgs) -> ExitCode {
    let params = match backtest_params(&args) {
        Ok(params) => params,
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::from(2);
        }
    };
    let format = args.format.unwrap_or(if std::io::stdout().is_terminal() {
        OutputFormat::Table
    } else {
        OutputFormat::Json
    });
    let json = matches!(format, OutputFormat::Json);
    let request = backtest_cli::Request {
        data: args.data,
        params,
        cash: args.cash,
        fee_rate: args.fee_rate,
        periods_per_year: args.periods_per_year,
        json,
        progress: std::io::stderr().is_terminal() && !json,
        report: args.report,
    };
    match backtest_cli::run(&request, &mut std::io::stdout().lock()) {
        Ok(outcome) => {
            for warning in &outcome.warnings {
                eprintln!("warning: {warning}");
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

fn init_tracing() {
    let directives = zigquant_server::logging::filter_directives(
        std::env::var("ZQ_LOG").ok().as_deref(),
        std::env::var("RUST_LOG").ok().as_deref(),
    );
    let filter = tracing_subscriber::EnvFilter::try_new(&directives).unwrap_or_else(|e| {
        eprintln!("warning: ignoring log filter {directives:?} (ZQ_LOG / RUST_LOG): {e}");
        tracing_subscriber::EnvFilter::new("info")
    });
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
}
