"""Sweeps: search a model type's options with Optuna, every trial a run directory.

    makemore sweep -o sweeps/s1 -i names.txt --type lstm --trials 30 --workers 2
    makemore sweep -o sweeps/s1 --show              # the trials table, history.png, importance.png
    makemore eval -o sweeps/s1/best                 # the best trial is a run like any other

    run_sweep("sweeps/s1", "names.txt", type="lstm", trials=30, workers=2)
    show("sweeps/s1")

The objective is the best val NLL of the trial's run; a trial reports its val at every evaluation
and a median pruner stops the ones behind the others at the same step. The search space of each
type is presets.SEARCH; `space` replaces, adds, fixes or drops dimensions.

The sweep directory:
    sweep.json       the study's name, type, input, search space and storage (any password masked)
    study.journal    the default storage: Optuna's journal file, shared by the workers of this machine
    trials/NNNN/     trial NNNN's run directory, and its train.log
    best             a relative link to the best trial's run directory (best.json says which)
    history.png, importance.png    written by show()

Workers: `workers=N` starts N processes (spawned, each with its share of the cores), each taking
trials until the study has `trials` of them done or under way; with `storage="postgresql://..."`
workers on other machines join the same study. A trial that fails by its own error (a diverged
run) counts; one whose worker died does not: a worker that has not beaten its heartbeat for
`grace` seconds has its trial marked FAIL by the next worker, which then runs one more. The
workers of one sweep directory count and ask under a file lock, so they end with exactly `trials`
counted trials; workers on several machines share no lock, and two that ask at the same moment
near the end can take one trial each beyond the count (a race Optuna leaves to its users).

The package: space.py (the search space), storage.py (where the study lives, heartbeats, the
lock), workers.py (taking and training trials), study.py (a sweep, started or continued),
table.py (its table and figures), command.py (`makemore sweep`).
"""

from __future__ import annotations

from .command import DESCRIPTION, HELP, add_arguments, main
from .space import check_options, load_space, resolve_space, space_table
from .storage import JOURNAL, is_counted
from .study import DEFAULT_SEED, DEFAULT_TRIALS, link_best, read_record, run_sweep
from .table import format_table, report, show, trial_row

__all__ = ["DESCRIPTION", "HELP", "add_arguments", "main", "check_options", "load_space", "resolve_space",
           "space_table", "JOURNAL", "is_counted", "DEFAULT_SEED", "DEFAULT_TRIALS", "link_best", "read_record",
           "run_sweep", "format_table", "report", "show", "trial_row"]
