#!/usr/bin/env python3
"""Parse expositions with the reference Python parsers and print every sample as JSON.

Usage: reference_parse.py TEXT_FILE OPENMETRICS_FILE

Prints {"text": [...], "openmetrics": [...]}, each sample as
[name, {label: value}, repr(float value)] (repr keeps nan/inf/-inf and full precision).
Exit status 2 with a message on stderr when prometheus_client is missing, 1 on a parse error.
"""
import json
import sys

try:
    from prometheus_client.parser import text_string_to_metric_families as parse_text
    from prometheus_client.openmetrics.parser import (
        text_string_to_metric_families as parse_openmetrics,
    )
except ImportError as e:  # pragma: no cover
    print(f"prometheus_client is not installed ({e}); run scripts/test, which pip-installs it",
          file=sys.stderr)
    sys.exit(2)


def samples(parse, path):
    # newline="": Python's default universal-newline mode would turn a raw `\r` inside a label
    # value (legal in both formats, and accepted by promtool) into `\n` before the parser sees it.
    with open(path, encoding="utf-8", newline="") as f:
        text = f.read()
    out = []
    for family in parse(text):
        for s in family.samples:
            out.append([s.name, s.labels, repr(float(s.value))])
    return out


def main():
    text_path, om_path = sys.argv[1], sys.argv[2]
    try:
        result = {
            "text": samples(parse_text, text_path),
            "openmetrics": samples(parse_openmetrics, om_path),
        }
    except Exception as e:  # noqa: BLE001 - any parse failure is the finding
        print(f"reference parser rejected the exposition: {type(e).__name__}: {e}", file=sys.stderr)
        sys.exit(1)
    json.dump(result, sys.stdout, ensure_ascii=False)


if __name__ == "__main__":
    main()
