"""The activations lecture's loss log ("building makemore" part 3) reproduced: each stage of the
lecture's MLP trained as the lecture trains it (its seed 2147483647, one generator for the
initialization and the batches, 200,000 SGD steps at lr 0.1 then 0.01), against the lecture's own
train and val figures. Writes the `lectures` table of docs/results.md and benchmarks/results/lectures.json.

    python benchmarks/lectures.py                    # the five stages (about two minutes each, one thread)
    python benchmarks/lectures.py --keep runs/part3  # keep the run directories (the notebook reads them)
    python benchmarks/lectures.py --table            # only rewrite the table from the JSON
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine, parser, publish  # noqa: E402


def measure(keep: str | None) -> dict:
    from makemore.lectures import loss_log
    with tempfile.TemporaryDirectory() as tmp:
        return {"machine": machine(), "rows": loss_log(keep or tmp)}


def table(results: dict) -> str:
    lines = ["| stage (`--preset`, with `--type mlp --recipe part3`) | train | val | the lecture's train | val | Δ train | Δ val |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for r in results["rows"]:
        lines.append(f"| `{r['stage']}`: {r['what']} | {r['train']:.4f} | {r['val']:.4f} | {r['lecture_train']:.4f} | "
                     f"{r['lecture_val']:.4f} | {r['train'] - r['lecture_train']:+.4f} | {r['val'] - r['lecture_val']:+.4f} |")
    lines.append("")
    lines.append(f"{results['rows'][0]['steps']:,} steps a stage; {results['machine']}.")
    return "\n".join(lines)


if __name__ == "__main__":
    ap = parser(__doc__)
    ap.add_argument("--keep", help="keep the five run directories here")
    args = ap.parse_args()
    publish("lectures", table, None if args.table else (lambda: measure(args.keep)))
