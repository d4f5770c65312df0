"""A sweep: its record (sweep.json), its study started or continued with the same settings, the
workers run, and the link to the best trial's run."""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path

from .. import presets
from ..errors import DataError, RunError, UsageError
from ..files import atomic_write
from .space import check_options, option_types, resolve_space
from .storage import GRACE, HEARTBEAT, JOURNAL, is_counted, mask, open_storage, optuna_module, read_record, storage_url
from .table import table_rows
from .workers import Job, work, worker_process

DEFAULT_TRIALS = 30
DEFAULT_SEED = 1337


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
              log=print, tagged: bool | None = None, **fixed_options) -> dict:
    """Run (or continue) the sweep in directory `out`; return its rows and best trial (as show()
    does, without the figures).

    type, input, space (overrides of presets.SEARCH[type], as load_space returns), seed (every trial
    trains with it) and fixed_options (e.g. max_steps=2000) are the study's: given again for a study
    that exists they must match it, left out they are taken from it. trials: how many trials the
    study should count (a larger number extends a finished study). workers: processes on this
    machine (1: this process), each with `threads` torch threads (default: the cores shared out).
    storage: a database URL shared by workers on several machines (default: the journal file in
    `out`). heartbeat, grace: seconds between a worker's heartbeats, and without one before its
    trial is failed. pruner: an Optuna pruner instead of the median pruner. tagged: tagged items
    (as `train --tagged`): the objective is then the val NLL given each item's tag."""
    optuna = optuna_module()
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise UsageError(f"-o {out}: exists and is not a directory")
    check_counts({"--trials": trials, "--workers": workers, "--threads": threads, "heartbeat": heartbeat,
                  "grace": grace})
    record = read_record(out)
    url = storage_url(out, storage, record)
    name = record["study"] if record else out.resolve().name
    store = open_storage(url, out, heartbeat, grace) if url is not None or (out / JOURNAL).exists() else None
    recorded = recorded_settings(store, name)
    r = recorded.get
    type = _settle("--type", type, r("type"), presets.DEFAULT_TYPE, name)
    option_types(type)                                     # a known type, or a one-line error
    given, fixed_by_space = resolve_space(type, space) if space is not None else (None, {})
    space = _settle("--space", given, r("space"), None, name) or resolve_space(type)[0]
    fixed = _settle("fixed options", {**fixed_by_space, **fixed_options}, r("fixed"), {}, name)
    check_options(type, fixed)
    seed = _settle("--seed", seed, r("seed"), DEFAULT_SEED, name)
    trials = trials or r("trials") or DEFAULT_TRIALS
    path, sha, tagged = searched_file(input if input is not None else record["input"] if record else None,
                                      _settle("--tagged", tagged or None, r("tagged"), None, name))
    if r("sha256") not in (None, sha):
        raise DataError(f"-i {input or path}: not the file the study {name!r} searches (its SHA-256 differs)")

    out.mkdir(parents=True, exist_ok=True)                  # every check passed: now write
    store = store or open_storage(url, out, heartbeat, grace)
    study = optuna.create_study(study_name=name, storage=store, direction="minimize", load_if_exists=True)
    settings = {"type": type, "space": space, "fixed": fixed, "seed": seed, "trials": trials, "sha256": sha,
                **({"tagged": True} if tagged else {})}
    if settings != recorded:
        study.set_user_attr("makemore", settings)
    write_record(out, {"study": name, "storage": mask(url), "input": path, **settings})
    job = Job(str(out.resolve()), name, url, path, type, space, fixed, seed, trials, device,
              threads or (max(1, (os.cpu_count() or 1) // workers) if workers > 1 else None), heartbeat, grace, pruner,
              tagged=bool(tagged))
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


def searched_file(source, tagged) -> tuple[str, str, bool]:
    """(the path as recorded, its SHA-256, whether it is tagged items) of the file a sweep searches
    (a directory of text files, one per tag, is tagged items)."""
    from ..data import read_input, read_tagged
    if tagged or (source is not None and Path(str(source)).is_dir()):
        _, path, sha = read_tagged(source)
        return path, sha, True
    data = read_input(source)
    return data.path, data.sha256, False


def check_counts(counts: dict) -> None:
    """Each count ({option: value}) is None or a whole number from 1 to 100,000, else a one-line UsageError."""
    for name, v in counts.items():
        if v is not None and (isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= 100_000):
            raise UsageError(f"{name} must be a whole number from 1 to 100,000, got {v!r}")


def recorded_settings(store, name: str) -> dict:
    """The settings the study `name` in `store` was started with ({} if there is no such study yet)."""
    if store is not None:
        with contextlib.suppress(KeyError):                   # KeyError: no such study yet
            return optuna_module().load_study(study_name=name, storage=store).user_attrs.get("makemore", {})
    return {}


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
    procs = [ctx.Process(target=worker_process, args=(job, i), name=f"sweep-worker-{i}") for i in range(workers)]
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
    from ..version import __version__
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
