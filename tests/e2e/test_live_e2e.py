"""A live feed's outage end to end: zigquant takes BTC-USDT from a fixture Binance venue (the
`fixture_venue` example of crates/live: WebSocket + REST on 127.0.0.1 speaking Binance's kline
protocol, streaming a closed candle every 200 ms). A real Prometheus scrapes zigquant with the
shipped rules (only `for:` shortened) and a real Alertmanager runs the shipped config.

The fixture goes away -> Prometheus sees zigquant_exchange_connected{exchange="binance"} == 0 ->
ExchangeDisconnected reaches Alertmanager -> the fixture comes back on the same ports -> the gauge
returns to 1 and candles flow again."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

import dashboard_queries
import promql_refs
from zq_stack import (ROOT, Proc, free_port, start_alertmanager, start_prometheus, start_zigquant,
                      wait_until)


@pytest.fixture(scope="module")
def fixture_bin() -> Path:
    explicit = os.environ.get("FIXTURE_VENUE_BIN")
    path = Path(explicit) if explicit else ROOT / "target/release/examples/fixture_venue"
    if not path.is_file():
        pytest.fail(f"fixture venue {path} not found: build it with "
                    "`cargo build --release -p zigquant-live --example fixture_venue` "
                    "(or set FIXTURE_VENUE_BIN)")
    return path


def start_fixture(procs, binary: Path, tmp: Path, ws_port: int, rest_port: int, name: str) -> Proc:
    tmp.mkdir(parents=True, exist_ok=True)
    proc = Proc(name, [str(binary), "--venue", "binance", "--ws-port", str(ws_port),
                       "--rest-port", str(rest_port), "--every-ms", "200", "--published", "60"],
                tmp / f"{name}.log")
    procs.append(proc)

    def listening():
        text = proc.log.read_text(errors="replace")
        return text.strip() and json.loads(text.splitlines()[0])
    wait_until(f"{name} to listen", listening, timeout=90, proc=proc)
    return proc


def live_config(ws_port: int, rest_port: int) -> str:
    # Only the entries listed here: no default pair, exchange or strategy merged in (the default
    # hyperliquid exchange's simulated outages and sma_cross_eth have no place in this test).
    return f"""
replace_defaults = ["engine.pairs", "engine.exchanges", "engine.strategies"]

[engine.feed]
bar_interval_secs = 60.0
warmup_bars = 30

[engine.live.binance]
ws_url = "ws://127.0.0.1:{ws_port}"
rest_url = "http://127.0.0.1:{rest_port}"
heartbeat_secs = 1.0

[[engine.pairs]]
name = "BTC-USDT"
source = "binance"
symbol = "BTCUSDT"
min_qty = 0.0001

[[engine.exchanges]]
name = "binance"
fee_rate = 0.001
latency_median_ms = 15.0
latency_p99_ms = 150.0

[[engine.strategies]]
name = "sma_cross"
pair = "BTC-USDT"
exchange = "binance"
[engine.strategies.params]
kind = "sma_cross"
fast = 3
slow = 8
mode = "long-short"
qty = 0.01

[engine.noise]
enabled = false
"""


def gauge(prom, expr: str):
    res = prom.query(expr)["result"]
    return res[0]["value"][1] if res else None


def test_a_live_outage_reaches_alertmanager_and_recovers(procs, zigquant_bin, fixture_bin,
                                                         tmp_path_factory):
    base = tmp_path_factory.mktemp("live")
    ws_port, rest_port = free_port(), free_port()
    venue = start_fixture(procs, fixture_bin, base / "venue1", ws_port, rest_port, "fixture-venue")
    am = start_alertmanager(procs, base / "am", name="alertmanager-live")
    zq = start_zigquant(procs, zigquant_bin, base / "zq", config=live_config(ws_port, rest_port),
                        name="zigquant-live")
    prom = start_prometheus(procs, base / "prom", zq.addr,
                            rule_files=[promql_refs.shortened_rules(base / "rules.yml")],
                            alertmanager_addr=am.addr, name="prometheus-live")
    connected = 'zigquant_exchange_connected{exchange="binance"}'
    wait_until("Prometheus to see the live link up", lambda: gauge(prom, connected) == "1",
               timeout=60, proc=zq.proc)
    candles = 'zigquant_market_data_messages_total{exchange="binance",kind="candle"}'
    wait_until("closed candles counted", lambda: float(gauge(prom, candles) or 0) >= 5,
               timeout=30, proc=zq.proc)
    trades = zq.metrics_text()
    assert 'zigquant_market_data_last_update_timestamp_seconds{pair="BTC-USDT"}' in trades

    venue.stop()
    wait_until("Prometheus to see the link down", lambda: gauge(prom, connected) == "0",
               timeout=30, proc=zq.proc)

    def in_alertmanager():
        return [a for a in am.alerts(active="true")
                if a["labels"].get("alertname") == "ExchangeDisconnected"
                and a["labels"].get("exchange") == "binance"]
    got = wait_until("ExchangeDisconnected{exchange=binance} in Alertmanager", in_alertmanager,
                     timeout=90, proc=am.proc)
    assert got[0]["labels"]["severity"] == "critical"
    assert [r["name"] for r in got[0]["receivers"]] == ["critical"]
    reconnects = float(gauge(prom, 'zigquant_market_data_reconnects_total{exchange="binance"}') or 0)
    assert reconnects >= 1

    start_fixture(procs, fixture_bin, base / "venue2", ws_port, rest_port, "fixture-venue-again")
    wait_until("Prometheus to see the link up again", lambda: gauge(prom, connected) == "1",
               timeout=60, proc=zq.proc)
    before = float(gauge(prom, candles))
    wait_until("candles flowing again", lambda: float(gauge(prom, candles)) > before + 3,
               timeout=30, proc=zq.proc)

    # The dashboard's "Live feeds" row (empty on a simulated run) shows this feed: messages, delay
    # and reconnects have data; the errors query evaluates (this run has no feed error, so no line).
    dash = promql_refs.load_dashboard()
    exprs = promql_refs.dashboard_exprs(dash, {"instance": ".*", "datasource": "prometheus"}, live=True)
    assert {title for title, *_ in exprs} == promql_refs.live_feed_titles(dash) and len(exprs) >= 4, exprs
    errors = [e for e in exprs if "zigquant_market_data_errors_total" in e[2]]
    assert len(errors) == 1, exprs
    empty = dashboard_queries.without_data(prom, [e for e in exprs if e not in errors], timeout=30,
                                           traffic=lambda: None)
    assert not empty, "Live feeds panels without data:\n" + "\n".join(empty)
    prom.query_range(errors[0][2], seconds=60)
    # ... and names only metrics and labels this live run exports (test_drift.py for the rest).
    exported = promql_refs.parse_exposition_values(zq.metrics_text())
    problems = promql_refs.drift({k: set(v) for k, v in exported.items()}, live=True)
    problems += promql_refs.value_drift(exported, live=True)
    assert not problems, "Live feeds panels reference what a live zigquant does not export:\n" + "\n".join(problems)
    zq.proc.stop()
    log = zq.proc.log.read_text(errors="replace")
    assert "panicked" not in log
    # One warning when the link went down, not one per attempt.
    assert log.count("market data link down") == 1, log[-3000:]
