"""Memory: the peak a run takes, measured, beside runs.memory_needed's estimate.

    python benchmarks/memory.py              # measure, print, write the docs table and JSON
    python benchmarks/memory.py --table      # only rewrite the docs table from the JSON

Each model trains 5 steps on names.txt in a fresh process (create_run, then run.train(), which
evaluates the three splits at the end) while a thread samples the process's resident memory every
millisecond; the figure is the peak over what the process held after its imports. The last row is
`makemore train --type bigram` on ten million synthesised lines (as benchmarks/scale.py makes
them), its whole process's peak. Targets: the estimate at or above the measured peak, and the
bigram over ten million lines under 2 GiB.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine, parser, publish  # noqa: E402

MODELS = [  # (type, model options, batch size)
    ("mlp", {}, 32),
    ("lstm", {}, 32),
    ("transformer", {"n_layer": 2, "n_embd": 64, "n_head": 4}, 512),
    ("transformer", {"n_layer": 4, "n_embd": 256, "n_head": 4}, 32),
    ("lstm", {"n_embd": 64, "n_hidden": 1024}, 64),
    ("gru", {"n_embd": 64, "n_hidden": 512, "n_layer": 2}, 256),
    ("bnmlp", {"n_embd": 10, "n_hidden": 1000, "n_layer": 5, "block_size": 3}, 4096),
    ("wavenet", {"n_embd": 24, "n_hidden": 512, "block_size": 8}, 1024),
    ("mlp", {"n_embd": 64, "n_hidden": 4096, "block_size": 3}, 256),
]
BIG_LINES = 10_000_000


def resident() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def child(spec: list) -> dict:
    """In its own process: the peak over a 5-step run of one model, and the estimate."""
    import torch
    torch.set_num_threads(1)
    import makemore as mm
    from makemore.models import shape_model
    from makemore.runs import memory_needed
    type, options, batch = spec
    peak = [0]

    def sample():
        while True:
            peak[0] = max(peak[0], resident())
            time.sleep(0.001)
    threading.Thread(target=sample, daemon=True).start()
    time.sleep(0.05)
    base = peak[0] = resident()
    with tempfile.TemporaryDirectory() as d:
        run = mm.create_run(f"{d}/run", type=type, max_steps=5, batch_size=batch, **options)
        run.train(progress=False)
        time.sleep(0.01)
        meta = shape_model(type, run.vocab.size, run.max_len + 1, **options)
        need = memory_needed(meta, mm.TrainConfig(max_steps=5, batch_size=batch), run.data)
    return {"type": type, "options": options, "batch": batch, "params": sum(p.numel() for p in meta.parameters()),
            "peak_mib": (peak[0] - base) / 2**20, "estimate_mib": need / 2**20}


def big_bigram() -> dict:
    """`makemore train --type bigram` over ten million lines: the whole process's peak."""
    from scale import synthesise
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "lines.txt"
        synthesise(BIG_LINES, path)
        t = time.perf_counter()
        subprocess.run([sys.executable, "-m", "makemore", "train", "-i", str(path), "--type", "bigram", "-o",
                        str(Path(d) / "run"), "--no-progress"], check=True, capture_output=True,
                       env={**os.environ, "MAKEMORE_CACHE": "off"})
        seconds = time.perf_counter() - t
    return {"lines": BIG_LINES, "peak_mib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
            "seconds": seconds}


def table(res: dict) -> str:
    lines = ["| model | options | batch | parameters | measured peak | memory_needed | estimate / peak |",
             "|---|---|---:|---:|---:|---:|---:|"]
    for r in res["rows"]:
        opts = ", ".join(f"{k} {v}" for k, v in r["options"].items()) or "default"
        lines.append(f"| {r['type']} | {opts} | {r['batch']:,} | {r['params']:,} | {r['peak_mib']:,.0f} MiB | "
                     f"{r['estimate_mib']:,.0f} MiB | {r['estimate_mib'] / r['peak_mib']:.2f} |")
    b = res["bigram"]
    return "\n".join(lines) + (
        f"\n\n`makemore train --type bigram` over {b['lines']:,} synthesised lines (no cache): the whole process "
        f"peaked at {b['peak_mib']:,.0f} MiB in {b['seconds']:.0f} s. Models: 5 steps of training and the "
        "evaluation of the three splits on names.txt, each in a fresh process with 1 thread; the peak is over "
        f"what the process held after its imports. Machine: {res['machine']}.")


def main():
    ap = parser(__doc__)
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child(json.loads(args.child))))
        return

    def measure():
        bigram = big_bigram()              # first: the peak of children is over every child waited for
        rows = []
        for spec in MODELS:
            out = subprocess.run([sys.executable, __file__, "--child", json.dumps(spec)], check=True,
                                 capture_output=True, text=True).stdout
            rows.append(json.loads(out.strip().splitlines()[-1]))
            print(json.dumps(rows[-1]), flush=True)
        return {"rows": rows, "bigram": bigram, "machine": machine()}
    publish("memory", table, None if args.table else measure)


if __name__ == "__main__":
    main()
