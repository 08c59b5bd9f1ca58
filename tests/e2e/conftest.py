"""Fixtures for the live integration tests: a real zigquant, Prometheus and Alertmanager, each on a
free loopback port, with state in pytest's temp dirs. Every process is started in its own session
and killed (TERM, then KILL) at teardown. Waits are bounded and say what they waited for.

Environment:
  ZQ_BIN          zigquant binary (ZIGQUANT_BIN is accepted too; default: target/release/zigquant).
                  A missing binary fails the live tests with a message saying how to build it.
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
    explicit = os.environ.get("ZQ_BIN") or os.environ.get("ZIGQUANT_BIN")
    path = Path(explicit) if explicit else ROOT / "target/release/zigquant"
    if not path.is_file():
        pytest.fail(f"zigquant binary {path} not found: build it with `cargo build --release` "
                    "(or set ZQ_BIN to the binary to test)")
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
