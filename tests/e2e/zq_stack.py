"""Processes and clients for the live integration tests; the fixtures are in conftest.py."""
from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest
import requests
import yaml

import api_contract
import promql_refs

ROOT = promql_refs.ROOT
API_KEY = "e2e-test-key-0123456789abcdef"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(what: str, fn, timeout: float, interval: float = 0.25, proc=None):
    """Calls fn until it returns a truthy value; fails naming `what` after `timeout` seconds.
    If `proc` (a Proc) dies meanwhile, fails at once with its log tail."""
    deadline = time.monotonic() + timeout
    last_exc = None
    while time.monotonic() < deadline:
        if proc is not None and proc.popen.poll() is not None:
            pytest.fail(f"{proc.name} exited with status {proc.popen.returncode} while waiting for {what}:\n{proc.log_tail()}")
        try:
            value = fn()
            if value:
                return value
        except Exception as e:  # noqa: BLE001 - reported below
            last_exc = e
        time.sleep(interval)
    detail = f" (last error: {last_exc!r})" if last_exc else ""
    tail = f"\n{proc.name} log:\n{proc.log_tail()}" if proc is not None else ""
    pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}{detail}{tail}")


class Proc:
    def __init__(self, name: str, argv: list[str], log: Path, env: dict | None = None, cwd: Path | None = None):
        self.name, self.argv, self.log = name, argv, log
        self._logf = open(log, "wb")
        self.popen = subprocess.Popen(
            argv, stdout=self._logf, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            env={**os.environ, **(env or {})}, cwd=cwd, start_new_session=True,
        )

    def log_tail(self, n: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return "(no log)"

    def stop(self, timeout: float = 10.0):
        if self.popen.poll() is None:
            try:
                os.killpg(self.popen.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(self.popen.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.popen.wait(5)
        self._logf.close()


# The Debian package that ships each tool the live tests run.
TOOL_PACKAGES = {"prometheus": "prometheus", "prometheus-alertmanager": "prometheus-alertmanager",
                 "victoria-metrics": "victoria-metrics", "vmagent": "victoria-metrics",
                 "vmalert": "victoria-metrics", "chromium": "chromium",
                 "chromedriver": "chromium-driver"}


def find_tool(env_var: str, *names: str, dirs: tuple[str, ...] = ()) -> str:
    """The tool named by `env_var`, else the first of `names` on PATH, else in one of `dirs`
    (for binaries Debian keeps off PATH); fails the test saying which package to install."""
    explicit = os.environ.get(env_var)
    if explicit:
        return explicit
    for n in names:
        path = shutil.which(n)
        if path:
            return path
    for d in dirs:
        for n in names:
            if (Path(d) / n).is_file():
                return str(Path(d) / n)
    pytest.fail(f"{names[0]} not found on PATH (apt-get install -y {TOOL_PACKAGES.get(names[0], names[0])}) or set {env_var}")


class Zigquant:
    def __init__(self, proc: Proc, port: int, data_dir: Path):
        self.proc, self.port, self.data_dir = proc, port, data_dir
        self.addr = f"127.0.0.1:{port}"
        self.url = f"http://{self.addr}"

    def metrics_text(self) -> str:
        r = requests.get(self.url + "/metrics", timeout=5)
        r.raise_for_status()
        return r.text

    def api(self, method: str, path: str, key: str | None = API_KEY, **kw):
        headers = kw.pop("headers", {})
        if key:
            headers["Authorization"] = f"Bearer {key}"
        response = requests.request(method, self.url + path, headers=headers, timeout=5, **kw)
        api_contract.check(response, self.url, API_KEY)
        return response


def start_zigquant(procs, binary: Path, tmp: Path, config: str | None = None, name: str = "zigquant",
                   env: dict | None = None) -> Zigquant:
    port = free_port()
    data_dir = tmp / "data"
    data_dir.mkdir(parents=True, exist_ok=True)
    argv = [str(binary), "serve", "--listen", f"127.0.0.1:{port}", "--data-dir", str(data_dir)]
    if config is not None:
        cfg = tmp / "zigquant.toml"
        cfg.write_text(config)
        argv += ["--config", str(cfg)]
    proc = Proc(name, argv, tmp / f"{name}.log",
                env={"ZQ_API_KEY": API_KEY, "RUST_LOG": "info", **(env or {})})
    procs.append(proc)
    zq = Zigquant(proc, port, data_dir)
    wait_until(f"{name} /health on {zq.addr}",
               lambda: requests.get(zq.url + "/health", timeout=2).status_code == 200,
               timeout=60, proc=proc)
    return zq


class Prometheus:
    def __init__(self, proc: Proc, port: int):
        self.proc, self.port = proc, port
        self.url = f"http://127.0.0.1:{port}"

    def _get(self, path: str, **params):
        r = requests.get(self.url + path, params=params, timeout=10)
        body = r.json()
        if body.get("status") != "success":
            raise AssertionError(f"{path} {params}: {body.get('errorType')}: {body.get('error')}")
        return body["data"]

    def query(self, expr: str, **params):
        return self._get("/api/v1/query", query=expr, **params)

    def query_range(self, expr: str, seconds: int = 60, step: str = "1s"):
        end = time.time()
        return self._get("/api/v1/query_range", query=expr, start=end - seconds, end=end, step=step)

    def label_values(self, label: str, match: str) -> list[str]:
        return self._get(f"/api/v1/label/{label}/values", **{"match[]": match})

    def rules(self):
        return self._get("/api/v1/rules")

    def alerts(self):
        return self._get("/api/v1/alerts")["alerts"]


def _start_until_ready(procs, tmp: Path, name: str, argv: list[str], port: int, client,
                       ready_path: str = "/-/ready"):
    """Starts a Prometheus- or VictoriaMetrics-family daemon, registers it for clean-up and waits
    for its readiness endpoint."""
    proc = Proc(name, argv, tmp / f"{name}.log")
    procs.append(proc)
    daemon = client(proc, port)
    wait_until(f"{name} ready on :{port}",
               lambda: requests.get(daemon.url + ready_path, timeout=2).status_code == 200,
               timeout=60, proc=proc)
    return daemon


def start_prometheus(procs, tmp: Path, zigquant_addr: str, rule_files: list[Path] = (),
                     alertmanager_addr: str | None = None, name: str = "prometheus",
                     extra_args: list[str] = ()) -> Prometheus:
    port = free_port()
    cfg = {
        "global": {"scrape_interval": "1s", "scrape_timeout": "1s", "evaluation_interval": "1s",
                   # as deploy/prometheus/prometheus.yml: runbook links open zigquant's /runbooks
                   "external_labels": {"runbook_base": f"http://{zigquant_addr}/runbooks"}},
        "rule_files": [str(p) for p in rule_files],
        "scrape_configs": [{"job_name": "zigquant", "metrics_path": "/metrics",
                            "static_configs": [{"targets": [zigquant_addr]}]}],
    }
    if alertmanager_addr:
        cfg["alerting"] = {"alertmanagers": [{"static_configs": [{"targets": [alertmanager_addr]}]}]}
    tmp.mkdir(parents=True, exist_ok=True)
    (tmp / "prometheus.yml").write_text(yaml.safe_dump(cfg))
    argv = [find_tool("PROMETHEUS_BIN", "prometheus"),
            f"--config.file={tmp / 'prometheus.yml'}",
            f"--storage.tsdb.path={tmp / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{port}", *extra_args]
    return _start_until_ready(procs, tmp, name, argv, port, Prometheus)


class Alertmanager:
    def __init__(self, proc: Proc, port: int):
        self.proc, self.port = proc, port
        self.addr = f"127.0.0.1:{port}"
        self.url = f"http://{self.addr}"

    def alerts(self, **params) -> list[dict]:
        r = requests.get(self.url + "/api/v2/alerts", params=params, timeout=5)
        r.raise_for_status()
        return r.json()

    def post(self, alerts: list[dict]):
        r = requests.post(self.url + "/api/v2/alerts", json=alerts, timeout=5)
        r.raise_for_status()


def start_alertmanager(procs, tmp: Path, config: Path = ROOT / "deploy/alertmanager/alertmanager.yml",
                       name: str = "alertmanager") -> Alertmanager:
    port = free_port()
    tmp.mkdir(parents=True, exist_ok=True)
    argv = [find_tool("ALERTMANAGER_BIN", "prometheus-alertmanager", "alertmanager"),
            f"--config.file={config}",
            f"--storage.path={tmp / 'am-data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address="]
    return _start_until_ready(procs, tmp, name, argv, port, Alertmanager)


# ---------------------------------------------------------------- VictoriaMetrics (docs/fleet.md)

class VictoriaMetrics(Prometheus):
    """victoria-metrics single node: the Prometheus query API (Prometheus' client methods) plus
    the remote-write endpoint vmagent and vmalert write to."""

    @property
    def write_url(self) -> str:
        return self.url + "/api/v1/write"

    def series(self, match: str) -> list[dict]:
        return self._get("/api/v1/series", **{"match[]": match, "start": time.time() - 3600})


def start_victoria_metrics(procs, tmp: Path, name: str = "victoria-metrics") -> VictoriaMetrics:
    """A fresh store; queries see samples 1 s after they arrive (default 30 s) and are not
    cached, so a test reads what was just written."""
    port = free_port()
    tmp.mkdir(parents=True, exist_ok=True)
    argv = [find_tool("VICTORIA_METRICS_BIN", "victoria-metrics"),
            f"-storageDataPath={tmp / 'vm-data'}", f"-httpListenAddr=127.0.0.1:{port}",
            "-search.latencyOffset=1s", "-search.disableCache", "-retentionPeriod=1"]
    return _start_until_ready(procs, tmp, name, argv, port, VictoriaMetrics, ready_path="/health")


class VmDaemon:
    """vmagent or vmalert: a process and its HTTP port (/targets, /api/v1/alerts)."""

    def __init__(self, proc: Proc, port: int):
        self.proc, self.port = proc, port
        self.url = f"http://127.0.0.1:{port}"


def start_vmagent(procs, tmp: Path, scrape_config: Path, remote_write_url: str,
                  name: str = "vmagent") -> VmDaemon:
    port = free_port()
    tmp.mkdir(parents=True, exist_ok=True)
    argv = [find_tool("VMAGENT_BIN", "vmagent"), f"-promscrape.config={scrape_config}",
            "-promscrape.fileSDCheckInterval=1s", f"-remoteWrite.url={remote_write_url}",
            "-remoteWrite.flushInterval=1s", f"-remoteWrite.tmpDataPath={tmp / 'rw-buffer'}",
            f"-httpListenAddr=127.0.0.1:{port}"]
    return _start_until_ready(procs, tmp, name, argv, port, VmDaemon, ready_path="/health")


def start_vmalert(procs, tmp: Path, rule_files: list[Path], store_url: str, alertmanager_url: str,
                  interval: str = "1s", name: str = "vmalert",
                  runbook_base: str | None = None) -> VmDaemon:
    port = free_port()
    tmp.mkdir(parents=True, exist_ok=True)
    argv = [find_tool("VMALERT_BIN", "vmalert"), *[f"-rule={p}" for p in rule_files],
            f"-datasource.url={store_url}", f"-remoteWrite.url={store_url}",
            f"-notifier.url={alertmanager_url}", f"-evaluationInterval={interval}",
            f"-httpListenAddr=127.0.0.1:{port}"]
    if runbook_base:
        argv.append(f"-external.label=runbook_base={runbook_base}")
    return _start_until_ready(procs, tmp, name, argv, port, VmDaemon, ready_path="/health")


def set_exchange_outages(text: str, down: set[str]) -> str:
    """The config `text` with no random outages anywhere and the exchanges in `down`
    disconnected from second 1 for an hour (the paper venues' scheduled outages)."""
    parts = re.split(r"(?m)^(?=\[\[engine\.exchanges\]\])", text)
    seen = set()
    out = []
    for part in parts:
        m = re.search(r'(?m)^name\s*=\s*"([^"]+)"', part) if part.startswith("[[engine.exchanges]]") else None
        if m:
            name = m.group(1)
            seen.add(name)
            # this exchange block ends at the next table header
            head, sep, tail = part.partition("\n[")
            outage = "[{ at_secs = 1.0, for_secs = 3600.0 }]" if name in down else "[]"
            head, n = re.subn(r"(?m)^disconnect\s*=.*$", f"disconnect = {outage}", head)
            if n == 0:
                head += f"\ndisconnect = {outage}\n"
            head = re.sub(r"(?m)^disconnect_rate_per_hour\s*=.*$", "disconnect_rate_per_hour = 0.0", head)
            part = head + sep + tail
        out.append(part)
    missing = set(down) - seen
    assert not missing, f"config has no [[engine.exchanges]] named {sorted(missing)}"
    return "".join(out)


# ---------------------------------------------------------------- the default stack

class Stack:
    def __init__(self, zq: Zigquant, prom: Prometheus):
        self.zq, self.prom = zq, prom


def drive_api_traffic(zq: Zigquant, rounds: int = 5):
    """Requests that make every API metric family move: 200s, 401s, an unmatched route."""
    for _ in range(rounds):
        zq.api("GET", "/api/v1/strategies")
        zq.api("GET", "/api/v1/positions")
        zq.api("GET", "/api/v1/strategies", key=None)          # 401
        zq.api("GET", "/api/v1/definitely-not-a-route")        # 404 -> path="unmatched"
        time.sleep(0.2)


def default_config_text(zigquant_bin: Path) -> str:
    """The full default configuration (server + engine), as `zigquant config --default` prints
    it: the tests start from what the binary says, so a broken `config --default` fails them."""
    out = subprocess.run([str(zigquant_bin), "config", "--default"], capture_output=True,
                         text=True, timeout=30)
    assert out.returncode == 0 and "[[engine.exchanges]]" in out.stdout, \
        f"`zigquant config --default` failed ({out.returncode}): {out.stderr}"
    return out.stdout
