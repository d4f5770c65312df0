"""One process against two (torchrun, gloo) on this machine: the `medium` Transformer, where
compute weighs more than Python overhead, at the same global batch and steps; throughput, wall
time and the val reached. Settings are interleaved round by round (A, B, A, B, ...), so a busy
moment slows all of them alike. The headline is the ratio of the two settings' median tokens/s
(the columns of the table); the wall-time ratio, and each round's paired ratios, are shown with it.

    python benchmarks/scaling.py                  # 3 rounds of 300 steps each (about 3 minutes here)
    python benchmarks/scaling.py --steps 100 --rounds 1
    python benchmarks/scaling.py --table          # only rewrite the docs table from the JSON

Run it with nothing else busy on the machine.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine, parser, publish  # noqa: E402

SETTINGS = {   # name -> (processes, threads per process, what)
    "1 process, 2 threads": (1, 2, "one process using both cores"),
    "2 processes, 1 thread each": (2, 1, "torchrun --nproc-per-node 2: DDP over gloo, gradients averaged every step"),
}


def run_once(name: str, out: Path, steps: int, total_batch: int) -> dict:
    procs, threads, _ = SETTINGS[name]
    args = ["-m", "makemore", "train", "-o", str(out), "--type", "transformer", "--preset", "medium",
            "--batch-size", str(total_batch // procs), "--total-batch", str(total_batch), "--max-steps", str(steps),
            "--eval-interval", str(steps), "--log-interval", str(max(1, steps // 10)), "--no-progress", "--samples", "0",
            "--ema", "0"]
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    if procs == 1:
        cmd = [sys.executable, *args, "--threads", str(threads)]
    else:
        cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", str(procs), *args]
    t0 = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - t0
    if done.returncode != 0:
        raise SystemExit(f"{name}: {done.stderr[-2000:]}")
    from makemore.runs import RunDir
    records = RunDir(out).read_metrics()
    tok = [r["tokens_per_sec"] for r in records if "tokens_per_sec" in r][1:]       # the first interval warms up
    val = [r["val"] for r in records if "val" in r and not r.get("final")][-1]
    return {"wall_s": wall, "tokens_per_sec": statistics.median(tok), "val": val}


def measure(steps: int, rounds: int, total_batch: int) -> dict:
    runs = {name: [] for name in SETTINGS}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(rounds):
            for name in SETTINGS:
                res = run_once(name, Path(tmp) / f"{r}-{len(runs[name])}-{SETTINGS[name][0]}", steps, total_batch)
                runs[name].append(res)
                print(f"round {r}: {name}: {res['tokens_per_sec']:,.0f} tokens/s, {res['wall_s']:.0f} s, "
                      f"val {res['val']:.4f}", flush=True)
    return {"runs": runs, "steps": steps, "rounds": rounds, "total_batch": total_batch, "machine": machine()}


def medians(res: dict, key: str) -> dict:
    """{setting: the median over the rounds of `key`}."""
    return {name: statistics.median(r[key] for r in res["runs"][name]) for name in SETTINGS}


def table(res: dict) -> str:
    """The settings' medians and their ratios to one process, then every round's pair: the headline
    (tokens/s, ratio of the medians) is computed from the first table's own columns."""
    base, other = SETTINGS
    tok, wall, val = medians(res, "tokens_per_sec"), medians(res, "wall_s"), medians(res, "val")
    lines = ["| setting | what | tokens / s | wall time | val after the steps | tokens / s vs one process | "
             "wall time vs one process |", "|---|---|---:|---:|---:|---:|---:|"]
    for name, (_, _, what) in SETTINGS.items():
        lines.append(f"| {name} | {what} | {tok[name]:,.0f} | {wall[name]:.0f} s | {val[name]:.4f} | "
                     f"{tok[name] / tok[base]:.2f}x | {wall[name] / wall[base]:.2f}x |")
    procs = {name: f"{SETTINGS[name][0]} process{'es' if SETTINGS[name][0] > 1 else ''}" for name in SETTINGS}
    lines += ["", f"| round | tokens / s, {procs[base]} | tokens / s, {procs[other]} | ratio | "
              f"wall time, {procs[base]} | wall time, {procs[other]} | ratio |", "|---:|---:|---:|---:|---:|---:|---:|"]
    pairs = list(zip(res["runs"][base], res["runs"][other]))
    for i, (a, b) in enumerate(pairs, 1):
        lines.append(f"| {i} | {a['tokens_per_sec']:,.0f} | {b['tokens_per_sec']:,.0f} | "
                     f"{b['tokens_per_sec'] / a['tokens_per_sec']:.2f}x | {a['wall_s']:.0f} s | {b['wall_s']:.0f} s | "
                     f"{b['wall_s'] / a['wall_s']:.2f}x |")
    paired = ", ".join(f"{b['tokens_per_sec'] / a['tokens_per_sec']:.2f}x" for a, b in pairs)
    return "\n".join(lines) + (
        f"\n\nHeadline: {procs[other]} reach **{tok[other] / tok[base]:.2f}x** the tokens/s of {procs[base]} "
        f"(the ratio of the median tokens/s above; round by round {paired}), and take "
        f"{wall[other] / wall[base]:.2f}x its wall time ({wall[base] / wall[other]:.2f}x its speed), all measured in "
        f"the same {res['rounds']} interleaved rounds. "
        f"The `medium` Transformer (4 layers, n_embd 128, 802,304 parameters), {res['steps']:,} steps at a global "
        f"batch of {res['total_batch']} items, no moving average; medians of the rounds. Tokens/s is the median over "
        f"a run's log intervals after the first; wall time includes starting the processes and one evaluation. "
        f"Machine: {res['machine']}.")


def main():
    ap = parser(__doc__)
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--total-batch", type=int, default=64)
    args = ap.parse_args()
    publish("scaling", table, None if args.table else lambda: measure(args.steps, args.rounds, args.total_batch))


if __name__ == "__main__":
    main()
