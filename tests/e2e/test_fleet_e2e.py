"""A fleet end to end (docs/fleet.md): three zigquant bots with names of their own, scraped by a real
vmagent through a file_sd targets file, stored in a real victoria-metrics, the shipped alert rules
(only `for:` shortened) evaluated by a real vmalert, and a real Alertmanager with the shipped
routing and the shipped webhook receivers example, delivering to a webhook server run here.

The targets file lists two bots at first; the third is added while vmagent runs (file_sd reload).
Bot b has hyperliquid down from second 1; bots a and c have no outage at all. Each bot trades for
MAX_BARS bars (15 s at the default pacing) and then holds still, so its counters can be compared
with what victoria-metrics stored. Prometheus in agent mode (the other shipped agent) ships bot a into a second store. Bot c is
killed at the end. Every wait is bounded (about 90 s in all)."""
from __future__ import annotations

import json
import re
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests
import yaml

import dashboard_queries
import promql_refs
from dashboard_queries import resolve_variables
from zq_stack import (ROOT, Proc, default_config_text, drive_api_traffic, find_tool, free_port,
                      set_exchange_outages, start_alertmanager, start_victoria_metrics,
                      start_vmagent, start_vmalert, start_zigquant, wait_until)

# vmalert gets the runbook base as an external label, as fleet-stack passes it.
RUNBOOK_BASE = "http://127.0.0.1:8080/runbooks"
BOTS = {"fleet-a": set(), "fleet-b": {"hyperliquid"}, "fleet-c": set()}
OUTAGE_BOT = "fleet-b"
KILLED_BOT = "fleet-c"
MAX_BARS = 60
WEBHOOK_TOKEN = "fleet-e2e-webhook-token-0123456789"


class WebhookReceiver:
    """An HTTP server that records every Alertmanager notification (path, auth header, JSON)."""

    def __init__(self):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.received: list[tuple[str, str, dict]] = []
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with outer.lock:
                    outer.received.append((self.path, self.headers.get("Authorization", ""),
                                           json.loads(body)))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def notifications(self, path: str) -> list[tuple[str, dict]]:
        with self.lock:
            return [(auth, body) for p, auth, body in self.received if p == path]

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def alertmanager_config(tmp: Path, webhook: WebhookReceiver) -> Path:
    """The shipped alertmanager.yml with the shipped webhook receivers example in place of its
    empty receivers: only the URL base and the token file's path point at this test."""
    token = tmp / "webhook-token"
    token.write_text(WEBHOOK_TOKEN)
    example = (ROOT / "deploy/alertmanager/receivers/webhook.yml").read_text()
    example = example.replace("http://127.0.0.1:9095", webhook.base)
    example = example.replace("/etc/alertmanager/secrets/webhook-token", str(token))
    cfg = yaml.safe_load((ROOT / "deploy/alertmanager/alertmanager.yml").read_text())
    cfg["receivers"] = yaml.safe_load(example)["receivers"]
    path = tmp / "alertmanager.yml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


def write_targets(tmp: Path, targets: list[str]):
    """The file_sd targets file, as the operator (or scripts/fleet-stack) writes it."""
    (tmp / "targets").mkdir(parents=True, exist_ok=True)
    staged = tmp / "targets/.zigquant.yml.new"
    staged.write_text(yaml.safe_dump([{"targets": targets}]))
    staged.rename(tmp / "targets/zigquant.yml")  # atomic: the agent never reads half a file


def scrape_config(tmp: Path, config: Path = ROOT / "deploy/fleet/scrape.yml") -> Path:
    """A shipped agent config with 1 s scrapes and its file_sd glob pointing at the targets
    file of `tmp`."""
    cfg = yaml.safe_load(config.read_text())
    cfg["global"].update({"scrape_interval": "1s", "scrape_timeout": "1s"})
    [job] = cfg["scrape_configs"]
    job["file_sd_configs"] = [{"files": [str(tmp / "targets/*.yml")]}]
    path = tmp / config.name
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


def bot_config(default: str, seed: int, down: set[str]) -> str:
    text = set_exchange_outages(default, down)
    text, n = re.subn(r"(?m)^max_bars = 0$", f"max_bars = {MAX_BARS}", text)
    assert n == 1, "default config has no `max_bars = 0`"
    text, n = re.subn(r"(?m)^seed = 42$", f"seed = {seed}", text)
    assert n == 1, "default config has no `seed = 42`"
    return text


class Fleet:
    def __init__(self, bots, vm, agent, vmalert, am, webhook):
        self.bots, self.vm, self.agent, self.vmalert, self.am, self.webhook = \
            bots, vm, agent, vmalert, am, webhook

    def named(self, expr: str) -> str:
        return f"({expr}) * on (instance) group_left (name) zigquant_instance_info"

    def vmalert_alerts(self) -> list[dict]:
        r = requests.get(self.vmalert.url + "/api/v1/alerts", timeout=5)
        r.raise_for_status()
        return r.json()["data"]["alerts"]

    def grouped(self, path: str, alertname: str) -> list[dict]:
        """Firing notifications of `alertname` delivered to `path`; those to the people-facing
        receivers must carry the token read from the example's credentials_file."""
        out = []
        for auth, body in self.webhook.notifications(path):
            if path.startswith("/zigquant/"):
                assert auth == f"Bearer {WEBHOOK_TOKEN}", f"{path} without the token file's token: {auth!r}"
            if body["status"] == "firing" and body["groupLabels"].get("alertname") == alertname:
                out.append(body)
        return out


@pytest.fixture(scope="module")
def fleet(procs, zigquant_bin, tmp_path_factory):
    base = tmp_path_factory.mktemp("fleet")
    webhook = WebhookReceiver()
    am = start_alertmanager(procs, base / "am", config=alertmanager_config(base, webhook),
                            name="fleet-alertmanager")
    vm = start_victoria_metrics(procs, base / "vm")
    default = default_config_text(zigquant_bin)
    bots = {}
    for i, (name, down) in enumerate(BOTS.items()):
        bots[name] = start_zigquant(procs, zigquant_bin, base / name,
                                    config=bot_config(default, 100 + i, down), name=name,
                                    env={"ZQ_NAME": name})
    # The targets file first lists two bots; the third is added while vmagent runs, as an
    # operator would: file_sd must pick it up without a restart.
    addrs = [z.addr for z in bots.values()]
    write_targets(base / "vmagent", addrs[:2])
    agent = start_vmagent(procs, base / "vmagent", scrape_config(base / "vmagent"), vm.write_url)
    wait_until("victoria-metrics to hold up == 1 for the first two bots",
               lambda: len(vm.query('up{job="zigquant"} == 1')["result"]) == 2, timeout=60,
               proc=agent.proc)
    write_targets(base / "vmagent", addrs)
    # (The third bot's `up` appearing is the file_sd reload.) Rules start once the store has
    # every target: before, `absent(up)` would rightly fire
    # ZigquantTargetDown (with no name) and muddy the "for that name only" assertions.
    wait_until("victoria-metrics to hold up == 1 for every bot",
               lambda: len(vm.query('up{job="zigquant"} == 1')["result"]) == len(BOTS), timeout=60,
               proc=agent.proc)
    vmalert = start_vmalert(procs, base / "vmalert", [promql_refs.shortened_rules(base / "rules-short-for.yml")],
                            vm.url, am.url, runbook_base=RUNBOOK_BASE)
    for zq in bots.values():
        drive_api_traffic(zq, rounds=2)
    yield Fleet(bots, vm, agent, vmalert, am, webhook)
    for p in (vmalert.proc, agent.proc, *(z.proc for z in bots.values()), vm.proc, am.proc):
        p.stop()
    webhook.stop()


def test_victoria_metrics_holds_every_bots_series_under_its_name(fleet):
    def names():
        res = fleet.vm.query("zigquant_instance_info")["result"]
        return {r["metric"]["name"]: r["metric"] for r in res} if len(res) == len(BOTS) else None
    got = wait_until("victoria-metrics to hold every bot's zigquant_instance_info", names, timeout=60,
                     proc=fleet.agent.proc)
    assert set(got) == set(BOTS)
    for name, zq in fleet.bots.items():
        info = got[name]
        assert info["instance"] == zq.addr and info["job"] == "zigquant"
        assert info["mode"] == "paper"
        assert re.fullmatch(r"[0-9a-f]{12}", info["config_hash"]), info
        assert info["strategies"] == "3", info
    assert len({m["config_hash"] for m in got.values()}) == len(BOTS), "seeds differ: hashes must"

    # Every series a bot exposes reaches the store under its instance, which names that bot;
    # but VictoriaMetrics drops NaN samples at ingestion (a ratio with no closed round trip yet,
    # docs/fleet.md), so those series appear with their first number.
    for name, zq in fleet.bots.items():
        exposed = {(sample, labels) for sample, labels, value in exposition_series(zq.metrics_text())
                   if value != "NaN"}

        def missing():
            got = set()
            for s in fleet.vm.series(f'{{instance="{zq.addr}", job="zigquant"}}'):
                labels = tuple(sorted((k, v) for k, v in s.items()
                                      if k not in ("__name__", "job", "instance")))
                got.add((s["__name__"], labels))
            return exposed - got
        deadline = time.monotonic() + 30
        while (lost := missing()) and time.monotonic() < deadline:
            time.sleep(0.5)
        assert not lost, f"{len(lost)} of {len(exposed)} series of {name} not in victoria-metrics: {sorted(lost)[:10]}"
        joined = fleet.vm.query(f'count({fleet.named("zigquant_trades_total")}) by (name)')["result"]
        assert name in {r["metric"]["name"] for r in joined}, joined


def exposition_series(text: str):
    """(sample name, sorted label items, value as written) of a text exposition."""
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.match(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)", line)
        assert m, f"unparsable exposition line {line!r}"
        labels = dict(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"', m.group(3) or ""))
        yield m.group(1), tuple(sorted(labels.items())), m.group(4)


def test_trades_in_victoria_metrics_equal_each_bots_api(fleet):
    """The bots stop trading after MAX_BARS bars. For each: the API's trades_total read before
    and after a scrape that victoria-metrics stored agree, so the scrape saw that value too, and
    the store must hold exactly it."""
    for name, zq in fleet.bots.items():
        def settled():
            first = zq.api("GET", "/api/v1/metrics").json()["trades_total"]
            time.sleep(2)
            second = zq.api("GET", "/api/v1/metrics").json()["trades_total"]
            return (first,) if first == second and first > 0 else None
        wait_until(f"{name} to finish its {MAX_BARS} bars with trades", settled, timeout=90,
                   proc=zq.proc)
        before_t = time.time()
        before = zq.api("GET", "/api/v1/metrics").json()["trades_total"]
        # The bot's series found by its name, not by its address.
        sel = f'sum(zigquant_trades_total * on (instance) group_left (name) zigquant_instance_info{{name="{name}"}})'

        def scraped_after():
            res = fleet.vm.query(f'max(timestamp(zigquant_trades_total{{instance="{zq.addr}"}}))')["result"]
            return res and float(res[0]["value"][1]) > before_t + 0.5
        wait_until(f"a scrape of {name} after {before_t:.1f} in victoria-metrics", scraped_after,
                   timeout=30)
        stored = fleet.vm.query(sel)["result"]
        after = zq.api("GET", "/api/v1/metrics").json()["trades_total"]
        assert before == after, f"{name} still trading ({before} -> {after})"
        assert stored, f"no zigquant_trades_total for {name} ({sel})"
        assert float(stored[0]["value"][1]) == before, (name, stored, before)


def test_exchange_outage_fires_for_that_bot_only_and_reaches_the_webhook(fleet):
    def firing():
        return [a for a in fleet.vmalert_alerts()
                if a["name"] == "ExchangeDisconnected" and a["state"] == "firing"]
    fired = wait_until("vmalert to fire ExchangeDisconnected", firing, timeout=90,
                       proc=fleet.vmalert.proc)
    notified = wait_until(
        "Alertmanager to deliver ExchangeDisconnected to the critical webhook",
        lambda: fleet.grouped("/zigquant/critical", "ExchangeDisconnected"), timeout=60,
        proc=fleet.am.proc)
    # Give a wrong alert on another bot time to show up before judging "only".
    time.sleep(5)
    fired = firing()
    assert {(a["labels"]["name"], a["labels"]["exchange"]) for a in fired} == \
        {(OUTAGE_BOT, "hyperliquid")}, fired
    assert fired[0]["labels"]["instance"] == fleet.bots[OUTAGE_BOT].addr
    notified = fleet.grouped("/zigquant/critical", "ExchangeDisconnected")
    assert {n["groupLabels"]["name"] for n in notified} == {OUTAGE_BOT}, notified
    note = notified[0]
    assert note["receiver"] == "critical"
    assert note["groupLabels"] == {"name": OUTAGE_BOT, "alertname": "ExchangeDisconnected"}
    [alert] = note["alerts"]
    assert alert["labels"]["exchange"] == "hyperliquid" and alert["labels"]["severity"] == "critical"
    ann = alert["annotations"]
    assert ann["runbook_url"] == f"{RUNBOOK_BASE}#exchangedisconnected", ann
    assert ann["dashboard_url"] == f"/d/zigquant-main/zigquant?viewPanel=13&var-name={OUTAGE_BOT}", ann
    for other in set(BOTS) - {OUTAGE_BOT}:
        value = fleet.vm.query('min(zigquant_exchange_connected * on (instance) group_left (name)'
                               f' zigquant_instance_info{{name="{other}"}})')["result"]
        assert value and value[0]["value"][1] == "1", (other, value)


def test_watchdog_reaches_its_own_receiver(fleet):
    got = wait_until("the Watchdog at the watchdog webhook",
                     lambda: fleet.grouped("/watchdog", "Watchdog"), timeout=60, proc=fleet.am.proc)
    assert got[0]["receiver"] == "watchdog"
    assert [a["labels"]["alertname"] for a in got[0]["alerts"]] == ["Watchdog"]
    # It goes nowhere else.
    for path in ("/zigquant/critical", "/zigquant/warning", "/zigquant/default"):
        assert not fleet.grouped(path, "Watchdog"), path


def test_every_dashboard_query_evaluates_on_victoria_metrics(fleet):
    values, resolved = resolve_variables(fleet.vm)
    assert sorted(resolved["name"]) == sorted(BOTS), resolved
    assert sorted(resolved["instance"]) == sorted(z.addr for z in fleet.bots.values()), resolved
    exprs = promql_refs.dashboard_exprs(promql_refs.load_dashboard(), values, live=False)
    empty = dashboard_queries.without_data(
        fleet.vm, exprs, timeout=60,
        traffic=lambda: [drive_api_traffic(zq, rounds=1) for zq in fleet.bots.values()])
    assert not empty, "dashboard queries without data on victoria-metrics:\n" + "\n".join(empty)
    # The fleet table has one line per bot.
    table = fleet.vm.query(promql_refs.substitute(
        'sum by (name) (zigquant_portfolio_equity * on (instance) group_left (name) zigquant_instance_info{name=~"$name"})',
        values))["result"]
    assert sorted(r["metric"]["name"] for r in table) == sorted(BOTS)


def test_prometheus_agent_mode_ships_to_victoria_metrics(fleet, procs, tmp_path):
    """The other agent of deploy/fleet: Prometheus with --enable-feature=agent and the shipped
    prometheus-agent.yml (targets file and remote-write URL pointed here) into a second store."""
    vm2 = start_victoria_metrics(procs, tmp_path / "vm2", name="victoria-metrics-2")
    bot = fleet.bots["fleet-a"]
    write_targets(tmp_path, [bot.addr])
    cfg_path = scrape_config(tmp_path, ROOT / "deploy/fleet/prometheus-agent.yml")
    cfg = yaml.safe_load(cfg_path.read_text())
    [remote] = cfg["remote_write"]
    remote["url"] = vm2.write_url
    cfg_path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    port = free_port()
    agent = Proc("prometheus-agent",
                 [find_tool("PROMETHEUS_BIN", "prometheus"), "--enable-feature=agent",
                  f"--config.file={cfg_path}", f"--storage.agent.path={tmp_path / 'wal'}",
                  f"--web.listen-address=127.0.0.1:{port}"], tmp_path / "prometheus-agent.log")
    procs.append(agent)
    try:
        got = wait_until("the Prometheus agent's samples in victoria-metrics",
                         lambda: vm2.query('zigquant_instance_info{name="fleet-a"}')["result"],
                         timeout=90, proc=agent)
        assert got[0]["metric"]["instance"] == bot.addr
        assert vm2.query('up{job="zigquant"} == 1')["result"]
    finally:
        agent.stop()
        vm2.proc.stop()


def test_a_killed_bot_raises_target_down_for_its_name_only(fleet):
    # Runs last (pytest keeps file order): the other tests need bot c alive.
    victim = fleet.bots[KILLED_BOT]
    victim.proc.popen.kill()
    victim.proc.popen.wait(10)

    def firing():
        return [a for a in fleet.vmalert_alerts()
                if a["name"] == "ZigquantTargetDown" and a["state"] == "firing"]
    wait_until("vmalert to fire ZigquantTargetDown", firing, timeout=90, proc=fleet.vmalert.proc)
    notified = wait_until("Alertmanager to deliver ZigquantTargetDown",
                          lambda: fleet.grouped("/zigquant/critical", "ZigquantTargetDown"),
                          timeout=60, proc=fleet.am.proc)
    time.sleep(3)
    fired = firing()
    assert [(a["labels"].get("name"), a["labels"]["instance"]) for a in fired] == \
        [(KILLED_BOT, victim.addr)], fired
    notified = fleet.grouped("/zigquant/critical", "ZigquantTargetDown")
    assert {n["groupLabels"].get("name") for n in notified} == {KILLED_BOT}, notified
    assert notified[0]["alerts"][0]["annotations"]["dashboard_url"].endswith(f"var-name={KILLED_BOT}")


# ---------------------------------------------------------------- scripts/fleet-stack

FLEET_STACK = ROOT / "scripts/fleet-stack"


def test_fleet_stack_help_and_bad_input():
    out = subprocess.run([str(FLEET_STACK), "--help"], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    for option in ("--bots", "--free-ports", "--receivers", "--smoke", "Ctrl-C"):
        assert option in out.stdout, option
    assert "set -euo" not in out.stdout, "help text runs into the script"
    bad = subprocess.run([str(FLEET_STACK), "--bots", "0"], capture_output=True, text=True, timeout=30)
    assert bad.returncode == 2 and "--bots must be 1..200" in bad.stderr, bad.stderr
    bad = subprocess.run([str(FLEET_STACK), "--name-prefix", "a b"], capture_output=True, text=True,
                         timeout=30)
    assert bad.returncode == 2 and "--name-prefix" in bad.stderr, bad.stderr


def test_fleet_stack_smoke(zigquant_bin):
    out = subprocess.run([str(FLEET_STACK), "--bots", "2", "--free-ports", "--temp", "--smoke",
                          "--zigquant", str(zigquant_bin),
                          "--receivers", str(ROOT / "deploy/alertmanager/receivers/webhook.yml")],
                         capture_output=True, text=True, timeout=180)
    assert out.returncode == 0, f"fleet-stack --smoke failed:\n{out.stdout}\n{out.stderr}"
    assert "smoke ok: victoria-metrics holds 2 bot names" in out.stdout, out.stdout
    for name in ("bot-1", "bot-2", "vmagent", "victoria-metrics", "vmalert", "Alertmanager"):
        assert name in out.stdout, name
