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
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import socket
import sys
import time
import warnings
import zlib
from dataclasses import dataclass
from pathlib import Path

from . import presets
from .errors import DataError, RunError, UsageError, first_line
from .files import atomic_write, locked

SEARCH_KINDS = ("log", "float", "int", "choice")
JOURNAL = "study.journal"
DEFAULT_TRIALS = 30
DEFAULT_SEED = 1337
HEARTBEAT, GRACE = 10, 60          # seconds: how often a worker says it is alive, and how long until it is not


def _optuna():
    """optuna, imported on first use (the sweep extra) and quiet: the sweep prints what matters."""
    try:
        import optuna
    except ImportError:
        raise UsageError("sweep needs optuna: pip install 'makemore[sweep]'") from None
    optuna.logging.set_verbosity(optuna.logging.ERROR)       # what matters is printed here, once
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    warnings.filterwarnings("ignore", message="Heartbeat of storage is supposed to be used with Study.optimize")
    return optuna


# --- the search space ----------------------------------------------------------------------
def parse_value(text: str):
    """A command-line value as JSON would read it: 64 -> int, 1e-3 -> float, true -> bool, else text."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def load_space(file=None, params=()) -> dict | None:
    """The overrides of `--space FILE.json` and then each `--param NAME=SPEC`: {name: spec} where a
    spec is [kind, low, high(, step)] or ["choice", ...], a plain value (fixed), or None (dropped:
    the type's default applies). None when neither is given."""
    if file is None and not params:
        return None
    space = {}
    if file is not None:
        try:
            space = json.loads(Path(file).read_text())
        except OSError as e:
            raise UsageError(f"--space {file}: cannot read ({e.strerror})") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise UsageError(f"--space {file}: not JSON ({e})") from None
        if not isinstance(space, dict):
            raise UsageError(f"--space {file}: expected a JSON object of option -> [kind, low, high]")
    for p in params:
        name, eq, spec = p.partition("=")
        if not eq or not name:
            raise UsageError(f"--param {p}: expected NAME=KIND:LOW:HIGH[:STEP], NAME=choice:A:B..., NAME=VALUE "
                             "or NAME=default")
        kind, *bounds = spec.split(":")
        if spec == "default":
            space[name] = None
        elif kind in SEARCH_KINDS:
            space[name] = [kind, *map(parse_value, bounds)]
        else:
            space[name] = parse_value(spec)
    return {name.replace("-", "_"): spec for name, spec in space.items()}


def _number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def check_dimension(type: str, name: str, spec, where: str = "search space") -> list:
    """One dimension as a list [kind, ...], checked: an option of the type, a kind that suits it,
    sane bounds, and every value at the ends (each value of a choice or a short int range) a valid
    setting, so that a bad range is one line now, not a failed trial later."""
    kinds = _option_types(type)
    if name not in kinds:
        raise UsageError(f"{where}: {name} is not an option of --type {type} (its options: {', '.join(kinds)})")
    bad = f"{where}: {name}: "
    if not isinstance(spec, (list, tuple)) or not spec or spec[0] not in SEARCH_KINDS:
        raise UsageError(bad + f"expected [kind, low, high] with kind one of {', '.join(SEARCH_KINDS)}, got {spec!r}")
    kind, args = spec[0], list(spec[1:])
    if kind == "choice":
        if len(args) < 2 or not all(isinstance(a, (str, int, float, bool)) for a in args) or len(set(args)) < len(args):
            raise UsageError(bad + f"a choice needs two or more distinct values, got {args}")
        values = args
    else:
        wanted = kinds[name]
        if wanted not in (int, float) or wanted is int and kind != "int":
            use = "whole numbers: use int" if wanted is int else "one of a few values: use choice"
            raise UsageError(bad + f"takes {use}, not {kind}")
        if len(args) not in (2, 3) or not all(_number(a) for a in args):
            raise UsageError(bad + f"expected {kind}:LOW:HIGH[:STEP] with numbers, got {args}")
        lo, hi, step = args[0], args[1], args[2] if len(args) == 3 else None
        if not lo < hi:
            raise UsageError(bad + f"the low end ({lo}) must be below the high end ({hi})")
        if kind == "log" and (lo <= 0 or step is not None):
            raise UsageError(bad + "a log range needs a low end > 0 and no step")
        if kind == "int" and not all(isinstance(a, int) for a in args):
            raise UsageError(bad + f"an int range takes whole numbers, got {args}")
        if step is not None and (step <= 0 or abs((hi - lo) / step - round((hi - lo) / step)) > 1e-9):
            raise UsageError(bad + f"the step ({step}) must be > 0 and divide high - low ({hi - lo})")
        values = list(range(lo, hi + 1, step or 1)) if kind == "int" and (hi - lo) // (step or 1) < 64 else [lo, hi]
    for v in values:
        check_options(type, {name: v}, f"{where}: {name}={v}")
    return [kind, *args]


def _option_types(type: str) -> dict:
    """{option: the type of its value} for every training option and every model option of `type`."""
    from dataclasses import fields
    from .models import MODELS, config_fields
    from .train import TrainConfig
    if type not in MODELS:
        raise UsageError(f"--type: unknown model type {type!r}; choose one of: {', '.join(MODELS)}")
    return {**{f.name: _value_type(f.default) for f in fields(TrainConfig)},
            **{k: _value_type(f.default) for k, f in config_fields(type).items()}}


def _value_type(value):
    return bool if isinstance(value, bool) else int if isinstance(value, int) else type(value)


def check_options(type: str, options: dict, where: str = "") -> None:
    """Raise a one-line UsageError unless `options` are valid settings of a `type` run: the
    training options in range, the model built (on the meta device, no memory) without complaint."""
    from .models import shape_model
    try:
        resolved = presets.resolve(type, **options)
        shape_model(resolved.type, 32, 32, **resolved.model)
    except UsageError as e:
        raise UsageError(f"{where}: {e}" if where else str(e)) from None
    except (TypeError, ValueError) as e:
        raise UsageError(f"{where or ', '.join(options)}: not a valid setting ({first_line(e)})") from None


def resolve_space(type: str, overrides: dict | None = None, where: str = "search space") -> tuple[dict, dict]:
    """(space, fixed): the type's presets.SEARCH with `overrides` applied, every dimension checked,
    and the options the overrides fix to one value."""
    space = {k: list(v) for k, v in presets.SEARCH.get(type, {}).items()}
    fixed, known = {}, _option_types(type)
    for name, spec in (overrides or {}).items():
        if name not in known:
            raise UsageError(f"{where}: {name} is not an option of --type {type} (its options: {', '.join(known)})")
        space.pop(name, None)
        if spec is None:
            continue
        if isinstance(spec, (list, tuple)):
            space[name] = spec
        else:
            check_options(type, {name: spec}, f"{where}: {name}={spec}")
            fixed[name] = spec
    if not space:
        raise UsageError(f"{where}: nothing to search for --type {type}"
                         + ("" if type in presets.SEARCH else f" (presets.SEARCH has: {', '.join(presets.SEARCH)})"))
    return {name: check_dimension(type, name, spec, where) for name, spec in space.items()}, fixed


def describe(spec) -> str:
    """A dimension in words: "0.001 to 0.01, log scale", "128 to 512, step 64", "8 or 16"."""
    kind, *args = spec
    if kind == "choice":
        return ", ".join(map(_fmt, args[:-1])) + f" or {_fmt(args[-1])}"
    step = f", step {_fmt(args[2])}" if len(args) > 2 else ""
    return f"{_fmt(args[0])} to {_fmt(args[1])}" + (", log scale" if kind == "log" else step)


def space_table() -> str:
    """presets.SEARCH as a markdown table, with each option's default and each type's steps per
    trial (docs/sweeps.md holds it; a test keeps the two in step)."""
    from dataclasses import asdict
    from .models import config_fields
    lines = ["| type | steps per trial | option | searched over | default |", "|---|---:|---|---|---:|"]
    for kind, space in presets.SEARCH.items():
        r = presets.resolve(kind)
        defaults = {**{k: f.default for k, f in config_fields(kind).items()}, **r.model, **asdict(r.train)}
        for i, (name, spec) in enumerate(space.items()):
            first = (f"`{kind}`", f"{r.train.max_steps:,}" if r.train.max_steps else "none (counts)") if i == 0 else ("", "")
            lines.append(f"| {first[0]} | {first[1]} | `{name}` | {describe(spec)} | {_fmt(defaults[name])} |")
    return "\n".join(lines)


def suggest(trial, space: dict) -> dict:
    """The options of one trial, drawn by the study's sampler from `space`."""
    params = {}
    for name, (kind, *args) in space.items():
        if kind == "choice":
            params[name] = trial.suggest_categorical(name, args)
        elif kind == "int":
            params[name] = trial.suggest_int(name, args[0], args[1], step=args[2] if len(args) > 2 else 1)
        else:
            params[name] = trial.suggest_float(name, args[0], args[1], log=kind == "log",
                                               step=args[2] if len(args) > 2 else None)
    return params


# --- storage -------------------------------------------------------------------------------
def mask(url: str | None) -> str:
    """A storage URL fit to print or save: its password replaced by ***; None: the journal file."""
    if url is None:
        return JOURNAL
    from sqlalchemy.engine import make_url
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return url.split("://", 1)[0] + "://***"


def open_storage(url: str | None, out: Path, heartbeat: int = HEARTBEAT, grace: int = GRACE):
    """The study's storage: the journal file in the sweep directory, or the database at `url`
    (Optuna's RDBStorage, with heartbeats) for workers on several machines."""
    optuna = _optuna()
    if url is None:
        from optuna.storages.journal import JournalFileBackend
        return optuna.storages.JournalStorage(JournalFileBackend(str(Path(out).resolve() / JOURNAL)))
    if "://" not in url:
        raise UsageError(f"--storage must be a database URL such as postgresql://USER@HOST:PORT/DB, got {url!r} "
                         f"(the default is a journal file in the sweep directory)")
    try:
        return optuna.storages.RDBStorage(_with_driver(url), heartbeat_interval=heartbeat, grace_period=grace,
                                          engine_kwargs={"pool_pre_ping": True})
    except Exception as e:               # no driver, a refused connection, a bad URL
        reason = first_line(e, 200)
        raise UsageError(f"--storage {mask(url)}: cannot open the study's database ({reason})") from None


def _with_driver(url: str) -> str:
    """A postgresql:// URL names the PostgreSQL driver that is installed: SQLAlchemy 2.1 takes
    psycopg 3 by default and older versions psycopg2, which the sweep extra installs."""
    import importlib.util
    from sqlalchemy.engine import make_url
    with contextlib.suppress(Exception):
        u = make_url(url)
        if u.drivername == "postgresql":
            for module, driver in (("psycopg2", "postgresql+psycopg2"), ("psycopg", "postgresql+psycopg")):
                if importlib.util.find_spec(module):
                    return u.set(drivername=driver).render_as_string(hide_password=False)
    return url


def _heartbeat_enabled(storage) -> bool:
    """Whether Optuna keeps the heartbeats itself (RDBStorage); the journal's are kept here."""
    return getattr(storage, "get_heartbeat_interval", lambda: None)() is not None


class Heartbeat:
    """While a trial runs, say every `interval` seconds (in a thread) that its worker is alive."""

    def __init__(self, storage, trial_id: int, interval: float):
        import threading
        self.storage, self.trial_id, self.interval = storage, trial_id, interval
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._beat, daemon=True)

    def _beat(self):
        while True:
            with contextlib.suppress(Exception):          # a finished trial, a database blip: beat again later
                if _heartbeat_enabled(self.storage):
                    self.storage.record_heartbeat(self.trial_id)
                else:
                    self.storage.set_trial_system_attr(self.trial_id, "heartbeat", time.time())
            if self.stop.wait(self.interval):
                return

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join()


def fail_stale(study, storage, study_id: int, grace: float) -> list[int]:
    """Mark FAIL the running trials whose worker has not beaten its heartbeat for `grace` seconds
    (it was killed, or its machine went down). Returns their numbers."""
    optuna = _optuna()
    RUNNING, FAIL = optuna.trial.TrialState.RUNNING, optuna.trial.TrialState.FAIL
    running = {t.number for t in study.get_trials(deepcopy=False, states=(RUNNING,))}
    if _heartbeat_enabled(storage):                 # a database: Optuna keeps the heartbeats
        optuna.storages.fail_stale_trials(study)
    else:
        now = time.time()
        for t in study.get_trials(deepcopy=False, states=(RUNNING,)):
            if now - (t.system_attrs.get("heartbeat") or t.datetime_start.timestamp()) > grace:
                with contextlib.suppress(optuna.exceptions.UpdateFinishedTrialError):
                    storage.set_trial_state_values(storage.get_trial_id_from_study_id_trial_number(study_id, t.number),
                                                   FAIL)
    return [t.number for t in study.get_trials(deepcopy=False, states=(FAIL,))
            if t.number in running and not is_counted(t) and not t.user_attrs.get("interrupted")]


def is_counted(trial) -> bool:
    """Whether a trial uses up the study's budget: done, pruned, under way, or failed by its own
    error. A trial whose worker died (or was interrupted) does not: another takes its place."""
    state = trial.state.name
    return state in ("COMPLETE", "PRUNED", "RUNNING") or state == "FAIL" and "error" in trial.user_attrs


@contextlib.contextmanager
def ask_lock(job: "Job"):
    """One worker of this machine (of this sweep directory) at a time counts the trials and asks for
    a new one, so that they never take more than the count between them. Workers on other machines
    do not share the lock: two that ask at the same moment may each take one more."""
    with locked(Path(job.out) / ".ask.lock"):
        yield


# --- workers -------------------------------------------------------------------------------
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
        optuna = _optuna()
        return self.pruner or optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=self.steps() // 4)

    def make_sampler(self, index: int):
        """TPE, seeded from the sweep's seed, this machine and the worker's index (so no two workers
        propose the same first points); constant_liar keeps workers off each other's running trials."""
        optuna = _optuna()
        seed = zlib.crc32(f"{self.seed}:{socket.gethostname()}:{index}".encode())
        return optuna.samplers.TPESampler(seed=seed, constant_liar=True)


def run_trial(study, storage, study_id: int, trial, job: Job, log=print) -> dict:
    """Train one trial's run in out/trials/NNNN, reporting val at each evaluation; tell the study
    how it ended. Returns its row of the trials table."""
    optuna = _optuna()
    from .files import create_file                 # train.log: a link planted there is replaced, never written through
    from .runs import create_run
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
            run = create_run(path, job.input, type=job.type, force=True, device=job.device, **job.trial_options(params))
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
    optuna = _optuna()
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


def _worker_process(job: Job, index: int) -> None:
    """A spawned worker: its share of the cores, its lines prefixed, Ctrl-C a quiet exit."""
    from .runs import set_threads
    set_threads(job.threads or 1)
    try:
        work(job, index, log=lambda line: print(f"[worker {index}] {line}", flush=True))
    except KeyboardInterrupt:
        sys.exit(130)
    except (DataError, UsageError, RunError) as e:
        print(f"[worker {index}] error: {e}", file=sys.stderr, flush=True)
        sys.exit(2)


# --- a sweep -------------------------------------------------------------------------------
def read_record(out) -> dict | None:
    """The sweep.json of a sweep directory, or None."""
    f = Path(out) / "sweep.json"
    if not f.exists():
        return None
    try:
        return json.loads(f.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise RunError(f"{f}: unreadable ({e})") from None


def _storage_url(out: Path, storage: str | None, record: dict | None) -> str | None:
    """The storage to open: the one given, else the one this sweep directory recorded."""
    if record is not None and storage is not None and mask(storage) != record.get("storage"):
        raise UsageError(f"--storage {mask(storage)}: {out} keeps its study in {record.get('storage')}; "
                         "choose another -o for a study elsewhere")
    if storage is not None or record is None or record.get("storage", JOURNAL) == JOURNAL:
        return storage
    if "***" in record["storage"]:
        raise UsageError(f"--storage: {out}'s study is in {record['storage']}; pass --storage with its password")
    return record["storage"]


def _settle(name: str, given, recorded, default, study: str):
    """A setting of the sweep: the one given, else the study's, else the default; a given one that
    differs from the study's is an error (a study searches one space, for one type, on one file)."""
    if given is None or given == {}:
        return default if recorded is None else recorded
    if recorded is not None and given != recorded:
        if isinstance(given, dict) and isinstance(recorded, dict):
            name += " (" + ", ".join(k for k in {**given, **recorded} if given.get(k) != recorded.get(k)) + ")"
        raise UsageError(f"{name}: the study {study!r} was started with {json.dumps(recorded)}, not "
                         f"{json.dumps(given)}; continue it with the same setting, or choose another -o")
    return given


def run_sweep(out, input=None, type: str | None = None, trials: int | None = None, workers: int = 1,
              storage: str | None = None, space: dict | None = None, seed: int | None = None, device: str = "auto",
              threads: int | None = None, heartbeat: int = HEARTBEAT, grace: int = GRACE, pruner=None,
              log=print, **fixed_options) -> dict:
    """Run (or continue) the sweep in directory `out`; return its rows and best trial (as show()
    does, without the figures).

    type, input, space (overrides of presets.SEARCH[type], as load_space returns), seed (every trial
    trains with it) and fixed_options (e.g. max_steps=2000) are the study's: given again for a study
    that exists they must match it, left out they are taken from it. trials: how many trials the
    study should count (a larger number extends a finished study). workers: processes on this
    machine (1: this process), each with `threads` torch threads (default: the cores shared out).
    storage: a database URL shared by workers on several machines (default: the journal file in
    `out`). heartbeat, grace: seconds between a worker's heartbeats, and without one before its
    trial is failed. pruner: an Optuna pruner instead of the median pruner."""
    optuna = _optuna()
    from .data import read_input
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise UsageError(f"-o {out}: exists and is not a directory")
    for name, v in (("--trials", trials), ("--workers", workers), ("--threads", threads), ("heartbeat", heartbeat),
                    ("grace", grace)):
        if v is not None and (isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= 100_000):
            raise UsageError(f"{name} must be a whole number from 1 to 100,000, got {v!r}")
    record = read_record(out)
    url = _storage_url(out, storage, record)
    name = record["study"] if record else out.resolve().name
    store = open_storage(url, out, heartbeat, grace) if url is not None or (out / JOURNAL).exists() else None
    recorded = {}
    if store is not None:
        with contextlib.suppress(KeyError):                   # KeyError: no such study yet
            recorded = optuna.load_study(study_name=name, storage=store).user_attrs.get("makemore", {})
    r = recorded.get
    type = _settle("--type", type, r("type"), presets.DEFAULT_TYPE, name)
    _option_types(type)                                     # a known type, or a one-line error
    given, fixed_by_space = resolve_space(type, space) if space is not None else (None, {})
    space = _settle("--space", given, r("space"), None, name) or resolve_space(type)[0]
    fixed = _settle("fixed options", {**fixed_by_space, **fixed_options}, r("fixed"), {}, name)
    check_options(type, fixed)
    seed = _settle("--seed", seed, r("seed"), DEFAULT_SEED, name)
    trials = trials or r("trials") or DEFAULT_TRIALS
    data = read_input(input if input is not None else record["input"] if record else None)
    if r("sha256") not in (None, data.sha256):
        raise DataError(f"-i {input or data.path}: not the file the study {name!r} searches (its SHA-256 differs)")

    out.mkdir(parents=True, exist_ok=True)                  # every check passed: now write
    store = store or open_storage(url, out, heartbeat, grace)
    study = optuna.create_study(study_name=name, storage=store, direction="minimize", load_if_exists=True)
    settings = {"type": type, "space": space, "fixed": fixed, "seed": seed, "trials": trials, "sha256": data.sha256}
    if settings != recorded:
        study.set_user_attr("makemore", settings)
    write_record(out, {"study": name, "storage": mask(url), "input": data.path, **settings})
    job = Job(str(out.resolve()), name, url, data.path, type, space, fixed, seed, trials, device,
              threads or (max(1, (os.cpu_count() or 1) // workers) if workers > 1 else None), heartbeat, grace, pruner)
    log(f"sweep {name!r}: {trials} {type} trials over {', '.join(space)}, {job.steps():,} steps each; storage "
        f"{mask(url)}; {workers} worker(s); runs in {out / 'trials'}")
    lost = _run_workers(job, workers, log)
    for why in lost:
        log(why)
    best = link_best(out, study)
    done = sum(is_counted(t) and t.state.is_finished() for t in study.get_trials(deepcopy=False))
    if lost and done < trials:
        raise RunError(f"{lost[0]}; the study has {done} of {trials} trials: run the same command again to continue it")
    return {"out": str(out), "study": name, "storage": mask(url), "rows": table_rows(study), "best": best}


def _run_workers(job: Job, workers: int, log) -> list[str]:
    """Run the workers: this process alone, or `workers` spawned processes, waited for (Ctrl-C
    reaches them too: each saves its run and stops). Returns what went wrong with any."""
    if workers == 1:
        import torch
        before = torch.get_num_threads()
        if job.threads:
            torch.set_num_threads(job.threads)
        try:
            work(job, 0, log)
        finally:
            torch.set_num_threads(before)
        return []
    from multiprocessing import get_context
    ctx = get_context("spawn")
    procs = [ctx.Process(target=_worker_process, args=(job, i), name=f"sweep-worker-{i}") for i in range(workers)]
    for p in procs:
        p.start()
    try:
        for p in procs:
            p.join()
    except KeyboardInterrupt:
        for p in procs:
            p.join()
        raise
    return [f"worker {i} was killed (signal {-p.exitcode})" if p.exitcode < 0 else f"worker {i} exited with status "
            f"{p.exitcode}" for i, p in enumerate(procs) if p.exitcode != 0]


def write_record(out: Path, record: dict) -> None:
    """sweep.json, written whole (a temporary file renamed), with no password in it."""
    from .version import __version__
    text = json.dumps({"makemore_version": __version__, **record}, indent=2, ensure_ascii=False) + "\n"
    atomic_write(Path(out) / "sweep.json", lambda tmp: Path(tmp).write_text(text))


def link_best(out, study) -> dict | None:
    """Point out/best at the best completed trial's run directory (a relative link; a copy where
    the file system has no links) and write out/best.json. Returns the best trial's row, or None."""
    import shutil
    rows = [r for r in table_rows(study) if r["state"] == "COMPLETE"]
    if not rows:
        return None
    best = min(rows, key=lambda r: r["val"])
    out, target = Path(out), Path("trials") / f"{best['number']:04d}"
    link, here = out / "best", (out / target / "config.json").exists()

    def remove(path: Path):
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        elif path.is_symlink() or path.exists():
            path.unlink()

    if not here:                                     # it ran on another machine: best.json says where
        remove(link)
    elif not (link.is_symlink() and os.readlink(link) == str(target)):
        tmp = out / f".best.{os.getpid()}.tmp"
        remove(tmp)
        try:
            os.symlink(target, tmp, target_is_directory=True)
        except OSError:                              # no links here: a copy of the run
            remove(link)
            shutil.copytree(out / target, link, ignore=shutil.ignore_patterns(".lock"))
        else:
            if link.is_dir() and not link.is_symlink():
                remove(link)                         # a copy made before
            os.replace(tmp, link)
    info = {**best, "path": str(link) if here else None}
    atomic_write(out / "best.json", lambda tmp: Path(tmp).write_text(json.dumps(info, indent=2) + "\n"))
    return info


# --- the trials table, figures ---------------------------------------------------------------
def trial_row(t) -> dict:
    """One trial as a row: number, state, val (its best; a pruned trial's last), step, seconds,
    params, host, run directory and a note (its error, or why it failed)."""
    steps = sorted(t.intermediate_values)
    val = t.value if t.value is not None else (t.intermediate_values[steps[-1]] if steps else None)
    note = t.user_attrs.get("error") or ("interrupted" if t.user_attrs.get("interrupted") else
                                          "lost: its worker stopped" if t.state.name == "FAIL" else None)
    return {"number": t.number, "state": t.state.name, "val": val, "step": steps[-1] if steps else None,
            "seconds": t.duration.total_seconds() if t.duration else None, "params": dict(t.params),
            "host": t.user_attrs.get("host"), "run": t.user_attrs.get("run"), "note": note}


def table_rows(study) -> list[dict]:
    return [trial_row(t) for t in sorted(study.get_trials(deepcopy=False), key=lambda t: t.number)]


def _fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:.3g}"
    return "-" if v is None else str(v)


def _seconds(s: float) -> str:
    return f"{s:.1f}" if s < 10 else f"{s:,.0f}"


def format_row(row: dict) -> str:
    """One line of a trial: what each worker prints as its trial ends."""
    val = "-" if row["val"] is None else f"{row['val']:.4f}"
    params = " ".join(f"{k}={_fmt(v)}" for k, v in row["params"].items())
    secs = "" if row["seconds"] is None else f"  {_seconds(row['seconds'])} s"
    return f"trial {row['number']:>4}  {row['state']:<8}  val {val}  {params}{secs}" + \
        (f"  ({row['note']})" if row["note"] else "")


def format_table(rows: list[dict], best: int | None = None) -> str:
    """The trials table: number (* the best), state, val, last evaluated step, seconds, each param."""
    names = list(dict.fromkeys(k for r in rows for k in r["params"]))
    head = ["trial", "state", "val", "step", "seconds"] + names + ["note"]
    body = [[f"{r['number']}{'*' if r['number'] == best else ''}", r["state"],
             "-" if r["val"] is None else f"{r['val']:.4f}", "-" if r["step"] is None else f"{r['step']:,}",
             "-" if r["seconds"] is None else _seconds(r["seconds"])]
            + [_fmt(r["params"].get(k)) for k in names] + [r["note"] or ""] for r in rows]
    widths = [max(len(str(x)) for x in col) for col in zip(head, *body)]
    return "\n".join("  ".join(str(x).ljust(w) for x, w in zip(line, widths)).rstrip() for line in [head, *body])


def _save_figure(ax, path: Path) -> Path:
    import matplotlib.pyplot as plt
    fig = ax.figure
    fig.set_size_inches(8, 5)
    fig.tight_layout()
    try:
        atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=100, format="png"))
    finally:
        plt.close(fig)
    return path


def importance_evaluator():
    """PED-ANOVA: it needs nothing beyond optuna and numpy, where Optuna's fANOVA and mean
    decrease impurity evaluators need scikit-learn, which the sweep extra does not install."""
    optuna = _optuna()
    return optuna.importance.PedAnovaImportanceEvaluator()


def show(out, storage: str | None = None) -> dict:
    """The trials of the sweep in `out` (rows, the best, the parameters' importances) and its two
    figures, written beside it: history.png (val of every trial, and the best so far) and
    importance.png (how much each option mattered to val)."""
    optuna = _optuna()
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from optuna.visualization import matplotlib as vis
    out = Path(out)
    record = read_record(out)
    if record is None:
        raise RunError(f"{out}: not a sweep directory (no sweep.json); start one with `makemore sweep -o {out}`")
    store = open_storage(_storage_url(out, storage, record), out)
    try:
        study = optuna.load_study(study_name=record["study"], storage=store)
    except KeyError:
        raise RunError(f"{out}: the study {record['study']!r} is not in {record['storage']}") from None
    rows = table_rows(study)
    complete = [r for r in rows if r["state"] == "COMPLETE"]
    best = min(complete, key=lambda r: r["val"]) if complete else None
    def note(text):                                  # a figure that says why it has nothing to draw
        fig, ax = plt.subplots()
        ax.text(0.5, 0.5, text, ha="center", va="center", wrap=True)
        ax.set_axis_off()
        return ax

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")             # matplotlib's, about an empty legend
        ax = vis.plot_optimization_history(study) if complete else note("no completed trial yet")
        ax.set(title=f"sweep {record['study']!r}: {record['type']} trials", ylabel="val (nats/char)")
        history = _save_figure(ax, out / "history.png")
        importances, why = {}, f"{len(complete)} completed trial(s): importances need two or more"
        if len(complete) >= 2:
            try:
                importances = optuna.importance.get_param_importances(study, evaluator=importance_evaluator())
                ax, why = vis.plot_param_importances(study, evaluator=importance_evaluator()), None
                ax.set(title=f"sweep {record['study']!r}: what mattered to val (PED-ANOVA)")
            except (ValueError, RuntimeError) as e:
                why = first_line(e)
        importance = _save_figure(ax if why is None else note(f"no importances: {why}"), out / "importance.png")
    return {"out": str(out), "study": record["study"], "type": record["type"], "storage": record["storage"],
            "rows": rows, "best": best, "importances": importances, "importance_note": why,
            "history": str(history), "importance": str(importance)}


def report(summary: dict) -> str:
    """What `makemore sweep` prints: the trials table, the best trial, and where things are."""
    rows, best = summary["rows"], summary["best"]
    states = {s: sum(r["state"] == s for r in rows) for s in ("COMPLETE", "PRUNED", "FAIL", "RUNNING")}
    lines = [f"study {summary['study']!r} in {summary['storage']}: {len(rows)} trials, "
             + ", ".join(f"{n} {s.lower()}" for s, n in states.items() if n),
             format_table(rows, best["number"] if best else None)]
    if summary.get("importances"):
        lines.append("importance: " + ", ".join(f"{k} {v:.2f}" for k, v in summary["importances"].items()))
    if best is None:
        lines.append("no trial has completed yet")
    else:
        where = Path(summary["out"]) / "best"
        lines.append(f"best: trial {best['number']}, val {best['val']:.4f} ("
                     + " ".join(f"{k}={_fmt(v)}" for k, v in best["params"].items()) + ")")
        lines.append(f"use it: makemore eval -o {where}  (sample, score and serve take it too)"
                     if (where / "config.json").exists() else f"its run directory: {best['run']} on {best['host']}")
    if "history" in summary:
        lines.append(f"saved {summary['history']}, {summary['importance']}")
    return "\n".join(lines)


# --- the command line ------------------------------------------------------------------------
DESCRIPTION = ("Search a model type's options with Optuna: every trial trains a run directory in DIR/trials/, "
               "scored by its best val NLL; trials behind the median are pruned; DIR/best is the best trial's run. "
               "Run it again to continue or extend the sweep. See docs/sweeps.md.")


HELP = "search a model type's options with Optuna (every trial a run)"


def add_arguments(p):
    """The options of `makemore sweep`."""
    from .commandline import add
    add(p, "out", required=True, help="sweep directory (trials/, best, sweep.json)")
    add(p, "input", help="text file with one item per line (default: the bundled names.txt; continuing a sweep: its own)")
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
                  a.device, log=lambda line: print(line, flush=True), **fixed)
    print(report(show(a.out, a.storage)))
    return 0
