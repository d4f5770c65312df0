"""Run the reliability tests (tests/test_reliability.py) with their counts recorded, and write the
table of what was tried, injected and survived into docs/reliability.md and results/reliability.json.

    python benchmarks/reliability.py            # run the tests (about a minute), then write the table
    python benchmarks/reliability.py --table    # only rewrite the table from the saved JSON

Every figure is counted by the tests themselves while they assert (the `record` fixture of
tests/conftest.py): each case counts as tried when it starts and as survived only when its
assertions hold, and a failing test's counts are written too, so a case that broke shows as
tried and not survived (and the table is still written, then the script exits with status 1).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, machine, parser, publish  # noqa: E402

DOC = "reliability.md"


def measure() -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "records.jsonl"
        env = {**os.environ, "MAKEMORE_RELIABILITY": str(log)}
        out = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_reliability.py"],
                             cwd=ROOT, env=env, capture_output=True, text=True)
        print(out.stdout[-2000:], flush=True)
        rows: dict[str, dict] = {}
        for line in (log.read_text() if log.exists() else "").splitlines():
            r = json.loads(line)
            row = rows.setdefault(r["what"], {"tried": 0, "survived": 0, "outcomes": {}})
            row["tried"] += r["tried"]
            row["survived"] += r["survived"]
            for k, v in r["outcomes"].items():
                row["outcomes"][k] = row["outcomes"].get(k, 0) + v
    summary = out.stdout.strip().splitlines()[-1]
    return {"rows": rows, "tests": summary, "machine": machine()}


def table(results: dict) -> str:
    lines = ["| what was tried or injected | cases | survived | how |", "|---|---:|---:|---|"]
    for what, r in results["rows"].items():
        how = ", ".join(f"{k}: {v}" for k, v in r["outcomes"].items() if v)
        lines.append(f"| {what} | {r['tried']:,} | {r['survived']:,} | {how} |")
    total = sum(r["tried"] for r in results["rows"].values())
    survived = sum(r["survived"] for r in results["rows"].values())
    return "\n".join(lines) + (f"\n\n{survived:,} of {total:,} cases survived. Counted by tests/test_reliability.py "
                               f"as it asserted ({results['tests']}). Machine: {results['machine']}.")


def main():
    args = parser(__doc__).parse_args()
    results = publish("reliability", table, None if args.table else measure, doc=DOC)
    broke = any(r["survived"] < r["tried"] for r in results["rows"].values())
    if broke or " failed" in results["tests"] or " error" in results["tests"]:
        raise SystemExit("some reliability tests failed: see the table")


if __name__ == "__main__":
    main()
