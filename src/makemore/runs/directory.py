"""The run directory's files: where each lives, writing each whole (a temporary file renamed into
place, never through a symbolic link), reading each bounded, the writer's lock, and the --force
transaction: the old run set aside until the new one's first checkpoint, put back if it fails."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

import torch
from safetensors.torch import save_model

from ..errors import RunError, UsageError
from ..files import NOFOLLOW, UMASK, atomic_write, locked, read_bounded
from ..version import __version__
from .schema import check_config

WEIGHTS = ("best", "last")
CONFIG_BYTES = 64 * 2 ** 20     # the largest config.json read (a vocabulary of all 1.1 million code points: about 15 MB)
UPDATES_BYTES = 256 * 2 ** 20   # the largest updates.json read
ASIDE = ".replaced-"            # the hidden directory an old run waits in while --force starts a new one


class RunDir:
    """The files of a run directory."""

    def __init__(self, path):
        self.path = Path(path)
        self.config_file = self.path / "config.json"
        self.metrics_file = self.path / "metrics.jsonl"
        self.state_file = self.path / "state.pt"
        self.updates_file = self.path / "updates.json"
        self._aside: Path | None = None            # the old run --force set aside, until a checkpoint commits

    def weights_file(self, which: str = "best") -> Path:
        if which not in WEIGHTS:
            raise UsageError(f"--weights must be best or last, got {which!r}")
        return self.path / ("best.safetensors" if which == "best" else "model.safetensors")

    def files(self) -> list[Path]:
        """Every file a run writes here."""
        return [self.config_file, self.metrics_file, self.state_file, self.updates_file,
                self.weights_file("best"), self.weights_file("last")]

    def exists(self) -> bool:
        return self.config_file.exists()

    @contextlib.contextmanager
    def lock(self):
        """Hold DIR/.lock exclusively (one writer at a time); another holder is a one-line error."""
        self.path.mkdir(parents=True, exist_ok=True)
        held = contextlib.ExitStack()
        try:
            held.enter_context(locked(self.path / ".lock", wait=False))
        except BlockingIOError as e:
            raise RunError(f"{self.path}: another process (pid {e.holder}) is writing this run; wait for it "
                           "or choose another -o") from None
        except OSError as e:
            raise RunError(f"{self.path / '.lock'}: cannot open the lock ({e.strerror})") from None
        with held:
            yield

    def read_config(self) -> dict:
        """config.json, checked key by key (check_config): a one-line RunError naming the file and
        the key otherwise."""
        if not self.exists() and not self.config_file.is_symlink():
            raise RunError(f"{self.path}: not a run directory (no config.json); train one with `makemore train -o {self.path}`")
        try:
            config = json.loads(read_bounded(self.config_file, CONFIG_BYTES))
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise RunError(f"{self.config_file}: unreadable config ({e})") from None
        check_config(config, self.config_file)
        return config

    def write_config(self, config: dict) -> None:
        config = {"makemore_version": __version__, **{k: v for k, v in config.items() if k != "makemore_version"}}
        atomic_write(self.config_file, lambda tmp: Path(tmp).write_text(json.dumps(config, indent=2, ensure_ascii=False) + "\n"))

    def save_weights(self, model, which: str, step: int | None = None) -> None:
        meta = {"makemore_version": __version__, **({} if step is None else {"step": str(step)})}
        atomic_write(self.weights_file(which), lambda tmp: save_model(model, tmp, metadata=meta))

    def weights_step(self, which: str = "last") -> int | None:
        """The step a weights file was saved at (None if it does not say)."""
        from safetensors import safe_open
        try:
            with safe_open(str(self.weights_file(which)), "pt") as f:
                step = (f.metadata() or {}).get("step")
        except Exception:
            return None
        return int(step) if step is not None and step.isdigit() else None

    def save_state(self, state: dict) -> None:
        atomic_write(self.state_file, lambda tmp: torch.save(state, tmp))

    def load_state(self) -> dict:
        try:
            state = torch.load(self.state_file, map_location="cpu", weights_only=True)
        except Exception as e:          # a refused pickle, a truncated or foreign file
            raise RunError(f"{self.state_file}: not a checkpoint this version can resume from "
                           f"({type(e).__name__}); start anew with --force") from None
        missing = [k for k in ("step", "best_val", "torch_rng", "generator") if not isinstance(state, dict) or k not in state]
        if missing:
            raise RunError(f"{self.state_file}: not a whole checkpoint (missing {', '.join(missing)}); start anew with --force")
        return state

    def read_updates(self) -> dict | None:
        """The update:data ratios recorded by `train --track-updates`, if any."""
        if not self.updates_file.exists() and not self.updates_file.is_symlink():
            return None
        try:
            updates = json.loads(read_bounded(self.updates_file, UPDATES_BYTES))
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise RunError(f"{self.updates_file}: unreadable") from None
        if not (isinstance(updates, dict) and isinstance(updates.get("steps"), list) and isinstance(updates.get("ratios"), dict)
                and all(isinstance(v, list) and len(v) == len(updates["steps"]) for v in updates["ratios"].values())):
            raise RunError(f"{self.updates_file}: not the update ratios `train --track-updates` writes")
        return updates

    def save_checkpoint(self, model, state: dict, best: bool) -> None:
        """One checkpoint: best weights (if best), last weights, then the state to resume from,
        which carries the same weights, so resuming never mixes two checkpoints."""
        step = int(state["step"])
        if best:
            self.save_weights(model, "best", step)
        self.save_weights(model, "last", step)
        self.save_state({**state, "weights": model.state_dict()})
        if self._aside is not None:                 # the new run has a whole checkpoint: the old one can go
            aside, self._aside = self._aside, None
            shutil.rmtree(aside)

    def write_json(self, path: Path, obj) -> None:
        atomic_write(path, lambda tmp: Path(tmp).write_text(json.dumps(obj)))

    def log(self, record: dict) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | NOFOLLOW
        try:
            fd = os.open(self.metrics_file, flags, 0o666 & ~UMASK)
        except OSError as e:
            raise RunError(f"{self.metrics_file}: cannot append ({e.strerror}"
                           + ("; it is a symbolic link" if self.metrics_file.is_symlink() else "") + ")") from None
        with os.fdopen(fd, "a") as f:
            f.write(json.dumps(record) + "\n")

    def read_metrics(self) -> list[dict]:
        """The records of metrics.jsonl. A last line cut short by a kill is left out; any other
        line that is not JSON is an error naming it."""
        if self.metrics_file.is_symlink():
            raise RunError(f"{self.metrics_file}: is a symbolic link; a run's files are never links, so it is not read")
        if not self.metrics_file.exists():
            return []
        text = self.metrics_file.read_text(errors="replace")
        lines = text.split("\n")
        records = []
        for lineno, line in enumerate(lines, start=1):
            if line.strip():
                try:
                    records.append(json.loads(line))
                except json.JSONDecodeError:
                    if lineno == len(lines):        # no newline after it: a write that was cut short
                        break
                    raise RunError(f"{self.metrics_file}:{lineno}: not a JSON line") from None
        return records

    def rewind_metrics(self, step: int) -> None:
        """On resume: keep the records up to the checkpoint's step (what a kill logged after it
        will be logged again) and drop the final scores (training goes on)."""
        keep = [r for r in self.read_metrics() if r.get("step", 0) <= step and not r.get("final")]
        atomic_write(self.metrics_file, lambda tmp: Path(tmp).write_text("".join(json.dumps(r) + "\n" for r in keep)))

    def clear(self) -> None:
        """Remove a previous run's files (for --force), and any temporary file a kill left behind,
        leaving anything else in the directory."""
        for f in self.files():
            if f.exists() or f.is_symlink():
                f.unlink()
        self.clear_temporary()

    def clear_temporary(self) -> None:
        """Remove the temporary files a kill left behind (only while holding the lock)."""
        for f in self.path.glob(".*.tmp"):
            f.unlink()

    def set_aside(self) -> None:
        """For --force, under the lock: move the old run's files (links as links, never followed) into
        a new hidden directory of an unpredictable name here. save_checkpoint deletes it once the new
        run's first checkpoint is whole; put_back restores it if the new run fails before that."""
        self.clear_temporary()
        old = [f for f in self.files() if f.exists() or f.is_symlink()]
        if not old:
            return
        self._aside = Path(tempfile.mkdtemp(dir=self.path, prefix=ASIDE))
        for f in sorted(old, key=lambda f: f != self.state_file):     # state.pt first: see recover()
            os.replace(f, self._aside / f.name)

    def put_back(self) -> bool:
        """The new run failed before its first checkpoint: remove its files and put the old run's back.
        False if there was nothing set aside (or the new run had a checkpoint already)."""
        aside, self._aside = self._aside, None
        if aside is None:
            return False
        self._restore(aside)
        return True

    def _restore(self, aside: Path) -> None:
        for f in self.files():
            if f.exists() or f.is_symlink():
                f.unlink()
        self.clear_temporary()
        for f in sorted(aside.iterdir(), key=lambda f: f.name == self.state_file.name):   # state.pt last
            os.replace(f, self.path / f.name)
        aside.rmdir()

    def recover(self) -> None:
        """Under the lock: finish what a --force killed while an old run was set aside left undone.
        Without a state.pt here the new run never had a checkpoint, and the old run is put back (the
        old state.pt moves aside first and back last, so a state.pt here means the new run's checkpoint
        or nothing moved yet); with one, the old run is deleted as that checkpoint would have done."""
        for aside in sorted(self.path.glob(ASIDE + "*")):
            if aside.is_symlink() or not aside.is_dir():
                continue
            if self.state_file.exists():
                shutil.rmtree(aside)
            else:
                self._restore(aside)
                print(f"{self.path}: a --force was cut short before the new run's first checkpoint; the run it was "
                      "replacing is back", file=sys.stderr)


def check_new(path, force: bool) -> RunDir:
    """The run directory at path, if a new run may be written there (force: over an old one)."""
    rundir = RunDir(path)
    if rundir.path.exists() and not rundir.path.is_dir():
        raise RunError(f"{rundir.path}: exists and is not a directory")
    leftovers = [f.name for f in rundir.files() if f.exists() or f.is_symlink()]
    if leftovers and not rundir.exists() and not force:
        raise RunError(f"{rundir.path}: holds files of a run ({', '.join(leftovers)}) but no config.json; "
                       "pass --force to replace them")
    if rundir.exists() and not force:
        try:
            old = rundir.read_config()["type"]
        except RunError:
            old = "?"
        raise RunError(f"{rundir.path}: holds a run of type {old}; pass --resume to continue it or --force to overwrite it")
    return rundir
