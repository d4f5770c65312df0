"""The lecture notebooks, run in full: every notebook of docs/lectures/ executed in both languages
with the lectures' own trainings (200,000 steps where the lecture trains so), written back with its
outputs, and every figure the study notes or the lectures give checked against ours
(makemore.lectures.topics). Writes the coverage table of docs/lectures/README.md (each topic of the
notes, the notebook cell that runs it, their figure, ours) and benchmarks/results/lectures.json;
exits 1 if a figure is further from the lecture's than its tolerance.

    python benchmarks/lectures.py                        # every notebook (about an hour on 2 cores)
    python benchmarks/lectures.py part2-mlp              # one of them (the others' figures are kept)
    python benchmarks/lectures.py --keep runs/lectures   # keep the run directories: a rerun reads them
    python benchmarks/lectures.py --table                # only rewrite the table from the JSON
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
from common import load_results, machine, parser, publish  # noqa: E402

DOC = "lectures/README.md"


def measure(keep: str | None, names: list[str]) -> dict:
    import notebooks
    results = {"figures": load_results("lectures").get("figures", {})}
    with tempfile.TemporaryDirectory() as tmp:
        figures = Path(tmp) / "figures.jsonl"
        for name in names or notebooks.names():
            notebooks.run(name, check=False, runs=keep or str(Path(tmp) / "runs"), figures=str(figures))
            print(f"{name}: executed, written", file=sys.stderr)
        for line in figures.read_text().splitlines():
            record = json.loads(line)
            results["figures"][record["key"]] = record["ours"]
    results["machine"] = machine()
    return results


def off(results: dict) -> list[str]:
    """The figures further from the lecture's than their tolerance."""
    from makemore.lectures import TOPICS
    from makemore.lectures.checks import within
    return [k for k, ours in results["figures"].items() if not within(ours, TOPICS[k].figure, TOPICS[k].tol)]


def cell_numbers() -> dict:
    """Each topic's cell: the number of the code cell after its marked text cell, as Jupyter counts
    cells (from 1), in its notebook."""
    import notebooks
    from makemore.lectures import TOPICS
    out = {}
    for name in {t.notebook for t in TOPICS.values()}:
        cells = notebooks.build(name)["en"].cells
        for i, cell in enumerate(cells):
            for key in TOPICS:
                if f"<!-- topic {key} -->" in cell.source:
                    out[key] = next(j for j in range(i, len(cells)) if cells[j].cell_type == "code") + 1
    return out


def table(results: dict) -> str:
    from makemore.lectures import TOPICS
    from makemore.lectures.checks import format_figure
    cells = cell_numbers()
    lines = ["| topic · 主题 | cell · 单元 | the notes or the lecture · 笔记或讲座 | ours · 我们 |", "|---|---|---:|---:|"]
    for key, t in TOPICS.items():
        source = "" if t.figure is None else ("notes · 笔记: " if t.source == "notes" else "lecture · 讲座: ") + format_figure(t.figure)
        ours = format_figure(results["figures"][key]) if key in results["figures"] else "checked · 已核对"
        row = [f"{t.en} · {t.zh}", f"[{t.notebook}]({t.notebook}.ipynb) {cells[key]}", source, ours]
        lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |")
    bad = off(results)
    lines += ["", f"{len(TOPICS)} topics; every figure within its tolerance of the lecture's · 全部数字都在容差之内"
              if not bad else f"outside the tolerance · 超出容差: {', '.join(bad)}",
              f"Full runs (no MAKEMORE_LECTURE_FAST); {results['machine']}."]
    return "\n".join(lines)


if __name__ == "__main__":
    ap = parser(__doc__)
    ap.add_argument("names", nargs="*", help="notebooks to run (default: all)")
    ap.add_argument("--keep", help="keep the run directories here (a finished run is read, not trained again)")
    args = ap.parse_args()
    results = publish("lectures", table, None if args.table else (lambda: measure(args.keep, args.names)), doc=DOC)
    sys.exit(1 if off(results) else 0)
