"""makemore diagnose: the activations lecture's health check of a run's model or a fresh one."""

from __future__ import annotations

import json

from ..commandline import add
from .lr_find import add_inspection_options, inspected
from .plot import png

HELP = "activation, gradient and update statistics (MLP, BatchNorm MLP, WaveNet)"
DESCRIPTION = ("The part-3 lecture's health check on one batch: per tanh layer the activation mean/std/saturation and "
               "gradient statistics, per weight matrix the gradient statistics and grad:data ratio, and the update:data "
               "ratios recorded by `train --track-updates`.")


def add_arguments(dg) -> None:
    add(dg, "out", help="a trained run (omit to check a fresh model of --type)")
    add(dg, "weights", default="last", help="which checkpoint (default: last)")
    add(dg, "batch_size", help="examples in the inspected batch (default: 32)")
    add_inspection_options(dg)


def main(a) -> int:
    from .. import diagnostics, plots
    from ..train import resolve_device
    model, data, label, updates = inspected(a, trained=True)
    stats = diagnostics.health(model, data, a.batch_size, a.seed, resolve_device(a.device))
    path = plots.diagnose_plot(stats, updates, png(a, a.out, "diagnose.png"))
    print(json.dumps({**stats, "updates": updates, "png": str(path)}) if a.json
          else f"{diagnostics.report(stats, updates, label)}\nsaved {path}")
    return 0
