"""The command line: makemore train | eval | sample | score | ensemble | best | plot | lr-find | diagnose |
serve | sweep | exercise.

Each command parses its options, calls the library (runs, diagnostics, plots) and prints. Bad
input ends in one line `makemore COMMAND: error: ...` and exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from dataclasses import fields
from pathlib import Path

from . import presets
from .commandline import Parser, guarded
from .data import MAX_BYTES
from .errors import RunError, UsageError
from .models import MODELS
from .train import TRAIN_FIELDS, TrainConfig
from .version import __version__

# Every option that more than one command takes, defined once: name -> (flags, argparse settings).
OPTIONS = {
    "out": (("-o", "--out"), dict(metavar="DIR", help="run directory")),
    "input": (("-i", "--input"), dict(metavar="FILE", help="text file with one item per line (default: the bundled names.txt)")),
    "encoding": (("--encoding",), dict(default="utf-8", help="text encoding of the input (default: utf-8)")),
    "device": (("--device",), dict(default="auto", help="auto, cpu, cuda or mps (default: auto)")),
    "weights": (("--weights",), dict(default="best", choices=["best", "last"], help="which checkpoint: best by val, or last (default: best)")),
    "json": (("--json",), dict(action="store_true", help="print JSON")),
    "force": (("--force",), dict(action="store_true", help="overwrite an existing run in DIR (once the new one starts)")),
    "png": (("--png",), dict(metavar="PATH", help="where to save the figure (default: in the run directory, or here)")),
    "type": (("--type",), dict(help=f"model type: {', '.join(MODELS)} (default: {presets.DEFAULT_TYPE})")),
    "preset": (("--preset",), dict(help=f"named model size of the type ({presets.presets_help()}); unset: the type's "
                                    "`default` where it has one")),
}
MODEL_FIELDS = sorted({f.name for cls in MODELS.values() for f in fields(cls.Config)} - {"vocab_size", "seq_len"})

# Command families with a command line of their own: makemore NAME ... runs module.main(argv).
DELEGATED = {
    "exercise": ("makemore.exercises.__main__", "the lectures' own exercises, self-checking: list, show ID, check ID"),
}


def add(parser, *names, **settings):
    """Add the shared options `names`: OPTIONS, or TrainConfig fields (settings override; give one name with them)."""
    for name in names:
        flags, defaults = OPTIONS[name] if name in OPTIONS else config_option(TRAIN_FIELDS[name], TRAIN_FIELDS[name].default)
        parser.add_argument(*flags, **{**defaults, **settings})


def config_option(f, default=None) -> tuple:
    """A config field's option, (flags, argparse settings): its help from the field's metadata (the first that has one)."""
    helps = [g.metadata["help"] for cls in [TrainConfig, *MODELS.values()] for g in fields(cls.Config if cls is not TrainConfig else cls)
             if g.name == f.name and "help" in g.metadata]
    text = (helps[0] if helps else f"{f.name.replace('_', ' ')} (model option)") + ("" if default is None else f" (default: {default})")
    kind = dict(action=argparse.BooleanOptionalAction) if isinstance(f.default, bool) else dict(type=type(f.default), metavar=f.name.upper())
    return ("--" + f.name.replace("_", "-"),), dict(default=default, help=text, **kind)


def add_config_options(group, dataclass_fields, seen):
    """One option per config field, defaults unset (the type's presets fill them)."""
    for f in dataclass_fields:
        if f.name not in seen and f.name not in ("vocab_size", "seq_len"):
            seen.add(f.name)
            flags, settings = config_option(f)
            group.add_argument(*flags, **settings)


def model_options(parser, title):
    seen, group = set(), parser.add_argument_group(title)
    for cls in MODELS.values():
        add_config_options(group, fields(cls.Config), seen)


def build_parser() -> argparse.ArgumentParser:
    p = Parser(prog="makemore", description="Learn to generate more items like the ones in a text file "
               "(one item per line) with character-level language models, from a bigram table to a Transformer.",
               epilog="Run `makemore COMMAND --help` for each command's options.")
    p.add_argument("--version", action="version", version=f"makemore {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    sub.required = True

    t = sub.add_parser("train", help="train a model and save it in a run directory",
                       description="Train a model on the input and save a run directory (config.json, weights, "
                       "metrics.jsonl). Unset options take the type's defaults (presets.py).")
    add(t, "out", required=True)
    add(t, "type", "preset")
    t.add_argument("--recipe", help=f"named training recipe: {', '.join(presets.RECIPES)} (`lecture` reproduces the "
                   "lectures' SGD runs; `part3` the activations lecture's own run, its seed and batches included)")
    add(t, "device")
    t.add_argument("--threads", type=int, help="CPU threads for torch (default: torch's choice, one per core)")
    t.add_argument("--resume", action="store_true", help="continue the run in DIR exactly where it stopped")
    add(t, "force")
    t.add_argument("--tensorboard", action="store_true", help="also write TensorBoard events (pip install 'makemore[tensorboard]')")
    t.add_argument("--no-progress", action="store_true", help="no progress bar")
    t.add_argument("--samples", type=int, default=10, help="items to print when training ends (default: 10)")
    t.add_argument("--track-updates", type=int, nargs="?", const=10, default=0, metavar="EVERY",
                   help="record update:data ratios every EVERY steps (default 10) into updates.json, for `diagnose`")
    g = t.add_argument_group("data")
    add(g, "input", "encoding")
    g.add_argument("--max-len", type=int, default=256, help="longest item allowed, in characters (default: 256)")
    g.add_argument("--dedupe", action="store_true", help="drop repeated items (first occurrence kept)")
    g.add_argument("--reverse", action="store_true", help="read and write each item right to left (the same split)")
    g.add_argument("--max-bytes", type=int, default=MAX_BYTES, help=f"largest input read (default: {MAX_BYTES:,})")
    g.add_argument("--split-seed", type=int, default=42, help="seed of the 80/10/10 shuffle (default: 42, the lectures')")
    add_config_options(t.add_argument_group("training (defaults depend on --type)"), fields(TrainConfig), set())
    model_options(t, "model (each applies to the types that have it)")

    e = sub.add_parser("eval", help="mean NLL per character (nats and bits) on the run's splits",
                       description="Evaluate a run: token-weighted mean negative log-likelihood per character.")
    add(e, "out", required=True)
    e.add_argument("--split", default="all", choices=["train", "val", "test", "all"], help="which split (default: all)")
    add(e, "weights", "json", "device")
    add(e, "input", help="evaluate on this file instead of the run's data (same vocabulary)")

    s = sub.add_parser("sample", help="generate new items", description="Generate items from a trained run. Each is "
                       "marked as new, in train, or in val/test.")
    add(s, "out", required=True)
    s.add_argument("-n", "--num", type=int, default=20, help="how many items (default: 20)")
    s.add_argument("--temperature", type=float, default=1.0, help="softmax temperature; 0 = greedy (default: 1.0)")
    s.add_argument("--top-k", type=int, help="sample only among the k most likely characters")
    s.add_argument("--top-p", type=float, help="nucleus sampling: the smallest set of characters with this much probability")
    s.add_argument("--prefix", default="", help="continue items that start with this")
    add(s, "seed", default=None, help="random seed: same seed, same items")
    s.add_argument("--unique", action="store_true", help="no repeated items")
    add(s, "weights", "json", "device")

    c = sub.add_parser("score", help="NLL of given items under the model", description="How much each item "
                       "looks like the training data: total NLL (nats) and per character (end included).")
    add(c, "out", required=True)
    c.add_argument("items", nargs="+", metavar="ITEM", help="items to score")
    add(c, "weights", "json", "device")

    en = sub.add_parser("ensemble", help="mix several trained runs into one model",
                        description="Mix the next-character distributions of several runs trained on the same data "
                        "into an ensemble directory that eval, sample and score use like any run. The mixture "
                        "weights are fitted on val by EM (or, with --mix product, the exponents of a product of experts).")
    add(en, "out", required=True)
    en.add_argument("runs", nargs="+", metavar="RUN", help="run directories to mix")
    en.add_argument("--mix", default="fit", choices=["fit", "equal", "product"], help="fit the weights on val (default), weigh all equally, or multiply the distributions, each to an exponent fitted on val")
    add(en, "weights", help="which checkpoint of each run (default: best by val)")
    add(en, "force", "device")

    bs = sub.add_parser("best", help="train the best-quality recipe: several models, then their ensemble",
                        description=f"Train the members of presets.BEST ({', '.join(presets.BEST)}) side by side, "
                        "one process per CPU core, into DIR/members/, then mix them into an ensemble in DIR "
                        "(a product mixture, fitted on val); its time and loss are in docs/results.md.")
    add(bs, "out", required=True)
    add(bs, "input", "device", "force")
    bs.add_argument("--jobs", type=int, help="members trained at once (default: one per CPU core; 1 on a GPU)")

    pl = sub.add_parser("plot", help="figures: bigram heatmap, loss curves, embeddings",
                        description="Save a figure as PNG; its numbers are printed too (--json for machines).")
    psub = pl.add_subparsers(dest="figure", metavar="FIGURE", parser_class=Parser)
    psub.required = True
    b = psub.add_parser("bigram", help="the bigram count heatmap of the input",
                        description="The first lecture's V x V grid of bigram counts over all items.")
    add(b, "input", "encoding", "png", "json")
    b.add_argument("--top", type=int, default=40, help="show the N most frequent characters at most (default: 40)")
    add(b, "out", help="save bigram.png in this directory (default: current directory)")
    lo = psub.add_parser("loss", help="training and val loss of one or more runs",
                         description="log10 of the training loss (means over log intervals) with the val points.")
    add(lo, "out", nargs="+", required=True, help="run directories (several: one figure)")
    lo.add_argument("--window", type=int, default=1, help="average this many logged points more (default: 1)")
    add(lo, "png", "json")
    em = psub.add_parser("embeddings", help="character embeddings, 2-D (PCA above 2)",
                         description="Scatter of the model's character embedding table, each point labelled.")
    add(em, "out", required=True)
    add(em, "weights", "png", "json", "device")

    lf = sub.add_parser("lr-find", help="the lecture's learning-rate sweep",
                        description="Train a fresh model one batch per learning rate, the rates growing exponentially "
                        "from --start to --end; plot loss against log10(lr) and suggest a rate.")
    add(lf, "out", help="take the model config of this run and save lr_find.png in it")
    lf.add_argument("--start", type=float, default=1e-3, help="first learning rate (default: 1e-3)")
    lf.add_argument("--end", type=float, default=1.0, help="last learning rate (default: 1)")
    lf.add_argument("--steps", type=int, default=1000, help="number of steps/rates (default: 1000)")
    add(lf, "batch_size", help="examples per step (default: 32)")
    add(lf, "optimizer", default="sgd", choices=["sgd", "adamw"], help="sgd or adamw (default: sgd, as the lecture)")

    dg = sub.add_parser("diagnose", help="activation, gradient and update statistics (MLP, BatchNorm MLP, WaveNet)",
                        description="The part-3 lecture's health check on one batch: per tanh layer the activation "
                        "mean/std/saturation and gradient statistics, per weight matrix the gradient statistics and "
                        "grad:data ratio, and the update:data ratios recorded by `train --track-updates`.")
    add(dg, "out", help="a trained run (omit to check a fresh model of --type)")
    add(dg, "weights", default="last", help="which checkpoint (default: last)")
    add(dg, "batch_size", help="examples in the inspected batch (default: 32)")
    for sp in (lf, dg):
        add(sp, "png", "json", "preset", "device")
        add(sp, "seed", help="random seed for the batches and a fresh model (default: 1337)")
        add(sp, "type", help=f"model type for a fresh model (default: {presets.DEFAULT_TYPE})")
        add(sp, "input", help="text file with one item per line (default: the run's, or names.txt)")
        model_options(sp, "model (fresh model only; each applies to the types that have it)")
    from . import serve, sweep
    serve.add_parser(sub)
    sweep.add_parser(sub)
    __import__("makemore.distill").distill.add_parser(sub, COMMANDS)   # `makemore distill`: its parser and command
    for name, (_, text) in DELEGATED.items():
        sub.add_parser(name, help=text, add_help=False).add_argument("args", nargs=argparse.REMAINDER,
                                                                     help=f"see makemore {name} --help")
    return p


def explicit(args, names) -> dict:
    """The options among `names` given on the command line."""
    return {k: getattr(args, k) for k in names if getattr(args, k, None) is not None}


def loss_table(losses: dict) -> str:
    lines = ["split   nats/char  bits/char"]
    lines += [f"{s:<7} {v:9.4f}  {v / math.log(2):9.4f}" for s, v in losses.items()]
    return "\n".join(lines)


def png(args, default_dir, name):
    return Path(args.png) if args.png else Path(default_dir or ".") / name


def cmd_train(a) -> int:
    from . import distributed, runs
    from .sampling import check_count
    report = distributed.is_writer()               # under torchrun, rank 0 alone prints (and writes)
    check_count("--samples", a.samples)
    if a.threads is not None:
        runs.set_threads(a.threads)
    options = {**explicit(a, TRAIN_FIELDS), **explicit(a, MODEL_FIELDS)}
    if a.resume:
        if a.force:
            raise UsageError("--resume and --force contradict each other")
        run = runs.resume_run(a.out, a.input, a.device, type=a.type, preset=a.preset, recipe=a.recipe, **options)
    else:
        run = runs.create_run(a.out, a.input, type=a.type, preset=a.preset, recipe=a.recipe, encoding=a.encoding,
                              max_len=a.max_len, dedupe=a.dedupe, split_seed=a.split_seed, max_bytes=a.max_bytes, reverse=a.reverse,
                              force=a.force, device=a.device, **options)
        if a.dedupe and report:
            d = run.config["data"]
            print(f"--dedupe: dropped {d['dedupe_dropped']:,} repeated items, {sum(d['items'].values()):,} left", file=sys.stderr)
    if a.tensorboard:
        runs.tensorboard_writer()                  # installed? say so before anything is printed
    if report:
        print(run.describe(), file=sys.stderr)
        if run.data_note:
            print(run.data_note, file=sys.stderr)
    result = run.train(progress=not a.no_progress, tensorboard=a.tensorboard, track_updates=a.track_updates)
    if result["interrupted"]:
        if report:
            print(f"stopped at step {result['step']:,}; saved. Continue with: makemore train -o {run.path} --resume",
                  file=sys.stderr)
        return 128 + result["interrupted"]
    if not report or result["losses"] is None:    # a process other than rank 0: rank 0 reports
        return 0
    print(loss_table(result["losses"]))
    if a.samples > 0:
        print("samples:")
        for s in run.sample(a.samples, seed=run.config["train"]["seed"]):
            print(f"  {s['item']:<24} {s['novelty']}")
    return 0


def cmd_eval(a) -> int:
    from .data import SPLITS
    from .runs import load_run
    run = load_run(a.out, a.weights, a.device)
    losses = run.evaluate_file(a.input) if a.input else run.evaluate(SPLITS if a.split == "all" else [a.split])
    if a.json:
        targets = {s: (run.config["data"].get("targets") or {}).get(s) for s in losses}
        print(json.dumps({**losses, "unit": "nats/char", "bits_per_char": {s: v / math.log(2) for s, v in losses.items()},
                          "targets": targets, "type": run.type, "weights": a.weights}))
    else:
        print(loss_table(losses))
    return 0


def cmd_sample(a) -> int:
    from .runs import load_run
    run = load_run(a.out, a.weights, a.device)
    items = run.sample(a.num, prefix=a.prefix, unique=a.unique, seed=a.seed, temperature=a.temperature,
                       top_k=a.top_k, top_p=a.top_p)
    marks = [s["novelty"] for s in items]
    if "?" in marks:
        print(f"warning: the run's data file {run.config['data']['input']} is gone; novelty not marked", file=sys.stderr)
    if a.unique and len(items) < a.num:
        print(f"warning: found only {len(items)} distinct items", file=sys.stderr)
    if a.json:
        print(json.dumps(items, ensure_ascii=False))
        return 0
    for s in items:
        print(f"{s['item']:<24} {s['novelty']}")
    counts = {k: marks.count(k) for k in ("new", "train", "val/test")}
    print(f"{len(items)} items: {counts['new']} new, {counts['train']} in train, {counts['val/test']} in val/test",
          file=sys.stderr)
    return 0


def cmd_score(a) -> int:
    from .runs import load_run
    scores = load_run(a.out, a.weights, a.device).score(a.items)
    if a.json:
        print(json.dumps(scores, ensure_ascii=False))
        return 0
    print(f"{'item':<24} {'nll (nats)':>10} {'per char':>9}")
    for s in scores:
        print(f"{s['item']:<24} {s['nll']:10.3f} {s['nll_per_char']:9.4f}")
    return 0


def cmd_ensemble(a) -> int:
    """ensemble, and best (which trains the members first)."""
    from .runs import best, ensemble
    run = best(a.out, a.input, a.jobs, a.device, a.force) if a.command == "best" else \
        ensemble(a.out, a.runs, a.mix, a.weights, a.force, a.device)
    print(f"{run.members_table()}\nsaved {run.path}: use it with eval, sample and score like any run")
    return 0


def cmd_plot(a) -> int:
    from . import plots
    from .runs import load_run
    if a.figure == "bigram":
        from .data import read_words
        from .diagnostics import bigram_table
        t = bigram_table(read_words(a.input, encoding=a.encoding, max_len=10**6), a.top)
        path = plots.bigram_heatmap(t["counts"], t["chars"], png(a, a.out, "bigram.png"), t["title"])
        if a.json:
            print(json.dumps({"chars": t["chars"], "counts": t["counts"], "png": str(path)}, ensure_ascii=False))
            return 0
        print("most frequent pairs:  " + "  ".join(f"{p} {c:,}" for p, c in t["top_pairs"]))
    elif a.figure == "loss":
        if a.window < 1:
            raise UsageError(f"--window must be at least 1, got {a.window}")
        curves = [(run.path.name, run.metrics) for run in (load_run(d, weights=None) for d in a.out)]
        for d, (_, records) in zip(a.out, curves):
            if not records:
                raise RunError(f"{d}: metrics.jsonl is empty or missing")
        path = plots.loss_curves(curves, png(a, a.out[0], "loss.png"), a.window)
        if a.json:
            print(json.dumps({name: records for name, records in curves}))
            return 0
        print(plots.loss_summary(curves))
    else:
        from .diagnostics import embedding_points
        run = load_run(a.out, a.weights, a.device)
        e = embedding_points(run.model, run.vocab, run.type)
        path = plots.embeddings_plot(e["points"], e["chars"], png(a, run.path, "embeddings.png"), e["title"])
        if a.json:
            print(json.dumps({"chars": e["chars"], "points": e["points"], "png": str(path)}, ensure_ascii=False))
            return 0
    print(f"saved {path}")
    return 0


def inspected(a, trained: bool):
    from .runs import inspected_model
    return inspected_model(a.out, trained, a.weights if trained else "last", a.type, a.preset, a.input, a.seed,
                           a.device, **explicit(a, MODEL_FIELDS))


def cmd_lr_find(a) -> int:
    from . import diagnostics, plots
    from .train import resolve_device
    model, data, _, _ = inspected(a, trained=False)
    res = diagnostics.lr_sweep(model, data, a.start, a.end, a.steps, a.batch_size, a.optimizer, a.seed, resolve_device(a.device))
    path = plots.lr_find_plot(res["lrs"], res["losses"], res["smoothed"], res["suggested_lr"], png(a, a.out, "lr_find.png"))
    print(json.dumps({**res, "png": str(path)}) if a.json else f"{diagnostics.lr_report(res)}\nsaved {path}")
    return 0


def cmd_diagnose(a) -> int:
    from . import diagnostics, plots
    from .train import resolve_device
    model, data, label, updates = inspected(a, trained=True)
    stats = diagnostics.health(model, data, a.batch_size, a.seed, resolve_device(a.device))
    path = plots.diagnose_plot(stats, updates, png(a, a.out, "diagnose.png"))
    print(json.dumps({**stats, "updates": updates, "png": str(path)}) if a.json
          else f"{diagnostics.report(stats, updates, label)}\nsaved {path}")
    return 0


COMMANDS = {"train": cmd_train, "eval": cmd_eval, "sample": cmd_sample, "score": cmd_score, "ensemble": cmd_ensemble,
            "best": cmd_ensemble, "plot": cmd_plot, "lr-find": cmd_lr_find, "diagnose": cmd_diagnose,
            "serve": lambda args: __import__("makemore.serve").serve.main(args),
            "sweep": lambda args: __import__("makemore.sweep").sweep.main(args)}


def main(argv=None) -> int:
    parser = build_parser()
    args, rest = parser.parse_known_args(argv)       # the rest only for a family with its own parser
    if args.command in DELEGATED:
        import importlib
        return guarded(args.command, importlib.import_module(DELEGATED[args.command][0]).main, args.args + rest)
    if rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    return guarded(args.command, COMMANDS[args.command], args)


if __name__ == "__main__":
    sys.exit(main())
