"""How makemore.py's reported test loss reads next to the one metric used here.

makemore.py holds out 1,000 names as its test set. Every 500 steps it estimates the loss on 10
batches of 100 names drawn from that set with replacement (the mean of the batches' own token
means) and keeps the checkpoint whose estimate is the lowest so far. Here the metric is the
token-weighted NLL over a whole held-out split of 3,203 names, and the checkpoint is picked on val.

This script takes a trained run, computes every held-out name's NLL once (val and test, 6,407
names the model never trained on), and replays makemore.py's procedure on them many times: a
random 1,000-name test set, then K evaluations of it. Holding the model fixed, as if it had
converged, it reports the spread of one such estimate and the lowest of K, the figure makemore.py
would print and keep.

    python benchmarks/makemore_metric.py --run runs/tf runs/tf-medium   # finished `makemore train` runs
    python benchmarks/makemore_metric.py --table           # only rewrite the docs table from the JSON
"""

from __future__ import annotations

import statistics
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import parser, publish  # noqa: E402

TEST_NAMES, BATCHES, BATCH = 1000, 10, 100       # makemore.py: test set size, eval batches, batch size
EVALS = (1, 10, 20, 50)                          # evaluations of a converged model: 500 steps apart


def per_name_nll(run_dir: Path) -> tuple[torch.Tensor, torch.Tensor]:
    """(summed NLL, targets) of every val and test name, in nats."""
    from makemore.evaluation import token_nll
    from makemore.runs import load_run
    run = load_run(run_dir)
    model, data = run.model, run.data
    sums, counts = [], []
    for split in (data.val, data.test):
        n = (split.Y != -1).sum(1)                                               # (N,) targets per name
        nll = token_nll(model, split)                                            # (targets,) in order
        sums.append(torch.stack([s.sum() for s in torch.split(nll, n.tolist())]))
        counts.append(n.double())
    return torch.cat(sums), torch.cat(counts)


def replay(S: torch.Tensor, N: torch.Tensor, trials: int, seed: int = 0) -> dict:
    g = torch.Generator().manual_seed(seed)
    whole = (S.sum() / N.sum()).item()
    sets, lowest = [], {k: [] for k in EVALS}
    for _ in range(trials):
        test = torch.randperm(len(S), generator=g)[:TEST_NAMES]                  # (1000,) one test set
        sets.append((S[test].sum() / N[test].sum()).item())
        b = test[torch.randint(TEST_NAMES, (max(EVALS), BATCHES, BATCH), generator=g)]  # (K, 10, 100) with replacement
        est = (S[b].sum(-1) / N[b].sum(-1)).mean(-1)                             # (K,) one estimate per evaluation
        for k in EVALS:
            lowest[k].append(est[:k].min().item())
    return {"whole": whole, "names": len(S), "trials": trials,
            "sd_test_set": statistics.stdev(sets), "sd_estimate": statistics.stdev(lowest[1]),   # lowest of 1 = one estimate
            "lowest": {str(k): {"mean": statistics.mean(v), "p10": sorted(v)[len(v) // 10]} for k, v in lowest.items()}}


def table(res: dict) -> str:
    models = res["models"]
    lines = ["| what is reported | " + " | ".join(m["model"] for m in models) + " |",
             "|---|" + "---:|" * len(models),
             f"| here: token-weighted NLL over all {models[0]['names']:,} held-out names | "
             + " | ".join(f"{m['whole']:.4f}" for m in models) + " |"]
    for k in models[0]["lowest"]:
        what = ("one makemore.py estimate (10 batches of 100 of a 1,000-name test set)" if k == "1"
                else f"makemore.py's kept figure: the lowest of {k} estimates")
        lines.append(f"| {what} | " + " | ".join(
            f"{m['lowest'][k]['mean']:.4f} ({m['lowest'][k]['mean'] - m['whole']:+.4f}; one in ten "
            f"{m['lowest'][k]['p10']:.4f})" for m in models) + " |")
    sd = "; ".join(f"{m['model']}: {m['sd_test_set']:.4f} and {m['sd_estimate']:.4f}" for m in models)
    return "\n".join(lines) + (
        f"\n\nEach column is one trained model (best checkpoint by val), held fixed and replayed "
        f"{models[0]['trials']:,} times: the mean, and the figure one replay in ten reads below. Spread (sd) "
        f"of one 1,000-name test set's true loss and of one estimate: {sd}.")


def main():
    ap = parser(__doc__)
    ap.add_argument("--run", type=Path, nargs="+", help="finished `makemore train` run directories")
    ap.add_argument("--trials", type=int, default=2000)
    args = ap.parse_args()
    if not args.table and not args.run:
        ap.error("--run RUN_DIR [RUN_DIR ...] is needed (or --table)")

    def measure():
        from makemore.runs import load_run
        models = []
        for run in args.run:
            cfg = load_run(run, weights=None).config
            r = replay(*per_name_nll(run), args.trials)
            r["model"] = f"`{cfg['type']}` {cfg.get('preset')}"
            models.append(r)
        return {"models": models}
    publish("makemore_metric", table, None if args.table else measure)


if __name__ == "__main__":
    main()
