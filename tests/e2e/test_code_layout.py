"""The release binary's executed code is laid out together (docs/architecture.md, "Code layout"):
`crates/server/layout/hot-code.ld` still names the binary's functions (a toolchain or dependency
upgrade that renamed them would silently give back ~2 MB of resident memory), the binary has the
`.text.hot` section, and a running service that is scraped and asked the API keeps most of the
cold `.text` out of memory while `.text.hot` is resident. The memory target itself is a
benchmark (`scripts/bench-memory`, docs/benchmarks.md §5)."""
from __future__ import annotations

import fnmatch
import re
import subprocess
import sys

from zq_process import zigquant_binary, zq_factory  # noqa: F401
from zq_stack import ROOT

sys.path.insert(0, str(ROOT / "scripts"))
from resident_sections import resident_by_section, sections  # noqa: E402

SCRIPT = ROOT / "crates/server/layout/hot-code.ld"


def patterns() -> list[str]:
    """The symbol of each `*(.text.<symbol> .text.unlikely.<symbol>)` line of the script."""
    found = re.findall(r"^\s*\*\(\.text\.(\S+) \.text\.unlikely\.\S+\)$", SCRIPT.read_text(), re.M)
    assert len(found) > 1000, f"{SCRIPT} names only {len(found)} functions"
    return found


def test_the_layout_script_still_names_the_binarys_functions():
    symbols = subprocess.run(["nm", "--defined-only", "--format=just-symbols", str(zigquant_binary())],
                             capture_output=True, text=True, check=True).stdout.split()
    exact = set(symbols)
    by_prefix: dict[str, list[str]] = {}
    for s in symbols:
        by_prefix.setdefault(s[:24], []).append(s)
    # A legacy-mangled name with its hash is the traced build's exact instance; its `17h*` twin
    # below it is what any later build matches, so the twin is what must still name a function.
    lasting = [p for p in patterns() if not re.search(r"17h[0-9a-f]{16}E$", p)]
    missing = [p for p in lasting if p not in exact and not (
        "*" in p and any(fnmatch.fnmatchcase(s, p) for s in by_prefix.get(p[:24], [])))]
    share = 1 - len(missing) / len(lasting)
    assert share >= 0.9, (
        f"only {share:.0%} of the functions in {SCRIPT.name} are in the binary; "
        f"run scripts/hot-code-profile to measure the layout again. Missing, e.g.: {missing[:5]}")


def test_a_running_service_keeps_cold_code_out_of_memory(zq_factory):
    binary = zigquant_binary()
    table = {name: size for name, _, size in sections(str(binary))}
    assert table.get(".text.hot", 0) > 1_000_000, f"no .text.hot in {binary}: {sorted(table)}"
    zq = zq_factory().start()
    for _ in range(3):
        zq.metrics_text()
        zq.get("/metrics", headers={"Accept": "application/openmetrics-text; version=1.0.0"})
        assert zq.api("GET", "/api/v1/strategies").status_code == 200
        assert zq.api("GET", "/api/v1/positions").status_code == 200
    resident = resident_by_section(zq.popen.pid, str(binary))
    hot = resident.get(".text.hot", 0) / table[".text.hot"]
    cold = resident.get(".text", 0) / table[".text"]
    assert hot > 0.5, f".text.hot only {hot:.0%} resident: the layout is not what runs"
    assert cold < 0.35, (f"{cold:.0%} of the cold .text is resident (.text.hot {hot:.0%}): the "
                         "executed code is scattered again; run scripts/hot-code-profile")
    zq.assert_no_panic()
