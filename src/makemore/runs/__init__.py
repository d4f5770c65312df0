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
This package is the only code that writes a run: directory.py the files, schema.py the config's
checks, run.py creating, resuming and loading a Run, resources.py threads and memory,
mixtures.py ensembles and best.
"""

from __future__ import annotations

from .directory import ASIDE, WEIGHTS, RunDir, check_new
from .mixtures import FIT_BYTES, best, ensemble
from .resources import check_memory, memory_available, memory_needed, set_threads, tensorboard_writer
from .run import Run, cache_note, config_model, create_run, is_run, load_model, load_run, resume_run, run_data
from .schema import MIXES, check_config

__all__ = ["ASIDE", "WEIGHTS", "RunDir", "check_new", "FIT_BYTES", "best", "ensemble", "check_memory", "memory_needed",
           "memory_available", "set_threads", "tensorboard_writer", "Run", "cache_note", "config_model", "create_run",
           "is_run", "load_model", "load_run", "resume_run", "run_data", "MIXES", "check_config"]
