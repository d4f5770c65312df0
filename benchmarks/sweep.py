"""Sweeps against the hand-tuned default: 30 LSTM trials with 2 workers on names.txt, the file the
defaults were tuned on, and then on a file they were not tuned for, a word list that ships with a
package (xkcdpass's copy of the EFF long list, 7,776 English words), against the default LSTM
recipe trained on that same file. The best trial's val and test are its run's final scores.

    pip install xkcdpass                        # the word list
    python benchmarks/sweep.py                  # both sweeps: about an hour each, on both cores
    python benchmarks/sweep.py --only names --trials 10 --max-steps 2000    # a smaller run
    python benchmarks/sweep.py --table          # only rewrite the docs table from the JSON

On names.txt the default's figures are the ladder's `lstm` row (benchmarks/results/ladder.json);
with --max-steps, or on the word list, the default recipe is trained here, with the same steps as
the trials. Run it with nothing else busy on the machine: wall times are only comparable then.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import load_results, machine, parser, publish, save_results  # noqa: E402

DATASETS = ("names", "wordlist")


def wordlist(name: str) -> Path:
    """A word list file shipped by the xkcdpass package (one word per line)."""
    try:
        from importlib.resources import files
        path = Path(str(files("xkcdpass") / "static" / name))
    except ModuleNotFoundError:
        raise SystemExit("the word list comes with the xkcdpass package: pip install xkcdpass") from None
    if not path.exists():
        raise SystemExit(f"xkcdpass has no word list {name!r} in {path.parent}")
    return path


def final_scores(run_dir: Path) -> dict:
    from makemore.runs import load_run
    final = [r for r in load_run(run_dir, weights=None).metrics if r.get("final")][-1]
    return {s: final[s] for s in ("train", "val", "test")}


def default_recipe(file: Path | None, max_steps: int | None, where: Path) -> dict:
    """The default LSTM on `file`: the ladder's row for names.txt at its own steps, else trained here."""
    ladder = load_results("ladder").get("lstm")
    if file is None and max_steps is None and ladder:
        return {"what": "the ladder's `lstm` row", **{k: ladder[k] for k in ("train", "val", "test", "wall_s")}}
    import makemore as mm
    t0 = time.perf_counter()
    options = {} if max_steps is None else {"max_steps": max_steps}
    mm.create_run(where, file, type="lstm", **options).train(progress=False)
    return {"what": "trained here", **final_scores(where), "wall_s": time.perf_counter() - t0}


def measure_one(name: str, file: Path | None, args, keep: Path) -> dict:
    from makemore import presets, sweep
    from makemore.data import read_words
    out = keep / f"sweep-{name}"
    fixed = {} if args.max_steps is None else {"max_steps": args.max_steps}
    t0 = time.perf_counter()
    summary = sweep.run_sweep(out, file, type="lstm", trials=args.trials, workers=args.workers,
                              log=lambda line: print(line, flush=True), **fixed)
    wall = time.perf_counter() - t0
    rows, best = summary["rows"], summary["best"]
    steps = args.max_steps or presets.TRAIN["lstm"]["max_steps"]
    return {"file": "names.txt" if file is None else file.name, "items": len(read_words(file)),
            "trials": len(rows), "workers": args.workers, "max_steps": steps, "wall_s": wall,
            "states": {s: sum(r["state"] == s for r in rows) for s in ("COMPLETE", "PRUNED", "FAIL")},
            "steps_trained": sum(r["step"] or 0 for r in rows),
            "space": json.loads((out / "sweep.json").read_text())["space"],
            "best": {"number": best["number"], "params": best["params"], **final_scores(out / "best")},
            "default": default_recipe(file, args.max_steps, keep / f"default-{name}")}


def table(results: dict) -> str:
    if not any(k in results for k in DATASETS):
        return "*Not measured yet: `python benchmarks/sweep.py` writes this table.*"
    rows = ["| data | what | val | test | wall time |", "|---|---|---:|---:|---:|"]
    notes = []
    for name in DATASETS:
        if name not in results:
            continue
        r = results[name]
        d, b = r["default"], r["best"]
        data = f"`{r['file']}` ({r['items']:,} items)"
        params = ", ".join(f"{k} {v:.3g}" if isinstance(v, float) else f"{k} {v}" for k, v in b["params"].items())
        rows.append(f"| {data} | default LSTM recipe ({d['what']}) | {d['val']:.4f} | {d['test']:.4f} | "
                    f"{d['wall_s']:.0f} s |")
        rows.append(f"| | best of {r['trials']} sweep trials (trial {b['number']}: {params}) | {b['val']:.4f} | "
                    f"{b['test']:.4f} | {r['wall_s']:.0f} s for the sweep, {r['workers']} workers |")
        s = r["states"]
        notes.append(f"`{r['file']}`: {s['COMPLETE']} trials completed, {s['PRUNED']} pruned, {s['FAIL']} failed; the "
                     f"sweep trained {r['steps_trained'] / (r['trials'] * r['max_steps']):.0%} of the "
                     f"{r['trials']} × {r['max_steps']:,} steps it would without pruning.")
    return "\n".join(rows) + "\n\n" + " ".join(notes) + (f" Val and test in nats per character on each file's "
                                                          f"80/10/10 split. Machine: {results['machine']}.")


def main():
    ap = parser(__doc__)
    ap.add_argument("--trials", type=int, default=30, help="trials of each sweep (default: 30)")
    ap.add_argument("--workers", type=int, default=2, help="worker processes (default: 2)")
    ap.add_argument("--max-steps", type=int, help="steps of every trial and of the default run (default: the "
                    "LSTM's own)")
    ap.add_argument("--only", nargs="+", choices=DATASETS, help="run only these sweeps")
    ap.add_argument("--wordlist", default="eff-long", help="which of xkcdpass's word lists (default: eff-long)")
    ap.add_argument("--keep", type=Path, help="keep the sweep and run directories in this directory")
    args = ap.parse_args()

    def measure():
        results = load_results("sweep")
        files = {"names": None, "wordlist": wordlist(args.wordlist)}
        with tempfile.TemporaryDirectory() as tmp:
            keep = args.keep or Path(tmp)
            for name in args.only or DATASETS:
                print(f"== {name}", flush=True)
                results[name] = measure_one(name, files[name], args, keep)
                results["machine"] = machine()
                print(json.dumps(results[name]), flush=True)
                save_results("sweep", results)          # each sweep as it ends
        return results
    publish("sweep", table, None if args.table else measure)


if __name__ == "__main__":
    main()
