"""makemore lr-find: the MLP lecture's learning-rate sweep on a fresh model."""

from __future__ import annotations

import json

from .. import presets
from ..commandline import MODEL_FIELDS, add, explicit, model_options
from .plot import png

HELP = "the lecture's learning-rate sweep"
DESCRIPTION = ("Train a fresh model one batch per learning rate, the rates growing exponentially from --start to --end; "
               "plot loss against log10(lr) and suggest a rate.")


def add_inspection_options(p) -> None:
    """What lr-find and diagnose share: the figure, and the fresh model they inspect."""
    add(p, "png", "json", "preset", "device")
    add(p, "seed", help="random seed for the batches and a fresh model (default: 1337)")
    add(p, "type", help=f"model type for a fresh model (default: {presets.DEFAULT_TYPE})")
    add(p, "input", help="text file with one item per line (default: the run's, or names.txt)")
    model_options(p, "model (fresh model only; each applies to the types that have it)")


def inspected(a, trained: bool):
    """(model, data, label, updates) of the run -o DIR (trained or freshly initialized), or of a fresh --type model."""
    from ..inspection import inspected_model
    return inspected_model(a.out, trained, a.weights if trained else "last", a.type, a.preset, a.input, a.seed,
                           a.device, **explicit(a, MODEL_FIELDS))


def add_arguments(lf) -> None:
    add(lf, "out", help="take the model config of this run and save lr_find.png in it")
    lf.add_argument("--start", type=float, default=1e-3, help="first learning rate (default: 1e-3)")
    lf.add_argument("--end", type=float, default=1.0, help="last learning rate (default: 1)")
    lf.add_argument("--steps", type=int, default=1000, help="number of steps/rates (default: 1000)")
    add(lf, "batch_size", help="examples per step (default: 32)")
    add(lf, "optimizer", default="sgd", choices=["sgd", "adamw"], help="sgd or adamw (default: sgd, as the lecture)")
    add_inspection_options(lf)


def main(a) -> int:
    from .. import diagnostics, plots
    from ..train import resolve_device
    model, data, _, _ = inspected(a, trained=False)
    res = diagnostics.lr_sweep(model, data, a.start, a.end, a.steps, a.batch_size, a.optimizer, a.seed, resolve_device(a.device))
    path = plots.lr_find_plot(res["lrs"], res["losses"], res["smoothed"], res["suggested_lr"], png(a, a.out, "lr_find.png"))
    print(json.dumps({**res, "png": str(path)}) if a.json else f"{diagnostics.lr_report(res)}\nsaved {path}")
    return 0
