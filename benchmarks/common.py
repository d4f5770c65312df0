"""Shared by the benchmark scripts: the machine line, README sections, JSON results."""

from __future__ import annotations

import json
import os
import platform
import re
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, torch {torch.__version__}, {torch.get_num_threads()} threads"


def load_results(name: str) -> dict:
    f = RESULTS / f"{name}.json"
    return json.loads(f.read_text()) if f.exists() else {}


def save_results(name: str, results: dict) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")


def publish(name: str, table, measure=None) -> dict:
    """Every benchmark's last step: the results of `measure()`, saved as results/NAME.json (or,
    with measure None, as for --table, the saved ones), rendered by `table` into the README
    section NAME and printed."""
    results = load_results(name) if measure is None else measure()
    if measure is not None:
        save_results(name, results)
    markdown = table(results)
    write_readme_section(name, markdown)
    print(markdown)
    return results


def readme_section(name: str) -> str:
    """The text between <!-- name:start --> and <!-- name:end --> in README.md."""
    text = (ROOT / "README.md").read_text()
    m = re.search(re.escape(f"<!-- {name}:start -->") + "\n(.*?)\n" + re.escape(f"<!-- {name}:end -->"), text, flags=re.S)
    if m is None:
        raise SystemExit(f"README.md has no <!-- {name}:start --> marker")
    return m.group(1)


def write_readme_section(name: str, markdown: str) -> None:
    """Replace the text between <!-- name:start --> and <!-- name:end --> in README.md."""
    readme = ROOT / "README.md"
    text = readme.read_text()
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    if start not in text:
        raise SystemExit(f"README.md has no {start} marker")
    new = re.sub(re.escape(start) + ".*?" + re.escape(end), lambda m: f"{start}\n{markdown.strip()}\n{end}", text, flags=re.S)
    readme.write_text(new)
