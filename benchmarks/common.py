"""Shared by the benchmark scripts: the machine line, the sections of docs/results.md, JSON results."""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
DOCS = ROOT / "docs"        # the measured tables, one marked section per benchmark (docs/results.md by default)


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


def parser(doc: str) -> argparse.ArgumentParser:
    """A benchmark's command line: its docstring as help, and --table."""
    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--table", action="store_true", help="only rewrite the table in docs/results.md from the saved JSON")
    return ap


def publish(name: str, table, measure=None, doc: str = "results.md") -> dict:
    """Every benchmark's last step: the results of `measure()`, saved as results/NAME.json (or,
    with measure None, as for --table, the saved ones), rendered by `table` into the section NAME
    of docs/DOC (docs/results.md unless the script says otherwise) and printed."""
    if measure is None:
        results = load_results(name)
    else:
        results = measure()
        save_results(name, results)
    markdown = table(results)
    write_results_section(name, markdown, doc)
    print(markdown)
    return results


def _section(text: str, name: str, doc: str) -> re.Match:
    """Where section NAME is in `text`: group 1 is the text between its two markers."""
    m = re.search(re.escape(f"<!-- {name}:start -->") + "(.*?)" + re.escape(f"<!-- {name}:end -->"), text, flags=re.S)
    if m is None:
        raise SystemExit(f"docs/{doc} has no <!-- {name}:start --> ... <!-- {name}:end --> section")
    return m


def results_section(name: str, doc: str = "results.md") -> str:
    """The text of section NAME of docs/DOC, without the markers."""
    return _section((DOCS / doc).read_text(), name, doc).group(1).strip()


def write_results_section(name: str, markdown: str, doc: str = "results.md") -> None:
    """Replace the text between <!-- name:start --> and <!-- name:end --> in docs/DOC."""
    path = DOCS / doc
    text = path.read_text()
    m = _section(text, name, doc)
    path.write_text(text[:m.start(1)] + f"\n{markdown.strip()}\n" + text[m.end(1):])
