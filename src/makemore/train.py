"""The training loop: sample a batch, forward, backward, step; evaluate and checkpoint at intervals.

The step is flat and visible. Nothing syncs with the device inside it except at log intervals
(`.item()`), so a GPU never waits on Python. Every model trains through the same contract
(models/base.py): `fit` first (the count models count there, and have nothing left to step),
then `loss` on batches of `examples`.
"""

from __future__ import annotations

import contextlib
import copy
import math
import signal
import sys
import threading
import time
from dataclasses import dataclass, fields
from itertools import chain

import torch
from tqdm.auto import tqdm

from . import distributed
from .batches import Batches, SoftTargets
from .data import Dataset
from .errors import RunError, UsageError
from .evaluation import calibrate_batchnorm, evaluate, init_check
from .models.base import fits, option, option_type


@dataclass
class TrainConfig:
    """Training settings; presets.TRAIN and presets.LECTURE hold each model type's defaults."""
    max_steps: int = option(5000, "optimizer steps (count models: none, they are fitted by counting)")
    batch_size: int = option(32, "examples per step (window models: next-character examples; others: items); 0 = whole split")
    total_batch: int = option(0, "examples per optimizer step over all processes, by accumulating gradients over "
                              "micro-batches of --batch-size (0: --batch-size on each process)")
    optimizer: str = option("adamw", "adamw or sgd")
    lr: float = option(1e-3, "peak learning rate")
    schedule: str = option("cosine", "learning-rate schedule after warmup: cosine, step or constant")
    warmup_steps: int = option(0, "linear warmup steps")
    min_lr_ratio: float = option(0.1, "cosine: final lr as a fraction of --lr")
    decay_at: float = option(0.5, "step schedule: fraction of --max-steps after which lr is multiplied by --decay-factor")
    decay_factor: float = option(0.1, "step schedule: lr multiplier")
    weight_decay: float = option(0.01, "AdamW weight decay on matrices")
    grad_clip: float = option(0.0, "clip the global gradient norm to this (0 = off)")
    bucket: int = option(0, "sequence models: draw this many batches at once and serve them sorted by length, "
                         "so little is computed on padding (0 = plain random batches)")
    pack: bool = option(False, "Transformer: lay the batch's items end to end in shared rows, attending within "
                        "each item (the same loss as plain rows, on fewer positions)")
    calibrate: bool = option(False, "BatchNorm models: before each evaluation, set the running statistics to the "
                             "exact ones over the training split (the lecture's calibration)")
    ema: float = option(0.0, "evaluate, save and sample an exponential moving average of the weights, with this "
                        "decay per step (e.g. 0.999: about the last 1,000 steps; 0 = off)")
    swa_start: float = option(0.0, "evaluate, save and sample a uniform average of the weights after every step "
                              "from this fraction of --max-steps on (stochastic weight averaging; 0 = off)")
    soft_targets: str = option("", "distillation: a file of a teacher's next-character distributions over the "
                               "training split, written by `makemore distill` (empty = none)")
    distill_alpha: float = option(0.5, "with --soft-targets: the teacher's share of each target, the true "
                                  "character's being 1 - this")
    distill_temperature: float = option(1.0, "with --soft-targets: the teacher's distributions p become "
                                        "p^(1/T), renormalized (T > 1 flattens them)")
    eval_interval: int = option(500, "evaluate val and checkpoint every this many steps")
    log_interval: int = option(100, "log the training loss every this many steps")
    seed: int = option(1337, "random seed for initialization, batches and dropout")
    shared_rng: bool = option(False, "draw the batches from the random stream that initialized the model, "
                              "continuing after its draws, as the lectures do with one torch.Generator "
                              "(with --seed 2147483647: the lecture's own batches)")
    compile: bool = option(False, "torch.compile the training step (faster per step, after a first compilation; docs/results.md)")
    dtype: str = option("float32", "float32, or bfloat16 autocast for the training step (for GPUs with bfloat16 units)")

    def validate(self):
        """Every setting in range: a one-line error naming the option otherwise (NaN and infinity included)."""
        for f in fields(self):
            v = getattr(self, f.name)
            if not fits(v, option_type(f)):
                raise UsageError(f"--{f.name.replace('_', '-')} must be a {option_type(f).__name__}, got {v!r}")
            if isinstance(v, float) and not math.isfinite(v):
                raise UsageError(f"--{f.name.replace('_', '-')} must be a finite number, got {v}")
        for k in ("max_steps", "batch_size", "warmup_steps", "weight_decay", "grad_clip", "bucket"):
            if getattr(self, k) < 0:
                raise UsageError(f"--{k.replace('_', '-')} must be >= 0, got {getattr(self, k)}")
        for k in ("eval_interval", "log_interval"):
            if getattr(self, k) < 1:
                raise UsageError(f"--{k.replace('_', '-')} must be at least 1, got {getattr(self, k)}")
        if self.lr <= 0:
            raise UsageError(f"--lr must be > 0, got {self.lr}")
        for k in ("min_lr_ratio", "decay_at"):
            if not 0 <= getattr(self, k) <= 1:
                raise UsageError(f"--{k.replace('_', '-')} must be in [0, 1], got {getattr(self, k)}")
        if not 0 <= self.seed < 2 ** 63:
            raise UsageError(f"--seed must be in [0, 2**63), got {self.seed}")
        if self.total_batch and not self.batch_size:
            raise UsageError("--total-batch needs a --batch-size (the micro-batch), not the whole split (0)")
        if not self.decay_factor > 0:
            raise UsageError(f"--decay-factor must be > 0, got {self.decay_factor}")
        if not 0 <= self.ema < 1:
            raise UsageError(f"--ema must be in [0, 1) (a decay per step, e.g. 0.999; 0 = off), got {self.ema}")
        if not 0 <= self.swa_start < 1:
            raise UsageError(f"--swa-start must be in [0, 1) (a fraction of --max-steps; 0 = off), got {self.swa_start}")
        if self.swa_start > 0 and self.ema > 0:
            raise UsageError("--swa-start and --ema are two averages of the weights; choose one")
        if not 0 <= self.distill_alpha <= 1:
            raise UsageError(f"--distill-alpha must be in [0, 1], got {self.distill_alpha}")
        if not self.distill_temperature > 0:
            raise UsageError(f"--distill-temperature must be > 0, got {self.distill_temperature}")
        if self.optimizer not in ("adamw", "sgd"):
            raise UsageError(f"--optimizer must be adamw or sgd, got {self.optimizer!r}")
        if self.dtype not in ("float32", "bfloat16"):
            raise UsageError(f"--dtype must be float32 or bfloat16, got {self.dtype!r}")
        if self.schedule not in ("cosine", "step", "constant"):
            raise UsageError(f"--schedule must be cosine, step or constant, got {self.schedule!r}")
        return self


TRAIN_FIELDS = {f.name: f for f in fields(TrainConfig)}     # the training options, by name


def lr_at(cfg: TrainConfig, step: int) -> float:
    """Linear warmup, then cosine decay to lr * min_lr_ratio, a step decay, or constant."""
    if step < cfg.warmup_steps:
        return cfg.lr * (step + 1) / cfg.warmup_steps
    if cfg.schedule == "step":
        return cfg.lr * (cfg.decay_factor if step >= cfg.decay_at * cfg.max_steps else 1.0)
    if cfg.schedule == "cosine":
        progress = (step - cfg.warmup_steps) / max(1, cfg.max_steps - cfg.warmup_steps)
        coeff = 0.5 * (1.0 + math.cos(math.pi * min(progress, 1.0)))
        return cfg.lr * (cfg.min_lr_ratio + (1 - cfg.min_lr_ratio) * coeff)
    return cfg.lr


def resolve_device(name: str = "auto") -> torch.device:
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise UsageError("--device cuda: no CUDA device is available")
    if name == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise UsageError("--device mps: no MPS device is available")
    if name not in ("cpu", "cuda", "mps"):
        raise UsageError(f"--device must be auto, cpu, cuda or mps, got {name!r}")
    return torch.device(name)


def make_optimizer(model, cfg: TrainConfig, device, fused: bool | None = None):
    """AdamW with decay on matrices only (or SGD). fused=None: fused where the device has it.
    None for a model with nothing to train by gradient (the count models)."""
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        return None
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(params, lr=cfg.lr)
    decay = [p for p in params if p.dim() >= 2]        # matrices and embeddings decay,
    no_decay = [p for p in params if p.dim() < 2]      # biases and norm gains do not
    groups = [{"params": decay, "weight_decay": cfg.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    if fused is None:
        fused = device.type in ("cpu", "cuda")   # fused AdamW: faster per step (docs/results.md, throughput)
    return torch.optim.AdamW(groups, lr=cfg.lr, betas=(0.9, 0.99), fused=fused)


def accumulation(cfg: TrainConfig, world: int) -> int:
    """Micro-batches per optimizer step on each process, so that a step sees --total-batch examples
    (and the options that train on one process only, refused on several)."""
    if world > 1 and cfg.compile:
        raise UsageError("--compile is not supported with several processes yet")
    if cfg.shared_rng and world > 1:
        raise UsageError("--shared-rng draws every batch from one stream: it trains on one process only")
    if not cfg.total_batch:
        return 1
    per_step = cfg.batch_size * world
    if cfg.total_batch % per_step:
        raise UsageError(f"--total-batch {cfg.total_batch} is not a multiple of --batch-size {cfg.batch_size} "
                         f"times {world} process(es)")
    return cfg.total_batch // per_step


def step_loss(model, x, y, **extra):
    """The training loss of a batch (a function, so that torch.compile can trace through it)."""
    return model.loss(x, y, **extra)


def train(model, data: Dataset, cfg: TrainConfig, checkpoints=None, device=torch.device("cpu"),
          resume: dict | None = None, progress: bool = True, writer=None, stop_at: int | None = None,
          on_step=None, on_eval=None) -> dict:
    """Train `model` in place and return {"step", "best_val", "interrupted"} (interrupted: the
    signal that stopped it, SIGINT or SIGTERM, else 0).

    checkpoints: where the checkpoints (last and best-by-val weights, the state to resume) and the
    metrics go: anything with save_checkpoint(model, state, best) and log(record), a RunDir; None
    keeps nothing.
    resume: a state dict from a checkpoint, to continue exactly where it stopped.
    stop_at: stop after this step as a Ctrl-C would (used to test exact resumption).
    on_step(step, model, lr): an optional hook called after each optimizer step (diagnostics).
    on_eval(step, val): an optional hook called after each evaluation and its checkpoint; it may
    raise to end training there (a sweep's pruning), the checkpoint kept.

    With cfg.ema (or cfg.swa_start), the weights evaluated, saved and left in `model` at the end are
    the moving (or uniform) average (the trained weights go to the checkpoint's state, to resume from).
    With cfg.soft_targets, the batches carry the teacher's distributions mixed with the true
    characters, and sequence models train on the cross-entropy against them (distillation).
    """
    cfg.validate()
    world, rank = distributed.world_size(), distributed.rank()
    accum = accumulation(cfg, world)
    if rank > 0:                                     # rank 0 alone reports and writes
        checkpoints, writer, progress = None, None, False
    batches, optimizer, step, best_val, average = starting_state(model, data, cfg, device, resume, rank, world)
    max_steps = cfg.max_steps if optimizer is not None else 0   # nothing left to step after counting
    if resume is None and optimizer is not None:
        report_init(init_check(model, batches), progress, checkpoints)
    loss_fn = torch.compile(step_loss) if cfg.compile else step_loss   # traces through the model's weights
    ddp = distributed.wrap(model) if optimizer is not None else None  # several processes: gradients averaged
    autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=cfg.dtype == "bfloat16")
    rows = (len(batches.x) if cfg.batch_size == 0 else cfg.batch_size) * accum * world
    elapsed = float(resume["elapsed"]) if resume is not None and "elapsed" in resume else 0.0
    bar = tqdm(total=max_steps, initial=step, disable=not progress, dynamic_ncols=True, unit="step")
    keeper = Checkpointer(checkpoints, model, average, optimizer, batches, data, cfg, device, bar, writer,
                          best_val, elapsed, kept=resume is not None, on_eval=on_eval)
    meter = LossLog(device, rows * batches.tokens_per_row, bar, checkpoints, writer)

    model.train()
    evaluated = None
    with bar, StopSignals() as stop:                  # Ctrl-C or SIGTERM finishes the step, saves, and stops
        while step < max_steps and not stop.signal:
            lr = lr_at(cfg, step)
            for group in optimizer.param_groups:
                group["lr"] = lr
            optimizer.zero_grad(set_to_none=True)
            for micro in range(accum):                                       # accum = 1 unless --total-batch
                x, y, extra = batches.sample(cfg.batch_size)                 # extra: packed rows' pos and seg, tags
                sync = ddp is None or micro == accum - 1                     # average gradients once, at the end
                with contextlib.nullcontext() if sync else ddp.no_sync():
                    with autocast:
                        loss = ddp(x, y, **extra) if ddp is not None else loss_fn(model, x, y, **extra)
                    loss = batches.weigh(loss, y, cfg.batch_size) / accum
                    loss.backward()
                meter.add(loss)
            if cfg.grad_clip > 0:
                torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
            optimizer.step()
            if average is not None:
                update_average(average, model, ema_decay(cfg.ema, step) if cfg.ema else swa_decay(cfg, step))
            if on_step is not None:
                on_step(step, model, lr)
            meter.stepped()
            step += 1
            bar.update(1)
            stop.signal = distributed.any_rank(stop.signal, device)          # all processes stop at one step

            if step % cfg.log_interval == 0 or step == max_steps:
                meter.report(step, lr, keeper.kept)
            if step % cfg.eval_interval == 0 or step == max_steps:
                meter.pause(keeper.evaluate, step)                           # evaluation is not training throughput
                evaluated = step
            if stop_at is not None and step >= stop_at:
                stop.signal = signal.SIGINT
        if not stop.signal and evaluated != step and resume is None:
            keeper.evaluate(step)                      # a run of no steps: the fitted or initial model
    if stop.signal:
        keeper.interrupted(step)
    if average is not None:
        model.load_state_dict(average.state_dict())
    return {"step": step, "best_val": keeper.best_val, "interrupted": int(stop.signal)}


def starting_state(model, data: Dataset, cfg: TrainConfig, device, resume: dict | None, rank: int, world: int):
    """Where a training starts: (batches, optimizer, step, best val, the weights' running average).
    A new training seeds each process's batch stream and fits the closed-form part (the count
    models count); a resumed one restores the checkpoint's streams, optimizer and weights."""
    model.to(device)
    generator = torch.Generator().manual_seed(cfg.seed + rank)    # each process draws its own batches
    if cfg.shared_rng and resume is None:                         # on from where the model's init left the stream
        generator.set_state(torch.get_rng_state())
    torch.manual_seed(cfg.seed + rank)
    soft = None
    if cfg.soft_targets and cfg.distill_alpha > 0:   # alpha 0: the plain run, bit for bit
        soft = SoftTargets.load(cfg.soft_targets, data.train, cfg.distill_alpha, cfg.distill_temperature)
    batches = Batches(data.train, model, device, generator, cfg.bucket, cfg.pack, soft=soft)
    if resume is None:
        model.fit(batches.x, batches.y, tags=batches.tags)   # closed-form part: the count models count here
    optimizer = make_optimizer(model, cfg, device)
    step, best_val = (0, float("inf")) if resume is None else restore(resume, optimizer, batches, cfg, world, rank)
    average = None
    if cfg.ema > 0 or cfg.swa_start > 0:       # starts as the model stands (resuming: the saved average)
        average = copy.deepcopy(model).requires_grad_(False)
    if resume is not None and "trained" in resume:   # saved with an average: these are the trained weights
        model.load_state_dict(resume["trained"])
    return batches, optimizer, step, best_val, average


def halted(what: str, kept: bool) -> RunError:
    """The error that stops a training whose loss or weights are no longer finite numbers."""
    return RunError(f"{what}; training stopped and "
                    + ("the last good checkpoint was kept" if kept else "no checkpoint had been saved yet")
                    + " (lower --lr, or set --grad-clip)")


def restore(resume: dict, optimizer, batches: Batches, cfg: TrainConfig, world: int, rank: int) -> tuple[int, float]:
    """Continue from a checkpoint: the optimizer's state and, on as many processes as saved it,
    each process's batch stream and random state; on another number, fresh streams from the
    step. Returns (step, best val so far)."""
    if optimizer is not None:
        optimizer.load_state_dict(resume["optimizer"])
    step, best_val = int(resume["step"]), float(resume["best_val"])
    streams = resume.get("ranks") or [{"batches": resume, "torch_rng": resume["torch_rng"]}]
    if len(streams) == world:                    # the same processes: each continues its own stream
        batches.load_state_dict(streams[rank]["batches"])
        torch.set_rng_state(streams[rank]["torch_rng"])
    else:                                        # another number of processes: fresh streams from here
        batches.generator.manual_seed(cfg.seed + rank + 1_000_003 * step)
        torch.manual_seed(cfg.seed + rank + 1_000_003 * step)
        if rank == 0:
            print(f"resuming a run of {len(streams)} process(es) on {world}: the batches drawn from step "
                  f"{step:,} on are new ones (the same in expectation, not bit for bit)", file=sys.stderr)
    return step, best_val


class Checkpointer:
    """What a training keeps: the weights it scores (the average, with --ema or --swa-start)
    evaluated on val, the best val so far, and checkpoints of those weights with everything needed
    to resume exactly, handed to `checkpoints` (None: only evaluated). Weights that are no longer
    finite numbers are never saved: training stops, the last good checkpoint stays."""

    def __init__(self, checkpoints, model, average, optimizer, batches, data, cfg, device, bar, writer,
                 best_val: float, elapsed: float, kept: bool, on_eval=None):
        self.checkpoints, self.model, self.average, self.optimizer = checkpoints, model, average, optimizer
        self.scored = model if average is None else average
        self.batches, self.data, self.cfg, self.device, self.bar, self.writer = batches, data, cfg, device, bar, writer
        self.best_val, self.kept, self.on_eval = best_val, kept, on_eval
        self.t_start = time.perf_counter() - elapsed

    def streams(self) -> list:
        """Every process's batch stream and random state (each process calls it), to resume exactly."""
        return distributed.gather({"batches": self.batches.state_dict(), "torch_rng": torch.get_rng_state()})

    def save(self, step: int, val: float | None, ranks: list) -> None:
        """Save the scored weights (as best too, if val is the best so far) with the state to resume."""
        if not all(bool(torch.isfinite(p).all()) for p in chain(self.model.parameters(), self.scored.parameters())):
            raise halted(f"the weights stopped being finite numbers by step {step:,}", self.kept)
        if self.checkpoints is None:
            return
        best = val is not None and val < self.best_val
        self.best_val = val if best else self.best_val
        trained = {} if self.average is None else {"trained": self.model.state_dict()}
        opt = {} if self.optimizer is None else {"optimizer": self.optimizer.state_dict()}
        per_rank = {"ranks": ranks} if len(ranks) > 1 else {}
        self.checkpoints.save_checkpoint(self.scored, {
            "step": torch.tensor(step), "best_val": torch.tensor(self.best_val), **opt, **self.batches.state_dict(),
            **trained, "torch_rng": torch.get_rng_state(), **per_rank,
            "elapsed": torch.tensor(time.perf_counter() - self.t_start)}, best=best)
        self.kept = True

    def evaluate(self, step: int) -> None:
        """Score the weights on val (rank 0; the others go on), log it, checkpoint, call on_eval."""
        ranks = self.streams()
        if distributed.rank() > 0:
            return
        if self.cfg.calibrate:
            calibrate_batchnorm(self.scored, self.data.train, self.device)
        val = evaluate(self.scored, self.data.val, self.device)
        if not math.isfinite(val):
            raise halted(f"the val loss is {val} at step {step:,}", self.kept)
        self.model.train()
        self.bar.write(f"step {step:>7d} | val {val:.4f} nats/char ({val / math.log(2):.4f} bits)")
        if self.checkpoints:
            self.checkpoints.log({"step": step, "val": val, "elapsed": time.perf_counter() - self.t_start})
        if self.writer:
            self.writer.add_scalar("loss/val", val, step)
        self.save(step, val, ranks)
        if self.on_eval is not None:
            self.on_eval(step, val)

    def interrupted(self, step: int) -> None:
        """A stop signal: every process's streams, and rank 0 saves a checkpoint to resume from."""
        ranks = self.streams()
        if distributed.rank() == 0:
            self.save(step, None, ranks)


class LossLog:
    """The training loss of each log interval: summed on the device and read (one .item()) at the
    interval only, with tokens per second (evaluation time left out) and the learning rate, into
    the progress bar, the metrics and TensorBoard."""

    def __init__(self, device, tokens_per_step: int, bar, checkpoints, writer):
        self.sum, self.steps, self.t = torch.zeros((), device=device), 0, time.perf_counter()
        self.tokens_per_step, self.bar, self.checkpoints, self.writer = tokens_per_step, bar, checkpoints, writer

    def add(self, loss) -> None:
        """A micro-batch's loss (its share of the step's: divided by the micro-batches)."""
        self.sum += loss.detach()

    def stepped(self) -> None:
        self.steps += 1

    def report(self, step: int, lr: float, kept: bool) -> None:
        steps = self.steps
        mean_loss = distributed.mean_over_ranks(self.sum).item() / steps
        if not math.isfinite(mean_loss):
            raise halted(f"the training loss became {mean_loss} by step {step:,}", kept)
        tok_s = self.tokens_per_step * steps / (time.perf_counter() - self.t)
        self.bar.set_postfix(loss=f"{mean_loss:.4f}", tok_s=f"{tok_s:,.0f}", lr=f"{lr:.2g}")
        if self.checkpoints:
            self.checkpoints.log({"step": step, "loss": mean_loss, "lr": lr, "tokens_per_sec": tok_s})
        if self.writer:
            self.writer.add_scalar("loss/train", mean_loss, step)
            self.writer.add_scalar("lr", lr, step)
        self.sum.zero_()
        self.steps, self.t = 0, time.perf_counter()

    def pause(self, fn, *args) -> None:
        """fn(*args), its time left out of the throughput."""
        t0 = time.perf_counter()
        fn(*args)
        self.t += time.perf_counter() - t0


class StopSignals:
    """Ctrl-C or SIGTERM during training: `signal` records it, the loop finishes its step, saves
    and stops; a second one stops at once (KeyboardInterrupt). Handled in the main thread only."""

    def __init__(self):
        self.signal, self.old = 0, {}

    def _on_signal(self, signum, frame):
        if self.signal:
            raise KeyboardInterrupt
        self.signal = signum

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            self.old = {s: signal.signal(s, self._on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
        return self

    def __exit__(self, *exc):
        for s, handler in self.old.items():
            signal.signal(s, handler)
        return False


def ema_decay(decay: float, step: int) -> float:
    """The moving average's decay at a step: `decay`, but lower early on, (1 + step) / (10 + step)
    (as TensorFlow's ExponentialMovingAverage with num_updates), so that a short run averages over
    its own last steps instead of keeping its initial weights."""
    return min(decay, (1 + step) / (10 + step))


def swa_decay(cfg: TrainConfig, step: int) -> float:
    """The uniform average's decay after step `step` (0-based): 0 (it follows the weights) until
    step swa_start * max_steps, then 1 - 1/n for the n-th averaged step, so that the average is the
    mean of the weights after each of those steps (Izmailov et al. 2018, "Averaging Weights Leads
    to Wider Optima and Better Generalization"). The count n follows from the step alone, so a
    resumed run averages on exactly as an uninterrupted one."""
    n = step + 1 - int(cfg.swa_start * cfg.max_steps)
    return 0.0 if n <= 1 else 1 - 1 / n


@torch.no_grad()
def update_average(average, model, decay: float):
    """Polyak averaging (Polyak & Juditsky 1992) with an exponential decay: every weight and
    buffer of `average` becomes decay * itself + (1 - decay) * the model's."""
    for a, w in zip(chain(average.parameters(), average.buffers()), chain(model.parameters(), model.buffers())):
        if a.is_floating_point():
            a.lerp_(w, 1 - decay)
        else:
            a.copy_(w)


@torch.no_grad()
def report_init(init: dict, progress: bool, checkpoints) -> None:
    """init_check's verdict: printed, and its losses logged as the metrics' step 0."""
    if progress:
        print(init["message"])
    if checkpoints:
        checkpoints.log({"step": 0, "init_loss": init["loss"], "uniform_loss": init["uniform"]})
