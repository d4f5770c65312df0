"""The command line: makemore train | eval | sample | score | ensemble | best | plot | lr-find | diagnose.

Bad input ends in one line `makemore: error: ...` and exit status 2, never a traceback, and never
touches an existing run directory.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from dataclasses import asdict, fields

from . import __version__
from .data import BUNDLED, DataError

DEFAULT_TYPE = "lstm"            # the best model per CPU minute on names.txt (README: Results)

HELP = {
    # model options
    "block_size": "characters of context (window models)",
    "n_embd": "embedding size",
    "n_hidden": "hidden layer width",
    "n_layer": "number of layers",
    "n_head": "attention heads (transformer)",
    "n": "n-gram order: predict from the previous n-1 characters",
    "method": "n-gram smoothing: kneser-ney or add-k",
    "smoothing": "add-k smoothing: pseudo-count added to every cell",
    "reg": "nnbigram: weight of the mean(W^2) penalty",
    "dropout": "dropout probability",
    "bias": "use biases in linear layers and LayerNorms",
    "rope": "rotary position embedding in attention, besides the learned one (transformer)",
    "batchnorm": "use BatchNorm after each hidden Linear",
    "gain": "init gain of hidden Linears (5/3 suits tanh)",
    # training options
    "max_steps": "optimizer steps",
    "batch_size": "examples per step (window models: next-character examples; others: items); 0 = whole split",
    "optimizer": "adamw or sgd",
    "lr": "peak learning rate",
    "schedule": "learning-rate schedule after warmup: cosine, step or constant",
    "warmup_steps": "linear warmup steps",
    "min_lr_ratio": "cosine: final lr as a fraction of --lr",
    "decay_at": "step schedule: fraction of --max-steps after which lr is multiplied by --decay-factor",
    "decay_factor": "step schedule: lr multiplier",
    "weight_decay": "AdamW weight decay on matrices",
    "grad_clip": "clip the global gradient norm to this (0 = off)",
    "calibrate": "BatchNorm models: before each evaluation, set the running statistics to the exact "
                 "ones over the training split (the lecture's calibration; default on for wavenet)",
    "bucket": "sequence models: draw this many batches at once and serve them sorted by length, "
              "so little is computed on padding (0 = plain random batches; default 64 for rnn/gru/lstm, else 0)",
    "pack": "Transformer: lay the batch's items end to end in shared rows, attending within each item "
            "(the same loss as plain rows, about 25%% fewer positions; default on for transformer)",
    "ema": "evaluate, save and sample an exponential moving average of the weights, with this decay "
           "per step (e.g. 0.999: about the last 1,000 steps; 0 = off, the raw weights)",
    "eval_interval": "evaluate val and checkpoint every this many steps",
    "log_interval": "log the training loss every this many steps",
    "seed": "random seed for initialization and batches",
    "compile": "torch.compile the training step (a little faster per step, after about 30 s of compiling)",
    "dtype": "float32, or bfloat16 autocast for the training step (for GPUs with bfloat16 units)",
}


class Parser(argparse.ArgumentParser):
    """argparse, but a bad option is one line and exit status 2."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message}\n")


def _add_dataclass_options(group, dataclass_fields, seen):
    for f in dataclass_fields:
        if f.name in seen or f.name in ("vocab_size", "seq_len"):
            continue
        seen.add(f.name)
        flag = "--" + f.name.replace("_", "-")
        if isinstance(f.default, bool):
            group.add_argument(flag, default=None, action=argparse.BooleanOptionalAction, help=HELP.get(f.name))
        else:
            group.add_argument(flag, default=None, type=type(f.default), help=HELP.get(f.name, "model option"),
                               metavar=f.name.upper())


def build_parser() -> argparse.ArgumentParser:
    from .models import MODELS
    from .train import TrainConfig

    p = Parser(prog="makemore", description="Learn to generate more items like the ones in a text file "
               "(one item per line) with character-level language models, from a bigram table to a Transformer.",
               epilog="Run `makemore COMMAND --help` for each command's options.")
    p.add_argument("--version", action="version", version=f"makemore {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    sub.required = True

    def run_dir(sp, required=True):
        sp.add_argument("-o", "--out", required=required, metavar="DIR", help="run directory")

    def data_options(sp):
        g = sp.add_argument_group("data")
        g.add_argument("-i", "--input", metavar="FILE", help="text file with one item per line (default: the bundled names.txt)")
        g.add_argument("--encoding", default="utf-8", help="text encoding of the input (default: utf-8)")
        g.add_argument("--max-len", type=int, default=256, help="longest item allowed, in characters (default: 256)")
        g.add_argument("--dedupe", action="store_true", help="drop repeated items (first occurrence kept)")
        g.add_argument("--split-seed", type=int, default=42, help="seed of the 80/10/10 shuffle (default: 42, the lectures')")

    # train
    t = sub.add_parser("train", help="train a model and save it in a run directory",
                       description="Train a model on the input and save a run directory (config.json, weights, "
                       "metrics.jsonl). Unset options take the type's defaults (see presets.py).")
    run_dir(t)
    t.add_argument("--type", help=f"model type: {', '.join(MODELS)} (default: {DEFAULT_TYPE})")
    t.add_argument("--preset", help="named model size of the type (e.g. transformer: tiny, default, small, makemore, medium, large; "
                   "bnmlp and wavenet: default, lecture); unset: the type's `default` preset where it has one")
    t.add_argument("--recipe", help="named training recipe: `lecture` reproduces the lectures' SGD runs")
    t.add_argument("--device", default="auto", help="auto, cpu, cuda or mps (default: auto)")
    t.add_argument("--threads", type=int, help="CPU threads for torch (default: torch's choice, one per core)")
    t.add_argument("--resume", action="store_true", help="continue the run in DIR exactly where it stopped")
    t.add_argument("--force", action="store_true", help="overwrite an existing run in DIR")
    t.add_argument("--tensorboard", action="store_true", help="also write TensorBoard events (pip install 'makemore[tensorboard]')")
    t.add_argument("--no-progress", action="store_true", help="no progress bar")
    t.add_argument("--samples", type=int, default=10, help="items to print when training ends (default: 10)")
    t.add_argument("--track-updates", type=int, nargs="?", const=10, default=0, metavar="EVERY",
                   help="record update:data ratios every EVERY steps (default 10) into updates.json, for `diagnose`")
    data_options(t)
    seen = set()
    _add_dataclass_options(t.add_argument_group("training (defaults depend on --type)"), fields(TrainConfig), seen)
    mg = t.add_argument_group("model (each applies to the types that have it)")
    for cls in MODELS.values():
        _add_dataclass_options(mg, fields(cls.Config), seen)

    # eval
    e = sub.add_parser("eval", help="mean NLL per character (nats and bits) on the run's splits",
                       description="Evaluate a run: token-weighted mean negative log-likelihood per character.")
    run_dir(e)
    e.add_argument("--split", default="all", choices=["train", "val", "test", "all"], help="which split (default: all)")
    e.add_argument("--weights", default="best", choices=["best", "last"], help="which checkpoint (default: best by val)")
    e.add_argument("--json", action="store_true", help="print JSON")
    e.add_argument("-i", "--input", metavar="FILE", help="evaluate on this file instead of the run's data (same vocabulary)")
    e.add_argument("--device", default="auto", help="auto, cpu, cuda or mps (default: auto)")

    # sample
    s = sub.add_parser("sample", help="generate new items", description="Generate items from a trained run. Each is "
                       "marked as new, in train, or in val/test.")
    run_dir(s)
    s.add_argument("-n", "--num", type=int, default=20, help="how many items (default: 20)")
    s.add_argument("--temperature", type=float, default=1.0, help="softmax temperature; 0 = greedy (default: 1.0)")
    s.add_argument("--top-k", type=int, help="sample only among the k most likely characters")
    s.add_argument("--top-p", type=float, help="nucleus sampling: the smallest set of characters with this much probability")
    s.add_argument("--prefix", default="", help="continue items that start with this")
    s.add_argument("--seed", type=int, help="random seed: same seed, same items")
    s.add_argument("--unique", action="store_true", help="no repeated items")
    s.add_argument("--weights", default="best", choices=["best", "last"], help="which checkpoint (default: best by val)")
    s.add_argument("--json", action="store_true", help="print JSON")
    s.add_argument("--device", default="auto", help="auto, cpu, cuda or mps (default: auto)")

    # score
    c = sub.add_parser("score", help="NLL of given items under the model", description="How much each item "
                       "looks like the training data: total NLL (nats) and per character (end included).")
    run_dir(c)
    c.add_argument("items", nargs="+", metavar="ITEM", help="items to score")
    c.add_argument("--weights", default="best", choices=["best", "last"], help="which checkpoint (default: best by val)")
    c.add_argument("--json", action="store_true", help="print JSON")
    c.add_argument("--device", default="auto", help="auto, cpu, cuda or mps (default: auto)")

    # ensemble
    en = sub.add_parser("ensemble", help="mix several trained runs into one model",
                        description="Mix the next-character distributions of several runs trained on the same data "
                        "(e.g. a Transformer, a WaveNet and a Kneser-Ney n-gram) into an ensemble directory that "
                        "eval, sample and score use like any run. The mixture weights are fitted on val by EM.")
    run_dir(en)
    en.add_argument("runs", nargs="+", metavar="RUN", help="run directories to mix")
    en.add_argument("--mix", default="fit", choices=["fit", "equal"], help="fit the weights on val (default) or weigh all equally")
    en.add_argument("--weights", default="best", choices=["best", "last"], help="which checkpoint of each run (default: best by val)")
    en.add_argument("--force", action="store_true", help="overwrite an existing run in DIR")
    en.add_argument("--device", default="auto", help="auto, cpu, cuda or mps (default: auto)")

    # best
    bs = sub.add_parser("best", help="train the best-quality recipe: several models, then their ensemble",
                        description="Train the members of presets.BEST (six LSTMs of different seeds, a GRU, a "
                        "Kneser-Ney 6-gram) side by side, one process per CPU core, into DIR/members/, then mix "
                        "them into an ensemble in DIR (weights fitted on val). About 14 minutes on 2 CPU cores.")
    run_dir(bs)
    bs.add_argument("-i", "--input", metavar="FILE", help="text file with one item per line (default: the bundled names.txt)")
    bs.add_argument("--jobs", type=int, help="members trained at once (default: one per CPU core; 1 on a GPU)")
    bs.add_argument("--device", default="auto", help="auto, cpu, cuda or mps (default: auto)")
    bs.add_argument("--force", action="store_true", help="overwrite an existing run in DIR")

    # plot
    pl = sub.add_parser("plot", help="figures: bigram heatmap, loss curves, embeddings",
                        description="Save a figure as PNG; its numbers are printed too (--json for machines).")
    psub = pl.add_subparsers(dest="figure", metavar="FIGURE", parser_class=Parser)
    psub.required = True
    b = psub.add_parser("bigram", help="the bigram count heatmap of the input",
                        description="The first lecture's V x V grid of bigram counts over all items.")
    b.add_argument("-i", "--input", metavar="FILE", help="text file with one item per line (default: the bundled names.txt)")
    b.add_argument("--encoding", default="utf-8", help="text encoding of the input (default: utf-8)")
    b.add_argument("--top", type=int, default=40, help="show the N most frequent characters at most (default: 40)")
    b.add_argument("-o", "--out", metavar="DIR", help="save bigram.png in this directory (default: current directory)")
    b.add_argument("--png", metavar="PATH", help="where to save the figure (overrides -o)")
    b.add_argument("--json", action="store_true", help="print the counts as JSON")
    lo = psub.add_parser("loss", help="training and val loss of one or more runs",
                         description="log10 of the training loss (means over log intervals) with the val points.")
    lo.add_argument("-o", "--out", nargs="+", required=True, metavar="DIR", help="run directories (several: one figure)")
    lo.add_argument("--window", type=int, default=1, help="average this many logged points more (default: 1)")
    lo.add_argument("--png", metavar="PATH", help="where to save the figure (default: DIR/loss.png of the first run)")
    lo.add_argument("--json", action="store_true", help="print the curves as JSON")
    em = psub.add_parser("embeddings", help="character embeddings, 2-D (PCA above 2)",
                         description="Scatter of the model's character embedding table, each point labelled.")
    run_dir(em)
    em.add_argument("--weights", default="best", choices=["best", "last"], help="which checkpoint (default: best by val)")
    em.add_argument("--png", metavar="PATH", help="where to save the figure (default: DIR/embeddings.png)")
    em.add_argument("--json", action="store_true", help="print the 2-D points as JSON")
    em.add_argument("--device", default="auto", help="auto, cpu, cuda or mps (default: auto)")

    def fresh_model_options(sp):
        sp.add_argument("--type", help=f"model type for a fresh model (default: {DEFAULT_TYPE})")
        sp.add_argument("--preset", help="named model size of the type")
        sp.add_argument("-i", "--input", metavar="FILE", help="text file with one item per line (default: the run's, or names.txt)")
        sp.add_argument("--device", default="auto", help="auto, cpu, cuda or mps (default: auto)")
        g = sp.add_argument_group("model (fresh model only; each applies to the types that have it)")
        seen = set()
        for cls in MODELS.values():
            _add_dataclass_options(g, fields(cls.Config), seen)

    lf = sub.add_parser("lr-find", help="the lecture's learning-rate sweep",
                        description="Train a fresh model one batch per learning rate, the rates growing exponentially "
                        "from --start to --end; plot loss against log10(lr) and suggest a rate.")
    lf.add_argument("-o", "--out", metavar="DIR", help="take the model config of this run and save lr_find.png in it")
    lf.add_argument("--start", type=float, default=1e-3, help="first learning rate (default: 1e-3)")
    lf.add_argument("--end", type=float, default=1.0, help="last learning rate (default: 1)")
    lf.add_argument("--steps", type=int, default=1000, help="number of steps/rates (default: 1000)")
    lf.add_argument("--batch-size", type=int, default=32, help="batch size (default: 32)")
    lf.add_argument("--optimizer", default="sgd", choices=["sgd", "adamw"], help="optimizer (default: sgd, as the lecture)")
    lf.add_argument("--seed", type=int, default=1337, help="random seed (default: 1337)")
    lf.add_argument("--png", metavar="PATH", help="where to save the figure (default: DIR/lr_find.png or ./lr_find.png)")
    lf.add_argument("--json", action="store_true", help="print the sweep as JSON")
    fresh_model_options(lf)

    dg = sub.add_parser("diagnose", help="activation, gradient and update statistics (MLP, BatchNorm MLP, WaveNet)",
                        description="The part-3 lecture's health check on one batch: per tanh layer the activation "
                        "mean/std/saturation and gradient statistics, per weight matrix the gradient statistics and "
                        "grad:data ratio, and the update:data ratios recorded by `train --track-updates`.")
    dg.add_argument("-o", "--out", metavar="DIR", help="a trained run (omit to check a fresh model of --type)")
    dg.add_argument("--weights", default="last", choices=["best", "last"], help="which checkpoint (default: last)")
    dg.add_argument("--batch-size", type=int, default=32, help="examples in the inspected batch (default: 32)")
    dg.add_argument("--seed", type=int, default=1337, help="random seed for the batch and a fresh model")
    dg.add_argument("--png", metavar="PATH", help="where to save the figure (default: DIR/diagnose.png or ./diagnose.png)")
    dg.add_argument("--json", action="store_true", help="print the statistics as JSON")
    fresh_model_options(dg)
    return p


def _explicit(args, names) -> dict:
    return {k: getattr(args, k) for k in names if getattr(args, k, None) is not None}


def _preset(kind: str, name: str | None, recipe: str | None = None) -> tuple[str | None, dict]:
    """(name, model options) of the preset a model of type `kind` gets. Unset, it is the preset a
    recipe was made for (the one of the same name), else the type's `default`, where there is one."""
    from .models import model_class
    table = getattr(model_class(kind), "PRESETS", {})
    if name is None:
        name = next((n for n in (recipe, "default") if n in table), None)
    if name is None:
        return None, {}
    if name not in table:
        raise ValueError(f"--type {kind} has no preset {name!r}" + (f"; choose one of: {', '.join(table)}" if table else ""))
    return name, table[name]


def cmd_train(args) -> int:
    import torch

    from . import presets
    from .checkpoint import RunDir, read_run_words
    from .data import build_dataset, dedupe_words, file_digest, read_words
    from .models import build_model, config_fields
    from .train import Batches, TrainConfig, evaluate, resolve_device, train

    run = RunDir(args.out)
    device = resolve_device(args.device)
    if args.threads is not None:
        if args.threads < 1:
            raise ValueError(f"--threads must be at least 1, got {args.threads}")
        torch.set_num_threads(args.threads)
    train_names = [f.name for f in fields(TrainConfig)]
    if args.resume and args.force:
        raise ValueError("--resume and --force contradict each other")
    if run.path.exists() and not run.path.is_dir():
        raise DataError(f"{run.path}: exists and is not a directory")

    if args.resume:
        if not run.exists() or not run.state_file.exists():
            raise DataError(f"{run.path}: no run to resume (config.json or state.pt missing)")
        cfg = run.read_config()
        model_opts = _explicit(args, _all_model_fields())
        if model_opts or args.preset or args.type not in (None, cfg["type"]):
            raise ValueError("model options cannot change on --resume; they are read from the run's config.json")
        words = read_run_words(cfg, args.input)
        data = build_dataset(words, cfg["data"]["split_seed"], max_len=cfg["data"]["max_len"])
        if data.vocab.chars != cfg["data"]["vocab"]:
            raise DataError(f"{args.input or cfg['data']['input']}: its vocabulary differs from the run's; "
                            "cannot resume on other data")
        tcfg = TrainConfig(**{**cfg["train"], **_explicit(args, train_names)})
        tcfg.validate()
        model = build_model(cfg["type"], **cfg["model"])
        from safetensors.torch import load_model
        load_model(model, str(run.weights_file("last")), device="cpu")
        state = run.load_state()
    else:
        if run.exists() and not args.force:
            old = run.read_config().get("type", "?")
            raise DataError(f"{run.path}: holds a run of type {old}; pass --resume to continue it or --force to overwrite it")
        args.type = args.type or DEFAULT_TYPE
        args.preset, preset = _preset(args.type, args.preset, args.recipe)
        recipe = {}
        if args.recipe:
            if args.recipe not in presets.RECIPES:
                raise ValueError(f"unknown --recipe {args.recipe!r}; choose one of: {', '.join(presets.RECIPES)}")
            if args.type not in presets.RECIPES[args.recipe]:
                raise ValueError(f"--recipe {args.recipe} has no settings for --type {args.type} "
                                 f"(it has: {', '.join(presets.RECIPES[args.recipe])})")
            recipe = presets.RECIPES[args.recipe][args.type]
        tcfg = TrainConfig(**{**presets.TRAIN.get(args.type, {}), **recipe, **_explicit(args, train_names)})
        tcfg.validate()
        model_opts = _explicit(args, _all_model_fields())
        unknown = [k for k in model_opts if k not in config_fields(args.type)]
        if unknown:
            build_model(args.type, 2, 2, **{unknown[0]: model_opts[unknown[0]]})   # raises the clear error
        words = read_words(args.input, encoding=args.encoding, max_len=args.max_len)
        if args.dedupe:
            words, dropped = dedupe_words(words)
            print(f"--dedupe: dropped {dropped:,} repeated items, {len(words):,} left", file=sys.stderr)
        if len(words) < 10:
            raise DataError(f"{args.input or 'input'}: only {len(words)} items; need at least 10 to split 80/10/10")
        data = build_dataset(words, args.split_seed)
        torch.manual_seed(tcfg.seed)                                     # --seed sets the initial weights too
        model = build_model(args.type, data.vocab.size, data.max_len + 1, **{**preset, **model_opts})
        Batches.check(model, tcfg.bucket, tcfg.pack)
        cfg = {
            "type": args.type,
            "preset": args.preset,
            "recipe": args.recipe,
            "model": asdict(model.config),
            "data": {"input": str(args.input) if args.input else BUNDLED, "sha256": file_digest(args.input),
                     "encoding": args.encoding, "max_len_limit": args.max_len, "dedupe": args.dedupe,
                     "split_seed": args.split_seed, "vocab": data.vocab.chars, "max_len": data.max_len,
                     "items": {s: len(data.split(s).words) for s in ("train", "val", "test")},
                     "targets": {s: data.split(s).n_targets for s in ("train", "val", "test")}},
            "train": asdict(tcfg),
        }
        state = None

    writer = None
    if args.tensorboard:
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            raise DataError("--tensorboard needs the tensorboard package: pip install 'makemore[tensorboard]'") from None
        writer = SummaryWriter(log_dir=str(run.path / "tensorboard"))

    n_params = sum(p.numel() for p in model.parameters())
    print(f"{cfg['type']}: {n_params:,} parameters | vocab {data.vocab.size} | items train/val/test "
          f"{len(data.train.words):,}/{len(data.val.words):,}/{len(data.test.words):,} | device {device}", file=sys.stderr)
    if args.force:
        run.clear()
    cfg["train"] = asdict(tcfg)
    run.write_config({k: v for k, v in cfg.items() if k != "makemore_version"})
    tracker = None
    if args.track_updates:
        from .diagnostics import UpdateTracker
        tracker = UpdateTracker(model, every=args.track_updates)
    result = train(model, data, tcfg, run=run, device=device, resume=state, progress=not args.no_progress, writer=writer,
                   on_step=tracker)
    if tracker is not None:
        from .checkpoint import atomic_write
        from pathlib import Path
        atomic_write(run.path / "updates.json", lambda tmp: Path(tmp).write_text(json.dumps(tracker.to_dict())))
    if writer:
        writer.close()
    if result["interrupted"]:
        print(f"stopped at step {result['step']:,}; saved. Continue with: makemore train -o {run.path} --resume", file=sys.stderr)
        return 130

    from .checkpoint import load_model_from_run
    best, _ = load_model_from_run(run, "best", device)
    losses = {s: evaluate(best, data.split(s), device) for s in ("train", "val", "test")}
    run.log({"step": result["step"], "final": True, **losses})
    print(_loss_table(losses))
    if args.samples > 0:
        from .sampling import novelty, sample_items
        items = sample_items(best, data.vocab, args.samples, data.max_len, seed=tcfg.seed, device=device)
        marks = novelty(items, data.train.words, data.val.words + data.test.words)
        print("samples:")
        for w, m in zip(items, marks):
            print(f"  {w:<24} {m}")
    return 0


def _all_model_fields() -> list[str]:
    from .models import MODELS
    return sorted({f.name for cls in MODELS.values() for f in fields(cls.Config)} - {"vocab_size", "seq_len"})


def _loss_table(losses: dict) -> str:
    lines = ["split   nats/char  bits/char"]
    for s, v in losses.items():
        lines.append(f"{s:<7} {v:9.4f}  {v / math.log(2):9.4f}")
    return "\n".join(lines)


def _load(args):
    from .checkpoint import RunDir, load_model_from_run, run_vocab
    from .train import resolve_device
    device = resolve_device(args.device)
    run = RunDir(args.out)
    model, cfg = load_model_from_run(run, args.weights, device)
    return run, model, cfg, run_vocab(cfg), device


def cmd_eval(args) -> int:
    from .checkpoint import read_run_words
    from .data import Split, build_dataset, encode_words
    from .train import evaluate
    run, model, cfg, vocab, device = _load(args)
    max_len = cfg["data"]["max_len"]
    if args.input:
        from .data import read_words
        words = read_words(args.input, encoding=cfg["data"]["encoding"], max_len=max_len)
        unknown = vocab.unknown_chars(words)
        if unknown:
            raise DataError(f"{args.input}: characters not in the model's vocabulary: {''.join(unknown[:20])!r}")
        splits = {"input": Split(words, *encode_words(words, vocab, max_len))}
    else:
        data = build_dataset(read_run_words(cfg), cfg["data"]["split_seed"], vocab=vocab, max_len=max_len)
        names = ["train", "val", "test"] if args.split == "all" else [args.split]
        splits = {s: data.split(s) for s in names}
    losses = {s: evaluate(model, split, device) for s, split in splits.items()}
    if args.json:
        print(json.dumps({**losses, "unit": "nats/char", "bits_per_char": {s: v / math.log(2) for s, v in losses.items()},
                          "targets": {s: split.n_targets for s, split in splits.items()},
                          "type": cfg["type"], "weights": args.weights}))
    else:
        print(_loss_table(losses))
    return 0


def cmd_sample(args) -> int:
    from .checkpoint import read_run_words
    from .data import split_words
    from .sampling import check_sampling_options, novelty, sample_items
    if args.num < 1:
        raise ValueError(f"-n must be at least 1, got {args.num}")
    check_sampling_options(args.temperature, args.top_k, args.top_p)
    run, model, cfg, vocab, device = _load(args)
    unknown = vocab.unknown_chars([args.prefix])
    if unknown:
        raise DataError(f"--prefix {args.prefix!r}: character {unknown[0]!r} is not in the model's vocabulary")
    items = sample_items(model, vocab, args.num, cfg["data"]["max_len"], prefix=args.prefix, unique=args.unique,
                         seed=args.seed, device=device, temperature=args.temperature, top_k=args.top_k, top_p=args.top_p)
    try:
        tr, va, te = split_words(read_run_words(cfg), cfg["data"]["split_seed"])
        marks = novelty(items, tr, va + te)
    except DataError as e:
        print(f"warning: {e}; novelty not marked", file=sys.stderr)
        marks = ["?"] * len(items)
    if args.unique and len(items) < args.num:
        print(f"warning: found only {len(items)} distinct items", file=sys.stderr)
    if args.json:
        print(json.dumps([{"item": w, "novelty": m} for w, m in zip(items, marks)], ensure_ascii=False))
    else:
        for w, m in zip(items, marks):
            print(f"{w:<24} {m}")
        counts = {k: marks.count(k) for k in ("new", "train", "val/test")}
        print(f"{len(items)} items: {counts['new']} new, {counts['train']} in train, {counts['val/test']} in val/test",
              file=sys.stderr)
    return 0


def cmd_score(args) -> int:
    from .sampling import score_items
    run, model, cfg, vocab, device = _load(args)
    scores = score_items(model, vocab, args.items, cfg["data"]["max_len"], device)
    if args.json:
        print(json.dumps(scores, ensure_ascii=False))
    else:
        print(f"{'item':<24} {'nll (nats)':>10} {'per char':>9}")
        for s in scores:
            print(f"{s['item']:<24} {s['nll']:10.3f} {s['nll_per_char']:9.4f}")
    return 0


def _new_run_dir(args):
    """The run directory a command is about to create: an existing run is kept unless --force."""
    from .checkpoint import RunDir
    out = RunDir(args.out)
    if out.exists() and not args.force:
        raise DataError(f"{out.path}: already a run directory; pass --force to overwrite it")
    return out


def cmd_ensemble(args) -> int:
    import os
    import torch
    from .checkpoint import RunDir, load_model_from_run, read_run_words, run_vocab, same_data
    from .data import build_dataset
    from .models.ensemble import Ensemble, fit_weights, mixture_nll
    from .train import resolve_device, token_nll
    device = resolve_device(args.device)
    out = _new_run_dir(args)
    runs = [RunDir(r) for r in args.runs]
    if any(r.path.resolve() == out.path.resolve() for r in runs):
        raise ValueError(f"{out.path}: the ensemble cannot be one of its own members")
    cfgs = [r.read_config() for r in runs]
    same_data(cfgs, args.runs)
    members = [load_model_from_run(r, args.weights, device)[0] for r in runs]
    cfg0 = cfgs[0]
    data = build_dataset(read_run_words(cfg0), cfg0["data"]["split_seed"], vocab=run_vocab(cfg0), max_len=cfg0["data"]["max_len"])
    nll = {s: torch.stack([token_nll(m, data.split(s), device) for m in members]) for s in ("val", "test")}  # (M, N)
    weights = fit_weights(nll["val"]) if args.mix == "fit" else torch.full((len(members),), 1.0 / len(members))
    ensemble = Ensemble(members, weights.tolist())
    mixed = {s: mixture_nll(v, weights).mean().item() for s, v in nll.items()}
    print(f"{'run':<32} {'type':<12} {'weight':>7} {'val':>8} {'test':>8}")
    for r, c, w, v, t in zip(args.runs, cfgs, weights.tolist(), nll["val"].mean(1).tolist(), nll["test"].mean(1).tolist()):
        print(f"{str(r):<32} {c['type']:<12} {w:7.3f} {v:8.4f} {t:8.4f}")
    print(f"{'ensemble':<32} {'':<12} {sum(weights.tolist()):7.3f} {mixed['val']:8.4f} {mixed['test']:8.4f}")
    out.path.mkdir(parents=True, exist_ok=True)
    out.clear()
    out.write_config({"type": "ensemble", "members": [os.path.relpath(r.path.resolve(), out.path.resolve()) for r in runs],
                      "member_types": [c["type"] for c in cfgs], "weights": ensemble.weights, "mix": args.mix,
                      "data": cfg0["data"], "model": {}, "val": mixed["val"], "test": mixed["test"]})
    print(f"saved {out.path}: use it with eval, sample and score like any run")
    return 0


def cmd_best(args) -> int:
    import os
    import subprocess
    import time
    from . import presets
    from .train import resolve_device
    device = resolve_device(args.device)
    out = _new_run_dir(args)
    if args.input:
        from .data import read_words
        read_words(args.input)                       # bad input: one line now, not one per member
    jobs = args.jobs or (1 if device.type != "cpu" else max(1, os.cpu_count() or 1))
    if jobs < 1:
        raise ValueError(f"--jobs must be at least 1, got {jobs}")
    threads = max(1, (os.cpu_count() or 1) // jobs)
    members = out.path / "members"
    members.mkdir(parents=True, exist_ok=True)
    pending = list(presets.BEST.items())
    running, failed, t0 = {}, [], time.perf_counter()
    print(f"training {len(pending)} members, {jobs} at a time, {threads} thread(s) each; logs in {members}/NAME/train.log")
    while pending or running:
        while pending and len(running) < jobs:
            name, extra = pending.pop(0)
            d = members / name
            d.mkdir(parents=True, exist_ok=True)
            cmd = [sys.executable, "-m", "makemore", "train", "-o", str(d), "--force", "--no-progress", "--samples", "0",
                   "--device", args.device, "--threads", str(threads), *extra, *(["-i", args.input] if args.input else [])]
            log = open(d / "train.log", "w")
            env = {**os.environ, "PYTHONUNBUFFERED": "1"}                         # the log fills as it trains
            running[name] = (subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env), log)
        time.sleep(0.5)
        for name, (proc, log) in list(running.items()):
            if proc.poll() is not None:
                log.close()
                del running[name]
                print(f"  {name:<12} {'done' if proc.returncode == 0 else f'FAILED (exit {proc.returncode})'} "
                      f"at {time.perf_counter() - t0:5.0f} s")
                if proc.returncode != 0:
                    failed.append(name)
    if failed:
        raise DataError(f"members {', '.join(failed)} failed; see {members}/NAME/train.log")
    print(f"members trained in {time.perf_counter() - t0:.0f} s")
    ens = argparse.Namespace(out=args.out, runs=[str(members / name) for name in presets.BEST], mix="fit",
                             weights="best", force=True, device=args.device)
    return cmd_ensemble(ens)


def _png(args, default_dir, name):
    from pathlib import Path
    return Path(args.png) if args.png else Path(default_dir or ".") / name


def cmd_plot(args) -> int:
    import torch
    from . import plots
    from .checkpoint import RunDir
    from .data import Vocab, encode_words, read_words, Split
    if args.figure == "bigram":
        if args.top < 2:
            raise ValueError(f"--top must be at least 2, got {args.top}")
        words = read_words(args.input, encoding=args.encoding, max_len=10**6)
        vocab = Vocab.from_words(words)
        ctx, y = Split(words, *encode_words(words, vocab, max(map(len, words)))).examples(1)
        V = vocab.size
        counts = torch.bincount(ctx[:, 0].long() * V + y.long(), minlength=V * V).view(V, V)   # (V, V)
        keep = list(range(V))
        title = f"bigram counts: {len(words):,} items, {V - 1} characters + boundary '.'"
        if V > args.top:   # the boundary, then the most frequent characters
            freq = counts.sum(0) + counts.sum(1)
            keep = [0] + sorted(freq[1:].argsort(descending=True)[:args.top - 1].add(1).tolist())
            title = f"bigram counts: top {args.top - 1} of {V - 1} characters by frequency + boundary '.'"
        sub = counts[keep][:, keep]
        labels = [vocab.show(i) for i in keep]
        path = plots.bigram_heatmap(sub.tolist(), labels, _png(args, args.out, "bigram.png"), title)
        if args.json:
            print(json.dumps({"chars": labels, "counts": sub.tolist(), "png": str(path)}, ensure_ascii=False))
        else:
            flat = sorted(((sub[i, j].item(), labels[i] + labels[j]) for i in range(len(keep)) for j in range(len(keep))),
                          reverse=True)[:15]
            print("most frequent pairs:  " + "  ".join(f"{p} {c:,}" for c, p in flat))
            print(f"saved {path}")
        return 0
    if args.figure == "loss":
        runs = [(RunDir(d).path.name, RunDir(d).read_metrics()) for d in args.out]
        for d, (_, recs) in zip(args.out, runs):
            RunDir(d).read_config()
            if not recs:
                raise DataError(f"{d}: metrics.jsonl is empty or missing")
        if args.window < 1:
            raise ValueError(f"--window must be at least 1, got {args.window}")
        path = plots.loss_curves(runs, _png(args, args.out[0], "loss.png"), args.window)
        if args.json:
            print(json.dumps({name: recs for name, recs in runs}))
        else:
            for name, recs in runs:
                val = [r for r in recs if "val" in r and not r.get("final")]
                best = min(val, key=lambda r: r["val"]) if val else None
                last = [r for r in recs if "loss" in r]
                print(f"{name}: last train loss {last[-1]['loss']:.4f} at step {last[-1]['step']:,}" if last else name,
                      f"| best val {best['val']:.4f} at step {best['step']:,}" if best else "")
            print(f"saved {path}")
        return 0
    # embeddings
    run, model, cfg, vocab, device = _load(args)
    if cfg["type"] == "ensemble":
        raise DataError(f"{run.path}: an ensemble has no single embedding table; plot one of its members")
    emb = next((m.weight for m in model.modules() if type(m).__name__ == "Embedding"), None)
    if emb is None:
        raise DataError(f"{run.path}: a {cfg['type']} model has no character embedding table")
    W = emb.detach().float().cpu()                                  # (V, C)
    if W.size(1) > 2:                                               # PCA to 2-D
        Wc = W - W.mean(0)
        _, S, Vh = torch.linalg.svd(Wc, full_matrices=False)
        pts = Wc @ Vh[:2].T                                         # (V, 2)
        explained = (S[:2] ** 2).sum() / (S ** 2).sum()
        title = f"{cfg['type']} character embeddings: PCA of {W.size(1)} dims ({explained:.0%} of variance)"
    else:
        pts = W if W.size(1) == 2 else torch.cat([W, torch.zeros_like(W)], 1)
        title = f"{cfg['type']} character embeddings ({W.size(1)}-D)"
    labels = [vocab.show(i) for i in range(vocab.size)]
    path = plots.embeddings_plot(pts.tolist(), labels, _png(args, run.path, "embeddings.png"), title)
    if args.json:
        print(json.dumps({"chars": labels, "points": pts.tolist(), "png": str(path)}, ensure_ascii=False))
    else:
        print(f"saved {path}")
    return 0


def _fresh_or_run_model(args):
    """(model, data, type): a run's trained model (if -o DIR and weights are wanted) or a fresh one."""
    import torch
    from .checkpoint import RunDir, read_run_words
    from .data import build_dataset, read_words
    from .models import build_model
    opts = _explicit(args, _all_model_fields())
    if args.out and RunDir(args.out).exists():
        cfg = RunDir(args.out).read_config()
        if opts or args.preset or args.type:
            raise ValueError("model options apply to a fresh model; with -o DIR the run's config is used")
        data = build_dataset(read_run_words(cfg, args.input), cfg["data"]["split_seed"], max_len=cfg["data"]["max_len"])
        return cfg["type"], cfg["model"], data
    kind = args.type or DEFAULT_TYPE
    args.preset, preset = _preset(kind, args.preset)
    data = build_dataset(read_words(args.input))
    torch.manual_seed(getattr(args, "seed", 1337))
    model = build_model(kind, data.vocab.size, data.max_len + 1, **{**preset, **opts})
    from dataclasses import asdict as _asdict
    return kind, _asdict(model.config), data


def cmd_lr_find(args) -> int:
    import torch
    from . import plots
    from .diagnostics import lr_sweep
    from .models import build_model
    from .train import resolve_device
    device = resolve_device(args.device)
    if args.batch_size < 1:
        raise ValueError(f"--batch-size must be at least 1, got {args.batch_size}")
    kind, config, data = _fresh_or_run_model(args)
    torch.manual_seed(args.seed)
    model = build_model(kind, **config)
    if hasattr(model, "fit"):
        raise ValueError(f"--type {kind} is fitted by counting; it has no learning rate")
    res = lr_sweep(model, data, args.start, args.end, args.steps, args.batch_size, args.optimizer, args.seed, device)
    path = plots.lr_find_plot(res["lrs"], res["losses"], res["smoothed"], res["suggested_lr"],
                              _png(args, args.out, "lr_find.png"))
    if args.json:
        print(json.dumps({**res, "png": str(path)}))
    else:
        print(f"{'log10(lr)':>9} {'lr':>9} {'loss (smoothed)':>16}")
        for i in range(0, args.steps, max(1, args.steps // 10)):
            print(f"{math.log10(res['lrs'][i]):9.2f} {res['lrs'][i]:9.3g} {res['smoothed'][i]:16.4f}")
        print(f"suggested lr: {res['suggested_lr']:.3g} (half the rate of the lowest smoothed loss, "
              f"{res['min_loss_lr']:.3g})")
        print(f"saved {path}")
    return 0


def cmd_diagnose(args) -> int:
    import torch
    from . import plots
    from .checkpoint import RunDir, load_model_from_run
    from .diagnostics import expected_initial_loss, inspect
    from .models import build_model
    from .train import resolve_device
    device = resolve_device(args.device)
    if args.batch_size < 2:
        raise ValueError(f"--batch-size must be at least 2, got {args.batch_size}")
    kind, config, data = _fresh_or_run_model(args)
    trained = bool(args.out and RunDir(args.out).exists())
    if trained:
        model, _ = load_model_from_run(RunDir(args.out), args.weights, device)
    else:
        torch.manual_seed(args.seed)
        model = build_model(kind, **config).to(device)
    if not getattr(model, "windowed", False) or hasattr(model, "fit"):
        raise ValueError(f"diagnose inspects the window models trained by gradient descent (mlp, bnmlp, wavenet), not {kind}")
    ctx, y = data.train.examples(model.block_size)
    ix = torch.randint(len(ctx), (args.batch_size,), generator=torch.Generator().manual_seed(args.seed))
    stats = inspect(model, ctx[ix].long().to(device), y[ix].long().to(device))
    stats["uniform_loss"] = expected_initial_loss(model.config.vocab_size)
    updates = None
    if trained and (RunDir(args.out).path / "updates.json").exists():
        updates = json.loads((RunDir(args.out).path / "updates.json").read_text())
    path = plots.diagnose_plot(stats, updates, _png(args, args.out, "diagnose.png"))
    if args.json:
        print(json.dumps({**stats, "updates": updates, "png": str(path)}))
        return 0
    print(f"{kind} ({'trained: ' + args.out if trained else 'fresh init'}): loss on the batch {stats['loss']:.4f}; "
          f"uniform prediction -ln(1/V) = {stats['uniform_loss']:.4f}")
    if not trained and abs(stats["loss"] - stats["uniform_loss"]) > 0.5:
        print("warning: the initial loss is more than 0.5 nats off a uniform guess")
    print(f"{'tanh layer':<28} {'mean':>8} {'std':>7} {'saturated':>9} {'grad mean':>11} {'grad std':>10}")
    for t in stats["tanh"]:
        print(f"{t['layer']:<28} {t['mean']:+8.3f} {t['std']:7.3f} {t['saturated_pct']:8.2f}% "
              f"{t['grad_mean']:+11.2e} {t['grad_std']:10.2e}")
    print(f"{'weight':<28} {'shape':>11} {'grad mean':>11} {'grad std':>10} {'grad:data':>10}")
    for w in stats["weights"]:
        print(f"{w['param']:<28} {str(tuple(w['shape'])):>11} {w['grad_mean']:+11.2e} {w['grad_std']:10.2e} "
              f"{w['grad_data_ratio']:10.2e}")
    if updates:
        print("update:data ratio, log10, last recorded (healthy near -3):")
        for name, r in updates["ratios"].items():
            print(f"  {name:<26} {r[-1]:+.2f}")
    print(f"saved {path}")
    return 0


COMMANDS = {"train": cmd_train, "eval": cmd_eval, "sample": cmd_sample, "score": cmd_score, "ensemble": cmd_ensemble, "best": cmd_best,
            "plot": cmd_plot,
            "lr-find": cmd_lr_find, "diagnose": cmd_diagnose}


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except (DataError, ValueError) as e:
        print(f"makemore {args.command}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
