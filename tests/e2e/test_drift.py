"""(c) Every metric and label named by the alert rules and the dashboard exists in what zigquant
actually exports on /metrics (target labels job/instance aside), and so does every exact label
value they match on (type="rss", status="rejected", level="critical"), so the three cannot drift.
The dashboard's "Live feeds" row is checked the same way against a live run's exposition in
test_live_e2e.py (a simulated run exports none of its series)."""
import time

import promql_refs
from zq_stack import drive_api_traffic


def test_rules_and_dashboard_match_the_exposition(stack):
    # Labeled families appear with their first series: give the engine and the API a moment.
    deadline = time.monotonic() + 60
    while True:
        drive_api_traffic(stack.zq, rounds=1)
        values = promql_refs.parse_exposition_values(stack.zq.metrics_text())
        problems = promql_refs.drift({k: set(v) for k, v in values.items()})
        problems += promql_refs.value_drift(values)
        if not problems or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert not problems, "rules/dashboard reference what zigquant does not export:\n" + "\n".join(problems)
