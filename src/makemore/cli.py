"""The command line: makemore train | eval | sample | score.

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

DEFAULT_TYPE = "mlp"

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
    "eval_interval": "evaluate val and checkpoint every this many steps",
    "log_interval": "log the training loss every this many steps",
    "seed": "random seed for initialization and batches",
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
    t.add_argument("--preset", help="named model size of the type (e.g. transformer: tiny, default, medium, large)")
    t.add_argument("--recipe", help="named training recipe: `lecture` reproduces the lectures' SGD runs")
    t.add_argument("--device", default="auto", help="auto, cpu, cuda or mps (default: auto)")
    t.add_argument("--resume", action="store_true", help="continue the run in DIR exactly where it stopped")
    t.add_argument("--force", action="store_true", help="overwrite an existing run in DIR")
    t.add_argument("--tensorboard", action="store_true", help="also write TensorBoard events (pip install 'makemore[tensorboard]')")
    t.add_argument("--no-progress", action="store_true", help="no progress bar")
    t.add_argument("--samples", type=int, default=10, help="items to print when training ends (default: 10)")
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
    return p


def _explicit(args, names) -> dict:
    return {k: getattr(args, k) for k in names if getattr(args, k, None) is not None}


def cmd_train(args) -> int:
    from . import presets
    from .checkpoint import RunDir, read_run_words
    from .data import build_dataset, dedupe_words, file_digest, read_words, Vocab
    from .models import build_model, config_fields, model_class
    from .train import TrainConfig, evaluate, resolve_device, train

    run = RunDir(args.out)
    device = resolve_device(args.device)
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
        data.vocab = Vocab(cfg["data"]["vocab"])
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
        cls = model_class(args.type)
        preset = {}
        if args.preset:
            table = getattr(cls, "PRESETS", {})
            if args.preset not in table:
                raise ValueError(f"--type {args.type} has no preset {args.preset!r}"
                                 + (f"; choose one of: {', '.join(table)}" if table else ""))
            preset = table[args.preset]
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
        model = build_model(args.type, data.vocab.size, data.max_len + 1, **{**preset, **model_opts})
        cfg = {
            "type": args.type,
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
    result = train(model, data, tcfg, run=run, device=device, resume=state, progress=not args.no_progress, writer=writer)
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


COMMANDS = {"train": cmd_train, "eval": cmd_eval, "sample": cmd_sample, "score": cmd_score}


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
