"""The Grafana dashboard's queries against a running store (Prometheus or victoria-metrics): its
variables resolved as Grafana would, and every query polled until it returns data."""
from __future__ import annotations

import re
import time

import promql_refs


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


def without_data(store, exprs, timeout: float, traffic) -> list[str]:
    """Polls every dashboard query (`promql_refs.dashboard_exprs`) over the last minute until
    each returns data or `timeout` seconds pass, calling `traffic()` between rounds; returns the
    queries still empty, as `title [ref]: expr`. An evaluation error raises at once, naming the
    query (for victoria-metrics: MetricsQL rejecting a PromQL construct)."""
    deadline = time.monotonic() + timeout
    while True:
        empty = []
        for title, ref, expr, _ in exprs:
            data = store.query_range(expr, seconds=60)
            if not any(s["values"] for s in data["result"]):
                empty.append(f"{title} [{ref}]: {expr}")
        if not empty or time.monotonic() > deadline:
            return empty
        traffic()
        time.sleep(1)
