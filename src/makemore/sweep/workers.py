"""The workers of a sweep: each takes trials (asked under the lock) and trains each as a run
directory until the study has its count, in this process or in spawned ones."""

from __future__ import annotations

import contextlib
import os
import socket
import sys
import time
import zlib
from dataclasses import dataclass
from pathlib import Path

from .. import presets
from ..errors import DataError, RunError, UsageError, first_line
from .space import suggest
from .storage import GRACE, HEARTBEAT, Heartbeat, ask_lock, fail_stale, is_counted, open_storage, optuna_module
from .table import format_row, trial_row


@dataclass
class Job:
    """What every worker of a sweep needs to know (plain data: it goes to spawned processes)."""
    out: str
    study: str
    storage: str | None                  # the real URL (None: the journal file in `out`)
    input: str
    type: str
    space: dict
    fixed: dict                          # options every trial trains with (max_steps, eval_interval, ...)
    seed: int
    trials: int
    device: str = "auto"
    threads: int | None = None
    heartbeat: int = HEARTBEAT
    grace: int = GRACE
    pruner: object = None                # an optuna pruner; None: the median pruner below
    poll: float = 2.0                    # seconds between looks at the study while others finish
    tagged: bool = False                 # the input is tagged items

    def steps(self) -> int:
        """A trial's budget: the type's own max_steps, or the one fixed (the least, if searched)."""
        kind, *args = self.space.get("max_steps", [None])
        if kind is None:
            return presets.resolve(self.type, **self.fixed).train.max_steps
        return min(args) if kind == "choice" else args[0]

    def trial_options(self, params: dict) -> dict:
        """The options of a trial's run: the seed, the fixed options, the drawn ones, and an
        evaluation (a chance to prune) at least every eighth of the steps unless one is set."""
        options = {"seed": self.seed, **self.fixed, **params}
        if "eval_interval" not in options:
            default = presets.resolve(self.type, **options).train.eval_interval
            options["eval_interval"] = min(default, max(1, self.steps() // 8))
        return options

    def make_pruner(self):
        """A trial whose val is worse than the median of the earlier trials' at the same step is
        stopped, once 5 trials have finished and after the first quarter of its steps."""
        optuna = optuna_module()
        return self.pruner or optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=self.steps() // 4)

    def make_sampler(self, index: int):
        """TPE, seeded from the sweep's seed, this machine and the worker's index (so no two workers
        propose the same first points); constant_liar keeps workers off each other's running trials."""
        optuna = optuna_module()
        seed = zlib.crc32(f"{self.seed}:{socket.gethostname()}:{index}".encode())
        return optuna.samplers.TPESampler(seed=seed, constant_liar=True)


def run_trial(study, storage, study_id: int, trial, job: Job, log=print) -> dict:
    """Train one trial's run in out/trials/NNNN, reporting val at each evaluation; tell the study
    how it ended. Returns its row of the trials table."""
    optuna = optuna_module()
    from ..files import create_file                 # train.log: a link planted there is replaced, never written through
    from ..runs import create_run
    State = optuna.trial.TrialState
    params = suggest(trial, job.space)
    path = Path(job.out) / "trials" / f"{trial.number:04d}"
    trial.set_user_attr("host", socket.gethostname())
    trial.set_user_attr("worker", f"{socket.gethostname()}:{os.getpid()}")
    trial.set_user_attr("run", str(path.resolve()))
    trial_id = storage.get_trial_id_from_study_id_trial_number(study_id, trial.number)

    def on_eval(step, val):
        trial.report(val, step)
        if trial.should_prune():
            raise optuna.TrialPruned(f"pruned at step {step:,} (val {val:.4f})")

    value, state, interrupted = None, State.COMPLETE, False
    with Heartbeat(storage, trial_id, job.heartbeat):
        try:
            run = create_run(path, job.input, type=job.type, force=True, device=job.device, tagged=job.tagged,
                             **job.trial_options(params))
            path.mkdir(parents=True, exist_ok=True)
            with create_file(path / "train.log", buffering=1) as f, contextlib.redirect_stdout(f), \
                    contextlib.redirect_stderr(f):
                print(run.describe())
                result = run.train(progress=False, on_eval=on_eval)
            value, interrupted = result["best_val"], bool(result["interrupted"])
        except optuna.TrialPruned:
            state = State.PRUNED
        except KeyboardInterrupt:
            interrupted = True
        except Exception as e:                     # a diverged run, a setting the model refuses: the trial's own error
            state = State.FAIL
            with contextlib.suppress(Exception):
                trial.set_user_attr("error", first_line(e))
    if interrupted:                                # not counted: the study runs another in its place
        with contextlib.suppress(Exception):
            trial.set_user_attr("interrupted", True)
        study.tell(trial, state=State.FAIL, skip_if_finished=True)
        raise KeyboardInterrupt
    study.tell(trial, value if state == State.COMPLETE else None, state=state, skip_if_finished=True)
    row = trial_row(storage.get_trial(trial_id))
    log(format_row(row))
    return row


def work(job: Job, index: int = 0, log=print) -> None:
    """One worker: take trials until the study has job.trials counted ones, and none is still running
    elsewhere (a dead worker's trial is failed after job.grace seconds, and replaced)."""
    optuna = optuna_module()
    storage = open_storage(job.storage, Path(job.out), job.heartbeat, job.grace)
    study = optuna.load_study(study_name=job.study, storage=storage, sampler=job.make_sampler(index),
                              pruner=job.make_pruner())
    study_id = storage.get_study_id_from_name(job.study)
    while True:
        with ask_lock(job):
            for number in fail_stale(study, storage, study_id, job.grace):
                log(f"trial {number:>4}  FAIL      its worker stopped beating (no heartbeat for {job.grace} s); "
                    "another trial takes its place")
            trials = study.get_trials(deepcopy=False)
            trial = study.ask() if sum(map(is_counted, trials)) < job.trials else None
        if trial is not None:
            run_trial(study, storage, study_id, trial, job, log)
        elif any(t.state.name == "RUNNING" for t in trials):
            time.sleep(job.poll)                   # another worker's last trial: it ends, or its worker is lost
        else:
            return


def worker_process(job: Job, index: int) -> None:
    """A spawned worker: its share of the cores, its lines prefixed, Ctrl-C a quiet exit."""
    from ..runs import set_threads
    set_threads(job.threads or 1)
    try:
        work(job, index, log=lambda line: print(f"[worker {index}] {line}", flush=True))
    except KeyboardInterrupt:
        sys.exit(130)
    except (DataError, UsageError, RunError) as e:
        print(f"[worker {index}] error: {e}", file=sys.stderr, flush=True)
        sys.exit(2)
