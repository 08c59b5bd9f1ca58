"""(d) An alert fires end to end: zigquant runs with a config that keeps the hyperliquid exchange
disconnected, a real Prometheus evaluates a copy of the shipped rules (only `for:` shortened),
fires ExchangeDisconnected, and a real Alertmanager running the shipped config receives it,
routes it to the `critical` receiver and inhibits the matching warnings."""
import datetime as dt
import time

import pytest
import requests

import promql_refs
from zq_stack import (default_config_text, set_exchange_outages, start_alertmanager,
                      start_prometheus, start_zigquant, wait_until)


def outage_config(text: str) -> str:
    """The default config with hyperliquid down from second 1 for an hour, and no other outages."""
    return set_exchange_outages(text, {"hyperliquid"})


def test_outage_config_rewrite():
    cfg = outage_config((promql_refs.ROOT / "crates/engine/default-engine.toml").read_text())
    assert "disconnect = [{ at_secs = 1.0, for_secs = 3600.0 }]" in cfg
    assert "disconnect = [{ at_secs = 8.0" not in cfg


@pytest.fixture(scope="module")
def outage(procs, zigquant_bin, tmp_path_factory):
    base = tmp_path_factory.mktemp("outage")
    am = start_alertmanager(procs, base / "am")
    zq = start_zigquant(procs, zigquant_bin, base / "zq", config=outage_config(default_config_text(zigquant_bin)),
                        name="zigquant-outage")
    rules = promql_refs.shortened_rules(base / "rules-short-for.yml")
    prom = start_prometheus(procs, base / "prom", zq.addr, rule_files=[rules],
                            alertmanager_addr=am.addr, name="prometheus-outage")
    yield zq, prom, am
    for p in (prom.proc, zq.proc, am.proc):
        p.stop()


def test_exchange_disconnected_fires_and_reaches_alertmanager(outage):
    zq, prom, am = outage

    def firing_in_prometheus():
        return [a for a in prom.alerts()
                if a["labels"].get("alertname") == "ExchangeDisconnected" and a["state"] == "firing"]
    fired = wait_until("Prometheus to fire ExchangeDisconnected", firing_in_prometheus, timeout=90,
                       proc=zq.proc)
    assert {a["labels"]["exchange"] for a in fired} == {"hyperliquid"}, fired

    def in_alertmanager():
        return [a for a in am.alerts(active="true")
                if a["labels"].get("alertname") == "ExchangeDisconnected"]
    got = wait_until("Alertmanager to receive ExchangeDisconnected", in_alertmanager, timeout=60,
                     proc=am.proc)
    alert = got[0]
    assert alert["labels"]["exchange"] == "hyperliquid"
    assert alert["labels"]["severity"] == "critical"
    assert alert["labels"]["instance"] == zq.addr
    runbook = alert["annotations"]["runbook_url"]
    assert runbook == f"http://{zq.addr}/runbooks#exchangedisconnected", runbook
    page = requests.get(runbook, timeout=5)   # the link opens, at the alert's own section
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert 'id="exchangedisconnected"' in page.text
    assert alert["annotations"]["summary"] == "Exchange hyperliquid is disconnected"
    assert [r["name"] for r in alert["receivers"]] == ["critical"]
    assert alert["status"]["state"] == "active"


def test_warnings_are_inhibited_by_the_matching_critical(outage):
    zq, prom, am = outage
    # Needs the real ExchangeDisconnected{exchange="hyperliquid"} in Alertmanager first.
    wait_until("ExchangeDisconnected in Alertmanager",
               lambda: [a for a in am.alerts() if a["labels"].get("alertname") == "ExchangeDisconnected"],
               timeout=120, proc=am.proc)
    now = dt.datetime.now(dt.timezone.utc)
    ends = (now + dt.timedelta(minutes=10)).isoformat()
    def alert(alertname, severity="warning", **labels):
        return {"labels": {"alertname": alertname, "severity": severity, "job": "zigquant",
                           "instance": zq.addr, **labels},
                "annotations": {"summary": "synthetic e2e alert"}, "startsAt": now.isoformat(),
                "endsAt": ends}
    warning = alert
    am.post([
        alert("SyntheticStrategyCritical", severity="critical", strategy="sma_cross"),
        warning("LowWinRate", strategy="sma_cross"),           # same strategy: inhibited
        warning("LowWinRate", strategy="mean_reversion"),      # other strategy: active
        warning("ExchangeFlapping", exchange="hyperliquid"),   # same exchange: inhibited
        warning("ExchangeFlapping", exchange="binance"),       # other exchange: active
        warning("OrderRejectRateHigh"),                        # symptom of the outage: inhibited
        warning("HighDrawdown"),                               # unrelated, no strategy/exchange: active
    ])

    def states():
        out = {}
        for a in am.alerts():
            lab = a["labels"]
            if lab.get("severity") == "warning":
                key = lab.get("exchange") or lab.get("strategy") or ""
                out[(lab["alertname"], key)] = a["status"]["state"]
        return out if len(out) == 6 else None
    want = {("ExchangeFlapping", "hyperliquid"): "suppressed",
            ("ExchangeFlapping", "binance"): "active",
            ("OrderRejectRateHigh", ""): "suppressed",
            ("HighDrawdown", ""): "active",
            ("LowWinRate", "sma_cross"): "suppressed",
            ("LowWinRate", "mean_reversion"): "active"}
    # Inhibition is applied as the alerts are processed: poll until the states settle.
    deadline = time.monotonic() + 30
    while (got := states()) != want and time.monotonic() < deadline:
        time.sleep(0.5)
    assert got == want, "Alertmanager did not inhibit exactly the matching warnings"


def test_binance_stays_connected(outage):
    zq, prom, am = outage
    res = prom.query('zigquant_exchange_connected{exchange="binance"}')["result"]
    assert res and res[0]["value"][1] == "1", res
    assert not [a for a in prom.alerts()
                if a["labels"].get("alertname") == "ExchangeDisconnected"
                and a["labels"].get("exchange") == "binance"]
