"""The model that `makemore diagnose` and `makemore lr-find` inspect: a trained run's (with the
update:data ratios it recorded), a freshly initialized one of a run's config, or a fresh one of a
model type; the statistics themselves are in diagnostics.py."""

from __future__ import annotations

import torch

from . import presets
from .data import build_dataset, read_words
from .errors import UsageError
from .models import build_model
from .runs import is_run, load_run


def inspected_model(path=None, trained: bool = True, weights: str = "last", type: str | None = None,
                    preset: str | None = None, input=None, seed: int = 1337, device="cpu", **options):
    """(model, data, label, updates) for lr-find and diagnose: the trained model of the run in
    `path` (trained=True; with its recorded update ratios), a fresh model of that run's config
    (trained=False), or, without a run, a fresh model of `type`."""
    if path is not None and is_run(path):
        if options or type or preset:
            raise UsageError("model options apply to a fresh model; with -o DIR the run's config is used")
        if trained:
            run = load_run(path, weights, device, input=input)
            return run.model, run.data, f"{run.type} (trained: {path})", run.dir.read_updates()
    model, data = fresh_model(type, preset, input, seed, like=path if path is not None and is_run(path) else None, **options)
    return model, data, f"{model.__class__.__name__.lower()} (fresh init)", None


def fresh_model(type: str | None = None, preset: str | None = None, input=None, seed: int = 1337,
                like: str | None = None, **options):
    """(model, data) of an untrained model: of `type` on `input`, or of the same config and data as
    the run in directory `like` (lr-find, diagnose)."""
    if like is not None:
        run = load_run(like, weights=None, input=input)
        config, data, type = run.config["model"], run.data, run.type
    else:
        resolved = presets.resolve(type, preset, **options)
        data = build_dataset(read_words(input))
        config, type = dict(resolved.model, vocab_size=data.vocab.size, seq_len=data.max_len + 1), resolved.type
    torch.manual_seed(seed)
    return build_model(type, **config), data
