"""Runs: the run directory (-o DIR) and everything done with one, from Python or the command line.

    run = create_run("runs/a", type="mlp", max_steps=2000)     # validates; writes nothing yet
    run.train()                                                  # checkpoints, metrics, final scores
    run = load_run("runs/a")                                     # .model .vocab .data .config .metrics
    run.evaluate(); run.sample(10); run.score(["emma"])
    resume_run("runs/a", max_steps=4000).train()
    ensemble("runs/mix", ["runs/a", "runs/b"]); best("runs/best")

The directory:
    config.json        model type and config, data (input, sha256, vocab, split seed), training settings
    model.safetensors  the last checkpoint's weights     best.safetensors  the best by val loss
    state.pt           the checkpoint to resume from: its weights, optimizer, step, RNG and batch
                       stream (plain tensors: loaded with weights_only=True)
    metrics.jsonl      one JSON object per log / evaluation line
    updates.json       update:data ratios (`train --track-updates`, read by `diagnose`)

Every file but metrics.jsonl is written to a temporary file (an unpredictable name, created
exclusively) and renamed into place. state.pt holds its own copy of the weights, so a resumed run
always starts from one whole checkpoint, even if a kill fell between the renames of two files.
No write follows a symbolic link, and config.json and updates.json are read only as regular files
of a bounded size. A writer holds an exclusive lock on DIR/.lock while it trains. `--force` moves
the old run into a hidden directory DIR/.replaced-XXXXXXXX (an unpredictable name) and deletes it
once the new run's first checkpoint is saved; if the new run fails before that, the old run is put
back, and if it is killed before that, the next writer in DIR puts it back.
This is the only module that writes a run.
"""

from __future__ import annotations

import codecs
import contextlib
import json
import os
import shutil
import sys
import tempfile
import time
from dataclasses import asdict, fields, replace
from pathlib import Path

import torch
from safetensors.torch import load_model as load_safetensors, save_model

from . import cache, distributed, presets
from .batches import Batches
from .cache import Prepared
from .data import (MAX_BYTES, SPLITS, Dataset, Split, Vocab, encode_words, head_rows, read_words,
                   resolve_input, reverse_split)
from .errors import DataError, RunError, UsageError, first_line
from .evaluation import evaluate, token_logp, token_nll
from .files import NOFOLLOW, UMASK, atomic_write, create_file, locked, read_bounded
from .models import MODELS, build_model, shape_model
from .models.ensemble import build_mixture, directions, fit_mixture, fit_product, mixture_loss
from .sampling import novelty, sample_items, score_items
from .train import TRAIN_FIELDS, TrainConfig, resolve_device, train
from .version import __version__

WEIGHTS = ("best", "last")
CONFIG_KEYS = ("type", "model", "data")
DATA_KEYS = ("input", "sha256", "encoding", "max_len_limit", "split_seed", "vocab", "max_len")
DATA_TYPES = {"input": str, "sha256": str, "encoding": str, "max_len_limit": int, "split_seed": int, "vocab": list,
              "max_len": int, "max_bytes": int, "dedupe": bool, "dedupe_dropped": int, "items": dict, "targets": dict,
              "reverse": bool}
CONFIG_BYTES = 64 * 2 ** 20     # the largest config.json read (a vocabulary of all 1.1 million code points: about 15 MB)
UPDATES_BYTES = 256 * 2 ** 20   # the largest updates.json read
MIXES = ("fit", "equal", "product")   # an ensemble's: linear weights fitted on val, equal ones, or a product's exponents
FIT_BYTES = 2 ** 30             # the members' distributions a product mixture is fitted on, at most (the first val items)
ASIDE = ".replaced-"            # the hidden directory an old run waits in while --force starts a new one
JSON_TYPES = {int: "an integer", float: "a number", str: "a string", bool: "true or false", list: "a list", dict: "a JSON object"}


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


def _is(v, kind) -> bool:
    """Whether a JSON value is of a config field's type (an integer is a float too; a bool is neither)."""
    if kind in (int, float):
        return isinstance(v, (int, float) if kind is float else int) and not isinstance(v, bool)
    return isinstance(v, kind)


def check_config(config, where) -> None:
    """A run's config.json as this version writes it: the keys there, each value of its type (the
    model's and the training's options of their fields' types), else a one-line RunError naming
    the file and the key. Values in range are checked where they are used (build_model, TrainConfig)."""
    def bad(key, want, got):
        want = JSON_TYPES.get(want, want)
        raise RunError(f"{where}: {key} must be {want}, got {json.dumps(got)[:60]}; not a config this version "
                       "of makemore wrote (train the run again, or mend the file)")

    def need(keys):
        missing = [k for k in keys if (k[5:] not in config["data"] if k.startswith("data.") else k not in config)]
        if missing:
            raise RunError(f"{where}: not a makemore run config (missing {', '.join(missing)})")
    if not isinstance(config, dict):
        raise RunError(f"{where}: not a makemore run config (a JSON object is expected)")
    ensemble = config.get("type") == "ensemble"
    need(CONFIG_KEYS + (("members", "weights") if ensemble else ("train",)))
    if not ensemble and (not isinstance(config["type"], str) or config["type"] not in MODELS):
        bad("type", f"a model type ({', '.join(MODELS)}) or ensemble", config["type"])
    for key in ("model", "data") + (() if ensemble else ("train",)):
        if not isinstance(config[key], dict):
            bad(key, dict, config[key])
    need([f"data.{k}" for k in DATA_KEYS])         # an ensemble's: its members' data
    d = config["data"]
    for k, v in d.items():
        if k in DATA_TYPES and not _is(v, DATA_TYPES[k]):
            bad(f"data.{k}", DATA_TYPES[k], v)
    if not (all(isinstance(c, str) and len(c) == 1 for c in d["vocab"]) and d["vocab"] == sorted(set(d["vocab"]))):
        bad("data.vocab", "a sorted list of distinct characters", d["vocab"])
    for k in ("max_len", "max_len_limit", "max_bytes"):
        if k in d and d[k] < 1:
            bad(f"data.{k}", "at least 1", d[k])
    try:
        codecs.lookup(d["encoding"])
    except LookupError:
        bad("data.encoding", "a known text encoding", d["encoding"])
    if ensemble:
        members, weights = config["members"], config["weights"]
        if not (isinstance(members, list) and members and all(isinstance(m, str) for m in members)):
            bad("members", "a non-empty list of run directories", members)
        if not (isinstance(weights, list) and len(weights) == len(members) and all(_is(w, float) for w in weights)):
            bad("weights", f"a list of {len(members)} numbers, one per member", weights)
        if config.get("mix", "fit") not in MIXES:
            bad("mix", f"one of {', '.join(MIXES)}", config["mix"])
        if config.get("mix") != "product" and any(w < 0 for w in weights):
            bad("weights", "non-negative numbers (only a product mixture's exponents may be negative)", weights)
        reverse = config.get("member_reverse", [False] * len(members))
        if not (isinstance(reverse, list) and len(reverse) == len(members) and all(isinstance(r, bool) for r in reverse)):
            bad("member_reverse", f"a list of {len(members)} booleans, one per member", reverse)
        if "direction_weights" in config:
            v = config["direction_weights"]
            if not (isinstance(v, list) and len(v) == 2 and all(_is(x, float) for x in v)):
                bad("direction_weights", "a list of 2 numbers (left to right, right to left)", v)
            if all(reverse) or not any(reverse):
                bad("member_reverse", "members of both directions (the config has direction_weights)", reverse)
        return
    sections = {"model": (fields(MODELS[config["type"]].Config), f"the {config['type']} model"),
                "train": (fields(TrainConfig), "training")}
    for section, (known, whose) in sections.items():
        known = {f.name: type(f.default) for f in known}
        for k, v in config[section].items():
            if k not in known:
                raise RunError(f"{where}: {section}.{k}: not an option of {whose}; not a config this version of makemore wrote")
            if not _is(v, known[k]):
                bad(f"{section}.{k}", known[k], v)
    missing = [f"model.{k}" for k in ("vocab_size", "seq_len") if k not in config["model"]]
    if missing:
        raise RunError(f"{where}: not a makemore run config (missing {', '.join(missing)})")


def config_model(rundir: RunDir, config: dict):
    """The untrained model a run's config describes. A value out of range there, or a model too large
    for the memory this machine has, is a RunError naming config.json (nothing is allocated first)."""
    try:
        meta = shape_model(config["type"], **config["model"])
    except UsageError as e:
        raise RunError(f"{rundir.config_file}: model: {e}") from None
    need = 2 * sum(t.numel() * t.element_size() for t in (*meta.parameters(), *meta.buffers()))   # the model + what is loaded
    free = memory_available()
    if free is not None and need > free:
        raise RunError(f"{rundir.config_file}: model: its {config['type']} model would need about {need / 2**30:,.1f} GiB "
                       f"to load, more than the {free / 2**30:,.1f} GiB available")
    return build_model(config["type"], **config["model"])


def load_model(rundir: RunDir, which: str = "best", device="cpu", config: dict | None = None):
    """Rebuild a run's model from its config and load its weights (on any device: CUDA runs load
    on the CPU). An ensemble directory loads each member run it names."""
    config = config or rundir.read_config()
    f = rundir.weights_file(which)
    if config["type"] == "ensemble":
        members = []
        for rel in config["members"]:
            member = RunDir(rundir.path / rel)
            if not member.exists():
                raise RunError(f"{rundir.path}: ensemble member {member.path} is gone")
            members.append(load_model(member, which, device))
        reverse = config.get("member_reverse", [False] * len(members))
        return build_mixture(members, reverse, config["weights"], config.get("direction_weights"),
                             product=config.get("mix") == "product").to(device).eval()
    model = config_model(rundir, config)
    if which == "best" and not f.exists():
        f = rundir.weights_file("last")
    if not f.exists():
        raise RunError(f"{rundir.path}: no weights saved yet ({f.name} missing)")
    try:
        load_safetensors(model, str(f), strict=True, device="cpu")
    except Exception as e:           # truncated, crafted, or another model's weights
        raise RunError(f"{f}: not the weights of this run's {config['type']} model "
                       f"({first_line(e, 160)})") from None
    return model.to(device).eval()


def run_data(config: dict, input: str | None = None, beside=None) -> Prepared:
    """The split a run was trained on, made again as it was made (or loaded from the cache beside
    the run directory `beside`): from the same bytes (checked by their SHA-256) or an error. With
    `input`, that file's items instead, knowingly, encoded the run's way."""
    d = config["data"]
    path = input or d["input"]
    if input is None and not resolve_input(path).exists():
        raise DataError(f"the run's data file {path} is gone; pass -i FILE")
    prepared = cache.prepare(path, encoding=d["encoding"], max_len=d["max_len_limit"],
                             max_bytes=d.get("max_bytes", MAX_BYTES), dedupe=bool(d.get("dedupe")),
                             split_seed=d["split_seed"], vocab=d["vocab"], data_max_len=d["max_len"],
                             cache=cache.cache_dir(beside))
    if input is None and prepared.sha256 != d["sha256"]:
        raise DataError(f"{path}: changed since the run was trained (its SHA-256 differs), so the run's split "
                        "cannot be rebuilt from it; pass -i FILE to use a file knowingly")
    return replace(prepared, data=prepared.data.reversed()) if d.get("reverse") else prepared


class Run:
    """A run directory and what it holds. Made by create_run / resume_run (to train) or load_run."""

    def __init__(self, path, config: dict, model=None, device="cpu", data: Dataset | None = None,
                 input: str | None = None, resume: dict | None = None, pending: bool = False, force: bool = False,
                 data_note: str | None = None):
        self.dir = RunDir(path)
        self.path = self.dir.path
        self.config = config
        self.model = model
        self.device = torch.device(device)
        self._data, self._input = data, input
        self._resume, self._pending, self._force = resume, pending, force
        self.data_note = data_note             # what the cache did for the split, when training starts

    @property
    def type(self) -> str:
        return self.config["type"]

    @property
    def vocab(self) -> Vocab:
        return Vocab(self.config["data"]["vocab"])

    @property
    def max_len(self) -> int:
        return self.config["data"]["max_len"]

    @property
    def reverse(self) -> bool:
        """Whether the model reads items right to left (`train --reverse`); its data is the items
        turned around, and what it samples or scores is turned back."""
        return bool(self.config["data"].get("reverse"))

    @property
    def two_way(self) -> bool:
        """Whether this is an ensemble that mixes both reading directions (a TwoWay mixture)."""
        return "direction_weights" in self.config

    @property
    def data(self) -> Dataset:
        """The run's split, rebuilt from its data file (read once, on first use)."""
        if self._data is None:
            self._data = run_data(self.config, self._input, self.path).data
        return self._data

    @property
    def metrics(self) -> list[dict]:
        return self.dir.read_metrics()

    def describe(self) -> str:
        """One line: type, size, vocabulary, items per split, device."""
        n_params = sum(p.numel() for p in self.model.parameters())
        items = self.config["data"].get("items") or {s: len(self.data.split(s)) for s in SPLITS}
        return (f"{self.type}: {n_params:,} parameters | vocab {self.vocab.size} | items train/val/test "
                f"{items['train']:,}/{items['val']:,}/{items['test']:,} | device {self.device}")

    # --- training --------------------------------------------------------------------------
    def train(self, progress: bool = True, tensorboard: bool = False, track_updates: int = 0,
              stop_at: int | None = None, on_step=None, on_eval=None) -> dict:
        """Train (or continue) the run, checkpointing into its directory; then score the best
        checkpoint on every split. Returns {"step", "best_val", "interrupted", "losses"}.
        tensorboard: also write TensorBoard events into DIR/tensorboard; track_updates: record
        update:data ratios every this many steps into updates.json; on_eval(step, val): called
        after each evaluation and checkpoint (raising there ends training, as a sweep prunes)."""
        if not self._pending:
            raise RunError(f"{self.path}: a loaded run does not train again; use resume_run to continue it")
        if track_updates < 0:
            raise UsageError(f"--track-updates must be at least 1, got {track_updates}")
        SummaryWriter = tensorboard_writer() if tensorboard else None
        if not distributed.is_writer():               # under torchrun, rank 0 alone writes the run
            self._pending = False
            try:
                result = train(self.model, self.data, TrainConfig(**self.config["train"]), run=None, device=self.device,
                               resume=self._resume, progress=False, stop_at=stop_at)
            finally:
                distributed.finish()
            return {**result, "losses": None}
        with self.dir.lock(), contextlib.ExitStack() as finish:
            finish.callback(distributed.finish)
            self.dir.recover()                          # an old run a killed --force left aside comes back first
            if self._resume is None:
                _check_new(self.path, self._force)      # checked again under the lock: nobody took it meanwhile
            if self._force:
                self.dir.set_aside()                    # every check passed: the old run waits aside for a checkpoint
            else:
                self.dir.clear_temporary()
            try:
                if self._resume is not None:
                    self.dir.rewind_metrics(int(self._resume["step"]))
                self.dir.write_config(self.config)
                self._pending = False
                writer = SummaryWriter(log_dir=str(self.path / "tensorboard")) if tensorboard else None
                if track_updates:
                    from .diagnostics import UpdateTracker
                    on_step = UpdateTracker(self.model, every=track_updates)
                try:
                    result = train(self.model, self.data, TrainConfig(**self.config["train"]), run=self.dir,
                                   device=self.device, resume=self._resume, progress=progress, writer=writer,
                                   stop_at=stop_at, on_step=on_step, on_eval=on_eval)
                finally:
                    if writer is not None:
                        writer.close()
            except BaseException as e:                  # before the new run's first checkpoint: the old run back
                if self.dir.put_back() and isinstance(e, (DataError, RunError, UsageError)):
                    raise type(e)(f"{e}; {self.path}: the run it was to replace is back as it was") from None
                raise
            if track_updates:
                self.dir.write_json(self.dir.updates_file, on_step.to_dict())
            result["losses"] = None
            if not result["interrupted"]:
                self.model = load_model(self.dir, "best", self.device, self.config)
                result["losses"] = self.evaluate()
                self.dir.log({"step": result["step"], "final": True, **result["losses"]})
        return result

    # --- using a trained run ---------------------------------------------------------------
    def evaluate(self, splits=SPLITS) -> dict:
        """Mean NLL in nats per character of the run's model on each named split."""
        for s in splits:
            if s not in SPLITS:
                raise UsageError(f"--split must be one of {', '.join(SPLITS)}, got {s!r}")
        return {s: evaluate(self.model, self.data.split(s), self.device) for s in splits}

    def evaluate_file(self, input) -> dict:
        """{"input": mean NLL per character} of the items of another file, read as the run read its own."""
        d = self.config["data"]
        words = read_words(input, encoding=d["encoding"], max_len=d["max_len"])
        unknown = self.vocab.unknown_chars(words)
        if unknown:
            raise DataError(f"{input}: characters not in the model's vocabulary: {''.join(unknown[:20])!r}")
        split = Split(words, *encode_words(words, self.vocab, d["max_len"]))
        return {"input": evaluate(self.model, reverse_split(split) if self.reverse else split, self.device)}

    def heldout_words(self) -> tuple[list[str], list[str]]:
        """(train items, val + test items) of the run's split, to mark samples new or seen."""
        words = [self.data.split(s).words for s in SPLITS]
        if self.reverse:
            words = [[w[::-1] for w in ws] for ws in words]
        return words[0], words[1] + words[2]

    def sample(self, n: int = 20, marks: bool = True, **options) -> list[dict]:
        """n items from the model, each {"item", "novelty"}: new, train or val/test ('?' if the
        data file is gone). options: prefix, unique, seed, temperature, top_k, top_p."""
        if self.reverse and options.get("prefix"):
            raise UsageError(f"--prefix: {self.path} reads items right to left, so it cannot continue a prefix")
        items = sample_items(self.model, self.vocab, n, self.max_len, device=self.device, **options)
        if self.reverse:
            items = [w[::-1] for w in items]
        novel = ["?"] * len(items)
        if marks:
            with contextlib.suppress(DataError):
                novel = novelty(items, *self.heldout_words())
        return [{"item": w, "novelty": m} for w, m in zip(items, novel)]

    def score(self, items: list[str]) -> list[dict]:
        """Each item's NLL: {"item", "nll" (nats), "nll_per_char", "chars"}."""
        if not self.reverse:
            return score_items(self.model, self.vocab, items, self.max_len, self.device)
        scored = score_items(self.model, self.vocab, [w[::-1] for w in items], self.max_len, self.device)
        return [{**r, "item": w} for r, w in zip(scored, items)]


def set_threads(n: int) -> None:
    """torch's CPU threads for this process (--threads; under torchrun, instead of dividing the cores)."""
    if not 1 <= n <= 1024:
        raise UsageError(f"--threads must be in [1, 1024], got {n}")
    torch.set_num_threads(n)
    distributed.note_threads_set()


def tensorboard_writer():
    """TensorBoard's SummaryWriter class, or a one-line error saying how to install it."""
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        raise UsageError("--tensorboard needs the tensorboard package: pip install 'makemore[tensorboard]'") from None
    return SummaryWriter


def _check_new(path, force: bool) -> RunDir:
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


def create_run(path, input=None, *, type: str | None = None, preset: str | None = None, recipe: str | None = None,
               encoding: str = "utf-8", max_len: int = 256, dedupe: bool = False, split_seed: int = 42,
               max_bytes: int = MAX_BYTES, reverse: bool = False, force: bool = False, device="auto", **options) -> Run:
    """A new run in `path`, ready to train: every option checked, the data read and split, the
    model built (after a check that it and its training fit in memory). Nothing is written until
    run.train() (with force, the old run is removed then).
    options: any model option of the type (n_embd=...) or TrainConfig field (max_steps=...).
    reverse: the model reads every item right to left (the split is the same items).
    Under torchrun every process calls it; rank 0 alone checks and writes the directory."""
    device = distributed.launch(resolve_device(device))
    if distributed.is_writer():
        _check_new(path, force)
    resolved = presets.resolve(type, preset, recipe, **options)
    prepared = cache.prepare(input, encoding=encoding, max_len=max_len, max_bytes=max_bytes, dedupe=dedupe,
                             split_seed=split_seed, cache=cache.cache_dir(path), min_items=10)
    data = prepared.data.reversed() if reverse else prepared.data
    check_memory(resolved.type, resolved.model, resolved.train, data)
    torch.manual_seed(resolved.train.seed)                     # the seed sets the initial weights too
    model = build_model(resolved.type, data.vocab.size, data.max_len + 1, **resolved.model)
    Batches.check(model, resolved.train.bucket, resolved.train.pack)
    config = {
        "type": resolved.type, "preset": resolved.preset, "recipe": resolved.recipe,
        "model": asdict(model.config),
        "data": {"input": prepared.path, "sha256": prepared.sha256, "encoding": encoding, "max_len_limit": max_len,
                 "max_bytes": max_bytes, "dedupe": dedupe, "reverse": bool(reverse),
                 "dedupe_dropped": prepared.dropped, "split_seed": split_seed, "vocab": data.vocab.chars,
                 "max_len": data.max_len, "items": {s: len(data.split(s)) for s in SPLITS},
                 "targets": {s: data.split(s).n_targets for s in SPLITS}},
        "train": asdict(resolved.train),
    }
    return Run(path, config, model, device, data=data, pending=True, force=force, data_note=cache_note(prepared, path))


def cache_note(prepared: Prepared, path) -> str | None:
    """What the cache did for a run's split, in a line (None when it was not used)."""
    where = cache.cache_dir(path)
    return {"loaded": f"data: the encoded split loaded from the cache in {where}",
            "cached": f"data: the encoded split cached in {where} (the next run on this file loads it)"}.get(prepared.source)


def resume_run(path, input=None, device="auto", type: str | None = None, preset: str | None = None,
               recipe: str | None = None, **train_options) -> Run:
    """The run in `path`, ready to continue exactly where it stopped; training options (e.g. a
    larger max_steps) may change, the model may not. Nothing is written until run.train() (but an
    old run that a --force killed before its first checkpoint had set aside is put back first)."""
    rundir = RunDir(path)
    if distributed.is_writer() and any(rundir.path.glob(ASIDE + "*")):
        with rundir.lock():
            rundir.recover()                       # a --force killed before its first checkpoint: the old run back
    if not rundir.exists() or not rundir.state_file.exists():
        raise RunError(f"{rundir.path}: no run to resume (config.json or state.pt missing)")
    config = rundir.read_config()
    unknown = [k for k in train_options if k not in TRAIN_FIELDS]
    if unknown or preset or recipe or type not in (None, config["type"]):
        name = unknown[0].replace("_", "-") if unknown else "preset" if preset else "recipe" if recipe else "type"
        raise UsageError(f"--{name}: model options cannot change on --resume; they are read from the run's config.json")
    tcfg = _resumed_settings(rundir, config["train"], train_options)
    config_model(rundir, config)                   # the model's values in range, and it fits in memory
    state = rundir.load_state()
    prepared = run_data(config, input, path)
    if prepared.chars != config["data"]["vocab"]:
        raise DataError(f"{input or config['data']['input']}: its vocabulary differs from the run's; cannot resume on other data")
    data = prepared.data
    check_memory(config["type"], config["model"], tcfg, data)
    device = distributed.launch(resolve_device(device))
    run = Run(path, {**config, "train": asdict(tcfg)}, device=device, data=data, input=input, pending=True,
              data_note=cache_note(prepared, path))
    model = config_model(rundir, config)
    if "weights" in state:
        try:
            model.load_state_dict(state.pop("weights"))
        except (RuntimeError, KeyError) as e:
            raise RunError(f"{rundir.state_file}: its weights do not fit the run's model "
                           f"({first_line(e, 120)})") from None
        saved = rundir.weights_step("last")
        if saved is not None and saved != int(state["step"]) and distributed.is_writer():
            print(f"{rundir.path}: model.safetensors is from step {saved:,} but state.pt from step {int(state['step']):,} "
                  f"(a save was cut short); resuming from the whole checkpoint at step {int(state['step']):,}",
                  file=sys.stderr)
    else:                                          # a checkpoint of an earlier version: the weights beside it
        model = load_model(rundir, "last", "cpu", config).train()
    run.model, run._resume = model, state
    return run


def _resumed_settings(rundir: RunDir, saved: dict, options: dict) -> TrainConfig:
    """The training settings of a resumed run: the saved ones, with `options` over them, validated.
    A setting out of range that comes from config.json, not from the options, is an error naming
    the file and the key (`config.json: train.lr must be > 0`), not the option."""
    try:
        return TrainConfig(**{**saved, **options}).validate()
    except UsageError as e:
        try:
            TrainConfig(**saved).validate()
        except UsageError as own:
            flag, _, rest = str(own).partition(" ")
            if str(own) == str(e) and flag.startswith("--") and flag[2:].replace("-", "_") not in options:
                raise RunError(f"{rundir.config_file}: train.{flag[2:].replace('-', '_')} {rest}") from None
        raise


def memory_available() -> int | None:
    """Bytes of memory a training may take: what this machine can still give (Linux: MemAvailable),
    capped by MAKEMORE_MAX_MEMORY (bytes) where set, e.g. on a shared machine; None if unknown."""
    free = None
    try:
        with open("/proc/meminfo") as f:
            free = next((int(line.split()[1]) * 1024 for line in f if line.startswith("MemAvailable:")), None)
    except OSError:
        pass
    cap = os.environ.get("MAKEMORE_MAX_MEMORY")
    if cap:
        if not cap.isdigit():
            raise UsageError(f"MAKEMORE_MAX_MEMORY must be a number of bytes, got {cap!r}")
        free = min(int(cap), free) if free is not None else int(cap)
    return free


def check_memory(type: str, model_options: dict, cfg: TrainConfig, data: Dataset) -> None:
    """Refuse, before anything is allocated, a model and batch that would not fit in memory: the
    parameters counted on the meta device (no memory), times 4 (weights, gradients, AdamW's two
    moments), plus a generous bound on one step's activations (logits and the widest layers)."""
    examples = data.train.n_targets * model_options.get("block_size", 0) * 2      # window contexts, at most int16
    pool = cfg.bucket * cfg.batch_size * 8                                         # a length-bucket pool's indices
    free = memory_available()
    if free is not None and examples + pool > free:
        raise UsageError(f"--block-size {model_options.get('block_size')} with --bucket {cfg.bucket} needs about "
                         f"{(examples + pool) / 2**30:,.1f} GiB, more than the {free / 2**30:,.1f} GiB available")
    model = shape_model(type, data.vocab.size, data.max_len + 1, **{k: v for k, v in model_options.items()
                                                                     if k not in ("vocab_size", "seq_len")})
    params = sum(p.numel() for p in model.parameters()) + sum(b.numel() for b in model.buffers())
    x, _, lengths = model.examples(data.train)
    rows = cfg.batch_size or len(x)
    positions = rows * (x.size(1) if lengths is not None else model_options.get("block_size", 1))
    width = max([v for k, v in model_options.items() if k.startswith("n_") and isinstance(v, int)] + [1])
    layers = max(1, model_options.get("n_layer", 1))
    need = 4 * (4 * params + 3 * positions * (data.vocab.size + 8 * width * layers))
    if free is not None and need > free:
        raise UsageError(f"this model ({params:,} parameters) and batch (--batch-size {cfg.batch_size}) need about "
                         f"{need / 2**30:,.1f} GiB to train, more than the {free / 2**30:,.1f} GiB available; "
                         "use a smaller --batch-size or model")


def is_run(path) -> bool:
    """Whether `path` holds a run (a config.json)."""
    return RunDir(path).exists()


def load_run(path, weights: str | None = "best", device="cpu", input=None) -> Run:
    """A trained run: its config, vocabulary, data (rebuilt on first use; from `input` if given)
    and, unless weights is None, its model (`best` by val, or `last`)."""
    rundir = RunDir(path)
    config = rundir.read_config()
    device = resolve_device(str(device))
    model = None if weights is None else load_model(rundir, weights, device, config)
    return Run(path, config, model, device, input=input)


def ensemble(path, runs: list, mix: str = "fit", weights: str = "best", force: bool = False, device="auto") -> Run:
    """Mix several runs trained on the same data into an ensemble directory that evaluates,
    samples and scores like any run. The weights are fitted on val by EM (never on test), or equal.
    Runs of one reading direction mix their next-character distributions; when some read right to
    left (`train --reverse`) and some left to right, each direction is mixed so, and the two
    mixtures are mixed over whole items (a TwoWay mixture, its two weights fitted on val's items).
    mix "product": the members' distributions multiplied within each direction, each raised to an
    exponent fitted on val (from the first val items whose distributions fit FIT_BYTES), instead.
    The returned run's config holds each member's and the mixture's val and test loss."""
    if mix not in MIXES:
        raise UsageError(f"--mix must be one of {', '.join(MIXES)}, got {mix!r}")
    rundir = _check_new(path, force)
    device = resolve_device(device)
    if not runs:
        raise UsageError("an ensemble needs at least one run")
    members = [RunDir(r) for r in runs]
    if any(m.path.resolve() == rundir.path.resolve() for m in members):
        raise UsageError(f"{rundir.path}: the ensemble cannot be one of its own members")
    configs = [m.read_config() for m in members]
    for config, name in zip(configs, runs):
        for k in ("vocab", "max_len", "split_seed", "sha256", "dedupe"):
            if config["data"].get(k) != configs[0]["data"].get(k):
                raise DataError(f"{name}: its data differs from {runs[0]}'s ({k}); ensemble members must be "
                                "trained on the same file with the same split")
        if "direction_weights" in config:
            raise UsageError(f"{name}: mixes both reading directions already; use its members instead")
    reverse = [bool(c["data"].get("reverse")) for c in configs]
    models = [load_model(m, weights, device, c) for m, c in zip(members, configs)]
    forward = {**configs[0]["data"], "reverse": False}                          # the items as they are in the file
    data = Run(members[0].path, {**configs[0], "data": forward}).data
    ways = {s: (data.split(s), reverse_split(data.split(s)) if any(reverse) else None) for s in ("val", "test")}
    nll = {s: [token_nll(m, split[r], device) for m, r in zip(models, reverse)]
           for s, split in ways.items()}                                        # each member reads its own way
    w, v = fit_mixture(nll["val"], reverse, data.val.lengths, equal=mix == "equal")
    if mix == "product":                           # started from the linear fit
        k = max(1, FIT_BYTES // (8 * len(models) * data.vocab.size * (data.max_len + 1)))
        head = [split and head_rows(split, k) for split in ways["val"]]            # the first val items, each way read
        logp = [token_logp(m, head[r], device) for m, r in zip(models, reverse)]
        w, v = fit_product([x for x, _ in logp], [y for _, y in logp], reverse, head[0].lengths, w, v)
        mixture = build_mixture(models, reverse, w, v, product=True)
        parts = [mixture] if v is None else [mixture.ltr, mixture.rtl]             # each direction's product, one model
        way = [reverse[g[0]] for g in directions(reverse)]
        part_nll = {s: [token_nll(p, split[r], device) for p, r in zip(parts, way)] for s, split in ways.items()}
        loss = {s: mixture_loss(part_nll[s], way, data.split(s).lengths, [1.0] * len(way), v) for s in nll}
    else:
        mixture = build_mixture(models, reverse, w, v)
        loss = {s: mixture_loss(nll[s], reverse, data.split(s).lengths, w, v) for s in nll}
    config = {"type": "ensemble", "members": [os.path.relpath(m.path.resolve(), rundir.path.resolve()) for m in members],
              "member_types": [c["type"] for c in configs], "member_reverse": reverse, "weights": w, "mix": mix,
              "member_loss": {s: [x.mean().item() for x in xs] for s, xs in nll.items()},
              "data": {**forward, "reverse": v is None and reverse[0]}, "model": {},
              **{s: x for s, (x, _) in loss.items()}}
    if v is not None:
        config.update({"direction_weights": v, "direction_loss": {s: d for s, (_, d) in loss.items()}})
    with rundir.lock():                            # a writer, like train: never while another writes here
        _check_new(path, force)                    # checked again under the lock: nobody took it meanwhile
        if force:
            rundir.clear()
        rundir.write_config(config)
    return Run(path, config, mixture.eval(), device, data=data.reversed() if config["data"]["reverse"] else data)


def _train_member(path: str, options: dict, input, device: str, threads: int, log_file: str) -> None:
    """One member of `best`, in a worker process: its own thread count, its output to a log."""
    set_threads(threads)
    with create_file(log_file, buffering=1) as log, contextlib.redirect_stdout(log), contextlib.redirect_stderr(log):
        run = create_run(path, input, force=True, device=device, **options)
        print(run.describe())
        run.train(progress=False)


def best(path, input=None, jobs: int | None = None, device="auto", force: bool = False,
         members: dict | None = None, mix: str | None = None, log=print) -> Run:
    """The best-quality recipe: train the members (presets.BEST) side by side, one process per
    CPU core, into path/members/NAME, then mix them into an ensemble in path (mix: as ensemble's,
    presets.BEST_MIX by default)."""
    from concurrent.futures import ProcessPoolExecutor, as_completed
    from multiprocessing import get_context
    members = presets.BEST if members is None else members
    rundir = _check_new(path, force)
    if input is not None:
        read_words(input)                          # bad input: one error now, not one per member
    dev = resolve_device(device)
    jobs = jobs or (1 if dev.type != "cpu" else max(1, os.cpu_count() or 1))
    if jobs < 1:
        raise UsageError(f"--jobs must be at least 1, got {jobs}")
    for name, options in members.items():         # every member's options checked before any trains
        try:
            presets.resolve(**{("preset_name" if k == "preset" else k): v for k, v in options.items() if k != "reverse"})
        except UsageError as e:
            raise UsageError(f"best: {name}: {e}") from None
    threads = max(1, (os.cpu_count() or 1) // jobs)
    (rundir.path / "members").mkdir(parents=True, exist_ok=True)
    log(f"training {len(members)} members, {jobs} at a time, {threads} thread(s) each; "
        f"logs in {rundir.path / 'members'}/NAME/train.log")
    failed, t0 = [], time.perf_counter()
    with ProcessPoolExecutor(max_workers=jobs, mp_context=get_context("spawn")) as pool:
        futures = {}
        for name, options in members.items():
            d = rundir.path / "members" / name
            d.mkdir(parents=True, exist_ok=True)
            futures[pool.submit(_train_member, str(d), options, input, device, threads, str(d / "train.log"))] = name
        for future in as_completed(futures):
            name, error = futures[future], future.exception()
            log(f"  {name:<12} {'done' if error is None else f'FAILED ({error})'} at {time.perf_counter() - t0:5.0f} s")
            if error is not None:
                failed.append(name)
    if failed:
        raise RunError(f"members {', '.join(failed)} failed; see {rundir.path / 'members'}/NAME/train.log")
    log(f"members trained in {time.perf_counter() - t0:.0f} s")
    return ensemble(path, [str(rundir.path / "members" / name) for name in members], mix=mix or presets.BEST_MIX, force=True,
                    device=device)
