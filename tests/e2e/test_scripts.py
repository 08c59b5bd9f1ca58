"""Every script in scripts/ answers `--help` with its usage text, exits 0, and does nothing else:
no script code in the text, no process started, no build."""
import os
import subprocess

import pytest

from zq_stack import ROOT

# Executables only: the *.py files beside them are modules the bench scripts run, not commands.
SCRIPTS = sorted(p for p in (ROOT / "scripts").iterdir() if p.is_file() and os.access(p, os.X_OK))


def test_there_are_scripts_to_check():
    assert {p.name for p in SCRIPTS} >= {"test", "local-stack", "fleet-stack", "check-deploy", "bench-memory",
                                        "bench-backtest", "bench-scale", "bench-fleet"}


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_help_prints_usage_only(script, tmp_path):
    out = subprocess.run([str(script), "--help"], capture_output=True, text=True, timeout=20,
                         cwd=tmp_path)
    assert out.returncode == 0, f"{script.name} --help exited {out.returncode}:\n{out.stderr}"
    text = out.stdout
    assert f"scripts/{script.name}" in text, f"{script.name} --help does not show how to call it:\n{text}"
    code_markers = ("set -euo", "usage()", "cd \"$(dirname", "#!/", "$(", "esac")
    leaked = [line for line in text.splitlines() if any(m in line for m in code_markers)]
    assert not leaked, f"{script.name} --help prints script code: {leaked}"
    assert out.stderr == "", f"{script.name} --help wrote to stderr:\n{out.stderr}"
    assert list(tmp_path.iterdir()) == [], f"{script.name} --help created files"


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_unknown_option_is_refused(script, tmp_path):
    out = subprocess.run([str(script), "--no-such-option"], capture_output=True, text=True,
                         timeout=20, cwd=tmp_path)
    assert out.returncode == 2, f"{script.name} accepted an unknown option:\n{out.stdout}"
    assert "--help" in out.stderr, out.stderr
