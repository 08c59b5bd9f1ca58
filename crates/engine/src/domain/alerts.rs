//! Alert severities: shared by the risk monitor that raises alerts, the journal that keeps
//! them and the events that report them.

use serde::Serialize;

/// Severity of a risk alert (the `level` label of `zigquant_alerts_total`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum AlertLevel {
    /// Recoveries and notable but harmless facts.
    Info,
    /// Needs attention.
    Warning,
    /// Needs action now.
    Critical,
}

impl AlertLevel {
    /// Every level, for pre-registering label values.
    pub const ALL: [AlertLevel; 3] = [AlertLevel::Info, AlertLevel::Warning, AlertLevel::Critical];

    /// The label value: `info`, `warning`, `critical`.
    pub fn as_str(self) -> &'static str {
        match self {
            AlertLevel::Info => "info",
            AlertLevel::Warning => "warning",
            AlertLevel::Critical => "critical",
        }
    }

    pub(crate) fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|l| l.as_str() == s)
    }
}
