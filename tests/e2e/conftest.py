"""Fixtures for the live integration tests: a real zigquant, Prometheus and Alertmanager, each on a
free loopback port, with state in pytest's temp dirs. Every process is started in its own session
and killed (TERM, then KILL) at teardown. Waits are bounded and say what they waited for.

Environment:
  ZQ_BIN          zigquant binary (default: target/release/zigquant; tests skip if the default is
                  missing, fail if ZQ_BIN names a missing file)
  PROMETHEUS_BIN  default `prometheus` on PATH; ALERTMANAGER_BIN default `prometheus-alertmanager`
                  (Debian) or `alertmanager`
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

import promql_refs
from zq_stack import (ROOT, Proc, Stack, drive_api_traffic, start_prometheus, start_zigquant,
                      wait_until)


@pytest.fixture(scope="session")
def procs():
    """Registry of started processes; all are stopped at the end of the session (and each
    function-scoped stack stops its own earlier)."""
    started: list[Proc] = []
    yield started
    for p in reversed(started):
        p.stop()


@pytest.fixture(scope="session")
def zigquant_bin() -> Path:
    explicit = os.environ.get("ZQ_BIN")
    path = Path(explicit) if explicit else ROOT / "target/release/zigquant"
    if not path.is_file():
        if explicit:
            pytest.fail(f"ZQ_BIN={explicit} does not exist")
        pytest.skip(f"{path} not built (cargo build --release); set ZQ_BIN to test another binary")
    return path


@pytest.fixture(scope="session")
def stack(procs, zigquant_bin, tmp_path_factory) -> Stack:
    """zigquant on its defaults, scraped every second by a Prometheus that loads the shipped
    alert rules. Runs for the whole session."""
    base = tmp_path_factory.mktemp("stack")
    zq = start_zigquant(procs, zigquant_bin, base / "zq")
    prom = start_prometheus(procs, base / "prom", zq.addr, rule_files=[promql_refs.RULES])
    wait_until("Prometheus to scrape zigquant (up == 1)",
               lambda: prom.query('up{job="zigquant"} == 1')["result"], timeout=30, proc=prom.proc)
    drive_api_traffic(zq)
    return Stack(zq, prom)
