"""The driver of scripts/bench-scale (stdlib only): bounded state at scale, on the release binary.

The history is built in SEGMENTS flat-out runs of STEP bar ticks each (two pairs: 2 x STEP bars
per segment), all on one data dir, default configuration otherwise (journal on, synchronous =
full, strategies and noise trading, 30-day equity retention). Before each segment the service
is restarted on the history so far, and the script records:

* restart: wall ms from spawning `zigquant serve` to `GET /ready` answering 200 (the restore
  plus the first bar; a fast market clock, so the wait for a bar does not count), and RSS then;
* flat out: ticks and bars per wall second of the segment (from the JSON summary's equity
  samples), and bars per CPU second of the process (steadier on a shared machine);
* the journal's size on disk (file + WAL) after the segment.

Usage: bench_scale.py BIN STEP SEGMENTS
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

KEY = "bench-key-0123456789abcdef"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def get(port, path, key=False):
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}")
    if key:
        req.add_header("Authorization", f"Bearer {KEY}")
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()
    except OSError:
        return None, b""


def rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def cpu_secs(pid):
    """User + system CPU seconds of a process (all its threads)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def journal_mb(data):
    total = 0
    for name in os.listdir(data):
        if name.startswith("journal.sqlite"):
            total += os.path.getsize(os.path.join(data, name))
    return total / 1e6


def start(binary, data, config, port):
    env = dict(os.environ, ZQ_API_KEY=KEY, ZQ_LOG="warn")
    return subprocess.Popen(
        [binary, "serve", "--listen", f"127.0.0.1:{port}", "--data-dir", data,
         "--config", config],
        env=env, stdout=subprocess.DEVNULL, stderr=open(os.path.join(data, "log"), "a"))


def stop(proc):
    """SIGTERM: a clean stop (the WAL is checkpointed), so each restart opens a settled file."""
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def samples(port):
    status, body = get(port, "/api/v1/metrics", key=True)
    if status != 200:
        return None
    return json.loads(body)["equity_samples"]


def main():
    binary, step, segments = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    work = tempfile.mkdtemp(prefix="zq-bench-scale.")
    data = os.path.join(work, "data")
    os.makedirs(data)
    flat = os.path.join(work, "flat.toml")
    with open(flat, "w") as f:
        f.write(f"[engine.feed]\npacing = false\nmax_bars = {step}\n")
    ready_cfg = os.path.join(work, "ready.toml")
    with open(ready_cfg, "w") as f:
        # A bar every 5 ms of wall time: /ready (which needs a first bar) waits for the
        # restore, hardly for a bar; the few bars run until the stop join the history.
        f.write("[engine.feed]\nclock_speed = 12000.0\n")
    print(f"# bench-scale: bin={binary} step={step} ticks x {segments} (2 pairs) "
          f"cpus={os.cpu_count()} load={os.getloadavg()[0]:.2f} "
          f"date={time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())}")
    print(f"{'history_ticks':>13} {'restart_ms':>10} {'rss_MB':>7} {'ticks/s':>8} "
          f"{'bars/s':>8} {'bars/cpu_s':>10} {'journal_MB':>10} {'load':>5}")
    history = 0  # equity samples of the portfolio = ticks journaled so far
    try:
        for seg in range(segments + 1):
            # Restart on the history so far.
            port = free_port()
            t0 = time.monotonic()
            proc = start(binary, data, ready_cfg, port)
            deadline = time.monotonic() + 120
            while get(port, "/ready")[0] != 200:
                if proc.poll() is not None or time.monotonic() > deadline:
                    proc.kill()
                    sys.exit(f"zigquant never became ready: see {data}/log")
                time.sleep(0.002)
            restart_ms = (time.monotonic() - t0) * 1000
            rss = rss_mb(proc.pid)
            before = samples(port)
            stop(proc)
            history = before or history
            if seg == segments:
                print(f"{history:>13} {restart_ms:>10.0f} {rss:>7.2f} {'-':>8} {'-':>8} "
                      f"{'-':>10} {journal_mb(data):>10.1f} {os.getloadavg()[0]:>5.2f}")
                break
            # One flat-out segment.
            port = free_port()
            proc = start(binary, data, flat, port)
            while samples(port) is None:
                time.sleep(0.01)
            t0 = time.monotonic()
            c0 = cpu_secs(proc.pid)
            base = samples(port)
            target = (before or 0) + step
            deadline = time.monotonic() + 3600
            while True:
                n = samples(port)
                if n is not None and n >= target:
                    break
                if proc.poll() is not None or time.monotonic() > deadline:
                    proc.kill()
                    sys.exit(f"the flat-out run stopped at {n} of {target} samples: see {data}/log")
                time.sleep(0.05)
            secs = time.monotonic() - t0
            cpu = cpu_secs(proc.pid) - c0
            stop(proc)
            rate = (target - base) / secs
            per_cpu = (target - base) / cpu if cpu > 0 else float("nan")
            print(f"{history:>13} {restart_ms:>10.0f} {rss:>7.2f} {rate:>8.0f} {2 * rate:>8.0f} "
                  f"{2 * per_cpu:>10.0f} {journal_mb(data):>10.1f} {os.getloadavg()[0]:>5.2f}",
                  flush=True)
            history = target
    finally:
        if os.environ.get("KEEP") != "1":
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
