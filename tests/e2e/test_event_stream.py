"""GET /api/v1/events on the real binary: a client sees the stream open, sees a strategy stop
announced, and an open stream does not hold up shutdown (SIGTERM ends the stream, the process
exits well within the 10 s grace it gives open connections)."""
from __future__ import annotations

import os
import signal
import threading
import time

import requests

from zq_process import API_KEY, zq_factory  # noqa: F401


def test_stream_reports_changes_and_does_not_delay_shutdown(zq_factory):
    zq = zq_factory("events").start()
    lines: list[str] = []
    opened: list[tuple[int, str]] = []
    ended = threading.Event()

    def read():
        # An assert in this thread would not fail the test: the answer is checked below.
        with requests.get(zq.url + "/api/v1/events", headers={"Authorization": f"Bearer {API_KEY}"},
                          stream=True, timeout=(5, 30)) as r:
            opened.append((r.status_code, r.headers.get("Content-Type", "")))
            for line in r.iter_lines(decode_unicode=True):
                lines.append(line)
        ended.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    zq.wait_for("the stream to answer", lambda: opened, 10)
    assert opened == [(200, "text/event-stream")], opened
    zq.wait_for("the stream to open", lambda: "event: ready" in lines, 10)
    assert zq.api("POST", "/api/v1/strategies/sma_cross/stop").status_code == 200
    zq.wait_for("the stop to be streamed",
                lambda: any('"strategy":"sma_cross","running":false' in l for l in lines), 10)

    t0 = time.monotonic()
    os.killpg(zq.popen.pid, signal.SIGTERM)
    rc = zq.wait_exit(9)
    took = time.monotonic() - t0
    assert rc == 0, zq.log_tail()
    assert ended.wait(2), "the stream ended"
    assert took < 5, f"shutdown took {took:.1f} s with a stream open"
    zq.assert_no_panic()
