"""Headless Chromium driven by Selenium for the browser tests (test_browser.py).

Debian's `chromium` and `chromium-driver` (installed by scripts/test) are used as they are: the
driver path is given to Selenium explicitly, so Selenium Manager never tries to download one. A
missing browser, driver or Selenium fails the test with a message saying what to install.

Screenshots go to the test's temp dir and to ARTIFACTS_DIR (env ZQ_ARTIFACTS, default
target/e2e-artifacts), so a CI run keeps them.
"""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from zq_stack import find_tool

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS_DIR = Path(os.environ.get("ZQ_ARTIFACTS", ROOT / "target/e2e-artifacts"))

# Flags that work in a container without a GPU, a sandbox or a network.
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--disable-dev-shm-usage", "--window-size=1440,1100", "--hide-scrollbars"]
# Where Debian's chromium and chromium-driver may sit off PATH.
CHROMIUM_DIRS = ("/usr/bin", "/usr/lib/chromium")


def start_chromium(profile_dir: Path):
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        pytest.fail("selenium is not installed: `python3 -m pip install selenium` (scripts/test does)")
    options = webdriver.ChromeOptions()
    options.binary_location = find_tool("CHROMIUM_BIN", "chromium", "chromium-browser", dirs=CHROMIUM_DIRS)
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile_dir}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    service = Service(executable_path=find_tool("CHROMEDRIVER_BIN", "chromedriver", dirs=CHROMIUM_DIRS))
    return webdriver.Chrome(options=options, service=service)


def console_errors(driver) -> list[dict]:
    return [e for e in driver.get_log("browser") if e.get("level") == "SEVERE"]


def requested_urls(driver) -> list[str]:
    """Every URL pages asked the network stack for since the last call (performance log),
    except those of the browser's own pages (its new-tab page, chrome://...), which it may load
    before or while the test navigates."""
    urls = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message.get("method") == "Network.requestWillBeSent":
            params = message["params"]
            if params.get("documentURL", "").startswith("chrome://"):
                continue
            urls.append(params["request"]["url"])
    return urls


def save_screenshot(driver, tmp_path: Path, name: str) -> Path:
    shot = tmp_path / name
    driver.save_screenshot(str(shot))
    ARTIFACTS_DIR.mkdir(parents=True, exist_ok=True)
    kept = ARTIFACTS_DIR / name
    shutil.copyfile(shot, kept)
    print(f"screenshot: {kept}")
    return kept
