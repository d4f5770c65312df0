"""The run directory (-o DIR): everything needed to sample, evaluate or resume.

    config.json        model type and config, data (input, sha256, vocab, split seed), training settings
    model.safetensors  last weights          best.safetensors  best weights by val loss
    state.pt           optimizer, step, RNG states (plain tensors: loaded with weights_only=True)
    metrics.jsonl      one JSON object per log / evaluation line

Every file but metrics.jsonl is written to a temporary file and renamed, so a kill never leaves a
half-written checkpoint behind.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import torch
from safetensors.torch import load_model, save_model

from . import __version__
from .data import DataError, Vocab, dedupe_words, file_digest, read_words, resolve_input
from .models import build_model


def atomic_write(path: Path, write) -> None:
    """Call write(tmp_path), then rename tmp_path onto path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


class RunDir:
    def __init__(self, path):
        self.path = Path(path)
        self.config_file = self.path / "config.json"
        self.metrics_file = self.path / "metrics.jsonl"
        self.state_file = self.path / "state.pt"

    def weights_file(self, which: str = "best") -> Path:
        return self.path / ("best.safetensors" if which == "best" else "model.safetensors")

    def exists(self) -> bool:
        return self.config_file.exists()

    def read_config(self) -> dict:
        if not self.exists():
            raise DataError(f"{self.path}: not a run directory (no config.json); train one with `makemore train -o {self.path}`")
        try:
            return json.loads(self.config_file.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise DataError(f"{self.config_file}: unreadable config ({e})") from None

    def write_config(self, config: dict) -> None:
        config = {"makemore_version": __version__, **config}
        atomic_write(self.config_file, lambda tmp: Path(tmp).write_text(json.dumps(config, indent=2, ensure_ascii=False) + "\n"))

    def save_weights(self, model, which: str = "last") -> None:
        atomic_write(self.weights_file(which), lambda tmp: save_model(model, tmp, metadata={"makemore_version": __version__}))

    def save_state(self, state: dict) -> None:
        atomic_write(self.state_file, lambda tmp: torch.save(state, tmp))

    def load_state(self) -> dict:
        return torch.load(self.state_file, map_location="cpu", weights_only=True)

    def log(self, record: dict) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        with open(self.metrics_file, "a") as f:
            f.write(json.dumps(record) + "\n")

    def read_metrics(self) -> list[dict]:
        if not self.metrics_file.exists():
            return []
        return [json.loads(line) for line in self.metrics_file.read_text().splitlines() if line.strip()]

    def clear(self) -> None:
        """Remove a previous run's files (for --force), leaving anything else in the directory."""
        for f in (self.config_file, self.metrics_file, self.state_file, self.weights_file("best"), self.weights_file("last")):
            if f.exists():
                f.unlink()


def load_model_from_run(run: RunDir, which: str = "best", device="cpu"):
    """Rebuild the model from config.json and load its weights (on any device: CUDA runs load on CPU).
    An ensemble directory loads each member run it names."""
    cfg = run.read_config()
    if cfg["type"] == "ensemble":
        return load_ensemble(run, cfg, which, device), cfg
    model = build_model(cfg["type"], **cfg["model"])
    f = run.weights_file(which)
    if which == "best" and not f.exists():
        f = run.weights_file("last")
    if not f.exists():
        raise DataError(f"{run.path}: no weights saved yet ({f.name} missing)")
    load_model(model, str(f), strict=True, device="cpu")
    model.to(device).eval()
    return model, cfg


def load_ensemble(run: RunDir, cfg: dict, which: str = "best", device="cpu"):
    from .models.ensemble import Ensemble
    members = []
    for rel in cfg["members"]:
        member = RunDir(run.path / rel)
        if not member.exists():
            raise DataError(f"{run.path}: ensemble member {member.path} is gone")
        members.append(load_model_from_run(member, which, device)[0])
    return Ensemble(members, cfg["weights"]).to(device).eval()


def same_data(cfgs: list[dict], names: list) -> None:
    """Runs can be mixed only if they read the same items the same way: same vocabulary, longest
    item and split (else their splits and token ids would not line up)."""
    keys = ("vocab", "max_len", "split_seed", "sha256", "dedupe")
    for cfg, name in zip(cfgs[1:], names[1:]):
        for k in keys:
            if cfg["data"].get(k) != cfgs[0]["data"].get(k):
                raise DataError(f"{name}: its data differs from {names[0]}'s ({k}); ensemble members must be "
                                "trained on the same file with the same split")


def run_vocab(cfg: dict) -> Vocab:
    return Vocab(cfg["data"]["vocab"])


def read_run_words(cfg: dict, input_path: str | None = None) -> list[str]:
    """The words a run was trained on, read again as it read them. Warns if the file changed."""
    d = cfg["data"]
    path = input_path or d["input"]
    if input_path is None and not resolve_input(path).exists():
        raise DataError(f"the run's data file {path} is gone; pass -i FILE")
    words = read_words(path, encoding=d["encoding"], max_len=d["max_len_limit"])
    if d.get("dedupe"):
        words, _ = dedupe_words(words)
    if input_path is None and file_digest(path) != d["sha256"]:
        import sys
        print(f"warning: {path} changed since training; its split differs from the run's", file=sys.stderr)
    return words
