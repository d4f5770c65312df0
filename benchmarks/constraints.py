"""Constrained sampling: how close each way comes to p(item | constraints), and how fast it is.

    python benchmarks/constraints.py --run runs/names   # a default LSTM on names.txt (trained first if missing)
    python benchmarks/constraints.py --table            # only rewrite the docs table from the JSON

- Exactness, on the bigram of names.txt, where p(item | constraints) is known exactly (the backward
  pass gives every item's probability and the constraints' own): the total-variation distance
  between N sampled items and it, for the exact path, for sequential Monte Carlo at several
  particle counts, and for plain masking (one particle). TV over all items:
  0.5 (sum over the items drawn of |share - p| + the probability of the items never drawn).
  The exact path's own distance is the sampling noise of N items.
- Speed, on the LSTM: constrained items per minute by sequential Monte Carlo (the default
  particles) against rejection sampling (plain samples, kept when they meet the constraints),
  A/B in one run, under `--suffix son --min-len 5 --max-len 8` and under a rare constraint.
"""

from __future__ import annotations

import math
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, machine, parser, publish  # noqa: E402

CASES = {      # name -> the constraints
    "--suffix son --min-len 5 --max-len 8": dict(suffix="son", min_len=5, max_len=8),
    "--contains k --excludes a --max-len 6": dict(contains=["k"], excludes=["a"], max_len=6),
    "--regex '[a-z]*(ley|lee)' --max-len 7": dict(regex="[a-z]*(ley|lee)", max_len=7),
}
RARE = ("--suffix zz --min-len 6", dict(suffix="zz", min_len=6))
N = 20_000
PARTICLES = (1, 16, 64, 256)


def tv(items, logp, log_z):
    """Total-variation distance between the items' shares and p(item | constraints) = e^(logp - log_z)."""
    count = {}
    for w in items:
        count[w] = count.get(w, 0) + 1
    drawn = sum(abs(c / len(items) - math.exp(logp(w) - log_z)) for w, c in count.items())
    return 0.5 * (drawn + max(0.0, 1 - sum(math.exp(logp(w) - log_z) for w in count)))


def exactness(log):
    from makemore.constraints import Automaton, _backward, exact_bigram, smc
    from makemore.data import BOUNDARY, build_dataset, read_words
    from makemore.models import build_model
    data = build_dataset(read_words())
    m = build_model("bigram", data.vocab.size, data.max_len + 1).fit(*data.train.examples(1)).eval()
    logP = m.logp.double()

    def logp(w):
        ids = [BOUNDARY] + data.vocab.encode(w) + [BOUNDARY]
        return float(sum(logP[a, b] for a, b in zip(ids[:-1], ids[1:])))
    out = {}
    for name, c in CASES.items():
        a = Automaton(data.vocab, data.max_len, **{"min_len": 0, **c})
        log_z = _backward(logP, a)[0][BOUNDARY, 0].item()
        row = {"p_constraints": math.exp(log_z)}
        ids, _, _ = exact_bigram(m, a, N, generator=torch.Generator().manual_seed(0))
        row["exact"] = tv([data.vocab.decode([i for i in r if i]) for r in ids.tolist()], logp, log_z)
        for P in PARTICLES:
            t0 = time.perf_counter()
            ids, _, est = smc(m, a, N, particles=P, generator=torch.Generator().manual_seed(0))
            row[f"smc{P}"] = tv([data.vocab.decode([i for i in r if i]) for r in ids.tolist()], logp, log_z)
            row[f"smc{P}_estimate"] = math.exp(torch.logsumexp(est, 0).item() - math.log(N))
            log(f"  {name}: {P} particles TV {row[f'smc{P}']:.4f} ({time.perf_counter() - t0:.0f} s)")
        out[name] = row
        log(f"{name}: {row}")
    return out


def speed(run_dir, log, rounds=3):
    from makemore.constraints import Automaton, PARTICLES as DEFAULT
    from makemore.runs import load_run
    run = load_run(run_dir)
    out = {}
    for name, c in (next(iter(CASES.items())), RARE):
        a = Automaton(run.vocab, run.max_len, **{"min_len": 0, **c})
        smc_rate, rej_rate, p = [], [], None
        for r in range(rounds):
            t0 = time.perf_counter()
            got = run.sample(200, constraints=c, seed=r, marks=False)
            smc_rate.append(len(got) / (time.perf_counter() - t0) * 60)
            p = sum(s["p_constraint"] for s in got) / len(got)
            t0, kept, drawn = time.perf_counter(), 0, 0
            while kept < 200 and time.perf_counter() - t0 < 60:
                items = run.sample(20_000, seed=1000 * r + drawn, marks=False)
                drawn += len(items)
                kept += sum(a.satisfied(s["item"]) for s in items)
            rej_rate.append(kept / (time.perf_counter() - t0) * 60)
        out[name] = {"smc_per_min": sorted(smc_rate)[len(smc_rate) // 2], "rejection_per_min": sorted(rej_rate)[len(rej_rate) // 2],
                     "p_constraints": p, "particles": DEFAULT}
        log(f"{name}: {out[name]}")
    return out


def measure(run_dir):
    torch.set_num_threads(2)
    log = lambda s: print(s, flush=True)          # noqa: E731
    if not (Path(run_dir) / "config.json").exists():
        from makemore.runs import create_run
        create_run(run_dir).train(progress=False)
    return {"machine": machine(), "n": N, "exactness": exactness(log), "speed": speed(run_dir, log)}


def table(res):
    lines = [f"Measured on {res['machine']}.", "",
             f"Exactness on the bigram of names.txt: total-variation distance between {res['n']:,} sampled items and "
             "p(item | constraints) (the exact path's is the noise of that many samples; one particle is plain masking):", "",
             "| constraints | p(constraints) | exact path | " + " | ".join(f"SMC, {P} particle{'s' * (P > 1)}" for P in PARTICLES) + " |",
             "|---|---:|---:|" + "---:|" * len(PARTICLES)]
    for name, r in res["exactness"].items():
        lines.append(f"| `{name.replace('|', chr(92) + '|')}` | {r['p_constraints']:.4f} | {r['exact']:.4f} | "
                     + " | ".join(f"{r[f'smc{P}']:.4f}" for P in PARTICLES) + " |")
    lines += ["", "Speed on the default LSTM (names.txt), constrained items per minute, A/B in one run:", "",
              "| constraints | p(constraints), estimated | SMC (default particles) | rejection sampling | ratio |",
              "|---|---:|---:|---:|---:|"]
    for name, r in res["speed"].items():
        lines.append(f"| `{name.replace('|', chr(92) + '|')}` | {r['p_constraints']:.5f} | {r['smc_per_min']:,.0f} | "
                     f"{r['rejection_per_min']:,.0f} | "
                     f"{r['smc_per_min'] / max(r['rejection_per_min'], 1e-9):.1f} |")
    return "\n".join(lines)


def main():
    ap = parser(__doc__)
    ap.add_argument("--run", default=str(ROOT / "runs" / "names"), help="a default LSTM run on names.txt")
    args = ap.parse_args()
    publish("constraints", table, None if args.table else lambda: measure(args.run))


if __name__ == "__main__":
    main()
