"""The live dashboard and the backtest report in a real headless Chromium (Selenium).

test_dashboard_shows_the_api_numbers_and_controls_strategies
    zigquant runs 400 bars unpaced and then idles, so every number holds still. `/` shows the
    key prompt and asks the API for nothing; after the key is entered the page shows, without a
    reload, the same equity, fill count, strategy states, trade counts, equities and positions
    as /api/v1/...; it keeps refreshing (at least every 2 s); the Stop control (after its
    confirmation dialog) stops a strategy, which the API then reports stopped and the page and
    its event stream show; with the key in sessionStorage a reload renders data in under 1 s.
    The console has no error and every request went to zigquant's own origin. Headers: strict
    CSP, nosniff, Referrer-Policy, ETag (304 on revalidation), gzip.

test_backtest_report_draws_and_matches_the_json_report
    `backtest --report` on GOOG-like daily data (2 148 bars, generated here from a fixed seed):
    the file has no external reference, opens from file://, draws its three charts with one
    marker per trade entry and exit, and its statistics and trade list equal `--format json`.
"""
from __future__ import annotations

import gzip
import json
import math
import random
import re
import subprocess
import time
from datetime import date, timedelta
from pathlib import Path

import pytest
import requests

from browser import console_errors, requested_urls, save_screenshot, start_chromium
from zq_process import API_KEY, default_config, patch, zigquant_binary, zq_factory  # noqa: F401

DASH = "\u2013"


@pytest.fixture
def driver(tmp_path):
    d = start_chromium(tmp_path / "chromium-profile")
    yield d
    d.quit()


def wait(what: str, fn, timeout: float = 15.0, interval: float = 0.1):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = fn()
            if last:
                return last
        except Exception as e:  # noqa: BLE001 - an element mid-redraw; try again
            last = e
        time.sleep(interval)
    pytest.fail(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


SPECIAL = {"NaN": math.nan, "+Inf": math.inf, "-Inf": -math.inf, "Infinity": math.inf, "-Infinity": -math.inf}


def api_number(v) -> float:
    """A number as the API writes it (JSON number or "NaN"/"+Inf"/"-Inf"), or a data-raw text."""
    return SPECIAL[v] if isinstance(v, str) and v in SPECIAL else float(v)


def same_number(raw: str, api_value) -> bool:
    a, b = api_number(raw), api_number(api_value)
    if math.isnan(b):
        return math.isnan(a)
    return a == b


def money(v) -> str:
    x = api_number(v)
    return f"{x:,.2f}" if math.isfinite(x) else DASH


def idle_config() -> str:
    return patch(default_config(), ("pacing = true", "pacing = false"), ("max_bars = 0", "max_bars = 400"))


def by_id(driver, element_id: str):
    from selenium.webdriver.common.by import By
    return driver.find_element(By.ID, element_id)


def css(driver, selector: str):
    from selenium.webdriver.common.by import By
    return driver.find_elements(By.CSS_SELECTOR, selector)


def test_dashboard_shows_the_api_numbers_and_controls_strategies(zq_factory, driver, tmp_path):
    zq = zq_factory("ui", config=idle_config())
    zq.start()
    zq.wait_for("the engine to finish its 400 bars",
                lambda: zq.api_json("/api/v1/metrics")["equity_samples"] >= 400, 60)
    time.sleep(0.5)

    # Headers of the page and its files.
    page = requests.get(zq.url + "/", headers={"Accept-Encoding": "gzip"}, timeout=5)
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    csp = page.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    assert page.headers["Referrer-Policy"] == "no-referrer"
    assert page.headers.get("Content-Encoding") == "gzip"
    assert "Set-Cookie" not in page.headers
    etag = page.headers["ETag"]
    again = requests.get(zq.url + "/", headers={"If-None-Match": etag}, timeout=5)
    assert again.status_code == 304 and again.content == b""
    raw = requests.get(zq.url + "/ui/dashboard.js", headers={"Accept-Encoding": "identity"}, timeout=5)
    assert raw.status_code == 200 and "Content-Encoding" not in raw.headers and b"sessionStorage" in raw.content
    missing = requests.get(zq.url + "/ui/nope.js", timeout=5)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"

    # Without a key: the prompt, no data, no API request.
    requested_urls(driver)  # drop what the browser's own start page loaded
    driver.get(zq.url + "/")
    wait("the key prompt", lambda: by_id(driver, "login").is_displayed())
    assert not by_id(driver, "dashboard").is_displayed()
    assert by_id(driver, "kpi-equity").get_attribute("textContent") == DASH
    before_key = requested_urls(driver)
    assert not [u for u in before_key if "/api/" in u or "/metrics" in u], before_key
    assert not console_errors(driver)

    # A wrong key is refused and not kept (its 401 is the one console error allowed: drained).
    by_id(driver, "key").send_keys("not-the-key-0123456789")
    by_id(driver, "login-submit").click()
    wait("the refusal", lambda: by_id(driver, "login-error").text == "That key was refused.")
    assert driver.execute_script("return sessionStorage.getItem('zigquant.apiKey')") is None
    assert not by_id(driver, "dashboard").is_displayed()
    refused = console_errors(driver)
    assert all("401" in e["message"] for e in refused), refused
    save_screenshot(driver, tmp_path, "dashboard-key-prompt.png")

    # With the key: data, refreshed without a reload.
    by_id(driver, "key").send_keys(API_KEY)
    by_id(driver, "login-submit").click()
    wait("the first refresh", lambda: int(driver.execute_script("return document.body.dataset.refreshes || 0")) >= 1)
    refreshes = int(driver.execute_script("return document.body.dataset.refreshes"))
    time.sleep(2.2)
    assert int(driver.execute_script("return document.body.dataset.refreshes")) >= refreshes + 2, \
        "the page refreshes at least every second"
    assert driver.execute_script("return sessionStorage.getItem('zigquant.apiKey')") == API_KEY
    assert driver.get_cookies() == []

    summary = zq.api_json("/api/v1/metrics")
    strategies = zq.api_json("/api/v1/strategies")["items"]
    positions = zq.api_json("/api/v1/positions")["items"]
    equity_el = by_id(driver, "kpi-equity")
    assert same_number(equity_el.get_attribute("data-raw"), summary["equity"])
    assert equity_el.text == money(summary["equity"])
    assert by_id(driver, "kpi-fills").text == f"{summary['trades_total']:,}"
    assert summary["trades_total"] > 0, "the idle run traded"
    assert by_id(driver, "kpi-open").text == f"{summary['orders_total']['open']:,}"
    for s in strategies:
        row = css(driver, f'#strategies tr[data-key="{s["name"]}"]')
        assert row, f"no row for {s['name']}"
        cells = {c: row[0].find_elements("css selector", f"td.{c}")[0] for c in
                 ("c-state", "c-trades", "c-equity", "c-sharpe")}
        assert cells["c-state"].text == ("running" if s["running"] else "stopped")
        assert cells["c-trades"].text == f"{s['closed_trades']:,}"
        assert cells["c-equity"].text == money(s["equity"])
        assert same_number(cells["c-equity"].get_attribute("data-raw"), s["equity"])
        if isinstance(s["sharpe"], str):
            assert cells["c-sharpe"].text == DASH, "NaN/inf show as a dash"
    assert len(css(driver, "#positions tbody tr")) == max(1, len(positions))
    points = int(by_id(driver, "chart-equity").get_attribute("data-points"))
    assert points > 10, "the equity chart has data"
    assert css(driver, "#chart-equity path.chart-line") and css(driver, "#chart-drawdown path.chart-line")
    # The chart's scope: one strategy's equity, then the portfolio again.
    from selenium.webdriver.support.ui import Select
    Select(by_id(driver, "scope")).select_by_value("sma_cross")
    wait("the sma_cross equity chart", lambda: css(driver, '#chart-equity svg[aria-label="sma_cross equity"] path.chart-line'))
    Select(by_id(driver, "scope")).select_by_value("portfolio")
    wait("the portfolio chart again", lambda: css(driver, '#chart-equity svg[aria-label="portfolio equity"]'))
    wait("the event stream", lambda: by_id(driver, "stream-state").get_attribute("textContent") == "live")
    wait("the exchange link status", lambda: len(css(driver, "#links .link")) == 2)
    wait("process memory", lambda: by_id(driver, "mem-rss").text not in ("", DASH))

    # Stop a running strategy with the control.
    name = next(s["name"] for s in strategies if s["running"] and s["name"] == "sma_cross")
    button = css(driver, f'#strategies tr[data-key="{name}"] td.c-control button')[0]
    assert button.text == "Stop"
    button.click()
    alert = wait("the confirmation dialog", lambda: driver.switch_to.alert)
    assert name in alert.text
    alert.accept()
    wait("the API to report the strategy stopped",
         lambda: zq.api_json(f"/api/v1/strategies/{name}")["running"] is False)
    wait("the page to show it stopped",
         lambda: css(driver, f'#strategies tr[data-key="{name}"] td.c-state')[0].text == "stopped")
    wait("the stream to report it", lambda: f"{name} stopped" in by_id(driver, "events").text)
    driver.set_window_size(1440, 1500)  # the whole page in one picture
    time.sleep(1.5)
    save_screenshot(driver, tmp_path, "dashboard.png")

    # A reload with the key in sessionStorage: first render with data under 1 s.
    driver.refresh()
    wait("data after the reload", lambda: driver.execute_script("return document.body.dataset.firstRenderMs"))
    first_ms = int(driver.execute_script("return document.body.dataset.firstRenderMs"))
    print(f"first render with data after navigation: {first_ms} ms")
    assert first_ms < 1000, f"first render took {first_ms} ms"

    errors = console_errors(driver)
    assert not errors, f"console errors: {errors}"
    urls = requested_urls(driver) + before_key
    foreign = [u for u in urls if not u.startswith(zq.url + "/")]
    assert not foreign, f"requests to other hosts: {foreign}"
    zq.assert_no_panic()


def goog_like_csv(path: Path, bars: int = 2148, seed: int = 20040819) -> None:
    """Daily OHLCV shaped like backtesting.py's GOOG sample (2004-08-19 on, weekdays, ~100 to
    ~800 USD, 2 % daily volatility): a seeded random walk, identical on every run."""
    rng = random.Random(seed)
    day = date(2004, 8, 19)
    close = 100.0
    lines = ["Date,Open,High,Low,Close,Volume"]
    for _ in range(bars):
        while day.weekday() >= 5:
            day += timedelta(days=1)
        open_ = close * math.exp(rng.gauss(0.0, 0.006))
        close = open_ * math.exp(rng.gauss(0.0009, 0.019))
        high = max(open_, close) * (1 + abs(rng.gauss(0, 0.008)))
        low = min(open_, close) * (1 - abs(rng.gauss(0, 0.008)))
        volume = int(rng.uniform(1e6, 2e7))
        lines.append(f"{day.isoformat()},{open_:.2f},{high:.2f},{low:.2f},{close:.2f},{volume}")
        day += timedelta(days=1)
    path.write_text("\n".join(lines) + "\n")


def backtest(*args: str) -> subprocess.CompletedProcess:
    out = subprocess.run([str(zigquant_binary()), "backtest", *args], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, f"backtest {args} failed: {out.stderr}"
    return out


def test_backtest_report_draws_and_matches_the_json_report(driver, tmp_path):
    data = tmp_path / "goog_like.csv"
    goog_like_csv(data)
    common = ["--data", str(data), "--strategy", "sma_cross", "--fast", "10", "--slow", "30",
              "--periods-per-year", "252", "--fee-rate", "0.001"]
    reference = json.loads(backtest(*common, "--format", "json").stdout)
    report = tmp_path / "report.html"
    table = backtest(*common, "--format", "table", "--report", str(report))
    assert f"Report: {report}" in table.stdout
    assert table.stderr == "", "no progress bar when stderr is not a terminal"
    # The hyphenated spelling is an alias; mean_reversion works too.
    assert json.loads(backtest(*common[:2], "--strategy", "sma-cross", "--format", "json").stdout)["stats"]
    assert json.loads(backtest(*common[:2], "--strategy", "mean_reversion", "--format", "json").stdout)["stats"]

    html = report.read_text()
    assert len(reference["trades"]) > 10
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html), "no external reference"
    assert "<link" not in html and "@import" not in html

    requested_urls(driver)  # drop what the browser's own start page loaded
    driver.get(report.as_uri())
    wait("the charts", lambda: driver.execute_script("return document.body.dataset.drawn") == "true")
    for chart in ("chart-price", "chart-report-equity", "chart-report-drawdown"):
        assert css(driver, f"#{chart} path.chart-line"), f"{chart} has a line"
    markers = css(driver, "#chart-price polygon.marker")
    assert len(markers) == 2 * len(reference["trades"]), "one marker per entry and per exit"

    stats = reference["stats"]
    cells = css(driver, "#stats td[data-key]")
    assert {c.get_attribute("data-key") for c in cells} == set(stats), "every statistic is shown"
    for cell in cells:
        k = cell.get_attribute("data-key")
        assert same_number(cell.get_attribute("data-raw"), stats[k]), (k, cell.get_attribute("data-raw"), stats[k])
    final = next(c for c in cells if c.get_attribute("data-key") == "final_equity")
    assert final.text == money(stats["final_equity"])
    rows = css(driver, "#trades tbody tr")
    assert len(rows) == len(reference["trades"])
    for row, trade in zip(rows, reference["trades"]):
        tds = row.find_elements("css selector", "td")
        assert tds[3].get_attribute("textContent") == trade["entry_time"]
        assert tds[5].get_attribute("textContent") == trade["exit_time"]
        assert same_number(tds[8].get_attribute("data-raw"), trade["realized_pnl"])
    save_screenshot(driver, tmp_path, "backtest-report.png")

    errors = console_errors(driver)
    assert not errors, f"console errors: {errors}"
    foreign = [u for u in requested_urls(driver) if not u.startswith("file://")]
    assert not foreign, f"the report requested {foreign}"
