"""What the shipped rules and dashboard reference, and what zigquant exports.

Used by the e2e tests (drift check, dashboard queries) and by scripts/check-deploy (static
checks). No third-party imports except PyYAML (python3-yaml), loaded lazily.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "deploy/prometheus/alerts/zigquant.yml"
DASHBOARD = ROOT / "deploy/grafana/dashboards/zigquant.json"
RUNBOOKS = ROOT / "docs/runbooks.md"

# Labels Prometheus attaches to every scraped series, and the histogram bucket label.
TARGET_LABELS = {"job", "instance"}
# Series the scraper and the rule evaluator write themselves (Prometheus, vmagent, vmalert), with
# the labels they carry: `up` per target, `ALERTS` per alert (with the alert's own labels, of
# which the rules guarantee `severity` and, for bots, `name`).
SCRAPER_SERIES = {"up": set(), "ALERTS": {"alertname", "alertstate", "severity", "name"}}
METRIC_RE = re.compile(r"\b((?:zigquant|process)_[a-zA-Z0-9_]+|up|ALERTS)\b")
MATCHER_RE = re.compile(r"([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)\s*\"")
GROUPING_RE = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)")
ANNOTATION_LABEL_RE = re.compile(r"\$labels\.([a-zA-Z_][a-zA-Z0-9_]*)")
LEGEND_LABEL_RE = re.compile(r"\{\{\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\}\}")


def strip_strings(expr: str) -> str:
    """Drops the contents of quoted strings so label values are never mistaken for names."""
    return re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)


def refs(expr: str, annotations: tuple[str, ...] = (), legend: str = "") -> tuple[set[str], set[str]]:
    """(metric names, label names) an expression uses, plus the labels its alert annotations
    ({{ $labels.x }}) or its Grafana legend ({{x}}) print."""
    bare = strip_strings(expr)
    metrics = set(METRIC_RE.findall(bare))
    labels = set(MATCHER_RE.findall(expr))
    for group in GROUPING_RE.findall(bare):
        labels.update(x.strip() for x in group.split(",") if x.strip())
    for t in annotations:
        labels.update(ANNOTATION_LABEL_RE.findall(t or ""))
    labels.update(LEGEND_LABEL_RE.findall(legend or ""))
    return metrics, labels


def load_rules(path: Path = RULES) -> list[dict]:
    import yaml

    doc = yaml.safe_load(path.read_text())
    return [r for g in doc["groups"] for r in g["rules"]]


def shortened_rules(dst: Path, for_: str = "2s") -> Path:
    """Writes the shipped rules to `dst` with every `for:` set to `for_`, so an e2e test sees an
    alert fire in seconds; returns `dst`."""
    import yaml

    doc = yaml.safe_load(RULES.read_text())
    for g in doc["groups"]:
        for r in g["rules"]:
            if "for" in r:
                r["for"] = for_
    dst.write_text(yaml.safe_dump(doc, sort_keys=False))
    return dst


def load_dashboard(path: Path = DASHBOARD) -> dict:
    """The dashboard model; a key given twice in one object is an error (JSON parsers keep the
    last one silently, and Grafana would show only that one)."""
    def unique(pairs):
        keys = [k for k, _ in pairs]
        twice = sorted({k for k in keys if keys.count(k) > 1})
        if twice:
            raise ValueError(f"{path.name}: key(s) {twice} given twice in one object")
        return dict(pairs)
    return json.loads(path.read_text(), object_pairs_hook=unique)


# The collapsed row whose panels show live venue feeds: their series exist only when a pair takes
# live prices (docs/live.md), so the simulated stacks leave them empty and the live e2e checks them.
LIVE_FEEDS_ROW = "Live feeds"


def live_feed_titles(dash: dict) -> set[str]:
    """Titles of the panels inside the "Live feeds" row."""
    return {p.get("title", "?") for row in dash.get("panels", [])
            if row.get("type") == "row" and row.get("title") == LIVE_FEEDS_ROW
            for p in row.get("panels", [])}


def dashboard_targets(dash: dict) -> list[tuple[str, dict]]:
    """(panel title, target) for every query of every panel, rows included."""
    out = []
    def walk(panels):
        for p in panels:
            for t in p.get("targets", []):
                out.append((p.get("title", "?"), t))
            walk(p.get("panels", []))
    walk(dash.get("panels", []))
    return out


def dashboard_variables(dash: dict) -> list[dict]:
    return dash.get("templating", {}).get("list", [])


def variable_query(var: dict) -> str:
    q = var.get("query")
    if isinstance(q, dict):
        q = q.get("query", "")
    return q or var.get("definition", "")


def substitute(expr: str, values: dict[str, str] | None = None) -> str:
    """Grafana's variables replaced the way Grafana would, for a 1s-scraped test Prometheus."""
    builtins = {
        "__rate_interval": "1m", "__interval": "15s", "__range": "1h",
        "__interval_ms": "15000", "__range_s": "3600", "__range_ms": "3600000",
    }
    values = {**builtins, **(values or {})}
    def rep(m):
        name = m.group(1) or m.group(2) or m.group(3)
        return values.get(name, ".*")
    return re.sub(r"\$\{([a-zA-Z_]+)(?::[a-z]+)?\}|\[\[([a-zA-Z_]+)\]\]|\$([a-zA-Z_]+)", rep, expr)


def dashboard_exprs(dash: dict, values: dict[str, str] | None = None,
                    live: bool | None = None) -> list[tuple[str, str, str, str]]:
    """(panel title, refId, substituted expr, legendFormat); `live=False` leaves out the "Live
    feeds" row's panels, `live=True` keeps only them, `None` gives all."""
    live_titles = live_feed_titles(dash)
    return [(title, t.get("refId", "?"), substitute(t["expr"], values), t.get("legendFormat", ""))
            for title, t in dashboard_targets(dash)
            if t.get("expr") and (live is None or (title in live_titles) == live)]


def base_family(sample: str) -> str:
    for suffix in ("_bucket", "_count", "_sum"):
        if sample.endswith(suffix):
            return sample[: -len(suffix)]
    return sample


EQUALITY_RE = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"')


def parse_exposition_values(text: str) -> dict[str, dict[str, set[str]]]:
    """Sample name -> label name -> values seen, from Prometheus text format 0.0.4."""
    out: dict[str, dict[str, set[str]]] = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.match(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})?\s", line)
        if not m:
            continue
        labels = out.setdefault(m.group(1), {})
        for name, value in re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"', m.group(2) or ""):
            labels.setdefault(name, set()).add(value)
    return out


def parse_exposition(text: str) -> dict[str, set[str]]:
    """Sample name -> label names seen on it, from Prometheus text format 0.0.4."""
    return {name: set(labels) for name, labels in parse_exposition_values(text).items()}


def value_drift(values: dict[str, dict[str, set[str]]], live: bool = False) -> list[str]:
    """Problems: an exact label matcher (label="value") in a rule or panel whose value zigquant
    never exports on the metrics of that expression (e.g. type="rss", status="rejected").
    `live`: the "Live feeds" panels only (against a live run's exposition), else all the rest."""
    problems = []
    for where, expr, metrics, _ in all_references(live):
        scraper_labels = set().union(*(SCRAPER_SERIES.get(m, set()) for m in metrics))
        for label, value in EQUALITY_RE.findall(expr):
            if label in TARGET_LABELS or label in scraper_labels:
                continue
            seen = set()
            for name in metrics:
                seen |= values.get(name, {}).get(label, set())
            if value not in seen:
                problems.append(f"{where}: {label}=\"{value}\" is not among the exported values {sorted(seen)}")
    return problems


def all_references(live: bool = False) -> list[tuple[str, str, set[str], set[str]]]:
    """(where, expr, metrics, labels) for every rule, dashboard query and variable outside the
    "Live feeds" row, or (`live`) for the queries of that row only."""
    out = []
    dash = load_dashboard()
    if live:
        for title, ref, expr, legend in dashboard_exprs(dash, live=True):
            m, l = refs(expr, legend=legend)
            out.append((f"panel '{title}' {ref}", expr, m, l))
        return out
    for r in load_rules():
        anns = r.get("annotations", {})
        m, l = refs(r["expr"], annotations=(anns.get("summary", ""), anns.get("description", "")))
        out.append((f"rule {r['alert']}", r["expr"], m, l))
    for title, ref, expr, legend in dashboard_exprs(dash, live=False):
        m, l = refs(expr, legend=legend)
        out.append((f"panel '{title}' {ref}", expr, m, l))
    for v in dashboard_variables(dash):
        if v.get("type") == "query":
            q = variable_query(v)
            inner = re.match(r"label_values\((.*),\s*([a-zA-Z_]+)\)\s*$", q)
            if inner:
                m, l = refs(inner.group(1))
                l.add(inner.group(2))
            else:
                m, l = refs(q)
            out.append((f"variable ${v['name']}", q, m, l))
    return out


def drift(exported: dict[str, set[str]], live: bool = False) -> list[str]:
    """Problems: a metric or label referenced by a rule/panel that zigquant does not export.

    `exported` maps sample names to label names (see parse_exposition). `up` and `ALERTS` are the
    scraper's and rule evaluator's own (SCRAPER_SERIES);
    job/instance are target labels; `le` exists on _bucket samples (they carry it in exported).
    """
    problems = []
    for where, expr, metrics, labels in all_references(live):
        known_labels = set(TARGET_LABELS)
        for name in metrics:
            if name in SCRAPER_SERIES:
                known_labels |= SCRAPER_SERIES[name]
                continue
            if name not in exported:
                problems.append(f"{where}: metric {name} is not exported by zigquant")
                continue
            known_labels |= exported[name]
        for label in labels:
            if label not in known_labels:
                problems.append(f"{where}: label {label!r} is not on any of {sorted(metrics)}")
    return problems
