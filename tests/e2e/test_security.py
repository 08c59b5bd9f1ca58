"""Safe across a network (issue 17), against a real zigquant binary:

* a real Prometheus scrapes it over TLS with basic auth and a client certificate (a test CA made
  by openssl here); a wrong password and a missing client certificate are refused; a certificate
  and key rotated on disk are served without a restart;
* a brute-force loop of 1,000 wrong keys from one address is throttled (429 + Retry-After) while
  a legitimate client on another address keeps getting 200; the failure counter and the
  ApiAuthFailures alert (deploy/prometheus/alerts) move; refusals say nothing about keys;
* `zigquant keys add/revoke` take effect within a second without a restart; hashed keys survive
  kill -9; no key is stored in clear.

Needs openssl, Prometheus and the Python bcrypt package (scripts/test installs them).
"""
from __future__ import annotations

import hashlib
import http.client
import json
import os
import secrets
import shutil
import socket
import ssl
import subprocess
import threading
import time
from pathlib import Path

import bcrypt
import pytest
import requests
import yaml

import zq_stack
from zq_process import zq_factory  # noqa: F401 - fixture
from zq_process import API_KEY, default_config, metric_sum, parse_metrics, patch, zigquant_binary

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "deploy/prometheus/alerts/zigquant.yml"


# ---------------------------------------------------------------------------------- PKI helpers
def openssl(cwd: Path, *args: str):
    if shutil.which("openssl") is None:
        pytest.fail("openssl not found: apt-get install -y openssl")
    out = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, f"openssl {' '.join(args)}: {out.stderr}"


EC = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]


def make_ca(d: Path, name: str):
    openssl(d, "req", "-x509", *EC, "-days", "2", "-subj", f"/CN={name}",
            "-keyout", f"{name}.key", "-out", f"{name}.crt")


def make_cert(d: Path, ca: str, name: str, san: str, out: str | None = None):
    """A certificate `out`.crt/.key (default `name`) for `san`, signed by `ca`."""
    out = out or name
    (d / f"{out}.ext").write_text(f"subjectAltName={san}\n")
    openssl(d, "req", *EC, "-subj", f"/CN={name}", "-keyout", f"{out}.key", "-out", f"{out}.csr")
    openssl(d, "x509", "-req", "-in", f"{out}.csr", "-CA", f"{ca}.crt", "-CAkey", f"{ca}.key",
            "-CAcreateserial", "-days", "2", "-extfile", f"{out}.ext", "-out", f"{out}.crt")


def make_pki(d: Path) -> Path:
    d.mkdir(parents=True, exist_ok=True)
    make_ca(d, "ca")
    make_ca(d, "rogue-ca")
    make_cert(d, "ca", "server", "IP:127.0.0.1,DNS:localhost")
    make_cert(d, "ca", "prometheus", "DNS:prometheus")
    make_cert(d, "rogue-ca", "rogue", "DNS:prometheus")
    return d


def der_fingerprint(pem_path: Path) -> str:
    der = ssl.PEM_cert_to_DER_cert(pem_path.read_text())
    return hashlib.sha256(der).hexdigest()


def served_fingerprint(port: int, pki: Path) -> str:
    """SHA-256 of the certificate zigquant presents on a fresh TLS connection."""
    ctx = ssl.create_default_context(cafile=str(pki / "ca.crt"))
    ctx.load_cert_chain(str(pki / "prometheus.crt"), str(pki / "prometheus.key"))
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
            return hashlib.sha256(tls.getpeercert(binary_form=True)).hexdigest()


def https(pki: Path, client_cert: str | None = "prometheus") -> requests.Session:
    s = requests.Session()
    # REQUESTS_CA_BUNDLE in the environment would beat `verify` (a requests quirk).
    s.trust_env = False
    s.verify = str(pki / "ca.crt")
    if client_cert:
        s.cert = (str(pki / f"{client_cert}.crt"), str(pki / f"{client_cert}.key"))
    return s


def start_prometheus(procs, tmp: Path, scrape_configs: list[dict], rule_files=()) -> zq_stack.Prometheus:
    port = zq_stack.free_port()
    tmp.mkdir(parents=True, exist_ok=True)
    cfg = {"global": {"scrape_interval": "1s", "scrape_timeout": "1s", "evaluation_interval": "1s"},
           "rule_files": [str(p) for p in rule_files], "scrape_configs": scrape_configs}
    (tmp / "prometheus.yml").write_text(yaml.safe_dump(cfg))
    argv = [zq_stack.find_tool("PROMETHEUS_BIN", "prometheus"), f"--config.file={tmp / 'prometheus.yml'}",
            f"--storage.tsdb.path={tmp / 'tsdb'}", f"--web.listen-address=127.0.0.1:{port}"]
    return zq_stack._start_until_ready(procs, tmp, "prometheus-security", argv, port, zq_stack.Prometheus)


def up(prom: zq_stack.Prometheus, job: str) -> float | None:
    result = prom.query(f'up{{job="{job}"}}')["result"]
    return float(result[0]["value"][1]) if result else None


# ---------------------------------------------------------------------------------- TLS + basic auth
def test_prometheus_scrapes_over_tls_with_basic_auth_and_rotation(zq_factory, procs, tmp_path):
    pki = make_pki(tmp_path / "pki")
    password = "scrape-" + secrets.token_hex(8)
    web = {
        "tls_server_config": {"cert_file": "server.crt", "key_file": "server.key",
                              "client_auth_type": "RequireAndVerifyClientCert",
                              "client_ca_file": "ca.crt", "min_version": "TLS12"},
        "basic_auth_users": {"prometheus": bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=4)).decode()},
        "http_server_config": {"headers": {"X-Content-Type-Options": "nosniff"}},
    }
    web_file = pki / "web-config.yml"
    web_file.write_text(yaml.safe_dump(web))
    # The wrong-password scrape job fails from the same address as the good one every second:
    # give this test's address a failure budget it cannot exhaust (the limit has its own test).
    config = patch(default_config(), ("auth_failures_per_minute = 10", "auth_failures_per_minute = 100000"))
    zq = zq_factory("tls", config=config, env={"ZQ_WEB_CONFIG_FILE": str(web_file)})
    zq.spawn()
    base = f"https://127.0.0.1:{zq.port}"
    good = https(pki)
    zq.wait_for("https /health", lambda: good.get(base + "/health", timeout=5).status_code == 200, 60)
    assert f"https://127.0.0.1:{zq.port}" in zq.log_text(), "the log should give the https URL"

    # Basic auth on /metrics; /health stays open; the configured header is on every response.
    r = good.get(base + "/metrics", timeout=5)
    assert r.status_code == 401 and r.headers.get("WWW-Authenticate", "").startswith("Basic"), r.headers
    assert r.json()["error"]["code"] == "unauthorized"
    assert good.get(base + "/metrics", auth=("prometheus", "wrong"), timeout=5).status_code == 401
    assert good.get(base + "/metrics", auth=("nobody", password), timeout=5).status_code == 401
    ok = good.get(base + "/metrics", auth=("prometheus", password), timeout=5)
    assert ok.status_code == 200 and "zigquant_build_info" in ok.text
    assert ok.headers.get("X-Content-Type-Options") == "nosniff"
    # /api/v1 keeps its bearer keys.
    assert good.get(base + "/api/v1/strategies", auth=("prometheus", password), timeout=5).status_code == 401
    assert good.get(base + "/api/v1/strategies", headers={"Authorization": f"Bearer {API_KEY}"},
                    timeout=5).status_code == 200

    # No client certificate, or one from another CA: the handshake is refused.
    for client in (None, "rogue"):
        with pytest.raises((requests.exceptions.SSLError, requests.exceptions.ConnectionError)):
            https(pki, client).get(base + "/health", timeout=5)
    # Plain HTTP on the TLS port gets no HTTP answer.
    with pytest.raises(requests.exceptions.RequestException):
        requests.get(f"http://127.0.0.1:{zq.port}/health", timeout=5)

    # A real Prometheus: one job right, one with a wrong password, one without client cert.
    target = {"static_configs": [{"targets": [f"127.0.0.1:{zq.port}"]}], "scheme": "https"}
    tls = {"ca_file": str(pki / "ca.crt"), "cert_file": str(pki / "prometheus.crt"),
           "key_file": str(pki / "prometheus.key")}
    prom = start_prometheus(procs, tmp_path / "prom", [
        {"job_name": "good", **target, "tls_config": tls,
         "basic_auth": {"username": "prometheus", "password": password}},
        {"job_name": "wrong_password", **target, "tls_config": tls,
         "basic_auth": {"username": "prometheus", "password": "nope"}},
        {"job_name": "no_client_cert", **target, "tls_config": {"ca_file": str(pki / "ca.crt")},
         "basic_auth": {"username": "prometheus", "password": password}},
    ])
    zq_stack.wait_until("the good job up and the two bad ones down",
                        lambda: (up(prom, "good"), up(prom, "wrong_password"), up(prom, "no_client_cert"))
                        == (1.0, 0.0, 0.0), timeout=60)
    assert prom.query('zigquant_build_info{job="good"}')["result"], "no zigquant series via TLS"
    samples = parse_metrics(good.get(base + "/metrics", auth=("prometheus", password), timeout=5).text)
    assert metric_sum(samples, "zigquant_api_auth_failures_total", reason="invalid_basic_auth") >= 2

    # Rotate certificate and key on disk (new key pair, same CA): new connections get the new
    # certificate without a restart, and Prometheus keeps scraping.
    old = served_fingerprint(zq.port, pki)
    assert old == der_fingerprint(pki / "server.crt")
    make_cert(pki, "ca", "server-rotated", "IP:127.0.0.1,DNS:localhost", out="next")
    os.replace(pki / "next.key", pki / "server.key")
    os.replace(pki / "next.crt", pki / "server.crt")
    new = der_fingerprint(pki / "server.crt")
    assert new != old
    rotated_at = time.time()
    zq.wait_for("the rotated certificate served", lambda: served_fingerprint(zq.port, pki) == new, 5)
    pid = zq.popen.pid
    zq_stack.wait_until("a good scrape after the rotation",
                        lambda: any(float(v[0]) > rotated_at + 1 and v[1] == "1" for v in
                                    prom.query_range('up{job="good"}', seconds=30)["result"][0]["values"]),
                        timeout=30)
    assert zq.popen.pid == pid and zq.alive(), "zigquant restarted"
    zq.assert_no_panic()


# ---------------------------------------------------------------------------------- brute force
def raw_get(conn: http.client.HTTPConnection, path: str, key: str) -> tuple[int, dict, bytes]:
    conn.request("GET", path, headers={"Authorization": f"Bearer {key}"})
    r = conn.getresponse()
    return r.status, dict(r.getheaders()), r.read()


LEGIT_REQUESTS = 30


def test_brute_force_is_throttled_while_legit_clients_succeed(zq_factory, procs, tmp_path):
    zq = zq_factory("brute").start()
    prom = start_prometheus(procs, tmp_path / "prom", [
        {"job_name": "zigquant", "static_configs": [{"targets": [f"127.0.0.1:{zq.port}"]}]}],
        rule_files=[RULES])
    zq_stack.wait_until("zigquant scraped", lambda: up(prom, "zigquant") == 1.0, timeout=60)

    legit_status: list[int] = []
    stop = threading.Event()

    def legit():
        # 127.0.0.1 with the right key, a fixed number of times while the attack goes on (the
        # attack lasts until these are done, so the count does not depend on machine speed).
        conn = http.client.HTTPConnection("127.0.0.1", zq.port, timeout=5)
        for _ in range(LEGIT_REQUESTS):
            if stop.is_set():
                return
            status, _, _ = raw_get(conn, "/api/v1/strategies", API_KEY)
            legit_status.append(status)
            time.sleep(0.01)

    thread = threading.Thread(target=legit)
    thread.start()
    # The attacker: another loopback address, 1,000 different wrong keys on one connection.
    attacker = http.client.HTTPConnection("127.0.0.1", zq.port, timeout=5, source_address=("127.0.0.2", 0))
    statuses, bodies_401, retry_after, messages_429 = [], set(), [], []
    try:
        while len(statuses) < 1000 or thread.is_alive():
            status, headers, body = raw_get(attacker, "/api/v1/orders", secrets.token_hex(32))
            statuses.append(status)
            if status == 401:
                bodies_401.add(body)
            elif status == 429:
                retry_after.append(int(headers["retry-after"]))
                error = json.loads(body)["error"]
                assert error["code"] == "too_many_requests"
                messages_429.append(error["message"])
    finally:
        stop.set()
        thread.join(10)
    n401, n429 = statuses.count(401), statuses.count(429)
    assert n401 + n429 == len(statuses) >= 1000, f"unexpected statuses: {sorted(set(statuses))}"
    assert 10 <= n401 <= 12, f"{n401} wrong keys were checked; the budget is 10 a minute"
    assert min(retry_after) >= 1 and max(retry_after) <= 60, (min(retry_after), max(retry_after))
    # Every refusal is the same bytes: nothing about which key or name was close.
    assert len(bodies_401) == 1, bodies_401
    assert len(legit_status) == LEGIT_REQUESTS and set(legit_status) == {200}, \
        f"the legitimate client was refused: {sorted(set(legit_status))}"

    # Most 429s are the spent auth budget; a fast attacker on one connection may also pass the
    # per-address request rate (1,000/s), which answers 429 too and is counted as a limit.
    by_auth = messages_429.count("too many failed authentications from your address")
    by_rate = messages_429.count("too many requests from your address")
    assert by_auth + by_rate == n429 and by_auth > 900, sorted(set(messages_429))
    samples = zq.scrape()
    assert metric_sum(samples, "zigquant_api_auth_failures_total", reason="invalid_key") == n401
    assert metric_sum(samples, "zigquant_api_auth_failures_total", reason="throttled") == by_auth
    assert metric_sum(samples, "zigquant_api_limited_total", limit="request_rate") == by_rate
    # The alert rule of deploy/ sees it (pending: it has `for: 2m`).
    zq_stack.wait_until(
        "ApiAuthFailures pending or firing",
        lambda: any(a["labels"]["alertname"] == "ApiAuthFailures" for a in prom.alerts()),
        timeout=30)
    zq.assert_no_panic()


# ---------------------------------------------------------------------------------- keys
def keys_cli(data_dir: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(zigquant_binary()), "keys", "--data-dir", str(data_dir), *args],
                          capture_output=True, text=True, timeout=30)


def time_until(pred, timeout: float = 3.0) -> float:
    """Seconds until `pred()` holds, asked every 0.1 s (the store is polled every 0.1 s; asking
    faster only spends the address's budget of 10 failed authentications a minute on 401s while
    a key is not yet loaded, and a throttled address gets 429 even with the new key)."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if pred():
            return time.monotonic() - start
        time.sleep(0.1)
    return float("inf")


def test_keys_take_effect_within_a_second_and_survive_kill9(zq_factory):
    zq = zq_factory("keys", env={"ZQ_API_KEY": ""}).start()
    generated = (zq.data_dir / "api_key").read_text().strip()
    assert zq.api("GET", "/api/v1/strategies", key=generated).status_code == 200

    add = keys_cli(zq.data_dir, "add", "--name", "ci-bot")
    assert add.returncode == 0, add.stderr
    key = add.stdout.strip()
    assert len(key) == 64 and key not in add.stderr
    took = time_until(lambda: zq.api("GET", "/api/v1/strategies", key=key).status_code == 200)
    assert took < 1.0, f"a new key was accepted after {took:.2f}s"

    listed = keys_cli(zq.data_dir, "list")
    assert listed.returncode == 0 and "ci-bot" in listed.stdout and "generated" in listed.stdout
    assert key not in listed.stdout + listed.stderr and generated not in listed.stdout

    assert keys_cli(zq.data_dir, "add", "--name", "ci-bot").returncode != 0
    bad = keys_cli(zq.data_dir, "add", "--name", "no spaces")
    assert bad.returncode == 2 and "invalid key name" in bad.stderr

    revoke = keys_cli(zq.data_dir, "revoke", "ci-bot")
    assert revoke.returncode == 0, revoke.stderr
    took = time_until(lambda: zq.api("GET", "/api/v1/strategies", key=key).status_code == 401)
    assert took < 1.0, f"a revoked key was still accepted {took:.2f}s later"
    missing = keys_cli(zq.data_dir, "revoke", "ci-bot")
    assert missing.returncode == 2 and "no key named" in missing.stderr

    kept = keys_cli(zq.data_dir, "add", "--name", "grafana").stdout.strip()
    assert time_until(lambda: zq.api("GET", "/api/v1/strategies", key=kept).status_code == 200) < 1.0
    # An audited state change right before the kill: its entry must survive with the change.
    stop = zq.api("POST", "/api/v1/strategies/sma_cross/stop", key=kept,
                  headers={"X-Request-Id": "e2e-stop-1"})
    assert stop.status_code == 200, stop.text
    assert stop.headers.get("X-Request-Id") == "e2e-stop-1"
    zq.kill9()
    zq.start()
    trail = zq.api("GET", "/api/v1/audit?limit=50", key=kept).json()["items"]
    mine = [e for e in trail if e["request_id"] == "e2e-stop-1"]
    assert mine, f"the audit entry was lost by kill -9: {trail}"
    assert mine[0]["key_name"] == "grafana" and mine[0]["client"] == "127.0.0.1"
    assert mine[0]["action"] == "stop_strategy" and mine[0]["outcome"] == "ok: stopped"
    assert zq.api("GET", "/api/v1/strategies/sma_cross", key=kept).json()["running"] is False
    assert zq.api("GET", "/api/v1/strategies", key=kept).status_code == 200
    assert zq.api("GET", "/api/v1/strategies", key=generated).status_code == 200
    assert zq.api("GET", "/api/v1/strategies", key=key).status_code == 401
    # Only hashes on disk: no key appears in any file of the data dir except the hand-over file.
    for f in zq.data_dir.iterdir():
        if f.is_file() and f.name != "api_key":
            data = f.read_bytes()
            for secret in (kept, key, generated):
                assert secret.encode() not in data, f"a key is stored in clear in {f.name}"
    log = zq.log_text()
    for secret in (kept, key, generated):
        assert secret not in log, "a key reached the log"
    zq.assert_no_panic()
