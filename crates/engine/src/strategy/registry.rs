//! The one place that knows which strategy kinds exist: their names, parameter checks, warm-up
//! windows and constructors. The config loader, the engine and the `backtest` CLI all ask here,
//! so a new kind is one variant of [`StrategyParams`] and one arm in each function below.

use thiserror::Error;

use super::{MeanReversion, Mode, SmaCross, Strategy, StrategyParams};

/// The kinds zigquant ships, as spelled in config (`kind = "..."`) and on the CLI.
pub const KINDS: [&str; 2] = ["sma_cross", "mean_reversion"];

/// Why a set of strategy parameters cannot run: `field` is the parameter's name.
#[derive(Debug, Clone, PartialEq, Error)]
#[error("invalid strategy parameters: {kind}.{field}: {problem}")]
pub struct ParamsError {
    /// The strategy kind.
    pub kind: &'static str,
    /// The offending parameter (`fast`, `exit_z`, ...).
    pub field: &'static str,
    /// What is wrong with it.
    pub problem: String,
}

/// The kind name of a parameter set.
pub fn kind(params: &StrategyParams) -> &'static str {
    match params {
        StrategyParams::SmaCross { .. } => "sma_cross",
        StrategyParams::MeanReversion { .. } => "mean_reversion",
    }
}

/// Looks a kind up by name, accepting `-` for `_` (`sma-cross` on the command line).
pub fn lookup(name: &str) -> Option<&'static str> {
    let name = name.replace('-', "_");
    KINDS.into_iter().find(|k| *k == name)
}

/// Bars of history a fresh instance needs before its decisions equal those of one that never
/// stopped (the journal keeps at least this many bars for restarts).
pub fn warmup_bars(params: &StrategyParams) -> usize {
    match params {
        StrategyParams::SmaCross { slow, .. } => *slow,
        StrategyParams::MeanReversion { window, .. } => *window,
    }
}

/// Bars of data a backtest needs before its first trade can happen: the warm-up window, the
/// bar the first decision is taken on (an SMA cross needs two consecutive pairs of averages),
/// and the next bar, whose open fills it. Fewer bars make a report without trades.
pub fn bars_before_first_trade(params: &StrategyParams) -> usize {
    match params {
        StrategyParams::SmaCross { slow, .. } => slow + 2,
        StrategyParams::MeanReversion { window, .. } => window + 1,
    }
}

/// Every parameter any kind takes, as the CLI offers them (each kind reads its own).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Knobs {
    /// sma_cross: fast window.
    pub fast: usize,
    /// sma_cross: slow window.
    pub slow: usize,
    /// sma_cross: long-only or long-short.
    pub mode: Mode,
    /// mean_reversion: rolling window.
    pub window: usize,
    /// mean_reversion: entry |z|.
    pub entry_z: f64,
    /// mean_reversion: exit |z|.
    pub exit_z: f64,
    /// Base quantity per position.
    pub qty: f64,
}

impl Default for Knobs {
    /// The CLI's defaults (`zigquant backtest --help`).
    fn default() -> Self {
        Self {
            fast: 10,
            slow: 30,
            mode: Mode::LongShort,
            window: 20,
            entry_z: 2.0,
            exit_z: 0.5,
            qty: 1.0,
        }
    }
}

/// The parameters kind `kind` reads (the keys of its `params` table besides `kind`, and the
/// knobs the CLI takes for it); any other is not its parameter, in a config file (serde refuses
/// the unknown key) or on the command line (the CLI checks here).
pub fn parameters_of(kind: &str) -> &'static [&'static str] {
    match lookup(kind) {
        Some("sma_cross") => &["fast", "slow", "mode", "qty"],
        Some("mean_reversion") => &["window", "entry_z", "exit_z", "qty"],
        _ => &[],
    }
}

/// The parameters of kind `kind` (a name from [`KINDS`]) from the CLI's knobs.
pub fn params_from_knobs(kind: &str, k: &Knobs) -> Option<StrategyParams> {
    match lookup(kind)? {
        "sma_cross" => Some(StrategyParams::SmaCross {
            fast: k.fast,
            slow: k.slow,
            mode: k.mode,
            qty: k.qty,
        }),
        "mean_reversion" => Some(StrategyParams::MeanReversion {
            window: k.window,
            entry_z: k.entry_z,
            exit_z: k.exit_z,
            qty: k.qty,
        }),
        _ => None,
    }
}

/// Checks the parameters before a strategy is built from them (config load, API, CLI), so a
/// bad value is reported instead of silently never trading.
pub fn validate(params: &StrategyParams) -> Result<(), ParamsError> {
    let kind = kind(params);
    let bad = |field: &'static str, problem: String| {
        Err(ParamsError {
            kind,
            field,
            problem,
        })
    };
    let qty = match params {
        StrategyParams::SmaCross {
            fast, slow, qty, ..
        } => {
            if *fast == 0 {
                return bad("fast", "must be >= 1".into());
            }
            if slow <= fast {
                return bad("slow", format!("must be greater than fast ({fast})"));
            }
            *qty
        }
        StrategyParams::MeanReversion {
            window,
            entry_z,
            exit_z,
            qty,
        } => {
            if *window < 2 {
                return bad("window", "must be >= 2".into());
            }
            if !(entry_z.is_finite() && *entry_z > 0.0) {
                return bad(
                    "entry_z",
                    format!("must be a finite number > 0, got {entry_z}"),
                );
            }
            if !(exit_z.is_finite() && *exit_z >= 0.0) {
                return bad(
                    "exit_z",
                    format!("must be a finite number >= 0, got {exit_z}"),
                );
            }
            if exit_z > entry_z {
                return bad("exit_z", "must be <= entry_z".into());
            }
            *qty
        }
    };
    if !(qty.is_finite() && qty > 0.0) {
        return bad("qty", format!("must be a finite number > 0, got {qty}"));
    }
    Ok(())
}

impl StrategyParams {
    /// See [`validate`].
    pub fn validate(&self) -> Result<(), ParamsError> {
        validate(self)
    }
}

/// Builds a fresh strategy instance from its parameters (call [`validate`]
/// first; invalid parameters build a strategy that may never trade).
pub fn build(params: &StrategyParams) -> Box<dyn Strategy> {
    match params {
        StrategyParams::SmaCross {
            fast,
            slow,
            mode,
            qty,
        } => Box::new(SmaCross::new(*fast, *slow, *mode, *qty)),
        StrategyParams::MeanReversion {
            window,
            entry_z,
            exit_z,
            qty,
        } => Box::new(MeanReversion::new(*window, *entry_z, *exit_z, *qty)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_of_each_kind_are_the_keys_of_its_params_table() {
        for kind in KINDS {
            let params = params_from_knobs(kind, &Knobs::default()).expect("a known kind");
            let table = toml::Table::try_from(&params).expect("params serialize");
            let mut keys: Vec<&str> = table
                .keys()
                .map(String::as_str)
                .filter(|k| *k != "kind")
                .collect();
            keys.sort_unstable();
            let mut listed = parameters_of(kind).to_vec();
            listed.sort_unstable();
            assert_eq!(keys, listed, "{kind}");
        }
        assert!(parameters_of("nope").is_empty());
    }
}
