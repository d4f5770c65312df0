"""The AWD-LSTM levers and distillation, each measured on val against the default LSTM: the same
steps, the same seed, one change at a time (model choice is on val; test is reported once, for the
chosen configuration only).

Levers: DropConnect on the recurrent weights (--weight-drop), variational dropout (--locked-in,
--locked-out in place of --dropout), activation regularization (--ar, --tar), a uniform average of
the weights over the last steps (--swa-start), a wider or deeper net under that regularization, and
a student distilled from a mixture of runs (`makemore distill`). Each lever is one run directory
under --runs, trained once; its figures are saved as soon as it ends, so an interrupted
measurement continues with the levers not yet measured.

    python benchmarks/regularizers.py --runs runs/reg            # every lever not yet measured
    python benchmarks/regularizers.py --runs runs/reg --only awd # one lever (again)
    python benchmarks/regularizers.py --runs runs/reg --final awd-distill   # + test of the chosen one
    python benchmarks/regularizers.py --runs runs/reg --timed    # the chosen recipe from scratch, timed
    python benchmarks/regularizers.py --table                    # only rewrite the docs table
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import load_results, machine, parser, publish, save_results  # noqa: E402

NAME = "regularizers"
TARGET = 1.895

# name -> (what it is, options of `makemore train` / `makemore distill`); "teacher" makes it a
# distillation, from those runs (by lever name) mixed with fitted weights.
TEACHER = ["baseline", "weight-drop", "locked", "ar-tar", "swa", "awd", "wide", "ngram6"]
WIDE = dict(n_hidden=512, dropout=0.3, weight_drop=0.25)
LEVERS = {
    "baseline": ("the default LSTM (dropout 0.2)", {}),
    "weight-drop": ("+ DropConnect 0.25 on h -> h", dict(weight_drop=0.25)),
    "locked": ("variational dropout 0.2 on inputs and outputs, in place of dropout 0.2",
               dict(dropout=0.0, locked_in=0.2, locked_out=0.2)),
    "ar-tar": ("+ AR 2, TAR 1", dict(ar=2.0, tar=1.0)),
    "swa": ("+ a uniform average of the weights over the last 30% of the steps", dict(swa_start=0.7)),
    "awd": ("the three together: variational dropout, DropConnect, AR/TAR",
            dict(dropout=0.0, locked_in=0.2, locked_out=0.2, weight_drop=0.25, ar=2.0, tar=1.0)),
    "wide": ("n_hidden 512, dropout 0.3 + DropConnect 0.25", WIDE),
    "distill": ("the default LSTM distilled (alpha 0.5) from the mixture of the runs above and a 6-gram",
                dict(alpha=0.5, teacher=TEACHER)),
    "wide-distill": ("`wide`, distilled from the same mixture", dict(WIDE, alpha=0.5, teacher=TEACHER)),
    "awd-distill": ("`--recipe awd` (the `wide` net, 16,000 steps, --swa-start 0.7), distilled from the same mixture",
                    dict(recipe="awd", alpha=0.5, teacher=TEACHER)),
    "swa-ar-tar": ("`swa` and `ar-tar` together", dict(swa_start=0.7, ar=2.0, tar=1.0)),
    "deep": ("2 layers of 256, dropout 0.3 (on inputs, between the layers and before the head) + DropConnect 0.25",
             dict(n_layer=2, dropout=0.3, weight_drop=0.25)),
    # the next three learn from the timed run's teacher (FINAL_TEACHER), to choose its student's settings
    "distill-t": ("the default LSTM distilled (alpha 0.5) from the timed run's teacher", dict(alpha=0.5, teacher="final")),
    "alpha-0.8": ("the same with alpha 0.8", dict(alpha=0.8, teacher="final")),
    "temperature-2": ("the same with alpha 0.5, temperature 2", dict(alpha=0.5, temperature=2.0, teacher="final")),
}
TRAIN = {"type": "lstm", "seed": 1337}

# The chosen single model, from scratch in one timed run (--timed): the teacher's members, then the
# student distilled from their mixture.
FINAL_TEACHER = {"lstm": dict(type="lstm"), "lstm-seed2": dict(type="lstm", seed=2),
                 "lstm-seed3": dict(type="lstm", seed=3), "lstm-seed4": dict(type="lstm", seed=4),
                 "ngram": dict(type="ngram", n=6)}
# Chosen on val: two layers (`deep`) learned more than one wide one (`wide`) in less time, and alpha 0.8
# a little more than 0.5; the steps fill the budget the faster net leaves.
FINAL_STUDENT = dict(type="lstm", preset="deep", recipe="awd", max_steps=20_000, alpha=0.8)


def train_lever(runs: Path, name: str) -> dict:
    import makemore as mm
    what, options = LEVERS[name]
    out = runs / name
    t0 = time.perf_counter()
    extra = {}
    if "teacher" in options:
        from makemore.distill import distill
        options = dict(options)
        mix = teacher(runs, options.pop("teacher"))
        extra = {"teacher": {"members": mix.config["members"], "val": mix.config["val"]}}
        run = distill(out, mix.path, force=True, device="cpu", progress=False, **TRAIN, **options)
    else:
        run = mm.create_run(out, force=True, device="cpu", **TRAIN, **options)
        run.train(progress=False)
    wall = time.perf_counter() - t0
    run = mm.load_run(out)
    val = run.evaluate(["val"])["val"]
    return {"what": what, "options": options, "val": val, "steps": run.config["train"]["max_steps"],
            "params": sum(p.numel() for p in run.model.parameters()), "wall_s": wall,
            "machine": machine().rsplit(",", 1)[0], **extra}


def final_teacher(runs: Path, fresh: bool = False):
    """The timed run's teacher: `makemore best` of FINAL_TEACHER in runs/final-teacher, mixed
    linearly as when it was timed (trained again when fresh, or when it is not there yet)."""
    import makemore as mm
    from makemore.runs import is_run
    if not fresh and is_run(runs / "final-teacher"):
        return mm.load_run(runs / "final-teacher")
    return mm.best(runs / "final-teacher", members=FINAL_TEACHER, mix="fit", device="cpu", force=True)


def teacher(runs: Path, members: list[str]):
    """The mixture of these levers' runs (and a Kneser-Ney 6-gram, counted here), weights fitted on val."""
    import makemore as mm
    from makemore.runs import is_run
    if members == "final":
        return final_teacher(runs)
    if "ngram6" in members and not is_run(runs / "ngram6"):
        mm.create_run(runs / "ngram6", type="ngram", n=6, device="cpu").train(progress=False)
    if is_run(runs / "teacher"):                    # mixed already, of these members: as it is
        mix = mm.load_run(runs / "teacher")
        if mix.config["members"] == [f"../{m}" for m in members]:
            return mix
    return mm.ensemble(runs / "teacher", [runs / m for m in members], force=True, device="cpu")


def timed(runs: Path) -> dict:
    """The chosen recipe from scratch, timed as a whole: the teacher's members trained side by side
    (`makemore best` with FINAL_TEACHER, one process per core), mixed, then the student distilled
    from the mixture on every core. Val and test of the student, and the wall time of it all."""
    import makemore as mm
    from makemore.distill import distill
    t0 = time.perf_counter()
    mix = final_teacher(runs, fresh=True)
    t_teacher = time.perf_counter() - t0
    torch.set_num_threads(os.cpu_count() or 1)
    run = distill(runs / "final", mix.path, force=True, device="cpu", progress=False, **FINAL_STUDENT)
    wall = time.perf_counter() - t0
    run = mm.load_run(runs / "final")
    losses = run.evaluate()
    return {"name": "final", "val": losses["val"], "test": losses["test"], "wall_s": wall, "teacher_s": t_teacher,
            "teacher_val": mix.config["val"], "teacher_test": mix.config["test"], "teacher": FINAL_TEACHER,
            "student": FINAL_STUDENT, "params": sum(p.numel() for p in run.model.parameters()),
            "threads": os.cpu_count(), "machine": machine().rsplit(",", 1)[0]}


# What the levers' runs add to the timed run's teacher as further members of a mixture (--mixtures)
MIXTURES = [["distill-t"], ["distill-t", "alpha-0.8"], ["deep"], ["deep", "swa-ar-tar"],
            ["distill-t", "alpha-0.8", "deep", "swa-ar-tar"]]


def mixtures(runs: Path) -> list[dict]:
    """The timed run's teacher members, then each MIXTURES set added to them: weights fitted on val
    each time, val only (these are levers for a mixture, not a choice to report on test)."""
    from makemore.evaluation import token_nll
    from makemore.models.ensemble import fit_weights, mixture_nll
    from makemore.runs import load_run
    paths = {m: runs / "final-teacher" / "members" / m for m in FINAL_TEACHER}
    paths.update({m: runs / m for extra in MIXTURES for m in extra})
    data = load_run(paths["lstm"]).data
    val = {m: token_nll(load_run(p).model, data.split("val")) for m, p in paths.items()}   # (N,) each

    def mix(names):
        v = torch.stack([val[m] for m in names])                                           # (M, N)
        return mixture_nll(v, fit_weights(v)).mean().item()
    base = mix(list(FINAL_TEACHER))
    return [{"added": [], "val": base}] + [{"added": extra, "val": mix(list(FINAL_TEACHER) + extra)} for extra in MIXTURES]


def flags(options: dict) -> str:
    """Options as the command line spells them: --n-hidden 512 --alpha 0.5."""
    return " ".join(f"--{k.replace('_', '-')} {v}" for k, v in options.items()) or "(defaults)"


def table(res: dict) -> str:
    levers = res.get("levers", {})
    base = levers.get("baseline", {}).get("val")
    lines = ["| lever | options | steps | params | val | vs the default |", "|---|---|---:|---:|---:|---:|"]
    for name, r in levers.items():
        opts = f"`{flags(r['options'])}`"
        if "teacher" in r:
            opts += f" (teacher val {r['teacher']['val']:.4f})"
        gain = "" if base is None or name == "baseline" else f"{r['val'] - base:+.4f}"
        lines.append(f"| `{name}`: {r['what']} | {opts} | {r['steps']:,} | {r['params']:,} | {r['val']:.4f} | {gain} |")
    text = "\n".join(lines)
    final = res.get("final")
    if final:
        reached = "reaches" if final["test"] <= TARGET else "does not reach"
        text += (f"\n\nChosen on val: `{final['name']}`, val {final['val']:.4f} / test {final['test']:.4f} "
                 f"(test measured once, for it alone); it {reached} the target of {TARGET} test nats/char "
                 f"({final['test'] - TARGET:+.5f} from it).")
    timed_runs = res.get("timed_runs", [])
    if timed_runs:
        text += ("\n\nFrom scratch, timed (the teacher's members trained two at a time, then the student on both cores):\n\n"
                 "| student | teacher (val) | teacher's time | student params | val | test | time in all | machine |\n"
                 "|---|---|---:|---:|---:|---:|---:|---|")
        chosen = min(timed_runs, key=lambda t: t["val"])
        for t in timed_runs:
            mark = "**" if t is chosen else ""
            text += (f"\n| `{flags(t['student'])}` | {', '.join(t['teacher'])} ({t['teacher_val']:.4f}) | "
                     f"{t['teacher_s']:.0f} s | {t['params']:,} | {mark}{t['val']:.4f}{mark} | {mark}{t['test']:.4f}{mark} | "
                     f"{t['wall_s']:.0f} s | {t.get('machine', '')} |")
        reached = "reaches" if chosen["test"] <= TARGET else "does not reach"
        text += (f"\n\nChosen on val among the timed runs: `{flags(chosen['student'])}`, test {chosen['test']:.4f} "
                 f"in {chosen['wall_s']:.0f} s; it {reached} {TARGET}.")
    if res.get("mixtures"):
        base = res["mixtures"][0]["val"]
        text += ("\n\nThe levers' runs as further members of the timed run's teacher (weights fitted on val):\n\n"
                 "| members | val | vs the teacher |\n|---|---:|---:|")
        for m in res["mixtures"]:
            what = "the teacher: " + ", ".join(FINAL_TEACHER) if not m["added"] else "+ " + ", ".join(f"`{a}`" for a in m["added"])
            gain = f"{m['val'] - base:+.4f}" if m["added"] else ""
            text += f"\n| {what} | {m['val']:.4f} | {gain} |"
    by_machine = {}
    for name, r in levers.items():
        by_machine.setdefault(r.get("machine", res.get("machine", "?")), []).append(f"`{name}`")
    where = "; ".join(f"{', '.join(names)} on {m}" for m, names in by_machine.items())
    text += f"\n\nEvery lever one run of seed {TRAIN['seed']} on one thread: {where}."
    return text


def main():
    ap = parser(__doc__)
    ap.add_argument("--runs", type=Path, default=Path("runs/regularizers"), help="where the levers' runs are kept")
    ap.add_argument("--only", action="append", default=[], help="measure this lever (again); repeatable")
    ap.add_argument("--final", help="the chosen lever: also score its test split")
    ap.add_argument("--timed", action="store_true", help="train the chosen recipe from scratch (FINAL_TEACHER, "
                    "FINAL_STUDENT), teachers included, timed, on every core; its val, test and wall time")
    ap.add_argument("--mixtures", action="store_true", help="what the levers' runs add to the timed run's "
                    "teacher as further members of its mixture (val)")
    args = ap.parse_args()
    torch.set_num_threads(1)

    def measure():
        res = load_results(NAME)
        res.setdefault("levers", {})
        for name in LEVERS:
            if args.timed and not args.only:
                break
            if (args.only and name not in args.only) or (not args.only and name in res["levers"]):
                continue
            print(f"training {name} ...", flush=True)
            measured = train_lever(args.runs, name)
            res = load_results(NAME)                # as saved now (another --only may have run meanwhile)
            levers = {**res.get("levers", {}), name: measured}
            res["levers"] = {k: levers[k] for k in LEVERS if k in levers}
            res["machine"] = machine()
            save_results(NAME, res)
            print(f"{name}: val {res['levers'][name]['val']:.4f}", flush=True)
        res = load_results(NAME) or res
        if args.timed:                          # one entry per student recipe, the latest run of each
            run = timed(args.runs)
            res["timed_runs"] = [t for t in res.get("timed_runs", []) if t["student"] != run["student"]] + [run]
        if args.mixtures:
            res["mixtures"] = mixtures(args.runs)
        if args.final:
            import makemore as mm
            run = mm.load_run(args.runs / args.final)
            losses = run.evaluate()
            res["final"] = {"name": args.final, "val": losses["val"], "test": losses["test"]}
        res["machine"] = machine()
        return res
    publish(NAME, table, None if args.table else measure)


if __name__ == "__main__":
    main()
