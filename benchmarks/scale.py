"""Scale: read, validate and encode 10k / 100k / 1M-line inputs; training step time and evaluation
time at each size. Each size runs in a fresh process, so its peak memory is its own.

    python benchmarks/scale.py              # measure, print, write the docs table and JSON
    python benchmarks/scale.py --table      # only rewrite the docs table from the JSON

The inputs are synthesised from names.txt: each line joins the start of one name to the end of
another (so lengths and letters look like names), written once into a temporary directory.
Targets: 1M lines read, validated and encoded in under 10 s and under 1 GiB of extra memory; the
training step does not slow down as the file grows; evaluation time grows linearly.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine, parser, publish  # noqa: E402

SIZES = [10_000, 100_000, 1_000_000]


def synthesise(n: int, path: Path, seed: int = 0) -> None:
    from makemore.data import read_words
    names = read_words()
    rng = random.Random(seed)
    lines = []
    for _ in range(n):
        a, b = rng.choice(names), rng.choice(names)
        lines.append(a[:rng.randint(1, len(a))] + b[rng.randint(0, len(b) - 1):])
    path.write_text("\n".join(lines) + "\n")


def rss_mib() -> float:
    """Peak resident memory of this process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(path: Path) -> dict:
    """Runs in its own process: time and memory of each stage for one input file."""
    import torch
    from makemore.data import build_dataset, read_words
    from makemore.models import build_model
    from makemore.batches import Batches
    from makemore.evaluation import evaluate
    from makemore.train import TrainConfig, make_optimizer
    torch.manual_seed(0)
    before = rss_mib()
    t0 = time.perf_counter()
    words = read_words(path)
    t_read = time.perf_counter() - t0
    data = build_dataset(words)
    t_load = time.perf_counter() - t0
    mem = rss_mib() - before

    model = build_model("transformer", data.vocab.size, data.max_len + 1)
    opt = make_optimizer(model, TrainConfig(), torch.device("cpu"))
    batches = Batches(data.train, model, "cpu", torch.Generator().manual_seed(0))

    def steps(n):
        t = time.perf_counter()
        for _ in range(n):
            x, y, _ = batches.sample(32)
            loss = model.loss(x, y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        return (time.perf_counter() - t) / n
    steps(20)
    step_ms = min(steps(100) for _ in range(3)) * 1000
    t = time.perf_counter()
    evaluate(model, data.val)
    t_eval = time.perf_counter() - t
    return {"lines": len(words), "bytes": path.stat().st_size, "read_s": t_read, "load_s": t_load,
            "extra_mib": mem, "peak_mib": rss_mib(), "step_ms": step_ms, "val_targets": data.val.n_targets,
            "eval_s": t_eval, "eval_tokens_per_s": data.val.n_targets / t_eval, "vocab": data.vocab.size,
            "max_len": data.max_len}


def table(res: dict) -> str:
    lines = ["| lines | file | read | read + split + encode | extra memory | train step (batch 32) | eval of val | eval speed |",
             "|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in res["rows"]:
        lines.append(f"| {r['lines']:,} | {r['bytes'] / 2**20:.1f} MiB | {r['read_s']:.2f} s | {r['load_s']:.2f} s | "
                     f"{r['extra_mib']:.0f} MiB | {r['step_ms']:.1f} ms | {r['eval_s']:.2f} s ({r['val_targets']:,} chars) | "
                     f"{r['eval_tokens_per_s']:,.0f} chars/s |")
    return "\n".join(lines) + (f"\n\nThe Transformer at makemore's size (4 layers, 4 heads, n_embd 64); each input in a fresh process (extra memory = peak resident "
                               f"memory while reading and encoding, over what the process held before). Machine: {res['machine']}.")


def main():
    ap = parser(__doc__)
    ap.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child(args.child)))
        return

    def measure():
        rows = []
        with tempfile.TemporaryDirectory() as tmp:
            for n in SIZES:
                path = Path(tmp) / f"lines_{n}.txt"
                synthesise(n, path)
                out = subprocess.run([sys.executable, __file__, "--child", str(path)], check=True,
                                     capture_output=True, text=True).stdout
                rows.append(json.loads(out.strip().splitlines()[-1]))
                print(json.dumps(rows[-1]), flush=True)
        return {"rows": rows, "machine": machine()}
    publish("scale", table, None if args.table else measure)


if __name__ == "__main__":
    main()
