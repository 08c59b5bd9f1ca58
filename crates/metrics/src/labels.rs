//! Typed label sets for the catalogue's families, as prometheus-client does with
//! `EncodeLabelSet`: each family takes one struct whose fields are typed per label (a
//! [`Strategy`] is not a [`Pair`]; closed sets such as [`Side`] are enums), so a missing, extra
//! or swapped label is a compile error instead of a value silently mapped to `other`.
//!
//! A [`Labelled`] family checks at construction that its struct's label names equal its
//! domains, in order.
//!
//! ```
//! use zigquant_metrics::labels::{Pair, Strategy, StrategyPairLabels};
//! use zigquant_metrics::{Catalogue, CatalogueConfig};
//! let c = Catalogue::new(CatalogueConfig::default());
//! let labels = StrategyPairLabels { strategy: Strategy("sma"), pair: Pair("BTC-USDT") };
//! c.trade_pnl.get(&labels).set(1.0);
//! ```
//!
//! A swapped label does not compile:
//!
//! ```compile_fail
//! use zigquant_metrics::labels::{Pair, Strategy, StrategyPairLabels};
//! let labels = StrategyPairLabels { strategy: Pair("BTC-USDT"), pair: Strategy("sma") };
//! ```
//!
//! Nor does a label set of another family:
//!
//! ```compile_fail
//! use zigquant_metrics::labels::{Strategy, StrategyLabels};
//! use zigquant_metrics::{Catalogue, CatalogueConfig};
//! let c = Catalogue::new(CatalogueConfig::default());
//! c.trade_pnl.get(&StrategyLabels { strategy: Strategy("sma") });
//! ```

use std::marker::PhantomData;
use std::sync::Arc;

use crate::{Family, LabelDomain, Metric, MetricsError};

/// A set of label values, in the order of [`LabelSet::NAMES`].
pub trait LabelSet {
    /// Label names, in order.
    const NAMES: &'static [&'static str];
    /// Calls `f` with the values, in order (no allocation).
    fn with_values<R>(&self, f: impl FnOnce(&[&str]) -> R) -> R;
}

/// Names a label set type independently of the lifetime of its values, so a family can store
/// it: `TradeLabels<'static>` is the kind of every `TradeLabels<'a>`.
pub trait LabelKind {
    /// The label set with values borrowed for `'a`.
    type Set<'a>: LabelSet;
}

/// A family whose series are addressed by a typed label set of kind `L`.
pub struct Labelled<L, M: Metric> {
    family: Family<M>,
    _labels: PhantomData<fn(&L)>,
}

impl<L, M: Metric> std::fmt::Debug for Labelled<L, M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Labelled")
            .field("name", &self.family.name())
            .finish()
    }
}

impl<L: LabelKind, M: Metric> Labelled<L, M> {
    /// Wraps `family`, checking that `L` names its labels in order.
    pub fn new(family: Family<M>) -> Result<Self, MetricsError> {
        let names: Vec<&str> = family.domains().iter().map(LabelDomain::name).collect();
        let typed = <L::Set<'static> as LabelSet>::NAMES;
        if names != typed {
            return Err(MetricsError::LabelSetMismatch(format!(
                "{}: typed labels {typed:?} do not match the family's {names:?}",
                family.name(),
            )));
        }
        Ok(Self {
            family,
            _labels: PhantomData,
        })
    }

    /// The series for these labels (unknown values map to their domain's fallback).
    #[inline]
    pub fn get(&self, labels: &L::Set<'_>) -> Arc<M> {
        labels.with_values(|v| self.family.get(v))
    }

    /// Runs `f` on the series for these labels, as [`Family::with`] does: the way to record
    /// through a typed label lookup (a cached series is borrowed, no reference count touched).
    #[inline]
    pub fn with<R>(&self, labels: &L::Set<'_>, f: impl FnOnce(&M) -> R) -> R {
        labels.with_values(|v| self.family.with(v, f))
    }

    /// The label domains, in label order.
    pub fn domains(&self) -> &[LabelDomain] {
        self.family.domains()
    }

    /// Number of series created so far.
    pub fn series_count(&self) -> usize {
        self.family.series_count()
    }

    /// The untyped family underneath (exposition tests feed it arbitrary strings).
    pub fn untyped(&self) -> &Family<M> {
        &self.family
    }
}

/// A typed label value, as a label set reads its fields.
pub(crate) trait LabelValue {
    /// The label value text.
    fn as_label(&self) -> &str;
}

macro_rules! label_value {
    ($($(#[$doc:meta])* $name:ident),+ $(,)?) => {$(
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub struct $name<'a>(pub &'a str);

        impl LabelValue for $name<'_> {
            #[inline]
            fn as_label(&self) -> &str {
                self.0
            }
        }
    )+};
}

label_value! {
    /// A `strategy` label value.
    Strategy,
    /// A `pair` label value.
    Pair,
    /// An `exchange` label value.
    Exchange,
    /// A `method` label value (HTTP method).
    Method,
    /// A `path` label value (route template).
    Path,
    /// A `status` label value (HTTP status code).
    HttpStatus,
    /// A `reason` label value (order rejection reason; the domain is the engine's list).
    Reason,
    /// A `version` label value.
    Version,
    /// A `name` label value: the bot's name in a fleet.
    InstanceName,
    /// A `mode` label value: how the bot trades (`paper`).
    TradingMode,
    /// A `config_hash` label value: the short hash of the bot's configuration document.
    ConfigDigest,
    /// A `strategies` label value: how many strategies the bot's configuration lists.
    StrategyCount,
}

macro_rules! closed_set {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum $name { $($(#[$vdoc])* $variant),+ }

        impl $name {
            /// Every value, in export order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The label value.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            /// The label domain `label` of a family: every value, unknown ones to `other`.
            pub fn domain(label: &str) -> LabelDomain {
                LabelDomain::new(label, Self::ALL.iter().map(|v| v.as_str()), "other")
            }
        }

        impl LabelValue for $name {
            #[inline]
            fn as_label(&self) -> &str {
                self.as_str()
            }
        }
    };
}

closed_set!(
    /// The `side` of a fill.
    Side { /// Bought.
    Buy => "buy", /// Sold.
    Sell => "sell" }
);
closed_set!(
    /// The terminal `status` of an order.
    TerminalStatus { /// Filled.
    Filled => "filled", /// Cancelled.
    Cancelled => "cancelled", /// Rejected.
    Rejected => "rejected" }
);
closed_set!(
    /// The `level` of a risk alert.
    Level { /// Needs action now.
    Critical => "critical", /// Needs attention.
    Warning => "warning", /// Notable, harmless.
    Info => "info" }
);

closed_set!(
    /// Why an authentication failed (`zigquant_api_auth_failures_total`): never the presented
    /// key or user name. Unknown basic-auth users count as `invalid_basic_auth`, so the reason
    /// does not tell which user names exist.
    AuthFailureReason { /// No credentials.
    Missing => "missing", /// An `Authorization` header of another scheme or shape.
    Malformed => "malformed", /// A bearer key that is not one of ours.
    InvalidKey => "invalid_key", /// A user/password pair that does not match.
    InvalidBasicAuth => "invalid_basic_auth", /// Refused unchecked (429): the address used up its failure budget.
    Throttled => "throttled" }
);
closed_set!(
    /// Which limit refused a request or connection (`zigquant_api_limited_total`).
    Limit { /// The per-address request rate (429).
    RequestRate => "request_rate", /// The per-address open connections (503).
    Connections => "connections", /// The web config's server-wide `rate_limit` (429).
    ServerRate => "server_rate" }
);
closed_set!(
    /// The `kind` of a message from a live venue's market-data feed.
    MarketDataKind { /// A candle the venue marks closed.
    Candle => "candle", /// A candle still forming.
    CandlePartial => "candle_partial", /// An answer to our heartbeat.
    Pong => "pong", /// A WebSocket ping from the venue.
    Ping => "ping", /// A subscription confirmation.
    SubscriptionResponse => "subscription_response", /// The venue announced a disconnect.
    ServerShutdown => "server_shutdown", /// A channel or event the feed does not use.
    Unknown => "unknown", /// Not the documented shape.
    Malformed => "malformed" }
);
closed_set!(
    /// The `reason` of `zigquant_market_data_errors_total`.
    MarketDataReason { /// Not the documented shape, or prices that make no candle.
    Malformed => "malformed", /// A closed candle already handed on.
    Duplicate => "duplicate", /// Older than the last candle handed on.
    OutOfOrder => "out_of_order", /// The stream skipped candles.
    Gap => "gap", /// A REST history request failed.
    RestFailed => "rest_failed", /// No answer to a heartbeat: a silent stall.
    HeartbeatTimeout => "heartbeat_timeout" }
);

macro_rules! label_set {
    ($(#[$doc:meta])* $name:ident <$lt:lifetime> { $($field:ident : $ty:ty => $label:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub struct $name<$lt> { $(#[doc = concat!("The `", $label, "` label.")] pub $field: $ty),+ }

        impl LabelKind for $name<'static> {
            type Set<'x> = $name<'x>;
        }

        impl<$lt> LabelSet for $name<$lt> {
            const NAMES: &'static [&'static str] = &[$($label),+];
            #[inline]
            fn with_values<R>(&self, f: impl FnOnce(&[&str]) -> R) -> R {
                f(&[$(self.$field.as_label()),+])
            }
        }
    };
    ($(#[$doc:meta])* $name:ident { $($field:ident : $ty:ty => $label:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub struct $name { $(#[doc = concat!("The `", $label, "` label.")] pub $field: $ty),+ }

        impl LabelKind for $name {
            type Set<'x> = $name;
        }

        impl LabelSet for $name {
            const NAMES: &'static [&'static str] = &[$($label),+];
            #[inline]
            fn with_values<R>(&self, f: impl FnOnce(&[&str]) -> R) -> R {
                f(&[$(self.$field.as_label()),+])
            }
        }
    };
}

label_set!(
    /// `zigquant_trades_total`.
    TradeLabels<'a> {
        strategy: Strategy<'a> => "strategy",
        pair: Pair<'a> => "pair",
        side: Side => "side",
    }
);
label_set!(
    /// `zigquant_trade_pnl`.
    StrategyPairLabels<'a> {
        strategy: Strategy<'a> => "strategy",
        pair: Pair<'a> => "pair",
    }
);
label_set!(
    /// Per-strategy gauges (win rate, Sharpe, Calmar, equity, running).
    StrategyLabels<'a> { strategy: Strategy<'a> => "strategy" }
);
label_set!(
    /// Per-pair gauges (position size and PnL, market data time).
    PairLabels<'a> { pair: Pair<'a> => "pair" }
);
label_set!(
    /// `zigquant_orders_total`.
    OrderStatusLabels { status: TerminalStatus => "status" }
);
label_set!(
    /// `zigquant_api_requests_total`.
    RequestLabels<'a> {
        method: Method<'a> => "method",
        path: Path<'a> => "path",
        status: HttpStatus<'a> => "status",
    }
);
label_set!(
    /// `zigquant_api_latency_seconds`.
    RouteLabels<'a> {
        method: Method<'a> => "method",
        path: Path<'a> => "path",
    }
);
label_set!(
    /// `zigquant_exchange_connected`.
    ExchangeLabels<'a> { exchange: Exchange<'a> => "exchange" }
);
label_set!(
    /// `zigquant_alerts_total`.
    AlertLabels { level: Level => "level" }
);
label_set!(
    /// `zigquant_order_rejections_total`.
    RejectionLabels<'a> { reason: Reason<'a> => "reason" }
);
label_set!(
    /// `zigquant_build_info`.
    BuildLabels<'a> { version: Version<'a> => "version" }
);
label_set!(
    /// `zigquant_api_auth_failures_total`.
    AuthFailureLabels { reason: AuthFailureReason => "reason" }
);
label_set!(
    /// `zigquant_api_limited_total`.
    LimitLabels { limit: Limit => "limit" }
);
label_set!(
    /// `zigquant_market_data_messages_total`.
    MarketDataMessageLabels<'a> {
        exchange: Exchange<'a> => "exchange",
        kind: MarketDataKind => "kind",
    }
);
label_set!(
    /// `zigquant_market_data_errors_total`.
    MarketDataErrorLabels<'a> {
        exchange: Exchange<'a> => "exchange",
        reason: MarketDataReason => "reason",
    }
);
label_set!(
    /// `zigquant_instance_info`.
    InstanceLabels<'a> {
        name: InstanceName<'a> => "name",
        mode: TradingMode<'a> => "mode",
        config_hash: ConfigDigest<'a> => "config_hash",
        strategies: StrategyCount<'a> => "strategies",
    }
);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Catalogue, CatalogueConfig};

    #[test]
    fn with_records_into_the_series_get_returns() {
        let c = Catalogue::new(CatalogueConfig::default());
        let labels = OrderStatusLabels {
            status: TerminalStatus::Filled,
        };
        c.orders_total.with(&labels, |s| s.inc());
        c.orders_total.with(&labels, |s| s.inc_by(2));
        assert_eq!(c.orders_total.get(&labels).get(), 3);
        let other = OrderStatusLabels {
            status: TerminalStatus::Rejected,
        };
        assert_eq!(c.orders_total.get(&other).get(), 0);
    }
}
