"""(b) Every PromQL expression of the Grafana dashboard, variables substituted as Grafana would,
evaluates without error against the real Prometheus and returns data; the variable queries
resolve to the running zigquant's instance, strategies and pairs."""
import time

import dashboard_queries
import promql_refs
from dashboard_queries import resolve_variables
from zq_stack import drive_api_traffic


def test_variables_resolve(stack):
    def complete():
        _, resolved = resolve_variables(stack.prom)
        ok = ({"sma_cross", "mean_reversion"} <= set(resolved["strategy"])
              and {"BTC-USDT", "ETH-USDT"} <= set(resolved["pair"]))
        return resolved if ok else None
    deadline = time.monotonic() + 60
    while not (resolved := complete()) and time.monotonic() < deadline:
        time.sleep(1)
    if not resolved:
        _, resolved = resolve_variables(stack.prom)
    assert resolved["instance"] == [stack.zq.addr]
    assert {"sma_cross", "mean_reversion"} <= set(resolved["strategy"]), resolved
    assert {"BTC-USDT", "ETH-USDT"} <= set(resolved["pair"]), resolved


def test_every_dashboard_query_returns_data(stack):
    values, _ = resolve_variables(stack.prom)
    # The "Live feeds" row needs a live pair: tests/e2e/test_live_e2e.py checks it.
    exprs = promql_refs.dashboard_exprs(promql_refs.load_dashboard(), values, live=False)
    assert len(exprs) >= 14
    for _, _, expr, _ in exprs:
        assert "$" not in expr, f"unsubstituted variable in {expr}"
    empty = dashboard_queries.without_data(stack.prom, exprs, timeout=90,
                                           traffic=lambda: drive_api_traffic(stack.zq, rounds=2))
    assert not empty, "dashboard queries without data after 90s:\n" + "\n".join(empty)
