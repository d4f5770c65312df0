"""The n-gram table explodes and starves as n grows: val NLL and table size for n = 2..6 with add-1
and interpolated Kneser-Ney smoothing. Writes the n-gram table of docs/results.md and results/ngram.json.

    python benchmarks/ngram.py             # fits the 10 tables (about a minute)
    python benchmarks/ngram.py --table     # only rewrite the docs table from the JSON
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine, parser, publish  # noqa: E402


def measure() -> dict:
    from makemore.data import build_dataset, read_words
    from makemore.models import build_model
    from makemore.evaluation import evaluate
    data = build_dataset(read_words())
    results = {}
    for n in range(2, 7):
        r = {}
        for method in ("add-k", "kneser-ney"):
            t0 = time.perf_counter()
            m = build_model("ngram", data.vocab.size, data.max_len + 1, n=n, method=method).fit(*data.train.examples(n - 1))
            r[method] = {"train": evaluate(m, data.train), "val": evaluate(m, data.val), "fit_s": time.perf_counter() - t0}
            r["contexts"] = len(getattr(m, f"keys{n}"))
        results[str(n)] = r
        print(n, r, flush=True)
    return {"machine": machine(), "vocab_size": data.vocab.size, "results": results}


def table(res: dict) -> str:
    V = res["vocab_size"]
    rows = ["| n | possible contexts V^(n-1) | contexts seen in train | add-1 train | add-1 val | Kneser-Ney train | Kneser-Ney val |",
            "|---:|---:|---:|---:|---:|---:|---:|"]
    for n, r in sorted(res["results"].items(), key=lambda kv: int(kv[0])):
        rows.append(f"| {n} | {V ** (int(n) - 1):,} | {r['contexts']:,} | {r['add-k']['train']:.4f} | {r['add-k']['val']:.4f} | "
                    f"{r['kneser-ney']['train']:.4f} | {r['kneser-ney']['val']:.4f} |")
    return "\n".join(rows)


def main():
    ap = parser(__doc__)
    args = ap.parse_args()
    publish("ngram", table, None if args.table else measure)


if __name__ == "__main__":
    main()
