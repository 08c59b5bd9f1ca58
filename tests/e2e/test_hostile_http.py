"""Hostile HTTP over a real socket against the real binary.

test_hostile_requests_are_answered_bounded_and_flat (about 25 s)
    Thousands of requests, each opened on its own TCP connection and written as raw bytes:
    random paths, methods and headers, oversized and malformed bodies, broken framing,
    injection strings in the path, the query, header names and values and JSON values. A warm-up
    pass of the same generator comes first. Then: zero panics on stderr; every answer to a bad
    request is a 4xx/5xx; every answer that reaches the application (well-formed HTTP) carries
    a JSON body {"error": {"code", "message"}}; requests so malformed that the HTTP parser
    rejects them (bad request line, bad header bytes, bad chunk sizes) get a bare 4xx from the
    HTTP layer or a closed connection, never a 2xx; the set of series in /metrics after the run
    is exactly the set after the warm-up; every api_requests_total label value is in its closed
    domain; RSS grows by less than RSS_BOUND_KB and the allocator's live heap by less than
    HEAP_BOUND_BYTES between the end of the warm-up and the end of the run.

test_slow_and_idle_clients_cannot_hold_the_server (about 20 s)
    SLOW slowloris connections (a header byte every 0.5 s) and IDLE connections (connect, send
    nothing) are held open while normal requests run: every normal request is answered, p99
    under 250 ms; the server closes every slow and idle connection within the header-read
    timeout (+ margin), and zigquant_api_connections_active comes back to its baseline.

test_keys_never_leak (about 5 s)
    Every /api/v1 route over a real socket rejects a missing, malformed or wrong key with a JSON
    401; with ZQ_LOG=trace, neither the real key nor the wrong one appears on stderr, nor in
    /metrics (text or OpenMetrics).

test_generated_key_never_leaks (about 1 s)
    The same for the key zigquant generates into <data-dir>/api_key (which must be mode 0600).

Protocol-level garbage (a broken request line, forbidden header bytes, bad chunk sizes, too many
headers) is answered by hyper itself before any application code runs: a bare 400/431 without a
body, or a closed connection. Everything that parses as HTTP gets the JSON error body.
"""
from __future__ import annotations

import json
import random
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from zq_process import API_KEY, default_config, parse_metrics, patch, zq_factory  # noqa: F401

WARMUP = 5000
HOSTILE = 20000
RSS_BOUND_KB = 4096
HEAP_BOUND_BYTES = 1 << 20
# The server's header-read timeout (crates/server/src/serve.rs, HEADER_READ_TIMEOUT).
HEADER_READ_TIMEOUT_S = 10.0

INJECTIONS = [
    "' OR '1'='1' --", "\"; DROP TABLE fills; --", "<script>alert(1)</script>", "../../../../etc/passwd",
    "..%2f..%2f..%2fetc%2fpasswd", "%00", "%ff%fe", "${jndi:ldap://127.0.0.1/a}", "{{7*7}}", "$(id)",
    "`reboot`", "|cat /etc/shadow", "\\x00\\x01", "%0d%0aSet-Cookie:%20x=y", "A" * 5000,
    "\u202e\u0000\ufeff", "日本語🚀", "NaN", "-1", "1e309", "18446744073709551616", "null", "[]",
    "{\"$gt\": \"\"}", "%s%s%s%n", "zigquant_trades_total{strategy=\"x\"} 1e9",
]
METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "BREW", "PROPFIND",
           "get", "M-SEARCH", "X" * 40]
ROUTES = ["/health", "/ready", "/metrics", "/api/v1/strategies", "/api/v1/strategies/sma_cross",
          "/api/v1/strategies/{x}", "/api/v1/strategies/{x}/start", "/api/v1/strategies/{x}/stop",
          "/api/v1/orders", "/api/v1/orders/{x}", "/api/v1/positions", "/api/v1/trades",
          "/api/v1/metrics", "/api/v1/openapi.json", "/api/v2/{x}", "/{x}", "/api/v1/{x}/{x}"]


def pct(s: str, rng: random.Random) -> str:
    """The string as it may appear in a request target: percent-encoded bytes, or raw where
    that is still a valid request line."""
    out = []
    for b in s.encode("utf-8"):
        c = chr(b)
        if c.isalnum() or (c in "-._~%$'!*()+,;=:@" and rng.random() < 0.7):
            out.append(c)
        else:
            out.append(f"%{b:02X}")
    return "".join(out)


def inj(rng: random.Random) -> str:
    return rng.choice(INJECTIONS) if rng.random() < 0.8 else "".join(
        chr(rng.randrange(32, 0x2FF)) for _ in range(rng.randrange(1, 30)))


class Req:
    def __init__(self, kind: str, data: bytes, protocol_garbage: bool = False, maybe_ok: bool = False):
        self.kind, self.data = kind, data
        self.protocol_garbage = protocol_garbage  # the HTTP parser may reject it before the app
        self.maybe_ok = maybe_ok  # a valid request: 2xx is a correct answer


def http(method: str, target: str, headers: list[tuple[str, str]], body: bytes = b"") -> bytes:
    head = f"{method} {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
    for k, v in headers:
        head += f"{k}: {v}\r\n"
    if body or method in ("POST", "PUT", "PATCH"):
        head += f"Content-Length: {len(body)}\r\n"
    return head.encode("utf-8", "surrogateescape") + b"\r\n" + body


def auth(rng: random.Random) -> list[tuple[str, str]]:
    r = rng.random()
    if r < 0.45:
        return [("Authorization", f"Bearer {API_KEY}")]
    if r < 0.6:
        return []
    if r < 0.8:
        return [("Authorization", f"Bearer {pct(inj(rng), rng)[:200]}")]
    return [("Authorization", rng.choice(["Basic dXNlcjpwYXNz", "Bearer", "Bearer  " + API_KEY,
                                          API_KEY, "Bearer " + API_KEY + "x", "Digest x"]))]


def random_headers(rng: random.Random, n: int) -> list[tuple[str, str]]:
    out = []
    for _ in range(n):
        name = rng.choice(["X-Injected", "Accept", "Accept-Encoding", "Cookie", "User-Agent",
                           "X-Forwarded-For", "Content-Type", "Referer", "X-" + "a" * 200])
        value = pct(inj(rng), rng)[:2000]
        out.append((name, value))
    return out


def order_body(rng: random.Random, choice: int | None = None) -> bytes:
    choice = rng.randrange(12) if choice is None else choice
    if choice == 0:
        return b"{" * rng.randrange(1, 5000)                       # unbalanced / deeply nested
    if choice == 1:
        return b"[" * 200 + b"]" * 200
    if choice == 2:
        return bytes(rng.randrange(256) for _ in range(rng.randrange(1, 300)))  # binary garbage
    if choice == 3:
        return json.dumps({"pair": inj(rng), "side": "buy", "type": "market", "qty": 0.01}).encode()
    if choice == 4:
        return json.dumps({"pair": "BTC-USDT", "side": inj(rng), "qty": inj(rng)}).encode()
    if choice == 5:
        return json.dumps({"pair": "BTC-USDT", "side": "buy", "type": "limit", "qty": 1e308,
                           "price": -1e-320, "strategy": inj(rng), "exchange": inj(rng)}).encode()
    if choice == 6:
        return b'{"pair":"BTC-USDT","side":"buy","qty":NaN}'
    if choice == 7:
        return json.dumps({inj(rng): inj(rng), "pair": "BTC-USDT"}).encode()
    if choice == 8:
        return b'{"pair":"BTC-USDT","side":"buy","qty":0.01,"pair":"ETH-USDT"}'
    if choice == 9:
        return b'"\xff\xfe invalid utf8 \xc3\x28"'
    if choice == 10:
        return json.dumps({"pair": "BTC-USDT", "side": "buy", "qty": -5}).encode()
    return b"{}"


def generate(rng: random.Random) -> Req:
    k = rng.randrange(14)
    if k == 0:  # random path, random method
        target = "/" + "/".join(pct(inj(rng), rng) for _ in range(rng.randrange(1, 5)))
        return Req("random-path", http(rng.choice(METHODS), target, auth(rng)))
    if k == 1:  # injected path parameters on real routes
        route = rng.choice(ROUTES).replace("{x}", pct(inj(rng), rng)[:500])
        method = rng.choice(["GET", "POST", "DELETE"])
        body = order_body(rng) if method == "POST" else b""
        return Req("route-param", http(method, route, auth(rng) + [("Content-Type", "application/json")], body),
                   maybe_ok=True)
    if k == 2:  # injected query strings
        q = "&".join(f"{pct(rng.choice(['status', 'limit', 'offset', 'strategy', 'pair', inj(rng)]), rng)}="
                     f"{pct(inj(rng), rng)}" for _ in range(rng.randrange(1, 6)))
        path = rng.choice(["/api/v1/orders", "/api/v1/trades"])
        # A filter on an unknown pair or strategy is a valid query (an empty page).
        return Req("query", http("GET", f"{path}?{q}", auth(rng)), maybe_ok=True)
    if k == 3:  # malformed / hostile JSON bodies
        ctype = rng.choice(["application/json", "application/json; charset=utf-8", "text/plain",
                            "application/x-www-form-urlencoded", pct(inj(rng), rng)[:100]])
        return Req("json-body", http("POST", "/api/v1/orders", [("Authorization", f"Bearer {API_KEY}"),
                                                               ("Content-Type", ctype)], order_body(rng)))
    if k == 4:  # oversized body (limit: 64 KiB)
        size = rng.choice([65537, 100_000, 300_000])
        body = b'{"pair":"' + b"A" * size + b'"}'
        return Req("oversized", http("POST", "/api/v1/orders", [("Authorization", f"Bearer {API_KEY}"),
                                                               ("Content-Type", "application/json")], body))
    if k == 5:  # random headers on routes (valid requests otherwise)
        route = rng.choice(["/api/v1/strategies", "/api/v1/positions", "/nope", "/api/v1/orders/1"])
        return Req("headers", http("GET", route, auth(rng) + random_headers(rng, rng.randrange(1, 20))),
                   maybe_ok=True)
    if k == 6:  # metrics with hostile negotiation headers
        return Req("metrics-headers", http("GET", "/metrics", [
            ("Accept", pct(inj(rng), rng)[:300]), ("Accept-Encoding", pct(inj(rng), rng)[:300])]), maybe_ok=True)
    if k == 7:  # wrong method on real routes
        route = rng.choice(["/health", "/metrics", "/api/v1/positions", "/api/v1/trades"])
        return Req("method", http(rng.choice(["PUT", "PATCH", "DELETE", "POST", "BREW"]), route,
                                  [("Authorization", f"Bearer {API_KEY}")], b"x"))
    if k == 8:  # protocol garbage: request lines the parser rejects
        data = rng.choice([b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03" + bytes(40),  # TLS hello
                           b"GET /\x00 HTTP/1.1\r\n\r\n", b"GET / HTTP/9.9\r\n\r\n",
                           b"GET  / HTTP/1.1\r\nHost: x\r\n\r\n",
                           b"GET / HTTP/1.1\r\nBad Header\r\n\r\n", b"GET / HTTP/1.1\r\n: empty\r\n\r\n",
                           b"GET /" + b"a" * 70_000 + b" HTTP/1.1\r\n\r\n",
                           bytes(rng.randrange(256) for _ in range(200)) + b"\r\n\r\n"])
        return Req("garbage", data, protocol_garbage=True)
    if k == 9 and rng.random() < 0.2:
        # Blank lines only: no request at all (the parser skips them and waits); the client
        # then half-closes, as a client that gave up would.
        return Req("no-request", b"\r\n\r\n\r\n", protocol_garbage=True)
    if k == 9:  # header bytes that are not allowed
        data = b"GET /api/v1/positions HTTP/1.1\r\nHost: x\r\nX-Bad: a\x00b\x7f\r\n\r\n"
        return Req("bad-header-bytes", data, protocol_garbage=True)
    if k == 10:  # broken framing: bad chunked encoding, conflicting lengths
        data = rng.choice([
            b"POST /api/v1/orders HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
            b"Authorization: Bearer " + API_KEY.encode() + b"\r\nContent-Type: application/json\r\n\r\nzz\r\nabc\r\n0\r\n\r\n",
            b"POST /api/v1/orders HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 7\r\n\r\nabcdefg",
            b"POST /api/v1/orders HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
            b"POST /api/v1/orders HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
            b"Authorization: Bearer " + API_KEY.encode() + b"\r\n\r\nffffffffffffffffff\r\n",
        ])
        return Req("framing", data, protocol_garbage=True)
    if k == 11:  # too many headers
        hs = [(f"X-H{i}", "v") for i in range(rng.choice([120, 200]))]
        return Req("many-headers", http("GET", "/api/v1/positions", hs), protocol_garbage=True)
    if k == 12:  # a body on a GET, injected strategy start/stop
        name = pct(inj(rng), rng)[:300]
        return Req("strategy-ctl", http("POST", f"/api/v1/strategies/{name}/{rng.choice(['start', 'stop'])}",
                                        auth(rng), order_body(rng)))
    # k == 13: orders by hostile id
    oid = rng.choice(["-1", "0", "18446744073709551616", "1.5", "abc", pct(inj(rng), rng)[:200], "9" * 40])
    return Req("order-id", http(rng.choice(["GET", "DELETE"]), f"/api/v1/orders/{oid}", auth(rng)))


def exchange(port: int, data: bytes, timeout: float = 10.0, half_close: bool = False):
    """Sends raw bytes on a new connection; returns (status, headers, body) or None when the
    server closed without an answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        try:
            s.sendall(data)
            if half_close:
                s.shutdown(socket.SHUT_WR)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server may answer and close before reading everything (oversized bodies)
        buf = b""
        try:
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                buf += chunk
        except ConnectionResetError:
            pass
    if not buf:
        return None
    head, _, body = buf.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ")
    assert parts[0].startswith("HTTP/1."), f"not an HTTP answer: {buf[:200]!r}"
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    if headers.get("transfer-encoding") == "chunked":
        out, rest = b"", body
        while rest:
            size_line, _, rest = rest.partition(b"\r\n")
            size = int(size_line.split(b";")[0], 16)
            if size == 0:
                break
            out, rest = out + rest[:size], rest[size + 2:]
        body = out
    return int(parts[1]), headers, body


def check_answer(req: Req, answer, problems: list, stats: dict):
    stats[req.kind] = stats.get(req.kind, 0) + 1
    method = req.data.split(b" ", 1)[0]
    if answer is None:
        if not req.protocol_garbage:
            problems.append(f"{req.kind}: connection closed without an answer: {req.data[:150]!r}")
        return
    status, headers, body = answer
    if status < 400:
        if not req.maybe_ok:
            problems.append(f"{req.kind}: bad request answered {status}: {req.data[:150]!r}")
        return
    if status >= 500 and status != 503:
        problems.append(f"{req.kind}: server error {status}: {req.data[:150]!r} -> {body[:200]!r}")
    if not body and (req.protocol_garbage or method == b"HEAD"):
        return  # the HTTP layer's own bare 4xx
    if status == 503 and req.data.startswith(b"GET /ready "):
        assert json.loads(body)["status"] == "not_ready"  # readiness, not an error
        return
    try:
        doc = json.loads(body)
        assert isinstance(doc["error"]["code"], str) and isinstance(doc["error"]["message"], str)
        assert headers.get("content-type", "").startswith("application/json")
    except Exception as e:  # noqa: BLE001
        problems.append(f"{req.kind}: {status} without a JSON error body ({e!r}): {req.data[:150]!r} -> {body[:200]!r}")


def sweep() -> list[Req]:
    """Every route x method x auth class x body class once: the deterministic part of the
    warm-up, so that the (method, route template, status) combinations the random corpus can
    reach all exist before the series are counted."""
    rng = random.Random(0)
    auths = [[("Authorization", f"Bearer {API_KEY}")], [], [("Authorization", "Bearer wrong-key-0123456789")]]
    bodies = [None] + [order_body(rng, c) for c in range(12)]
    out = []
    for route in ROUTES:
        for x in ("sma_cross", "1", "%ff", "%00"):
            target = route.replace("{x}", x)
            for method in METHODS:
                for a in auths:
                    for body in (bodies if method in ("POST", "PUT", "PATCH") else [None]):
                        for ctype in ("application/json", "text/plain"):
                            out.append(Req("sweep", http(method, target, a + [("Content-Type", ctype)], body or b""),
                                           maybe_ok=True))
                            if body is None:
                                break
    for path in ("/api/v1/orders", "/api/v1/trades"):
        for q in ("status=filled", "status=x", "limit=0", "limit=-1", "limit=5", "offset=x", "offset=99999999999",
                  "strategy=x", "pair=x", "x=1", "limit=1e99", "status=%00"):
            for a in auths:
                out.append(Req("sweep", http("GET", f"{path}?{q}", a), maybe_ok=True))
    for _ in range(50):
        out.append(generate(rng))
    return out


def run_corpus(port: int, seed: int, n: int, workers: int = 6, extra: list[Req] = ()):
    rng = random.Random(seed)
    reqs = list(extra) + [generate(rng) for _ in range(n)]
    problems: list[str] = []
    stats: dict[str, int] = {}
    lock = threading.Lock()

    def one(req):
        ans = exchange(port, req.data, half_close=req.kind == "no-request")
        with lock:
            check_answer(req, ans, problems, stats)

    t0 = time.monotonic()
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(one, reqs))
    return problems, stats, time.monotonic() - t0


def idle_config() -> str:
    # The engine runs 60 bars as fast as it can and then has nothing to do, so memory and
    # series move only because of HTTP.
    # The per-address limits are off: these tests send thousands of unauthenticated and random
    # requests from one address on purpose, to see every answer the routes give; throttling them
    # would hide that. The limits have their own tests (test_security.py, tests/limits.rs).
    return patch(default_config(), ("pacing = true", "pacing = false"), ("max_bars = 0", "max_bars = 60"),
                 ("auth_failures_per_minute = 10", "auth_failures_per_minute = 1000000"),
                 ("requests_per_second = 1000", "requests_per_second = 0"))


def series_keys(text: str) -> set:
    return {(n, labels) for (n, labels) in parse_metrics(text)}


def heap_bytes(zq) -> float:
    return zq.scrape()[("zigquant_memory_bytes", (("type", "heap"),))]


def test_hostile_requests_are_answered_bounded_and_flat(zq_factory):
    zq = zq_factory("hostile", config=idle_config())
    zq.start()
    zq.wait_for("the engine to finish its 60 bars", lambda: zq.api_json("/api/v1/metrics")["equity_samples"] >= 60, 30)
    seed = random.randrange(1 << 30)
    print(f"hostile corpus seed {seed}")
    warm = sweep()
    problems, stats, dt = run_corpus(zq.port, seed, WARMUP, extra=warm)
    print(f"warm-up: {len(warm)} sweep + {WARMUP} random requests in {dt:.1f}s")
    assert not problems, f"{len(problems)} problems in the warm-up:\n" + "\n".join(problems[:30])
    warm_series = series_keys(zq.metrics_text())
    rss0, heap0 = zq.rss_kb(), heap_bytes(zq)
    problems, stats, dt = run_corpus(zq.port, seed + 1, HOSTILE)
    print(f"{HOSTILE} hostile requests in {dt:.1f}s ({HOSTILE / dt:.0f}/s): {stats}")
    assert not problems, f"{len(problems)} problems:\n" + "\n".join(problems[:30])
    zq.assert_no_panic()
    text = zq.metrics_text()
    after = series_keys(text)
    assert after == warm_series, f"series changed after warm-up: +{sorted(after - warm_series)[:20]} -{sorted(warm_series - after)[:20]}"
    methods = {"GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "OTHER", "CONNECT", "TRACE"}
    paths = {"/health", "/ready", "/metrics", "/api/v1/openapi.json", "/api/v1/strategies",
             "/api/v1/strategies/{name}", "/api/v1/strategies/{name}/start",
             "/api/v1/strategies/{name}/stop", "/api/v1/orders", "/api/v1/orders/{id}",
             "/api/v1/positions", "/api/v1/trades", "/api/v1/metrics", "/api/v1/equity",
             "/api/v1/alerts", "/api/v1/events", "/api/v1/audit", "/", "/ui/{file}", "unmatched"}
    for (name, labels) in after:
        if name.startswith("zigquant_api_"):
            d = dict(labels)
            assert d.get("method", "GET") in methods, (name, d)
            assert d.get("path", "/health") in paths, (name, d)
    rss1, heap1 = zq.rss_kb(), heap_bytes(zq)
    print(f"RSS {rss0} -> {rss1} kB, heap {heap0:.0f} -> {heap1:.0f} bytes, series {len(after)}")
    assert rss1 - rss0 < RSS_BOUND_KB, f"RSS grew {rss1 - rss0} kB over {HOSTILE} hostile requests"
    assert heap1 - heap0 < HEAP_BOUND_BYTES, f"live heap grew {heap1 - heap0:.0f} bytes"
    # Still healthy and answering.
    assert zq.get("/health").status_code == 200
    assert zq.api("GET", "/api/v1/strategies").status_code == 200


def test_slow_and_idle_clients_cannot_hold_the_server(zq_factory):
    zq = zq_factory("slow", config=idle_config())
    zq.start()
    conn_gauge = ("zigquant_api_connections_active", ())
    zq.session.close()
    baseline = zq.scrape()[conn_gauge]
    # A keep-alive connection the client just closed is counted until the server reads its
    # end; let the gauge settle so the baseline is not one too high (the scrape's own is 1).
    settle = time.monotonic() + 5
    while baseline > 1 and time.monotonic() < settle:
        zq.session.close()
        time.sleep(0.05)
        baseline = zq.scrape()[conn_gauge]
    zq.session.close()
    n_slow, n_idle = 60, 60
    slow, idle = [], []
    for _ in range(n_slow):
        s = socket.create_connection(("127.0.0.1", zq.port), timeout=5)
        s.sendall(b"GET /api/v1/positions HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        slow.append(s)
    for _ in range(n_idle):
        idle.append(socket.create_connection(("127.0.0.1", zq.port), timeout=5))
    opened = time.monotonic()
    closed_at: dict[int, float] = {}

    def note_if_closed(s):
        """Records when the server closed `s`: a non-blocking read sees EOF or an error."""
        s.setblocking(False)
        try:
            if s.recv(4096) == b"":
                closed_at[id(s)] = time.monotonic() - opened
        except BlockingIOError:
            pass
        except OSError:
            closed_at[id(s)] = time.monotonic() - opened
        finally:
            s.setblocking(True)

    latencies = []
    try:
        held = zq.scrape()[conn_gauge]
        assert held >= baseline + n_slow + n_idle, f"connections_active {held}, baseline {baseline}"
        deadline = opened + HEADER_READ_TIMEOUT_S + 8
        tick = 0
        while time.monotonic() < deadline and len(closed_at) < n_slow + n_idle:
            # Slowloris: one more header byte on every slow connection.
            for s in slow:
                if id(s) in closed_at:
                    continue
                try:
                    s.sendall(b"a")
                except OSError:
                    closed_at[id(s)] = time.monotonic() - opened
                    continue
                note_if_closed(s)
            for s in idle:
                if id(s) not in closed_at:
                    note_if_closed(s)
            # Normal clients are answered promptly all along.
            for path in ("/health", "/metrics", "/api/v1/strategies"):
                t0 = time.monotonic()
                r = zq.api("GET", path, timeout=5)
                latencies.append(time.monotonic() - t0)
                assert r.status_code == 200, (path, r.status_code)
            tick += 1
            time.sleep(0.5)
        latencies.sort()
        p99 = latencies[int(len(latencies) * 0.99) - 1]
        print(f"{len(latencies)} normal requests during the attack: p50 {latencies[len(latencies) // 2] * 1000:.1f} ms, "
              f"p99 {p99 * 1000:.1f} ms, max {latencies[-1] * 1000:.1f} ms")
        assert p99 < 0.25, f"normal requests slowed down under slow clients: p99 {p99 * 1000:.0f} ms"
        still_open = n_slow + n_idle - len(closed_at)
        assert still_open == 0, (
            f"{still_open} slow/idle connections still open {HEADER_READ_TIMEOUT_S + 8:.0f}s after opening: "
            "the server has no header-read timeout, so slow clients can hold connections (and fds) forever")
        times = sorted(closed_at.values())
        print(f"slow/idle connections closed by the server after {times[0]:.1f}..{times[-1]:.1f}s")
        assert times[0] >= HEADER_READ_TIMEOUT_S - 1, f"closed too early ({times[0]:.1f}s): the timeout is not the one documented"
        zq.session.close()
        zq.wait_for("connections_active back to baseline",
                    lambda: zq.scrape()[conn_gauge] <= baseline + 1, 10)
        zq.assert_no_panic()
    finally:
        for s in slow + idle:
            s.close()


def test_keys_never_leak(zq_factory):
    zq = zq_factory("auth", config=idle_config(), env={"ZQ_LOG": "trace"})
    zq.start()
    wrong = "wrong-key-DO-NOT-LOG-5f9e0c1d2b3a"
    routes = [("GET", "/api/v1/openapi.json"), ("GET", "/api/v1/strategies"), ("GET", "/api/v1/strategies/sma_cross"),
              ("POST", "/api/v1/strategies/sma_cross/start"), ("POST", "/api/v1/strategies/sma_cross/stop"),
              ("GET", "/api/v1/orders"), ("POST", "/api/v1/orders"), ("GET", "/api/v1/orders/1"),
              ("DELETE", "/api/v1/orders/1"), ("GET", "/api/v1/positions"), ("GET", "/api/v1/trades"),
              ("GET", "/api/v1/metrics")]
    bad_auth = [None, "", "Bearer", "Bearer ", f"Basic {API_KEY}", f"Bearer {wrong}", f"Bearer {API_KEY[:-1]}",
                f"Bearer {API_KEY}x", f"Token {API_KEY}", API_KEY]
    for method, path in routes:
        for a in bad_auth:
            headers = {} if a is None else {"Authorization": a}
            r = zq.session.request(method, zq.url + path, headers=headers, timeout=5,
                                   json={"pair": "BTC-USDT", "side": "buy", "qty": 0.01} if method == "POST" else None)
            assert r.status_code == 401, f"{method} {path} with {a!r}: {r.status_code}"
            assert r.json()["error"]["code"] == "unauthorized"
        r = zq.api(method, path, json={"pair": "BTC-USDT", "side": "buy", "qty": 0.01} if method == "POST" else None)
        assert r.status_code != 401, f"{method} {path} with the right key: {r.status_code}"
    text = zq.metrics_text()
    om = zq.get("/metrics", headers={"Accept": "application/openmetrics-text; version=1.0.0"}).text
    time.sleep(0.3)  # let the stderr pipe drain
    log = zq.log_text()
    assert any(" DEBUG " in line or " TRACE " in line for line in log.splitlines()), \
        "expected a verbose (trace) log to search"
    for secret in (API_KEY, wrong, API_KEY[:-1]):
        assert secret not in log, f"a key appears on stderr: {[l for l in log.splitlines() if secret in l][:3]}"
        assert secret not in text and secret not in om, "a key appears in /metrics"
    zq.assert_no_panic()


def test_generated_key_never_leaks(zq_factory):
    """Without a configured key zigquant generates one into <data-dir>/api_key (mode 0600) and
    says where it is: the key itself reaches neither stderr nor /metrics."""
    zq = zq_factory("genkey", config=idle_config(), env={"ZQ_API_KEY": "", "ZQ_LOG": "trace"})
    zq.start()
    key_file = zq.data_dir / "api_key"
    assert key_file.is_file(), f"no generated key file:\n{zq.log_tail()}"
    assert key_file.stat().st_mode & 0o777 == 0o600, oct(key_file.stat().st_mode)
    key = key_file.read_text().strip()
    assert len(key) >= 16
    assert zq.api("GET", "/api/v1/strategies", key=key).status_code == 200
    assert zq.api("GET", "/api/v1/strategies", key=key[:-1]).status_code == 401
    assert zq.api("GET", "/api/v1/strategies", key=None).status_code == 401
    text = zq.metrics_text()
    time.sleep(0.3)
    log = zq.log_text()
    assert str(key_file) in log, "the log should say where the generated key is"
    assert key not in log and key[:-1] not in log, "the generated key appears on stderr"
    assert key not in text, "the generated key appears in /metrics"
    zq.assert_no_panic()
