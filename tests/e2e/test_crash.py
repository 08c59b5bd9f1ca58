"""kill -9 while trading: nothing acknowledged is lost, counters continue, statistics come back.

test_kill9_rounds_keep_every_acknowledged_fill (about 25 s)
    The default configuration at 10x clock speed (a bar every 25 ms, tens of orders a second).
    Several rounds: start, watch /api/v1/trades and /metrics from a second thread while it trades,
    kill -9 at a random moment, then inspect a copy of the journal with Python's sqlite3:
    `PRAGMA integrity_check` is "ok", every fill the API showed is there with the same fields,
    the journal has at least as many fills / terminal orders as any scrape counted; after the
    restart the counters start at no less than what the journal holds and what was last seen.

test_kill9_after_csv_replay_restores_statistics_exactly (about 20 s)
    Both pairs fed from CSV files, so trading stops for good once the rows are consumed. Killed
    twice while replaying; once idle, /api/v1/metrics, /api/v1/positions and every trading gauge
    and counter of /metrics are recorded, it is killed -9 and restarted twice: every one of them
    equals the recording exactly (NaN compared as a string).

The random kill points come from a seed printed in the output (env ZQ_CRASH_SEED replays one).
"""
from __future__ import annotations

import math
import os
import random
import shutil
import sqlite3
import threading
import time
from pathlib import Path

import pytest

from zq_process import default_config, metric_sum, parse_metrics, patch, zq_factory  # noqa: F401

SEED = int(os.environ.get("ZQ_CRASH_SEED", random.randrange(1 << 30)))

FILL_FIELDS = ("order_id", "strategy", "pair", "exchange", "side", "qty", "price", "fee", "time_ms")


def fast_config() -> str:
    # A bar every 25 ms of wall time instead of 250 ms: the noise source alone sends an order
    # every other bar on average.
    return patch(default_config(), ("clock_speed = 240.0", "clock_speed = 2400.0"))


class Observer(threading.Thread):
    """Polls /api/v1/trades and /metrics until stopped; keeps what a live process showed."""

    def __init__(self, zq):
        super().__init__(daemon=True)
        self.zq = zq
        self.halt = threading.Event()
        self.fills: dict[int, dict] = {}
        self.max_trades_total = 0.0
        self.max_trades_by_series: dict[tuple, float] = {}
        self.max_orders: dict[str, float] = {}
        self.max_api_total = 0
        self.polls = 0

    def run(self):
        while not self.halt.is_set():
            try:
                r = self.zq.api("GET", "/api/v1/trades?limit=500", timeout=2)
                if r.status_code == 200:
                    page = r.json()
                    self.max_api_total = max(self.max_api_total, page["total"])
                    for t in page["items"]:
                        self.fills[t["id"]] = t
                text = self.zq.get("/metrics", timeout=2).text
                m = parse_metrics(text)
                for (name, labels), v in m.items():
                    if name == "zigquant_trades_total":
                        key = tuple(sorted(labels))
                        self.max_trades_by_series[key] = max(self.max_trades_by_series.get(key, 0), v)
                    elif name == "zigquant_orders_total":
                        status = dict(labels)["status"]
                        self.max_orders[status] = max(self.max_orders.get(status, 0), v)
                self.max_trades_total = max(self.max_trades_total, metric_sum(m, "zigquant_trades_total"))
                self.polls += 1
            except Exception:  # noqa: BLE001 - the process is being killed under us
                pass
            self.halt.wait(0.03)


def journal_copy(data_dir: Path, dest: Path) -> Path:
    """Copies the journal and its WAL (as the crash left them) so inspecting it with sqlite3
    cannot change what the restarted zigquant sees."""
    dest.mkdir(parents=True, exist_ok=True)
    for f in dest.iterdir():
        f.unlink()
    src = data_dir / "journal.sqlite"
    assert src.exists(), f"no journal at {src}"
    for suffix in ("", "-wal"):
        p = Path(str(src) + suffix)
        if p.exists():
            shutil.copyfile(p, dest / ("journal.sqlite" + suffix))
    return dest / "journal.sqlite"


def inspect_journal(path: Path) -> dict:
    db = sqlite3.connect(path)
    try:
        integrity = db.execute("PRAGMA integrity_check").fetchall()
        fills = {row[0]: dict(zip(("id",) + FILL_FIELDS, row)) for row in db.execute(
            f"SELECT id, {', '.join(FILL_FIELDS)} FROM fills")}
        by_series = {}
        for strategy, pair, side, n in db.execute(
                "SELECT strategy, pair, side, count(*) FROM fills GROUP BY strategy, pair, side"):
            by_series[tuple(sorted({"strategy": strategy, "pair": pair, "side": side}.items()))] = n
        orders = dict(db.execute(
            "SELECT status, count(*) FROM orders WHERE status IN ('filled','cancelled','rejected') "
            "GROUP BY status").fetchall())
    finally:
        db.close()
    return {"integrity": integrity, "fills": fills, "by_series": by_series, "orders": orders}


def assert_fill_equal(seen: dict, stored: dict):
    for f in FILL_FIELDS:
        a, b = seen[f], stored[f]
        if isinstance(a, float) or isinstance(b, float):
            assert float(a) == float(b), f"fill {seen['id']}: {f} shown {a!r}, journal {b!r}"
        else:
            assert a == b, f"fill {seen['id']}: {f} shown {a!r}, journal {b!r}"


def test_kill9_rounds_keep_every_acknowledged_fill(zq_factory, tmp_path):
    rng = random.Random(SEED)
    print(f"ZQ_CRASH_SEED={SEED}")
    zq = zq_factory("crash", config=fast_config())
    rounds = 5
    total_seen = 0
    last_journal = None
    for rnd in range(rounds):
        zq.start()
        if last_journal is not None:
            # Counters continue from the journal: never below what it held at the kill, nor
            # below anything a scrape showed before it.
            m = zq.scrape()
            for key, n in last_journal["by_series"].items():
                got = metric_sum(m, "zigquant_trades_total", **dict(key))
                assert got >= n, f"round {rnd}: trades_total{dict(key)} = {got} after restart, journal had {n}"
            for key, v in observer.max_trades_by_series.items():
                got = metric_sum(m, "zigquant_trades_total", **dict(key))
                assert got >= v, f"round {rnd}: trades_total{dict(key)} went back from {v} to {got}"
            for status, v in observer.max_orders.items():
                got = metric_sum(m, "zigquant_orders_total", status=status)
                assert got >= v and got >= last_journal["orders"].get(status, 0), \
                    f"round {rnd}: orders_total{{status={status}}} = {got}, seen {v}, journal {last_journal['orders']}"
        observer = Observer(zq)
        observer.start()
        time.sleep(rng.uniform(1.0, 4.0))
        zq.assert_no_panic()
        zq.kill9()
        observer.halt.set()
        observer.join(5)
        assert observer.polls > 3, f"round {rnd}: observer never got an answer:\n{zq.log_tail()}"

        j = inspect_journal(journal_copy(zq.data_dir, tmp_path / f"copy{rnd}"))
        assert j["integrity"] == [("ok",)], f"round {rnd}: integrity_check: {j['integrity']}"
        missing = sorted(set(observer.fills) - set(j["fills"]))
        assert not missing, f"round {rnd}: fills shown by the API but not in the journal: {missing[:20]}"
        for fid, seen in observer.fills.items():
            assert_fill_equal(seen, j["fills"][fid])
        assert len(j["fills"]) >= observer.max_trades_total, \
            f"round {rnd}: /metrics counted {observer.max_trades_total} fills, journal has {len(j['fills'])}"
        assert len(j["fills"]) >= observer.max_api_total
        for key, v in observer.max_trades_by_series.items():
            assert j["by_series"].get(key, 0) >= v, f"round {rnd}: {dict(key)}: seen {v}, journal {j['by_series'].get(key, 0)}"
        for status, v in observer.max_orders.items():
            assert j["orders"].get(status, 0) >= v, f"round {rnd}: orders {status}: seen {v}, journal {j['orders']}"
        total_seen = len(observer.fills)
        print(f"round {rnd}: {len(j['fills'])} fills in journal, {total_seen} seen via API in this run, "
              f"max trades_total {observer.max_trades_total}, orders {j['orders']}")
        last_journal = j
    assert len(last_journal["fills"]) > 20, "the test config should trade: too few fills to prove anything"
    # One last restart: the service comes back up and trades on from where it was.
    zq.start()
    m = zq.scrape()
    assert metric_sum(m, "zigquant_trades_total") >= len(last_journal["fills"])
    zq.assert_no_panic()


# ------------------------------------------------------------------ CSV: frozen statistics

def write_csv(path: Path, start: float, n: int, seed: int):
    rng = random.Random(seed)
    t0 = 1_767_225_600_000
    lines = ["timestamp,open,high,low,close,volume"]
    p = start
    for i in range(n):
        o = p
        p = p * math.exp(rng.gauss(0, 0.004) + 0.0015 * math.sin(i / 9.0))
        hi, lo = max(o, p) * 1.001, min(o, p) * 0.999
        lines.append(f"{t0 + i * 60_000},{o:.4f},{hi:.4f},{lo:.4f},{p:.4f},{rng.uniform(1, 9):.3f}")
    path.write_text("\n".join(lines) + "\n")


def csv_config(tmp: Path, bars: int) -> str:
    btc, eth = tmp / "btc.csv", tmp / "eth.csv"
    write_csv(btc, 60000.0, bars, 1)
    write_csv(eth, 3000.0, bars, 2)
    text = patch(default_config(),
                 ("clock_speed = 240.0", "clock_speed = 2400.0"),
                 ('name = "BTC-USDT"\nsource = "synthetic"', f'name = "BTC-USDT"\nsource = "csv"\ncsv_path = "{btc}"'),
                 ('name = "ETH-USDT"\nsource = "synthetic"', f'name = "ETH-USDT"\nsource = "csv"\ncsv_path = "{eth}"'),
                 ("disconnect = [{ at_secs = 8.0, for_secs = 4.0 }]", "disconnect = []"))
    # No random outages either: after the replay nothing may change, and an outage after a
    # restart would raise alerts that were not there before.
    return patch(text, ("disconnect_rate_per_hour = 20.0", "disconnect_rate_per_hour = 0.0"),
                 ("disconnect_rate_per_hour = 10.0", "disconnect_rate_per_hour = 0.0"))


TRADING_FAMILIES = (
    "zigquant_trades_total", "zigquant_trade_pnl", "zigquant_win_rate", "zigquant_sharpe_ratio",
    "zigquant_calmar_ratio", "zigquant_orders_total", "zigquant_orders_active",
    "zigquant_position_size", "zigquant_position_pnl", "zigquant_max_drawdown",
    "zigquant_position_count", "zigquant_var_95", "zigquant_cvar_95", "zigquant_alerts_total",
    "zigquant_strategy_equity", "zigquant_portfolio_equity", "zigquant_order_rejections_total",
)


def as_comparable(v):
    """JSON/metric values with NaN as a string, so equality is exact and NaN == NaN."""
    if isinstance(v, float):
        return "NaN" if math.isnan(v) else repr(v)
    if isinstance(v, dict):
        return {k: as_comparable(x) for k, x in v.items()}
    if isinstance(v, list):
        return [as_comparable(x) for x in v]
    return v


def frozen_state(zq) -> dict:
    summary = zq.api_json("/api/v1/metrics")
    summary.pop("uptime_seconds", None)
    positions = zq.api_json("/api/v1/positions")
    gauges = {f"{n}{dict(l)}": v for (n, l), v in zq.scrape().items()
              if n.removesuffix("_total") in {f.removesuffix("_total") for f in TRADING_FAMILIES}}
    return as_comparable({"summary": summary, "positions": positions, "metrics": gauges})


def wait_idle(zq, timeout: float = 60.0) -> dict:
    """Until the CSV is consumed (feeds no longer live), no order is open and the state is the
    same in two readings 1 s apart."""
    last = {}

    def idle():
        nonlocal last
        ready = zq.get("/ready").json()
        if ready.get("feeds_live"):
            return False
        s = frozen_state(zq)
        if s["summary"]["orders_total"]["open"] != 0:
            return False
        same = s == last
        last = s
        return same

    zq.wait_for("the CSV replay to finish and the state to settle", idle, timeout, interval=1.0)
    return last


def diff(a: dict, b: dict, prefix="") -> list[str]:
    out = []
    for k in sorted(set(a) | set(b), key=str):
        x, y = a.get(k, "<absent>"), b.get(k, "<absent>")
        if isinstance(x, dict) and isinstance(y, dict):
            out += diff(x, y, f"{prefix}{k}.")
        elif x != y:
            out.append(f"{prefix}{k}: before {x!r} after {y!r}")
    return out


def test_kill9_after_csv_replay_restores_statistics_exactly(zq_factory, tmp_path):
    rng = random.Random(SEED + 1)
    print(f"ZQ_CRASH_SEED={SEED}")
    bars = 320  # 8 s of replay at a bar per 25 ms
    zq = zq_factory("csv", config=csv_config(tmp_path, bars))
    # Two kills while the CSV is being replayed.
    for _ in range(2):
        zq.start()
        time.sleep(rng.uniform(1.0, 3.0))
        zq.kill9()
    zq.start()
    before = wait_idle(zq)
    fills = before["summary"]["trades_total"]
    assert fills > 10, f"the CSV replay should trade; it made {fills} fills"
    assert any(k.startswith("zigquant_win_rate") for k in before["metrics"]), before["metrics"].keys()
    print(f"frozen after the replay: {fills} fills, summary {before['summary']}")
    for round_ in range(2):
        zq.kill9()
        j = inspect_journal(journal_copy(zq.data_dir, tmp_path / f"copy{round_}"))
        assert j["integrity"] == [("ok",)], j["integrity"]
        assert len(j["fills"]) == fills
        zq.start()
        # Give a wrongly still-running feed the chance to show itself.
        time.sleep(1.0)
        after = frozen_state(zq)
        problems = diff(before, after)
        assert not problems, f"restart #{round_ + 1} changed the statistics:\n" + "\n".join(problems)
    zq.assert_no_panic()
