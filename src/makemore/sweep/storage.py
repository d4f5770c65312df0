"""Where a study lives (a journal file in the sweep directory, or a database shared by machines),
the workers' heartbeats, a dead worker's trial failed, and the lock under which the workers of
one machine count the trials and ask for one more."""

from __future__ import annotations

import contextlib
import json
import time
import warnings
from pathlib import Path

from ..errors import RunError, UsageError, first_line
from ..files import locked

JOURNAL = "study.journal"
HEARTBEAT, GRACE = 10, 60          # seconds: how often a worker says it is alive, and how long until it is not


def optuna_module():
    """optuna, imported on first use (the sweep extra) and quiet: the sweep prints what matters."""
    try:
        import optuna
    except ImportError:
        raise UsageError("sweep needs optuna: pip install 'makemore[sweep]'") from None
    optuna.logging.set_verbosity(optuna.logging.ERROR)       # what matters is printed here, once
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    warnings.filterwarnings("ignore", message="Heartbeat of storage is supposed to be used with Study.optimize")
    return optuna


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
    optuna = optuna_module()
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
    optuna = optuna_module()
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
def ask_lock(job):
    """One worker of this machine (of this sweep directory) at a time counts the trials and asks for
    a new one, so that they never take more than the count between them. Workers on other machines
    do not share the lock: two that ask at the same moment may each take one more."""
    with locked(Path(job.out) / ".ask.lock"):
        yield


def read_record(out) -> dict | None:
    """The sweep.json of a sweep directory, or None."""
    f = Path(out) / "sweep.json"
    if not f.exists():
        return None
    try:
        return json.loads(f.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise RunError(f"{f}: unreadable ({e})") from None


def storage_url(out: Path, storage: str | None, record: dict | None) -> str | None:
    """The storage to open: the one given, else the one this sweep directory recorded."""
    if record is not None and storage is not None and mask(storage) != record.get("storage"):
        raise UsageError(f"--storage {mask(storage)}: {out} keeps its study in {record.get('storage')}; "
                         "choose another -o for a study elsewhere")
    if storage is not None or record is None or record.get("storage", JOURNAL) == JOURNAL:
        return storage
    if "***" in record["storage"]:
        raise UsageError(f"--storage: {out}'s study is in {record['storage']}; pass --storage with its password")
    return record["storage"]
