"""makemore sweep: run, continue or --show a sweep."""

from __future__ import annotations

from .. import presets
from .space import load_space
from .study import DEFAULT_SEED, DEFAULT_TRIALS, run_sweep
from .table import report, show

DESCRIPTION = ("Search a model type's options with Optuna: every trial trains a run directory in DIR/trials/, "
               "scored by its best val NLL; trials behind the median are pruned; DIR/best is the best trial's run. "
               "Run it again to continue or extend the sweep. See docs/sweeps.md.")


HELP = "search a model type's options with Optuna (every trial a run)"


def add_arguments(p):
    """The options of `makemore sweep`."""
    from ..commandline import add
    add(p, "out", required=True, help="sweep directory (trials/, best, sweep.json)")
    add(p, "input", help="text file with one item per line (default: the bundled names.txt; continuing a sweep: its own)")
    add(p, "tagged")
    add(p, "type", help=f"model type: {', '.join(presets.SEARCH)} (default: {presets.DEFAULT_TYPE})")
    p.add_argument("--trials", type=int, help=f"trials the study should have (default: {DEFAULT_TRIALS}; a larger "
                   "number extends a finished sweep)")
    p.add_argument("--workers", type=int, default=1, help="worker processes on this machine, each with its share of "
                   "the cores (default: 1)")
    p.add_argument("--storage", metavar="URL", help="a database shared by workers on several machines, e.g. "
                   "postgresql://USER:PASSWORD@HOST:5432/DB (default: a journal file in DIR)")
    p.add_argument("--space", metavar="FILE.json", help='search space overrides: {"lr": ["log", 1e-3, 1e-2], '
                   '"n_layer": ["int", 1, 3], "dropout": 0.1 (fixed), "n_embd": null (dropped)}')
    p.add_argument("--param", action="append", default=[], metavar="NAME=SPEC",
                   help="one override: lr=log:1e-3:1e-2, n_hidden=int:128:512:64, dropout=float:0:0.4, "
                   "block_size=choice:8:16, dropout=0.1 (fixed) or dropout=default (dropped); repeatable")
    add(p, "max_steps", default=None, help="steps of every trial (default: the type's own)")
    add(p, "seed", default=None, help=f"seed every trial trains with (default: {DEFAULT_SEED})")
    add(p, "device")
    p.add_argument("--show", action="store_true", help="print the trials table and write history.png and "
                   "importance.png in DIR")
    return p


def main(a) -> int:
    """`makemore sweep`: run or continue the sweep in -o DIR, or --show it."""
    if not a.show:
        fixed = {} if a.max_steps is None else {"max_steps": a.max_steps}
        run_sweep(a.out, a.input, a.type, a.trials, a.workers, a.storage, load_space(a.space, a.param), a.seed,
                  a.device, log=lambda line: print(line, flush=True), tagged=a.tagged, **fixed)
    print(report(show(a.out, a.storage)))
    return 0
