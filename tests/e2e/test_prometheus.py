"""(a) A real Prometheus scrapes a real zigquant on its defaults: the target is up, every metric of
the catalogue (and the extras) can be queried, and the shipped alert rules load and evaluate."""
import time

import pytest

import promql_refs
from zq_stack import drive_api_traffic, wait_until

COUNTERS = ["zigquant_trades_total", "zigquant_orders_total", "zigquant_api_requests_total",
            "zigquant_alerts_total"]
GAUGES = ["zigquant_trade_pnl", "zigquant_win_rate", "zigquant_sharpe_ratio",
          "zigquant_calmar_ratio", "zigquant_orders_active", "zigquant_position_size",
          "zigquant_position_pnl", "zigquant_max_drawdown", "zigquant_position_count",
          "zigquant_api_connections_active", "zigquant_memory_bytes", "zigquant_uptime_seconds",
          "zigquant_threads", "zigquant_exchange_connected", "zigquant_var_95", "zigquant_cvar_95"]
HISTOGRAMS = ["zigquant_order_latency_seconds", "zigquant_api_latency_seconds"]
CATALOGUE = COUNTERS + GAUGES + [h + s for h in HISTOGRAMS for s in ("_bucket", "_sum", "_count")]
EXTRAS = ["zigquant_build_info", "zigquant_strategy_equity", "zigquant_strategy_running",
          "zigquant_portfolio_equity", "zigquant_market_data_last_update_timestamp_seconds",
          "zigquant_order_rejections_total", "zigquant_journal_write_errors_total",
          "process_cpu_seconds_total", "process_resident_memory_bytes",
          "process_virtual_memory_bytes", "process_open_fds", "process_max_fds",
          "process_start_time_seconds"]


def test_target_up(stack):
    result = stack.prom.query('up{job="zigquant"}')["result"]
    assert [r["value"][1] for r in result] == ["1"], result
    assert result[0]["metric"]["instance"] == stack.zq.addr


def present_names(prom) -> set[str]:
    res = prom.query('count by (__name__) ({job="zigquant", __name__=~"zigquant_.+|process_.+"})')
    return {r["metric"]["__name__"] for r in res["result"]}


@pytest.mark.parametrize("names", [CATALOGUE, EXTRAS], ids=["catalogue", "extras"])
def test_every_metric_is_queryable(stack, names):
    def missing():
        drive_api_traffic(stack.zq, rounds=1)
        return sorted(set(names) - present_names(stack.prom))
    deadline = time.monotonic() + 60
    while (left := missing()) and time.monotonic() < deadline:
        time.sleep(1)
    assert not left, f"not queryable in Prometheus after 60s: {left}"


def test_catalogue_labels(stack):
    expect = {
        "zigquant_trades_total": {"strategy", "pair", "side"},
        "zigquant_trade_pnl": {"strategy", "pair"},
        "zigquant_win_rate": {"strategy"},
        "zigquant_orders_total": {"status"},
        "zigquant_position_size": {"pair"},
        "zigquant_api_requests_total": {"method", "path", "status"},
        "zigquant_api_latency_seconds_bucket": {"method", "path", "le"},
        "zigquant_memory_bytes": {"type"},
        "zigquant_exchange_connected": {"exchange"},
        "zigquant_alerts_total": {"level"},
        "zigquant_order_latency_seconds_bucket": {"le"},
    }
    for name, labels in expect.items():
        series = stack.prom._get("/api/v1/series", **{"match[]": f'{name}{{job="zigquant"}}'})
        assert series, f"{name}: no series"
        for s in series:
            got = set(s) - {"__name__", "job", "instance"}
            assert got == labels, f"{name}: labels {sorted(got)}, want {sorted(labels)}"
    exchanges = {s["exchange"] for s in stack.prom._get(
        "/api/v1/series", **{"match[]": 'zigquant_exchange_connected{job="zigquant"}'})}
    assert {"hyperliquid", "binance"} <= exchanges
    paths = {s["path"] for s in stack.prom._get(
        "/api/v1/series", **{"match[]": 'zigquant_api_requests_total{job="zigquant"}'})}
    assert "unmatched" in paths and "/api/v1/definitely-not-a-route" not in paths, paths


def test_shipped_rules_load_and_evaluate_cleanly(stack):
    shipped = {r["alert"] for r in promql_refs.load_rules()}

    def evaluated():
        rules = [r for g in stack.prom.rules()["groups"] for r in g["rules"]]
        return rules if rules and all(r.get("health") != "unknown" for r in rules) else None
    rules = wait_until("every shipped rule evaluated once", evaluated, timeout=30)
    assert {r["name"] for r in rules} == shipped
    bad = {r["name"]: r.get("lastError") for r in rules if r.get("health") != "ok"}
    assert not bad, f"rules with evaluation errors: {bad}"
