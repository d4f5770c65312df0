"""Scale: read, validate and encode 10k / 100k / 1M / 10M-line inputs; write the encoded split's
cache, then start a second run from it; training step time and evaluation time at each size.
Each size runs in fresh processes, so its peak memory is its own.

    python benchmarks/scale.py              # measure, print, write the docs table and JSON
    python benchmarks/scale.py --table      # only rewrite the docs table from the JSON

The inputs are synthesised from names.txt: each line joins the start of one name to the end of
another (so lengths and letters look like names), written once into a temporary directory.
Targets: 10M lines read, validated and encoded in under 20 s and under 1 GiB of extra memory; a
second run on the same file starts (options checked, split loaded from the cache, model built,
batches ready) in under a second; the training step does not slow down as the file grows;
evaluation time grows linearly.
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

SIZES = [10_000, 100_000, 1_000_000, 10_000_000]


def synthesise(n: int, path: Path, seed: int = 0) -> None:
    from makemore.data import read_words
    names = read_words()
    rng = random.Random(seed)
    with open(path, "w") as f:
        for start in range(0, n, 100_000):
            lines = []
            for _ in range(min(100_000, n - start)):
                a, b = rng.choice(names), rng.choice(names)
                lines.append(a[:rng.randint(1, len(a))] + b[rng.randint(0, len(b) - 1):])
            f.write("\n".join(lines) + "\n")


def rss_mib() -> float:
    """Peak resident memory of this process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(path: Path, cache_dir: Path) -> dict:
    """Runs in its own process: time and memory of each stage for one input file."""
    import torch
    from makemore import cache
    from makemore.data import build_dataset, read_input
    from makemore.models import build_model
    from makemore.batches import Batches
    from makemore.evaluation import evaluate
    from makemore.train import TrainConfig, make_optimizer
    torch.manual_seed(0)
    before = rss_mib()
    t0 = time.perf_counter()
    read = read_input(path)
    t_read = time.perf_counter() - t0
    n_lines = len(read.items)
    sha = cache.file_sha256(Path(path), 2 ** 40)
    data = build_dataset(read.items)
    del read
    t_load = time.perf_counter() - t0
    mem = rss_mib() - before
    t = time.perf_counter()
    cached = sha is not None and cache.save(cache_dir / cache.entry_key(sha, SETTINGS), data,
                                            {"sha256": sha, "dropped": 0, "chars": data.vocab.chars})
    t_cache = time.perf_counter() - t if cached else None

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
    return {"lines": n_lines, "bytes": path.stat().st_size, "read_s": t_read, "load_s": t_load,
            "extra_mib": mem, "cache_write_s": t_cache, "peak_mib": rss_mib(), "step_ms": step_ms,
            "val_targets": data.val.n_targets,
            "eval_s": t_eval, "eval_tokens_per_s": data.val.n_targets / t_eval, "vocab": data.vocab.size,
            "max_len": data.max_len}


# what makemore train's defaults give cache.prepare (an entry of the file's own vocabulary and length)
SETTINGS = {"encoding": "utf-8", "max_len": 256, "dedupe": False, "split_seed": 42}


def second(path: Path, cache_dir: Path) -> dict:
    """Runs in its own process: a second run on the same file, started from the cache as `makemore
    train` starts one (options checked, split loaded, model built), and its batches made ready."""
    import os
    import torch
    from makemore import cache, runs
    from makemore.batches import Batches
    os.environ[cache.ENV] = str(cache_dir)
    before = rss_mib()
    t = time.perf_counter()
    run = runs.create_run(cache_dir.parent / "run", path, device="cpu")          # the default model (an LSTM)
    t_run = run.config["train"]
    Batches(run.data.train, run.model, "cpu", torch.Generator().manual_seed(0), t_run["bucket"], t_run["pack"])
    return {"start_s": time.perf_counter() - t, "start_extra_mib": rss_mib() - before,
            "loaded": cache.prepare(path, cache=cache_dir).source == "loaded"}


def table(res: dict) -> str:
    lines = ["| lines | file | read + validate | read + validate + split + encode | extra memory | cache write "
             "| second run starts | train step (batch 32) | eval of val | eval speed |",
             "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in res["rows"]:
        write = "not cached (under 1 MiB)" if r["cache_write_s"] is None else f"{r['cache_write_s']:.2f} s"
        start = "" if r.get("start_s") is None else f"{r['start_s']:.2f} s" + ("" if r["loaded"] else " (read again)")
        lines.append(f"| {r['lines']:,} | {r['bytes'] / 2**20:.1f} MiB | {r['read_s']:.2f} s | {r['load_s']:.2f} s | "
                     f"{r['extra_mib']:.0f} MiB | {write} | {start} | {r['step_ms']:.1f} ms | {r['eval_s']:.2f} s "
                     f"({r['val_targets']:,} chars) | {r['eval_tokens_per_s']:,.0f} chars/s |")
    return "\n".join(lines) + (
        "\n\nThe Transformer at makemore's size (4 layers, 4 heads, n_embd 64); each input in fresh processes. Extra "
        "memory: peak resident memory while reading, validating, splitting and encoding, over what the process "
        "held before. Second run: `create_run` of the default model in a new process (options checked, the "
        "split loaded from the memory-mapped cache and its SHA-256 sums checked, the model built) and its "
        "batches made ready; the same in `makemore train` after its imports. "
        f"Machine: {res['machine']}.")


def main():
    ap = parser(__doc__)
    ap.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--second", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--cache", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child or args.second:
        print(json.dumps(child(args.child, args.cache) if args.child else second(args.second, args.cache)))
        return

    def measure():
        rows = []
        with tempfile.TemporaryDirectory() as tmp:
            for n in SIZES:
                path = Path(tmp) / f"lines_{n}.txt"
                synthesise(n, path)
                cache_dir = Path(tmp) / f"cache_{n}" / ".makemore-cache"
                row = {}
                for flag in ("--child", "--second"):
                    out = subprocess.run([sys.executable, __file__, flag, str(path), "--cache", str(cache_dir)],
                                         check=True, capture_output=True, text=True).stdout
                    row.update(json.loads(out.strip().splitlines()[-1]))
                rows.append(row)
                print(json.dumps(rows[-1]), flush=True)
                path.unlink()
        return {"rows": rows, "machine": machine()}
    publish("scale", table, None if args.table else measure)


if __name__ == "__main__":
    main()
