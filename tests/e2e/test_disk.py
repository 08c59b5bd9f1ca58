"""Disk trouble: a read-only or full data dir, at start or during the run, gives a clear error
(message, exit status or metric + critical alert + /ready 503 + refused orders), never a panic
and never a silently lost fill.

How the faults are made, given that the tests run as root (CI too), for whom `chmod 0555` is no
obstacle (CAP_DAC_OVERRIDE):
  * read-only, always possible: the data dir path is a regular file; and the data dir is chmod
    0555 while zigquant runs as an unprivileged user (root drops to uid/gid 65534 in the child
    before exec, so the permission bits apply; a non-root runner just runs it as itself).
  * read-only, when `mount` is permitted: a tmpfs mounted `-o ro` (EROFS stops root too), empty
    and holding a journal from an earlier run.
  * full, when `mount` is permitted: a real small tmpfs (`-o size=...`) that fills up: ENOSPC,
    exactly what a full disk gives.
  * full, always possible: RLIMIT_FSIZE on the zigquant process (writes past the limit fail with
    EFBIG; SIGXFSZ is set to ignored before exec so the write fails instead of killing the
    process). SQLite reports it as an I/O error rather than "disk full", but the engine's path
    is the same: a failed journal commit.
When `mount` is not permitted (an unprivileged container), the tmpfs variants are skipped with the
reason and the always-possible variants still prove the same properties.
"""
from __future__ import annotations

import os
import resource
import shutil
import signal
import subprocess
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

from test_crash import Observer, inspect_journal, journal_copy
from zq_process import default_config, metric_sum, patch, zq_factory  # noqa: F401

NOBODY = 65534


def fast_config() -> str:
    return patch(default_config(), ("clock_speed = 240.0", "clock_speed = 2400.0"))


def mount_tmpfs(path: Path, options: str) -> tuple[bool, str]:
    path.mkdir(parents=True, exist_ok=True)
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)],
                       capture_output=True, text=True)
    return r.returncode == 0, (r.stderr or r.stdout).strip()


@contextmanager
def tmpfs(path: Path, options: str):
    ok, why = mount_tmpfs(path, options)
    if not ok:
        pytest.skip(f"mount -t tmpfs is not permitted here ({why}); the RLIMIT_FSIZE and "
                    "unprivileged-user variants cover the same properties")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True)


def assert_clear_start_failure(zq, *expect_any: str):
    zq.spawn()
    rc = zq.wait_exit(30)
    log = zq.log_text()
    assert rc != 0, f"zigquant started on an unusable data dir (exit 0):\n{log}"
    zq.assert_no_panic()
    error_lines = [l for l in log.splitlines() if l.startswith("error:")]
    assert error_lines, f"no `error:` line on stderr:\n{log}"
    assert any(e.lower() in error_lines[-1].lower() for e in expect_any), \
        f"error does not say what is wrong (expected one of {expect_any}): {error_lines[-1]}"
    print(f"exit {rc}: {error_lines[-1]}")
    return error_lines[-1]


# ------------------------------------------------------------------ read-only at start

def test_data_dir_that_is_a_file_is_a_clear_error(zq_factory, tmp_path):
    not_a_dir = tmp_path / "data"
    not_a_dir.write_text("I am a file\n")
    zq = zq_factory("file", data_dir=not_a_dir)
    assert_clear_start_failure(zq, "data dir", str(not_a_dir))


def _drop_to_nobody():
    os.setgid(NOBODY)
    os.setgroups([])
    os.setuid(NOBODY)


@pytest.mark.parametrize("with_journal", [False, True], ids=["empty", "existing-journal"])
def test_read_only_data_dir_unprivileged(zq_factory, tmp_path, with_journal):
    # Not under pytest's tmp dir: its parents are mode 0700, which uid 65534 cannot traverse.
    base = Path(tempfile.mkdtemp(prefix="zq-ro-"))
    os.chmod(base, 0o755)
    data = base / "data"
    if with_journal:
        # A real journal from an earlier (clean) run, then the dir turns read-only.
        first = zq_factory("first", config=fast_config(), data_dir=data)
        first.start()
        first.wait_for("a fill", lambda: first.api_json("/api/v1/metrics")["trades_total"] > 0, 30)
        first.stop()
    else:
        data.mkdir()
    root = os.geteuid() == 0
    if root:
        # The journal files stay owned by root (0644): readable, not writable, for uid 65534;
        # the data dir is root's, 0555.
        for p in data.iterdir():
            os.chmod(p, 0o644)
    os.chmod(data, 0o555)
    try:
        zq = zq_factory("ro", data_dir=data, preexec_fn=_drop_to_nobody if root else None)
        assert_clear_start_failure(zq, "read-only", "readonly", "permission denied", "journal",
                                   "api key", "data dir")
    finally:
        os.chmod(data, 0o755)
        shutil.rmtree(base, ignore_errors=True)


def test_read_only_mount(zq_factory, tmp_path):
    # Populate a journal, then mount a read-only tmpfs over an empty dir and a read-only bind of
    # the populated one: EROFS, which stops root as well.
    data = tmp_path / "data"
    first = zq_factory("first", config=fast_config(), data_dir=data)
    first.start()
    first.wait_for("a fill", lambda: first.api_json("/api/v1/metrics")["trades_total"] > 0, 30)
    first.stop()
    with tmpfs(tmp_path / "mnt-ro-empty", "ro,size=1m") as ro_empty:
        zq = zq_factory("ro-empty", data_dir=ro_empty)
        assert_clear_start_failure(zq, "read-only", "readonly", "journal", "api key", "data dir")
    ro_bind = tmp_path / "mnt-ro-bind"
    ro_bind.mkdir()
    r = subprocess.run(["mount", "--bind", str(data), str(ro_bind)], capture_output=True, text=True)
    assert r.returncode == 0, f"bind mount failed although tmpfs mount worked: {r.stderr}"
    try:
        r = subprocess.run(["mount", "-o", "remount,bind,ro", str(ro_bind)], capture_output=True, text=True)
        assert r.returncode == 0, f"read-only remount failed: {r.stderr}"
        zq = zq_factory("ro-bind", data_dir=ro_bind)
        assert_clear_start_failure(zq, "read-only", "readonly", "journal")
    finally:
        subprocess.run(["umount", "-l", str(ro_bind)], capture_output=True)


# ------------------------------------------------------------------ full at start

def test_full_tmpfs_at_start(zq_factory, tmp_path):
    with tmpfs(tmp_path / "mnt-full", "size=256k") as mnt:
        filler = mnt / "filler"
        fd = os.open(filler, os.O_WRONLY | os.O_CREAT)
        try:
            while True:
                os.write(fd, b"\0" * 4096)
        except OSError:
            pass  # ENOSPC: full
        finally:
            os.close(fd)
        assert os.statvfs(mnt).f_bavail == 0, "the tmpfs should be full"
        zq = zq_factory("full", data_dir=mnt / "data")
        try:
            assert_clear_start_failure(zq, "full", "no space", "journal", "data dir", "api key")
        finally:
            zq.stop()


def _fsize_limit(nbytes: int):
    def preexec():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (nbytes, nbytes))
    return preexec


def test_file_size_limit_at_start(zq_factory, tmp_path):
    zq = zq_factory("fsize0", preexec_fn=_fsize_limit(0))
    assert_clear_start_failure(zq, "journal", "disk", "full", "i/o")


# ------------------------------------------------------------------ full during the run

class TmpfsDisk:
    name = "tmpfs-ENOSPC"

    def __init__(self, tmp: Path):
        self.mnt = tmp / "mnt"
        self.cm = tmpfs(self.mnt, "size=3m")

    def __enter__(self):
        self.cm.__enter__()
        return self

    def __exit__(self, *exc):
        self.cm.__exit__(*exc)

    def data_dir(self) -> Path:
        return self.mnt / "data"

    def preexec(self):
        return None

    def grow(self, zq):
        r = subprocess.run(["mount", "-o", "remount,size=256m", str(self.mnt)], capture_output=True, text=True)
        assert r.returncode == 0, r.stderr


class RlimitDisk:
    name = "rlimit-EFBIG"

    def __init__(self, tmp: Path):
        self.dir = tmp / "data"

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        pass

    def data_dir(self) -> Path:
        return self.dir

    def preexec(self):
        return _fsize_limit(2 * 1024 * 1024)

    def grow(self, zq):
        zq.preexec_fn = None


@pytest.mark.parametrize("disk_kind", [TmpfsDisk, RlimitDisk], ids=lambda k: k.name)
def test_disk_full_during_the_run(zq_factory, tmp_path, disk_kind):
    with disk_kind(tmp_path) as disk:
        zq = zq_factory("full", config=fast_config(), data_dir=disk.data_dir(),
                        preexec_fn=disk.preexec())
        try:
            zq.start()
            zq.wait_for("/ready 200", lambda: zq.get("/ready").status_code == 200, 30)
            before = zq.scrape()
            crit_before = metric_sum(before, "zigquant_alerts_total", level="critical")
            observer = Observer(zq)
            observer.start()
            t0 = time.monotonic()
            m = zq.wait_for("zigquant_journal_write_errors_total > 0",
                            lambda: (lambda s: s if metric_sum(s, "zigquant_journal_write_errors_total") > 0 else None)(zq.scrape()),
                            90, interval=0.2)
            print(f"{disk.name}: journal write failed after {time.monotonic() - t0:.1f}s")
            time.sleep(0.3)
            observer.halt.set()
            observer.join(5)
            m = zq.scrape()
            assert metric_sum(m, "zigquant_journal_write_errors_total") >= 1
            assert metric_sum(m, "zigquant_alerts_total", level="critical") > crit_before, \
                "no critical alert counted for the journal failure"
            ready = zq.get("/ready")
            assert ready.status_code == 503, f"/ready {ready.status_code} {ready.text}"
            body = ready.json()
            assert body["journal_ok"] is False and body["halted"], body
            r = zq.api("POST", "/api/v1/orders", json={"pair": "BTC-USDT", "side": "buy", "type": "market", "qty": 0.01})
            assert 500 <= r.status_code < 600, f"order accepted on a full disk: {r.status_code} {r.text}"
            err = r.json()["error"]
            assert err["code"] and "journal" in err["message"].lower(), err
            log = zq.log_text()
            assert "journal write failed" in log, f"no log line for the failure:\n{zq.log_tail()}"
            # The alert itself is the counted critical alert above (and the RiskAlert event);
            # the log says what failed and what it means.
            line = [l for l in log.splitlines() if "journal write failed" in l][0]
            assert "ERROR" in line and "trading halted" in line, line
            print("log:", line[:300])
            # Trading stays halted: counters do not move any more.
            t1 = metric_sum(zq.scrape(), "zigquant_trades_total")
            time.sleep(1.0)
            assert metric_sum(zq.scrape(), "zigquant_trades_total") == t1
            zq.assert_no_panic()
            zq.stop()
            zq.assert_no_panic()

            # Nothing acknowledged was lost: every fill shown or counted is in the journal.
            j = inspect_journal(journal_copy(disk.data_dir(), tmp_path / "copy"))
            assert j["integrity"] == [("ok",)], j["integrity"]
            missing = sorted(set(observer.fills) - set(j["fills"]))
            assert not missing, f"fills shown but not in the journal: {missing[:20]}"
            counted = max(observer.max_trades_total, metric_sum(m, "zigquant_trades_total"))
            assert len(j["fills"]) >= counted, f"counted {counted} fills, journal holds {len(j['fills'])}"
            for key, v in observer.max_trades_by_series.items():
                assert j["by_series"].get(key, 0) >= v, (key, v, j["by_series"])

            # Space again: it restarts, continues from the journal and is ready.
            disk.grow(zq)
            zq.start()
            zq.wait_for("/ready 200 after space was freed", lambda: zq.get("/ready").status_code == 200, 30)
            m2 = zq.scrape()
            assert metric_sum(m2, "zigquant_trades_total") >= len(j["fills"])
            zq.assert_no_panic()
        finally:
            zq.stop()
