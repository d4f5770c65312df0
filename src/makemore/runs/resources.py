"""What a run may take of this machine: CPU threads, memory (checked before anything is
allocated), and TensorBoard where it is installed."""

from __future__ import annotations

import os
from dataclasses import asdict

import torch

from .. import distributed
from ..data import Dataset
from ..errors import UsageError
from ..models import shape_model
from ..train import TrainConfig


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


def memory_needed(model, cfg: TrainConfig | None = None, data: Dataset | None = None) -> int:
    """Bytes a model needs, counted on its meta-device twin (no memory): to load it (cfg None), its
    weights twice (the model and the tensors read into it); to train it on `data`, its weights four
    times (weights, gradients, AdamW's two moments) plus a bound on one training step's activations
    (logits and the widest layers). Evaluation's chunks are not counted yet (docs/results.md,
    "Memory", has what they take)."""
    weights = sum(t.numel() * t.element_size() for t in (*model.parameters(), *model.buffers()))
    if cfg is None:
        return 2 * weights
    options = asdict(model.config)
    width = max([v for k, v in options.items() if k.startswith("n_") and isinstance(v, int)] + [1])
    layers = max(1, options.get("n_layer", 1))
    x, _, lengths = model.examples(data.train)
    positions = (cfg.batch_size or len(x)) * (x.size(1) if lengths is not None else options.get("block_size", 1))
    return 4 * weights + 4 * 3 * positions * (model.config.vocab_size + 8 * width * layers)


def check_memory(type: str, model_options: dict, cfg: TrainConfig, data: Dataset) -> None:
    """Refuse, before anything is allocated, a model and batch that would not fit in memory
    (memory_needed), or window contexts and a length-bucket pool that would not."""
    examples = data.train.n_targets * model_options.get("block_size", 0) * 2      # window contexts, at most int16
    pool = cfg.bucket * cfg.batch_size * 8                                         # a length-bucket pool's indices
    free = memory_available()
    if free is not None and examples + pool > free:
        raise UsageError(f"--block-size {model_options.get('block_size')} with --bucket {cfg.bucket} needs about "
                         f"{(examples + pool) / 2**30:,.1f} GiB, more than the {free / 2**30:,.1f} GiB available")
    model = shape_model(type, data.vocab.size, data.max_len + 1, **{k: v for k, v in model_options.items()
                                                                     if k not in ("vocab_size", "seq_len")})
    need = memory_needed(model, cfg, data)
    if free is not None and need > free:
        params = sum(p.numel() for p in model.parameters())
        raise UsageError(f"this model ({params:,} parameters) and batch (--batch-size {cfg.batch_size}) need about "
                         f"{need / 2**30:,.1f} GiB to train, more than the {free / 2**30:,.1f} GiB available; "
                         "use a smaller --batch-size or model")
