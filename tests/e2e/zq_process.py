"""Helpers for the robustness tests (test_crash, test_disk, test_hostile_http, test_load): start a
real zigquant binary on its own free loopback port and temp data dir, kill it (-9 or TERM), read
its stderr, its RSS and its /metrics.

The binary comes from env ZIGQUANT_BIN (default: target/release/zigquant); a missing binary fails
the test with a message saying how to build it. Every process started through `zq_factory` is
killed at teardown, also when the test fails. stderr goes through a pipe drained by a thread into
a log file owned by the test process (so a file-size rlimit put on zigquant for the disk tests
does not apply to its own log).
"""
from __future__ import annotations

import os
import re
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import Callable

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

import api_contract
from zq_stack import default_config_text, free_port

ROOT = Path(__file__).resolve().parents[2]
API_KEY = "robustness-test-key-0123456789"

PANIC_RE = re.compile(r"panicked|RUST_BACKTRACE|stack backtrace", re.IGNORECASE)


def zigquant_binary() -> Path:
    # The same variables conftest.py accepts, so one setting selects the binary for every test.
    explicit = os.environ.get("ZQ_BIN") or os.environ.get("ZIGQUANT_BIN")
    path = Path(explicit) if explicit else ROOT / "target/release/zigquant"
    if not path.is_file() or not os.access(path, os.X_OK):
        pytest.fail(
            f"zigquant binary not found at {path} "
            f"({'from ZQ_BIN/ZIGQUANT_BIN' if explicit else 'default; set ZQ_BIN'}): "
            "build it with `cargo build --release --bin zigquant`"
        )
    return path


def default_config() -> str:
    return default_config_text(zigquant_binary())


def patch(text: str, *subs: tuple[str, str], count: int | None = 1) -> str:
    """Replaces each `old` by `new`; each `old` must occur exactly `count` times (None: >= 1)."""
    for old, new in subs:
        n = text.count(old)
        if (count is not None and n != count) or n == 0:
            raise AssertionError(f"config patch: {old!r} occurs {n} times, expected {count}")
        text = text.replace(old, new)
    return text


def parse_metrics(text: str) -> dict[tuple, float]:
    """Every sample of a text exposition, keyed (name, sorted label items), parsed by the
    reference parser (prometheus_client)."""
    out = {}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = float(s.value)
    return out


def metric_sum(samples: dict, name: str, **match) -> float:
    return sum(v for (n, labels), v in samples.items()
               if n == name and all(dict(labels).get(k) == val for k, val in match.items()))


class Zigquant:
    """One zigquant process (restartable on the same port and data dir)."""

    def __init__(self, workdir: Path, config: str | None = None, data_dir: Path | None = None,
                 env: dict | None = None, preexec_fn: Callable | None = None, port: int | None = None):
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.data_dir = data_dir if data_dir is not None else workdir / "data"
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.config_path = None
        if config is not None:
            self.config_path = workdir / "zigquant.toml"
            self.config_path.write_text(config)
        self.env = {"ZQ_API_KEY": API_KEY, "ZQ_LOG": "info", **(env or {})}
        self.preexec_fn = preexec_fn
        self.popen: subprocess.Popen | None = None
        self.starts = 0
        self.log_path = workdir / "zigquant.stderr.log"
        self._log = open(self.log_path, "ab")
        self._reader: threading.Thread | None = None
        self.session = requests.Session()

    # ------------------------------------------------------------------ lifecycle
    def argv(self) -> list[str]:
        argv = [str(zigquant_binary()), "serve", "--listen", f"127.0.0.1:{self.port}",
                "--data-dir", str(self.data_dir)]
        if self.config_path is not None:
            argv += ["--config", str(self.config_path)]
        return argv

    def spawn(self) -> subprocess.Popen:
        assert self.popen is None or self.popen.poll() is not None, "already running"
        self.starts += 1
        self._log.write(f"\n===== start #{self.starts} =====\n".encode())
        self._log.flush()
        self.popen = subprocess.Popen(
            self.argv(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
            env={**os.environ, **self.env}, start_new_session=True, preexec_fn=self.preexec_fn)
        pipe = self.popen.stderr

        def drain():
            for chunk in iter(lambda: pipe.read1(65536), b""):
                self._log.write(chunk)
                self._log.flush()

        self._reader = threading.Thread(target=drain, daemon=True)
        self._reader.start()
        return self.popen

    def start(self, timeout: float = 60.0) -> "Zigquant":
        self.spawn()
        self.wait_for("/health 200", lambda: self.get("/health").status_code == 200, timeout)
        return self

    def wait_exit(self, timeout: float = 30.0) -> int:
        assert self.popen is not None
        try:
            rc = self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            pytest.fail(f"zigquant did not exit within {timeout}s:\n{self.log_tail()}")
        if self._reader:
            self._reader.join(5)
        return rc

    def kill9(self):
        assert self.popen is not None and self.popen.poll() is None, \
            f"zigquant died before the kill:\n{self.log_tail()}"
        os.kill(self.popen.pid, signal.SIGKILL)
        self.popen.wait(10)
        if self._reader:
            self._reader.join(5)

    def stop(self):
        """TERM, then KILL after 10 s; safe to call twice."""
        if self.popen is not None and self.popen.poll() is None:
            try:
                os.killpg(self.popen.pid, signal.SIGTERM)
                self.popen.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait(5)
            except ProcessLookupError:
                pass
        if self._reader:
            self._reader.join(5)

    def close(self):
        self.stop()
        self.session.close()
        self._log.close()

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    # ------------------------------------------------------------------ observation
    def log_text(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")

    def log_tail(self, n: int = 40) -> str:
        return "\n".join(self.log_text().splitlines()[-n:])

    def assert_no_panic(self):
        found = [l for l in self.log_text().splitlines() if PANIC_RE.search(l)]
        assert not found, "zigquant panicked:\n" + "\n".join(found[:20])

    def rss_kb(self) -> int:
        assert self.popen is not None
        for line in Path(f"/proc/{self.popen.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise AssertionError("no VmRSS")

    def wait_for(self, what: str, fn: Callable, timeout: float, interval: float = 0.1):
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            if self.popen is not None and self.popen.poll() is not None:
                pytest.fail(f"zigquant exited ({self.popen.returncode}) while waiting for {what}:\n"
                            f"{self.log_tail()}")
            try:
                v = fn()
                if v:
                    return v
            except (requests.RequestException, OSError, ValueError, KeyError) as e:
                last = e
            time.sleep(interval)
        pytest.fail(f"timed out after {timeout}s waiting for {what} (last error {last!r}):\n"
                    f"{self.log_tail()}")

    # ------------------------------------------------------------------ HTTP
    def get(self, path: str, **kw) -> requests.Response:
        return self.session.get(self.url + path, timeout=kw.pop("timeout", 5), **kw)

    def api(self, method: str, path: str, key: str | None = API_KEY, **kw) -> requests.Response:
        headers = dict(kw.pop("headers", {}))
        if key is not None:
            headers["Authorization"] = f"Bearer {key}"
        response = self.session.request(method, self.url + path, headers=headers,
                                        timeout=kw.pop("timeout", 5), **kw)
        api_contract.check(response, self.url, self.env.get("ZQ_API_KEY", API_KEY))
        return response

    def api_json(self, path: str):
        r = self.api("GET", path)
        assert r.status_code == 200, f"GET {path}: {r.status_code} {r.text}"
        return r.json()

    def metrics_text(self) -> str:
        r = self.get("/metrics")
        assert r.status_code == 200, f"/metrics: {r.status_code}"
        return r.text

    def scrape(self) -> dict[tuple, float]:
        return parse_metrics(self.metrics_text())


@pytest.fixture
def zq_factory(tmp_path):
    """Makes Zigquant instances in the test's temp dir; kills them all at teardown."""
    made: list[Zigquant] = []

    def make(name: str = "zq", **kw) -> Zigquant:
        z = Zigquant(tmp_path / name, **kw)
        made.append(z)
        return z

    yield make
    for z in reversed(made):
        z.close()
