"""Train every model of the ladder on names.txt (default split) as `makemore train` does and
write the results table (params, train/val/test NLL, wall time, tokens/s) into docs/results.md and
benchmarks/results/ladder.json.

    python benchmarks/ladder.py                 # everything (long: the lecture recipes are 200k steps)
    python benchmarks/ladder.py --only mlp mlp-lecture
    python benchmarks/ladder.py --table         # only rewrite the docs table from the JSON

Run it with nothing else busy on the machine: wall times are only comparable on an idle machine.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import load_results, machine, parser, publish, save_results  # noqa: E402

# name -> (model type, options of `makemore train` / create_run, what it is)
ENTRIES = {
    "bigram": ("bigram", {}, "count table, add-1 (lecture 1)"),
    "ngram-kn5": ("ngram", {"n": 5}, "5-gram, interpolated Kneser-Ney"),
    "nnbigram": ("nnbigram", {}, "neural bigram, full-batch GD lr 50 (lecture 1)"),
    "mlp-lecture": ("mlp", {"recipe": "lecture"}, "Bengio MLP, lecture recipe: 200k SGD steps"),
    "mlp": ("mlp", {}, "Bengio MLP, default AdamW recipe"),
    "bnmlp-lecture": ("bnmlp", {"recipe": "lecture"}, "BatchNorm MLP, lecture recipe"),
    "bnmlp": ("bnmlp", {}, "BatchNorm MLP, default"),
    "wavenet-lecture": ("wavenet", {"recipe": "lecture"}, "WaveNet, lecture recipe"),
    "wavenet": ("wavenet", {}, "WaveNet, default"),
    "rnn": ("rnn", {}, "vanilla RNN"),
    "gru": ("gru", {}, "GRU"),
    "lstm": ("lstm", {}, "LSTM"),
    "bow": ("bow", {}, "causal bag-of-words"),
    "transformer": ("transformer", {}, "Transformer, default preset"),
}


def run_entry(name: str, keep: Path | None = None) -> dict:
    import makemore as mm
    kind, options, what = ENTRIES[name]
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        run = mm.create_run((keep or Path(tmp)) / name, type=kind, force=keep is not None, **options)
        run.train(progress=False)
        wall = time.perf_counter() - t0
        recs = run.metrics
        final = [r for r in recs if r.get("final")][-1]
        tok = [r["tokens_per_sec"] for r in recs if "tokens_per_sec" in r]
        return {"type": kind, "options": options, "what": what,
                "params": sum(p.numel() for p in run.model.parameters()),
                "train": final["train"], "val": final["val"], "test": final["test"],
                "steps": run.config["train"]["max_steps"], "batch_size": run.config["train"]["batch_size"],
                "wall_s": wall, "tokens_per_sec": sorted(tok)[len(tok) // 2] if tok else None}


def table(results: dict) -> str:
    rows = ["| model | what | params | steps × batch | train | val | test | wall time | train tokens/s |",
            "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for name in ENTRIES:
        if name not in results:
            continue
        r = results[name]
        steps = f"{r['steps']:,} × {r['batch_size'] or 'all'}" if r["steps"] else "counting"
        tok = f"{r['tokens_per_sec']:,.0f}" if r.get("tokens_per_sec") else "–"
        rows.append(f"| `{name}` | {r['what']} | {r['params']:,} | {steps} | {r['train']:.4f} | {r['val']:.4f} | "
                    f"{r['test']:.4f} | {r['wall_s']:.0f} s | {tok} |")
    machines = {}                                   # machine -> the rows measured on it
    for name in ENTRIES:
        if name in results:
            machines.setdefault(results[name].get("machine", results.get("_machine", machine())), []).append(name)
    if len(machines) == 1:
        meta = f"Machine: {next(iter(machines))}."
    else:
        meta = "Machines: " + "; ".join(f"{m} ({', '.join(f'`{n}`' for n in names)})" for m, names in machines.items()) + "."
    return "\n".join(rows) + f"\n\nNats per character, token-weighted, on the lectures' split of names.txt. {meta}"


def main():
    from makemore.models import MODELS
    ap = parser(__doc__)
    ap.add_argument("--only", nargs="+", choices=list(ENTRIES), help="run only these entries")
    ap.add_argument("--keep", type=Path, help="keep the run directories in this directory")
    args = ap.parse_args()

    def measure():
        results = load_results("ladder")
        for name in args.only or ENTRIES:
            if ENTRIES[name][0] not in MODELS:
                print(f"skip {name}: no model type {ENTRIES[name][0]!r}")
                continue
            print(f"== {name}", flush=True)
            results[name] = {**run_entry(name, args.keep), "machine": machine()}
            print(json.dumps(results[name]), flush=True)
            save_results("ladder", results)          # each row as it ends: a long run keeps what it has
        return results
    publish("ladder", table, None if args.table else measure)


if __name__ == "__main__":
    main()
