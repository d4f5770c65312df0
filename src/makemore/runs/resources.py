"""What a run may take of this machine: CPU threads, memory (checked before anything is
allocated), and TensorBoard where it is installed."""

from __future__ import annotations

import os

import torch

from .. import distributed
from ..data import SPLITS, Dataset
from ..errors import UsageError
from ..evaluation import ACT_BYTES, EVAL_BYTES, row_floats
from ..models import DATA_FIELDS, shape_model
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


RUNTIME_BYTES = 2 ** 28         # what a run holds beyond its model and data: torch's kernels and pools, Python objects


def memory_needed(model, cfg: TrainConfig | None = None, data: Dataset | None = None) -> int:
    """Bytes a model needs, counted on its meta-device twin (no memory). To load it (cfg None): its
    weights twice (the model and the tensors read into it). To train it on `data`: its weights
    four times (weights, gradients, AdamW's two moments); a step's activations (every layer's
    output for a row, row_floats, three times over: kept, their gradients, the ops' own) for each
    row of a batch; evaluation's chunks, which are sized to EVAL_BYTES of logits and ACT_BYTES of
    layers; the encoded split and its window examples; and RUNTIME_BYTES. tests/test_runs.py holds
    it against the peak of real runs, measured in fresh processes (docs/results.md, "Memory")."""
    weights = sum(t.numel() * t.element_size() for t in (*model.parameters(), *model.buffers()))
    if cfg is None:
        return 2 * weights
    x, _, lengths = model.examples(data.train)
    per_row = row_floats(model, torch.zeros(1, x.size(1), dtype=torch.long, device="meta"))[1]
    step = 3 * (cfg.batch_size or len(x)) * per_row * 4
    split = sum(t.nbytes for s in SPLITS for t in (data.split(s).X, data.split(s).Y))
    windows = 0 if lengths is not None else sum(data.split(s).n_targets for s in SPLITS) * (x.size(1) + 1) * x.element_size()
    return 4 * weights + step + EVAL_BYTES + ACT_BYTES + split + windows + RUNTIME_BYTES


def check_memory(type: str, model_options: dict, cfg: TrainConfig, data: Dataset) -> None:
    """Refuse, before anything is allocated, a model and batch that would not fit in memory
    (memory_needed), or window contexts and a length-bucket pool that would not."""
    examples = data.train.n_targets * model_options.get("block_size", 0) * 2      # window contexts, at most int16
    pool = cfg.bucket * cfg.batch_size * 8                                         # a length-bucket pool's indices
    free = memory_available()
    if free is not None and examples + pool > free:
        raise UsageError(f"--block-size {model_options.get('block_size')} with --bucket {cfg.bucket} needs about "
                         f"{(examples + pool) / 2**30:,.1f} GiB, more than the {free / 2**30:,.1f} GiB available")
    model = shape_model(type, data.vocab.size, data.max_len + 1, len(data.tags or ()),
                        **{k: v for k, v in model_options.items() if k not in DATA_FIELDS})
    need = memory_needed(model, cfg, data)
    if free is not None and need > free:
        params = sum(p.numel() for p in model.parameters())
        raise UsageError(f"this model ({params:,} parameters) and batch (--batch-size {cfg.batch_size}) need about "
                         f"{need / 2**30:,.1f} GiB to train, more than the {free / 2**30:,.1f} GiB available; "
                         "use a smaller --batch-size or model")
