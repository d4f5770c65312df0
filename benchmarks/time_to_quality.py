"""Time to quality: wall time from the start of training until val <= 2.00 nats/char, for the default
Transformer (4 layers, 4 heads, n_embd 64) trained two ways on the same machine, one after the other:

- makemore.py's default recipe, the baseline of benchmarks/throughput.py (per-item DataLoader,
  written-out attention, for-each AdamW, .item() every step) at its settings: batch 32, constant
  lr 5e-4, weight decay 0.01, evaluated every 500 steps (here on the whole val split);
- `makemore train` with its default Transformer recipe (batch, learning rate and schedule chosen
  for wall time) on the same size, `--preset small` (the default preset is wider), evaluated every
  --eval-interval steps.

    python benchmarks/time_to_quality.py            # about 20 minutes: the baseline is slow
    python benchmarks/time_to_quality.py --keep-baseline   # rerun ours only, keep the saved baseline
    python benchmarks/time_to_quality.py --table    # only rewrite the docs table from the JSON
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import load_results, machine, parser, publish  # noqa: E402

TARGET = 2.00


def baseline(data, max_minutes: float) -> dict:
    from makemore.evaluation import evaluate
    from throughput import LEVERS, Trainer
    settings = LEVERS[0][2]                                  # the baseline row
    t = Trainer(data, settings, batch_size=32, lr=5e-4, weight_decay=0.01, seed=1337)
    t0, step, curve = time.perf_counter(), 0, []
    while time.perf_counter() - t0 < max_minutes * 60:
        t.steps(500)
        step += 500
        val = evaluate(t.model, data.val)
        t.model.train()
        curve.append({"step": step, "val": val, "elapsed": time.perf_counter() - t0})
        print(f"baseline step {step:6d} val {val:.4f} at {curve[-1]['elapsed']:.0f} s", flush=True)
        if val <= TARGET:
            break
    hit = next((c for c in curve if c["val"] <= TARGET), None)
    return {"curve": curve, "seconds": hit["elapsed"] if hit else None, "steps": hit["step"] if hit else None,
            "best_val": min(c["val"] for c in curve), "capped_at_s": time.perf_counter() - t0}


def ours() -> dict:
    import makemore as mm
    with tempfile.TemporaryDirectory() as tmp:
        run = mm.create_run(Path(tmp) / "run", type="transformer", preset="small")
        run.train(progress=False)
        recs = run.metrics
    curve = [{"step": r["step"], "val": r["val"], "elapsed": r["elapsed"]} for r in recs if "elapsed" in r]
    hit = next((c for c in curve if c["val"] <= TARGET), None)
    return {"curve": curve, "seconds": hit["elapsed"] if hit else None, "steps": hit["step"] if hit else None,
            "best_val": min(c["val"] for c in curve)}


def table(res: dict) -> str:
    b, o = res["baseline"], res["ours"]

    def cell(r):
        if r["seconds"] is None:
            return f"not reached (best {r['best_val']:.4f}" + (f" in {r['capped_at_s'] / 60:.0f} min)" if "capped_at_s" in r else ")")
        return f"{r['seconds']:.0f} s ({r['steps']:,} steps)"
    ratio = f"{b['seconds'] / o['seconds']:.1f}x" if b["seconds"] and o["seconds"] else (
        f"> {b['capped_at_s'] / o['seconds']:.1f}x" if o["seconds"] else "–")
    return "\n".join([
        f"| recipe | time to val ≤ {TARGET:.2f} |", "|---|---:|",
        f"| makemore.py's default (batch 32, lr 5e-4, per-item loading) | {cell(b)} |",
        f"| `makemore train` (default Transformer recipe, `--preset small`) | {cell(o)} |",
        f"| speed-up | {ratio} |", "",
        f"Same model size (4 layers, 4 heads, n_embd 64), same split, wall time from the first step, "
        f"evaluations included. Machine: {res['machine']}."])


def main():
    ap = parser(__doc__)
    ap.add_argument("--max-minutes", type=float, default=30, help="stop the baseline after this long (default 30)")
    ap.add_argument("--keep-baseline", action="store_true",
                    help="train ours only and keep the saved baseline (when only our recipe changed)")
    args = ap.parse_args()

    def measure():
        from makemore.data import build_dataset, read_words
        data = build_dataset(read_words())
        res = {"ours": ours(), "machine": machine()}
        print(f"ours: {res['ours']['seconds']} s", flush=True)
        res["baseline"] = load_results("time_to_quality")["baseline"] if args.keep_baseline else baseline(data, args.max_minutes)
        return res
    publish("time_to_quality", table, None if args.table else measure)


if __name__ == "__main__":
    main()
