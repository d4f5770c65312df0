"""Best quality within 15 minutes: time `makemore best` on names.txt, then show what each lever was
worth: every member alone, the linear mixture growing one member at a time (weights fitted on val
by EM each time; test is only reported), then the product mixture `makemore best` ships.

    python benchmarks/best.py                  # trains (about 15 minutes on 2 cores), then evaluates
    python benchmarks/best.py --run runs/best  # evaluate a finished `makemore best` directory
    python benchmarks/best.py --table          # only rewrite the docs table from the JSON
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine, parser, publish  # noqa: E402


def evaluate_members(run_dir: Path) -> dict:
    from makemore.data import reverse_split
    from makemore.evaluation import token_nll
    from makemore.models.ensemble import fit_mixture, mixture_loss
    from makemore.runs import load_run
    run = load_run(run_dir, weights=None)
    ens = run.config
    data = run.data.reversed() if run.reverse else run.data                     # the items as in the file
    names = [Path(m).name for m in ens["members"]]
    reverse = ens.get("member_reverse", [False] * len(names))
    nll = {"val": [], "test": []}
    ways = {s: (data.split(s), reverse_split(data.split(s))) for s in nll}      # as read left to right, right to left
    members = []
    for name, rel, r in zip(names, ens["members"], reverse):
        member = load_run(Path(run_dir) / rel)
        model = member.model
        for s in nll:                                                           # each member reads its own way
            nll[s].append(token_nll(model, ways[s][r]))
        recs = [r for r in member.metrics if "elapsed" in r]
        members.append({"name": name, "type": member.type, "reverse": r, "params": sum(p.numel() for p in model.parameters()),
                        "val": nll["val"][-1].mean().item(), "test": nll["test"][-1].mean().item(),
                        "train_s": recs[-1]["elapsed"] if recs else None})

    def mix(ix):
        rv = [reverse[i] for i in ix]
        w, v = fit_mixture([nll["val"][i] for i in ix], rv, data.val.lengths)
        loss = {s: mixture_loss([nll[s][i] for i in ix], rv, data.split(s).lengths, w, v)[0] for s in nll}
        return {"members": [names[i] for i in ix], "weights": w, "direction_weights": v, **loss}
    growing = [mix(list(range(k))) for k in range(1, len(names) + 1)]
    order = sorted(range(len(names)), key=lambda i: members[i]["val"])           # best member first
    growing_best_first = [mix(order[:k]) for k in range(1, len(names) + 1)]
    by_direction = [{"direction": d, **mix([i for i in range(len(names)) if reverse[i] == r])}
                    for d, r in (("left to right", False), ("right to left", True)) if r in reverse]
    return {"members": members, "growing": growing_best_first, "growing_listed": growing, "by_direction": by_direction,
            "ensemble": {"val": ens["val"], "test": ens["test"], "weights": ens["weights"], "mix": ens.get("mix", "fit"),
                         "direction_weights": ens.get("direction_weights")}}


def table(res: dict) -> str:
    lines = ["| | val | test | params | training time |", "|---|---:|---:|---:|---:|"]
    for m in res["members"]:
        t = f"{m['train_s']:.0f} s" if m["train_s"] else "–"
        way = ", right to left" if m.get("reverse") else ""
        lines.append(f"| member `{m['name']}` ({m['type']}{way}) alone | {m['val']:.4f} | {m['test']:.4f} | {m['params']:,} | {t} |")
    prev = None
    for g in res["growing"]:
        what = f"mix of `{g['members'][0]}`" if prev is None else f"+ `{g['members'][-1]}`"
        gain = "" if prev is None else f" ({g['val'] - prev:+.4f} val)"
        lines.append(f"| {what}{gain} | {g['val']:.4f} | {g['test']:.4f} | | |")
        prev = g["val"]
    for d in res.get("by_direction", []) if len(res.get("by_direction", [])) > 1 else []:
        lines.append(f"| the {d['direction']} members alone, mixed | {d['val']:.4f} | {d['test']:.4f} | | |")
    e = res["ensemble"]
    product = e.get("mix") == "product"
    weights = ("exponents " if product else "weights ") + ", ".join(f"{w:.2f}" for w in e["weights"])
    if e.get("direction_weights"):
        weights += "; directions " + ", ".join(f"{w:.2f}" for w in e["direction_weights"])
    if product:
        weights = "the product mixture: " + weights
    lines.append(f"| **`makemore best`** ({weights}) | "
                 f"**{e['val']:.4f}** | **{e['test']:.4f}** | | **{res['wall_s']:.0f} s** in all |")
    return "\n".join(lines) + f"\n\nMembers trained side by side, one process per core. Machine: {res['machine']}."


def main():
    ap = parser(__doc__)
    ap.add_argument("--run", type=Path, help="a finished `makemore best` directory (skips training)")
    ap.add_argument("--wall", type=float, help="with --run: the wall time `makemore best` took, in seconds")
    args = ap.parse_args()
    if args.run and args.wall is None:
        ap.error("--run needs --wall (the measured wall time of that `makemore best`)")

    def measure():
        import makemore as mm
        with tempfile.TemporaryDirectory() as tmp:
            run_dir, wall = args.run, args.wall
            if run_dir is None:
                run_dir = Path(tmp) / "best"
                t0 = time.perf_counter()
                mm.best(run_dir)
                wall = time.perf_counter() - t0
            return {**evaluate_members(run_dir), "wall_s": wall, "machine": machine()}
    publish("best", table, None if args.table else measure)


if __name__ == "__main__":
    main()
