"""makemore train: train a model on a text file into a run directory, or continue one."""

from __future__ import annotations

import sys

from ..commandline import MODEL_FIELDS, add, explicit, loss_table, training_and_model_options
from ..errors import UsageError
from ..train import TRAIN_FIELDS

HELP = "train a model and save it in a run directory"
DESCRIPTION = ("Train a model on the input and save a run directory (config.json, weights, metrics.jsonl). "
               "Unset options take the type's defaults (presets.py).")


def add_arguments(t) -> None:
    add(t, "out", required=True)
    add(t, "type", "preset", "recipe", "device", "threads", "resume", "force")
    t.add_argument("--tensorboard", action="store_true", help="also write TensorBoard events (pip install 'makemore[tensorboard]')")
    add(t, "no_progress")
    t.add_argument("--samples", type=int, default=10, help="items to print when training ends (default: 10)")
    t.add_argument("--track-updates", type=int, nargs="?", const=10, default=0, metavar="EVERY",
                   help="record update:data ratios every EVERY steps (default 10) into updates.json, for `diagnose`")
    g = t.add_argument_group("data")
    add(g, "input", "encoding", "tagged")
    add(g, "max_len", default=256, help="longest item allowed, in characters (default: 256)")
    g.add_argument("--dedupe", action="store_true", help="drop repeated items (first occurrence kept)")
    g.add_argument("--reverse", action="store_true", help="read and write each item right to left (the same split)")
    g.add_argument("--no-normalize", action="store_true", help="keep the text as it is; by default it is brought to "
                   "Unicode NFC, so a precomposed and a decomposed accented letter are one character")
    g.add_argument("--unit", choices=("char", "grapheme"), default="char",
                   help="a token per code point (default), or per extended grapheme cluster, so that Devanagari, "
                        "Thai or emoji items are written as whole clusters")
    add(g, "max_bytes")
    g.add_argument("--split-seed", type=int, default=42, help="seed of the 80/10/10 shuffle (default: 42, the lectures')")
    training_and_model_options(t, "training (defaults depend on --type)", "model (each applies to the types that have it)")


def check_resume(a) -> None:
    if a.resume and a.force:
        raise UsageError("--resume and --force contradict each other")


def train_and_report(run, a, command: str, report: bool = True, **train_options):
    """Train the run and print how it went: where it stopped (an exit status of 128 + the signal,
    and the command that continues it), else its loss on every split. Returns (status, losses)."""
    if report:
        print(run.describe(), file=sys.stderr)
        if run.data_note:
            print(run.data_note, file=sys.stderr)
    result = run.train(progress=not a.no_progress, **train_options)
    if result["interrupted"]:
        if report:
            print(f"stopped at step {result['step']:,}; saved. Continue with: makemore {command} -o {run.path} --resume",
                  file=sys.stderr)
        return 128 + result["interrupted"], None
    if report and result["losses"] is not None:       # a process other than rank 0: rank 0 reports
        print(loss_table(result["losses"]))
    return 0, result["losses"]


def main(a) -> int:
    from .. import distributed, runs
    from ..data import few_items
    from ..sampling import check_count
    report = distributed.is_writer()               # under torchrun, rank 0 alone prints (and writes)
    check_count("--samples", a.samples)
    check_resume(a)
    if a.threads is not None:
        runs.set_threads(a.threads)
    options = {**explicit(a, TRAIN_FIELDS), **explicit(a, MODEL_FIELDS)}
    if a.resume:
        run = runs.resume_run(a.out, a.input, a.device, type=a.type, preset=a.preset, recipe=a.recipe, **options)
    else:
        run = runs.create_run(a.out, a.input, type=a.type, preset=a.preset, recipe=a.recipe, encoding=a.encoding,
                              max_len=a.max_len, dedupe=a.dedupe, split_seed=a.split_seed, max_bytes=a.max_bytes,
                              reverse=a.reverse, tagged=a.tagged, normalize=not a.no_normalize, unit=a.unit, force=a.force,
                              device=a.device, **options)
        if report:
            for warning in few_items(run.config["data"].get("tags") or {}):
                print(warning, file=sys.stderr)
        if a.dedupe and report:
            d = run.config["data"]
            print(f"--dedupe: dropped {d['dedupe_dropped']:,} repeated items, {sum(d['items'].values()):,} left", file=sys.stderr)
    if a.tensorboard:
        runs.tensorboard_writer()                  # installed? say so before anything is printed
    status, losses = train_and_report(run, a, "train", report, tensorboard=a.tensorboard, track_updates=a.track_updates)
    if status or losses is None:
        return status
    if a.samples > 0:
        print("samples:")
        for s in run.sample(a.samples, seed=run.config["train"]["seed"]):
            print(f"  {s['item']:<24} {s['novelty']}" + (f"  {s['tag']}" if "tag" in s else ""))
    return 0
