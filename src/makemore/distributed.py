"""Data-parallel training across processes and machines, with torch.distributed.

Launched by torchrun (which sets RANK, WORLD_SIZE, LOCAL_WORLD_SIZE, MASTER_ADDR, ...), each
process trains the same model on its own batches (the seed plus its rank), and
DistributedDataParallel averages the gradients after every backward pass. The backend is gloo on
CPU and nccl on CUDA, so the same command runs on a laptop and on a cluster:

    torchrun --standalone --nproc-per-node 2 -m makemore train -o runs/ddp --total-batch 128
    torchrun --nnodes 2 --node-rank 0 --nproc-per-node 4 --master-addr HOST --master-port 29500 \\
        -m makemore train -o runs/ddp          # and --node-rank 1 on the second machine

Only rank 0 evaluates, logs, samples and writes the run directory. Without torchrun every
function here answers as for a single process, and nothing is imported from torch.distributed.
"""

from __future__ import annotations

import os

import torch
import torch.nn as nn

from .errors import UsageError

_threads_set_by_user = False


def launched() -> bool:
    """Whether this process was started by torchrun (or another launcher setting RANK and WORLD_SIZE)."""
    return "RANK" in os.environ and "WORLD_SIZE" in os.environ


def rank() -> int:
    return int(os.environ.get("RANK", 0)) if launched() else 0


def world_size() -> int:
    return int(os.environ.get("WORLD_SIZE", 1)) if launched() else 1


def is_writer() -> bool:
    """Rank 0 (or a single process): the one that evaluates, logs and writes the run."""
    return rank() == 0


def note_threads_set() -> None:
    """--threads was given: launch() keeps it instead of dividing the cores."""
    global _threads_set_by_user
    _threads_set_by_user = True


def launch(device: torch.device) -> torch.device:
    """Join the process group once, under torchrun: gloo on CPU, nccl on CUDA (one GPU per local
    rank); the cores are divided between the processes of this machine. Returns the device this
    process trains on. A single process: the device as it is."""
    if not launched():
        return device
    import torch.distributed as dist
    local = int(os.environ.get("LOCAL_RANK", 0))
    if device.type == "cuda":
        device = torch.device("cuda", local)
        torch.cuda.set_device(device)
    elif device.type != "cpu":
        raise UsageError(f"--device {device.type}: data-parallel training runs on cpu or cuda")
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    if not _threads_set_by_user:
        per_machine = int(os.environ.get("LOCAL_WORLD_SIZE", 1))
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // per_machine))
    return device


class LossModule(nn.Module):
    """The model's training loss as a module's forward, so that DistributedDataParallel, which
    hooks forward, sees the training contract's `loss` (window and sequence models alike)."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, x, y, **extra):
        return self.model.loss(x, y, **extra)


def wrap(model):
    """DDP around the model's loss (process group joined by launch), or None for one process.
    Buffers are not broadcast: BatchNorm's running statistics are rank 0's, the ones it saves."""
    if world_size() == 1:
        return None
    import inspect
    from torch.nn.parallel import DistributedDataParallel
    device_ids = [model_device(model).index] if model_device(model).type == "cuda" else None
    newer = "forward_sync_buffers" in inspect.signature(DistributedDataParallel).parameters   # its name since torch 2.12
    buffers = {"forward_sync_buffers": False} if newer else {"broadcast_buffers": False}
    return DistributedDataParallel(LossModule(model), device_ids=device_ids, **buffers)


def model_device(model) -> torch.device:
    return next(model.parameters()).device


def gather(obj) -> list:
    """Every rank's `obj`, in rank order (each rank calls it); [obj] for one process."""
    if world_size() == 1:
        return [obj]
    import torch.distributed as dist
    out = [None] * world_size()
    dist.all_gather_object(out, obj)
    return out


def any_rank(flag: int, device=None) -> int:
    """The largest `flag` over all ranks (each rank calls it): a stop one rank saw, all ranks see."""
    if world_size() == 1:
        return flag
    import torch.distributed as dist
    t = torch.tensor([int(flag)], device=device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return int(t.item())


def mean_over_ranks(t: torch.Tensor) -> torch.Tensor:
    """The mean of a tensor over all ranks (each rank calls it)."""
    if world_size() == 1:
        return t
    import torch.distributed as dist
    t = t.detach().clone()
    dist.all_reduce(t)
    return t / world_size()


def finish() -> None:
    """Leave the process group (at the end of training), all ranks together: a rank that tore its
    group down while rank 0 was still writing the run could abort in gloo's teardown."""
    if launched():
        import gc
        import torch.distributed as dist
        if dist.is_initialized():
            gc.collect()                             # DDP's reducer holds the group: let it go first
            try:
                dist.barrier()
            except RuntimeError:                     # another rank is gone already: nothing to wait for
                pass
            dist.destroy_process_group()
