"""(b) Every PromQL expression of the Grafana dashboard, variables substituted as Grafana would,
evaluates without error against the real Prometheus and returns data; the variable queries
resolve to the running zigquant's instance, strategies and pairs."""
import re
import time

import promql_refs
from zq_stack import drive_api_traffic


def resolve_variables(prom) -> dict[str, str]:
    """Runs the dashboard's label_values() queries in order, like Grafana, and returns each
    variable's 'All' value as Grafana renders a multi-value regex: (a|b|c), regex-escaped and
    with backslashes doubled for the PromQL string literal (Grafana's prometheusRegularEscape)."""
    dash = promql_refs.load_dashboard()
    values: dict[str, str] = {"datasource": "prometheus"}
    resolved: dict[str, list[str]] = {}
    for var in promql_refs.dashboard_variables(dash):
        if var["type"] != "query":
            continue
        q = promql_refs.substitute(promql_refs.variable_query(var), values)
        m = re.match(r"label_values\((.*),\s*([a-zA-Z_]+)\)\s*$", q)
        assert m, f"variable ${var['name']}: unsupported query {q!r}"
        got = prom.label_values(m.group(2), m.group(1))
        resolved[var["name"]] = got
        values[var["name"]] = "(" + "|".join(re.escape(v).replace("\\", "\\\\") for v in got) + ")" if got else ".*"
    return values, resolved


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
    exprs = promql_refs.dashboard_exprs(promql_refs.load_dashboard(), values)
    assert len(exprs) >= 14
    for _, _, expr, _ in exprs:
        assert "$" not in expr, f"unsubstituted variable in {expr}"
    deadline = time.monotonic() + 90
    while True:
        empty = []
        for title, ref, expr, _ in exprs:
            # An evaluation error raises here at once, naming the query.
            data = stack.prom.query_range(expr, seconds=60)
            if not any(s["values"] for s in data["result"]):
                empty.append(f"{title} [{ref}]: {expr}")
        if not empty or time.monotonic() > deadline:
            break
        drive_api_traffic(stack.zq, rounds=2)
        time.sleep(1)
    assert not empty, "dashboard queries without data after 90s:\n" + "\n".join(empty)
