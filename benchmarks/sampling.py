"""Sampling speed: the incremental path (KV cache / carried state / sliding window) against a full
re-run of the forward over the whole prefix at every step, in one process, A/B interleaved.

    python benchmarks/sampling.py                    # trains a default Transformer briefly first
    python benchmarks/sampling.py --run runs/names   # or samples from a trained run
    python benchmarks/sampling.py --table            # only rewrite the docs table from the JSON

Both paths draw the same items from the same seed (the tests check this), so the comparison is of
speed alone. Targets for 10,000 items from the default Transformer on 2 CPU cores: at least
100,000 items per minute, and at least 5x the full re-run.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import load_results, machine, parser, publish  # noqa: E402


def trained_run(tmp: str, steps: int) -> Path:
    """A default Transformer trained for a few steps: enough for items of realistic length."""
    import makemore as mm
    out = Path(tmp) / "transformer"
    mm.create_run(out, type="transformer", max_steps=steps, eval_interval=steps).train(progress=False)
    return out


def time_path(model, vocab, max_len, n, batch_size, cached, seed) -> tuple[float, list[str]]:
    from makemore.sampling import sample_items
    t0 = time.perf_counter()
    items = sample_items(model, vocab, n, max_len, seed=seed, batch_size=batch_size, cached=cached)
    return time.perf_counter() - t0, items


def measure(run_dir: Path, n: int, batch_size: int, rounds: int) -> dict:
    from makemore.runs import load_run
    from makemore.sampling import default_batch_size
    run = load_run(run_dir)
    model, cfg = run.model, run.config
    vocab, max_len = run.vocab, run.max_len
    batch_size = batch_size or default_batch_size(max_len)                  # as `makemore sample` does
    time_path(model, vocab, max_len, 1000, batch_size, True, 0)             # warm up both paths
    time_path(model, vocab, max_len, 1000, batch_size, False, 0)
    times = {True: [], False: []}
    for r in range(rounds):                                                 # A/B interleaved
        for cached in (True, False):
            dt, items = time_path(model, vocab, max_len, n, batch_size, cached, seed=r)
            times[cached].append(dt)
            print(f"round {r}: {'cached ' if cached else 're-run '} {n:,} items in {dt:6.2f} s "
                  f"({n / dt * 60:,.0f} items/min)", flush=True)
    cached, rerun = statistics.median(times[True]), statistics.median(times[False])
    return {"type": cfg["type"], "params": sum(p.numel() for p in model.parameters()), "items": n,
            "batch_size": batch_size, "mean_len": sum(map(len, items)) / len(items),
            "cached_s": cached, "rerun_s": rerun, "cached_items_per_min": n / cached * 60,
            "rerun_items_per_min": n / rerun * 60, "speedup": rerun / cached, "machine": machine()}


def table(results: dict) -> str:
    rows = ["| model | params | items | batch | mean length | incremental | full re-run | speed-up |",
            "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for name, r in results.items():
        rows.append(f"| `{name}` | {r['params']:,} | {r['items']:,} | {r['batch_size']:,} | {r['mean_len']:.1f} | "
                    f"{r['cached_s']:.2f} s ({r['cached_items_per_min']:,.0f} items/min) | "
                    f"{r['rerun_s']:.2f} s ({r['rerun_items_per_min']:,.0f} items/min) | {r['speedup']:.1f}x |")
    meta = next(iter(results.values()))["machine"] if results else machine()
    return "\n".join(rows) + f"\n\nMedian of A/B-interleaved rounds in one process. Machine: {meta}."


def main():
    ap = parser(__doc__)
    ap.add_argument("--run", type=Path, help="a run directory to sample from (default: train a default Transformer)")
    ap.add_argument("--train-steps", type=int, default=2000, help="steps of that training (default 2000)")
    ap.add_argument("-n", type=int, default=10_000, help="items per round (default 10,000)")
    ap.add_argument("--batch-size", type=int, help="rows sampled at once (default: as `makemore sample` does)")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()

    def measure_one():
        with tempfile.TemporaryDirectory() as tmp:
            run_dir = args.run or trained_run(tmp, args.train_steps)
            r = measure(run_dir, args.n, args.batch_size, args.rounds)
        return {**load_results("sampling"), r["type"]: r}
    publish("sampling", table, None if args.table else measure_one)


if __name__ == "__main__":
    main()
