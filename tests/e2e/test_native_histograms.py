"""Exemplars and native histograms against Debian's Prometheus (2.42).

* With `--enable-feature=native-histograms,exemplar-storage` Prometheus asks for protobuf; it
  gets it (zigquant's access log names the content type it answered with), ingests the two
  latency histograms as native histograms (only those answer `histogram_count`), the native p99
  of the order latency agrees with the exact p99 of the latencies in the journal within the
  schema's relative error, and the exemplars it stores name orders the API resolves.
* With `--enable-feature=exemplar-storage` only (OpenMetrics text, classic buckets), exemplars
  are stored too: order ids on the order latency buckets, request ids on the API latency buckets
  (the same ids as in zigquant's access log), trade ids on `zigquant_trades_total`.
"""
from __future__ import annotations

import math
import re
import sqlite3
import time

import pytest

from zq_stack import drive_api_traffic, start_prometheus, start_zigquant, wait_until

# Schema 3 (bucket factor 1.1): neighbouring native bucket bounds differ by 2^(1/8).
SCHEMA3_FACTOR = 2 ** (1 / 8)
ACCESS_LOG = {"ZQ_LOG": "info,zigquant::access=debug"}
PROTOBUF = "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited"


def exemplars(prom, query: str, seconds: int = 600) -> list[dict]:
    """Every stored exemplar of the series `query` selects: [{"series": {...}, "labels": {...},
    "value": float, "timestamp": float}]."""
    end = time.time() + 5
    data = prom._get("/api/v1/query_exemplars", query=query, start=end - seconds, end=end)
    return [{"series": s["seriesLabels"], "labels": e["labels"], "value": float(e["value"]),
             "timestamp": float(e["timestamp"])}
            for s in data for e in s["exemplars"]]


def access_log_lines(zq) -> list[str]:
    return [l for l in zq.proc.log.read_text(errors="replace").splitlines() if "zigquant::access" in l]


def journal_latencies(zq) -> list[float]:
    """Submit -> acknowledgement of every acknowledged order, from the SQLite journal."""
    con = sqlite3.connect(f"file:{zq.data_dir / 'journal.sqlite'}?mode=ro", uri=True, timeout=5)
    try:
        rows = con.execute(
            "SELECT (ack_ms - created_ms) / 1000.0 FROM orders WHERE ack_ms IS NOT NULL").fetchall()
    finally:
        con.close()
    return sorted(r[0] for r in rows)


def exact_quantile(sorted_values: list[float], q: float) -> float:
    """The smallest value with at least q of the observations at or below it (what a
    cumulative histogram's bucket search finds)."""
    rank = max(1, math.ceil(q * len(sorted_values)))
    return sorted_values[rank - 1]


def resolves(zq, order_id: str) -> bool:
    r = zq.api("GET", f"/api/v1/orders/{order_id}")
    return r.status_code == 200 and str(r.json().get("id")) == order_id


def zigquant_scraped(procs, zigquant_bin, base, features: str):
    """A zigquant (access log on) and a Prometheus started with `--enable-feature=<features>`
    that has scraped it."""
    zq = start_zigquant(procs, zigquant_bin, base / "zq", env=ACCESS_LOG)
    prom = start_prometheus(procs, base / "prom", zq.addr, extra_args=[f"--enable-feature={features}"])
    wait_until("Prometheus to scrape zigquant (up == 1)",
               lambda: prom.query('up{job="zigquant"} == 1')["result"], timeout=30, proc=prom.proc)
    return zq, prom


@pytest.fixture(scope="module")
def native_stack(procs, zigquant_bin, tmp_path_factory):
    return zigquant_scraped(procs, zigquant_bin, tmp_path_factory.mktemp("native"),
                            "native-histograms,exemplar-storage")


@pytest.fixture(scope="module")
def openmetrics_stack(procs, zigquant_bin, tmp_path_factory):
    return zigquant_scraped(procs, zigquant_bin, tmp_path_factory.mktemp("om-exemplars"), "exemplar-storage")


def test_prometheus_with_native_histograms_scrapes_protobuf(native_stack):
    zq, prom = native_stack
    scrapes = wait_until(
        "an access log line of a /metrics scrape",
        lambda: [l for l in access_log_lines(zq) if 'route="/metrics"' in l or "route=/metrics" in l],
        timeout=30, proc=zq.proc)
    assert any(PROTOBUF in l for l in scrapes), f"no protobuf scrape in the access log: {scrapes[-3:]}"


def test_order_latency_is_a_native_histogram(native_stack):
    _, prom = native_stack
    # histogram_count() only returns data for a native histogram.
    for name in ("zigquant_order_latency_seconds", "zigquant_api_latency_seconds"):
        result = wait_until(
            f"histogram_count(rate({name}[1m])) to return data",
            lambda n=name: prom.query(f"histogram_count(rate({n}[1m]))")["result"],
            timeout=90, interval=1, proc=prom.proc)
        assert result, name


def test_native_p99_matches_the_journal_within_the_schema_error(native_stack):
    zq, prom = native_stack
    wait_until("at least 50 acknowledged orders in the journal",
               lambda: len(journal_latencies(zq)) >= 50, timeout=120, interval=1, proc=zq.proc)
    # The journal and the scrape are read a moment apart: retry until both see the same orders.
    last = None
    for _ in range(20):
        count = prom.query("histogram_count(zigquant_order_latency_seconds)")["result"]
        est = prom.query("histogram_quantile(0.99, zigquant_order_latency_seconds)")["result"]
        latencies = journal_latencies(zq)
        if count and est and int(float(count[0]["value"][1])) == len(latencies):
            exact = exact_quantile(latencies, 0.99)
            estimate = float(est[0]["value"][1])
            last = (estimate, exact, len(latencies))
            ratio = estimate / exact
            assert 1 / (SCHEMA3_FACTOR * 1.001) <= ratio <= SCHEMA3_FACTOR * 1.001, (
                f"native p99 {estimate} vs exact p99 {exact} of {len(latencies)} orders: ratio {ratio}")
            return
        last = (est, count, len(latencies))
        time.sleep(1)
    pytest.fail(f"Prometheus' count never matched the journal's: {last}")


def test_native_exemplars_name_orders_the_api_resolves(native_stack):
    zq, prom = native_stack
    found = wait_until(
        "an order latency exemplar",
        lambda: exemplars(prom, "zigquant_order_latency_seconds"), timeout=90, interval=1, proc=prom.proc)
    for e in found[:5]:
        assert set(e["labels"]) == {"order_id", "exchange"}, e
        assert resolves(zq, e["labels"]["order_id"]), e


def test_openmetrics_exemplars_are_stored_and_resolve(openmetrics_stack):
    zq, prom = openmetrics_stack
    drive_api_traffic(zq, rounds=2)
    orders = wait_until(
        "order latency exemplars on the classic buckets",
        lambda: exemplars(prom, "zigquant_order_latency_seconds_bucket"), timeout=90, interval=1,
        proc=prom.proc)
    for e in orders[:5]:
        assert set(e["labels"]) == {"order_id", "exchange"}, e
        le = float(e["series"]["le"])
        assert e["value"] <= le, f"exemplar outside its bucket: {e}"
        assert resolves(zq, e["labels"]["order_id"]), e
    trades = wait_until(
        "trade id exemplars on zigquant_trades_total",
        lambda: exemplars(prom, "zigquant_trades_total"), timeout=90, interval=1, proc=prom.proc)
    assert all(set(e["labels"]) == {"trade_id"} for e in trades), trades[:3]


def test_request_id_exemplars_match_the_access_log(openmetrics_stack):
    zq, prom = openmetrics_stack
    drive_api_traffic(zq, rounds=2)
    found = wait_until(
        "request id exemplars on the API latency buckets",
        lambda: exemplars(prom, 'zigquant_api_latency_seconds_bucket{path="/api/v1/strategies"}'),
        timeout=60, interval=1, proc=prom.proc)
    ids = {e["labels"]["request_id"] for e in found}
    log = "\n".join(access_log_lines(zq))
    logged = set(re.findall(r'request_id="?([0-9a-f]+-\d+-\d+)', log))
    assert ids & logged, f"exemplar request ids {sorted(ids)[:5]} not in the access log"
