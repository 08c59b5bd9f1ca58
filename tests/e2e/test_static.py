"""The static checks of deploy/ (scripts/check-deploy) and the drift checker itself."""
import subprocess

import promql_refs


def test_check_deploy_passes():
    out = subprocess.run([str(promql_refs.ROOT / "scripts/check-deploy")], capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, f"scripts/check-deploy failed:\n{out.stdout}\n{out.stderr}"
    assert out.stdout.rstrip().splitlines()[-1].endswith("passed, 0 failed"), out.stdout


def test_drift_checker_catches_unknown_metric_and_label():
    exported = promql_refs.parse_exposition(
        '# TYPE zigquant_max_drawdown gauge\n'
        'zigquant_max_drawdown 0.01\n'
        'zigquant_exchange_connected{exchange="binance"} 1\n'
        'zigquant_instance_info{name="a",mode="paper",config_hash="x",strategies="1"} 1\n'
    )
    problems = promql_refs.drift(exported)
    assert any("zigquant_var_95 is not exported" in p for p in problems), problems
    assert not any("rule HighDrawdown" in p for p in problems), problems
    assert not any("rule ExchangeDisconnected" in p for p in problems), problems
    # a label typo is caught too
    problems = promql_refs.drift({"zigquant_exchange_connected": {"exchnage"}})
    assert any("rule ExchangeDisconnected: label 'exchange'" in p for p in problems), problems


def test_refs_parse_selectors_groupings_and_templates():
    metrics, labels = promql_refs.refs(
        'histogram_quantile(0.99, sum by (le, method) (rate(zigquant_api_latency_seconds_bucket{path=~"/api.*"}[5m])))',
        legend="{{method}} {{path}}")
    assert metrics == {"zigquant_api_latency_seconds_bucket"}
    assert labels == {"le", "method", "path"}
    # label values are never taken for metric names
    metrics, _ = promql_refs.refs('up{job="zigquant_fake_metric"}')
    assert metrics == {"up"}


def test_value_drift_catches_an_unknown_label_value():
    values = promql_refs.parse_exposition_values(
        'zigquant_memory_bytes{type="heap"} 1\nzigquant_memory_bytes{type="resident"} 2\n')
    problems = promql_refs.value_drift(values)
    assert any('rule MemoryHigh: type="rss"' in p for p in problems), problems
