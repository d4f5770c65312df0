"""Training, evaluation and the learning-rate schedule.

The training step is flat and visible: sample a batch, forward, backward, step. Nothing syncs with
the device inside it except at log intervals (`.item()`), so a GPU never waits on Python.
"""

from __future__ import annotations

import copy
import math
import signal
import time
from dataclasses import dataclass
from itertools import chain

import numpy as np
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from .data import Dataset, Split


@dataclass
class TrainConfig:
    max_steps: int = 5000
    batch_size: int = 32         # window models: next-character examples; others: items; 0 = whole split
    optimizer: str = "adamw"     # adamw | sgd
    lr: float = 1e-3
    schedule: str = "cosine"     # cosine | step | constant
    warmup_steps: int = 0
    min_lr_ratio: float = 0.1    # cosine: final lr = lr * min_lr_ratio
    decay_at: float = 0.5        # step: multiply lr by decay_factor after this fraction of max_steps
    decay_factor: float = 0.1
    weight_decay: float = 0.01   # AdamW, on matrices only
    grad_clip: float = 0.0       # max global grad norm; 0 = off
    bucket: int = 0              # sequence models: serve pools of this many batches sorted by length; 0 = off
    pack: bool = False           # Transformer: pack the batch's items into shared rows (same loss, fewer positions)
    calibrate: bool = False      # BatchNorm models: exact training-set statistics before each evaluation
    ema: float = 0.0             # evaluate and save an exponential moving average of the weights, this decay per step; 0 = off
    eval_interval: int = 500
    log_interval: int = 100
    seed: int = 1337
    compile: bool = False        # torch.compile the training step (opt-in: ~30 s to compile first)
    dtype: str = "float32"       # float32 | bfloat16 (autocast; for GPUs with bfloat16 units)

    def validate(self):
        for k in ("max_steps", "batch_size", "warmup_steps", "weight_decay", "grad_clip", "bucket"):
            if getattr(self, k) < 0:
                raise ValueError(f"--{k.replace('_', '-')} must be >= 0, got {getattr(self, k)}")
        for k in ("eval_interval", "log_interval"):
            if getattr(self, k) < 1:
                raise ValueError(f"--{k.replace('_', '-')} must be at least 1, got {getattr(self, k)}")
        if self.lr <= 0:
            raise ValueError(f"--lr must be > 0, got {self.lr}")
        if not 0 <= self.ema < 1:
            raise ValueError(f"--ema must be in [0, 1) (a decay per step, e.g. 0.999; 0 = off), got {self.ema}")
        if self.optimizer not in ("adamw", "sgd"):
            raise ValueError(f"--optimizer must be adamw or sgd, got {self.optimizer!r}")
        if self.dtype not in ("float32", "bfloat16"):
            raise ValueError(f"--dtype must be float32 or bfloat16, got {self.dtype!r}")
        if self.schedule not in ("cosine", "step", "constant"):
            raise ValueError(f"--schedule must be cosine, step or constant, got {self.schedule!r}")


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
        raise ValueError("--device cuda: no CUDA device is available")
    if name == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise ValueError("--device mps: no MPS device is available")
    if name not in ("cpu", "cuda", "mps"):
        raise ValueError(f"--device must be auto, cpu, cuda or mps, got {name!r}")
    return torch.device(name)


def make_optimizer(model, cfg: TrainConfig, device, fused: bool | None = None):
    """AdamW with decay on matrices only (or SGD). fused=None: fused where the device has it."""
    params = [p for p in model.parameters() if p.requires_grad]
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(params, lr=cfg.lr)
    decay = [p for p in params if p.dim() >= 2]        # matrices and embeddings decay,
    no_decay = [p for p in params if p.dim() < 2]      # biases and norm gains do not
    groups = [{"params": decay, "weight_decay": cfg.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    if fused is None:
        fused = device.type in ("cpu", "cuda")   # fused AdamW: about 1.2x faster per step on CPU here
    return torch.optim.AdamW(groups, lr=cfg.lr, betas=(0.9, 0.99), fused=fused)


class Batches:
    """Random batches indexed from the pre-encoded split: no per-item Python work per step.
    Window models get (B, block_size) contexts and (B,) targets; sequence models (B, T) rows,
    cut to the longest item drawn (T known on the host, so no device sync): the padding past
    it has no targets, and a causal model's logits before it do not depend on it.

    bucket > 1 (sequence models): draw bucket * B items at once, sort them by length, cut them
    into `bucket` batches and serve those in random order. Every item is still drawn uniformly,
    but a batch holds items of about one length, so little is computed on padding: names are
    7.1 targets long on average, while the longest of 32 random ones is 11.

    pack (models with `packable = True`, the Transformer): the same random items, laid end to end
    in fewer, shared rows (`pack_rows`), with each token's position in its own item and the item
    it belongs to, so attention stays within an item. The loss is the plain batch's loss; a batch
    of 32 names computes on about 250 positions instead of 340.

    sample() returns (x, y, extra): extra holds the packed batch's `pos` and `seg` for the model's
    forward, and is empty otherwise.
    """

    def __init__(self, split: Split, model, device, generator: torch.Generator, bucket: int = 0,
                 pack: bool = False):
        self.check(model, bucket, pack)
        if model.windowed:
            self.x, self.y = split.examples(model.block_size)
        else:
            self.x, self.y = split.X, split.Y
        self.lengths = None if model.windowed else split.lengths           # (N,) targets per row, on the host
        self.x, self.y = self.x.to(device), self.y.to(device)
        self.generator = generator
        self.tokens_per_row = split.n_targets / len(split.X) if not model.windowed else 1.0
        self.bucket = bucket if self.lengths is not None and bucket > 1 else 0
        self.pack = pack
        self.row_len = split.X.size(1)           # packed rows: at most the model's positions
        if pack:                                 # the split flat, then one pad slot (x 0, y -1)
            self.flat_x = torch.cat([self.x.flatten(), self.x.new_zeros(1)])
            self.flat_y = torch.cat([self.y.flatten(), self.y.new_full((1,), -1)])
        self.pool: list[torch.Tensor] = []       # the current pool's batches not yet served
        self.pool_start = None                   # generator state the current pool was drawn from
        self.skip = 0                            # on resume: batches of the first pool already served

    @staticmethod
    def check(model, bucket: int, pack: bool):
        """The batch options this model can take (a clear error before anything is saved)."""
        if pack and not getattr(model, "packable", False):
            raise ValueError(f"--pack applies to models that attend within packed rows (transformer), "
                             f"not {type(model).__name__}; pass --no-pack")
        if pack and bucket > 1:
            raise ValueError("--pack and --bucket are two ways to cut padding; pass --no-pack to use --bucket")

    def _indices(self, batch_size: int) -> torch.Tensor:
        if not self.bucket:
            return torch.randint(len(self.x), (batch_size,), generator=self.generator)  # (B,)
        if not self.pool:
            self.pool_start = self.generator.get_state()
            ix = torch.randint(len(self.x), (self.bucket * batch_size,), generator=self.generator)
            ix = ix[torch.argsort(self.lengths[ix], stable=True)].view(self.bucket, batch_size)  # (K, B) by length
            self.pool = list(ix[torch.randperm(self.bucket, generator=self.generator)].unbind(0))[self.skip:]
            self.skip = 0
        return self.pool.pop(0)

    def sample(self, batch_size: int):
        if batch_size == 0:                                                  # full batch
            return self.x.long(), self.y.long(), {}
        ix = self._indices(batch_size)                                       # (B,)
        if self.lengths is None:
            ix = ix.to(self.x.device)
            return self.x[ix].long(), self.y[ix].long(), {}                 # (B, block_size), (B,)
        n = self.lengths[ix]                                                 # (B,) tokens per item, on the host
        T = max(1, int(n.max()))
        if self.pack:
            return self._packed(ix, n, min(self.row_len, 2 * T))
        ix = ix.to(self.x.device)
        return self.x[ix, :T].long(), self.y[ix, :T].long(), {}            # (B, T)

    def _packed(self, ix: torch.Tensor, n: torch.Tensor, L: int):
        """The items ix, n[i] tokens each, packed into (R, L) rows. Padding: x 0, y -1, seg -1.
        The indices are worked out on the host; two gathers then fill the rows on the device."""
        n = n.numpy()                                                        # (B,) every item has its end target
        row, offset, R = pack_rows(n.tolist(), L)
        item = np.repeat(np.arange(len(n)), n)                               # (N,) the item of each token
        t = np.arange(len(item)) - np.repeat(np.cumsum(n) - n, n)             # (N,) its position in its item
        dest = np.repeat(np.asarray(row) * L + np.asarray(offset), n) + t   # (N,) where it goes in the rows
        src = np.full(R * L, self.x.numel())                                 # padding reads the pad slot
        src[dest] = ix.numpy()[item] * self.row_len + t                      # (R*L,) flat index into the split
        pos, seg = np.zeros(R * L, dtype=np.int64), np.full(R * L, -1)
        pos[dest], seg[dest] = t, item
        src = torch.from_numpy(src).to(self.x.device)
        x, y = self.flat_x[src].long().view(R, L), self.flat_y[src].long().view(R, L)   # (R, L)
        extra = {"pos": torch.from_numpy(pos).view(R, L), "seg": torch.from_numpy(seg).view(R, L)}
        return x, y, {k: v.to(self.x.device) for k, v in extra.items()}

    def weigh(self, loss: torch.Tensor, y: torch.Tensor, batch_size: int) -> torch.Tensor:
        """The loss to train on. Bucketed batches: the batch's mean loss turned into its summed loss
        over the targets a random batch holds on average. A batch of short items has few targets,
        and its mean would count each of them more; scaled, every target weighs the same, as in
        the token-weighted metric. Stays on the device (no sync). Plain batches: the mean as is."""
        if not self.bucket:
            return loss
        return loss * (y != -1).sum() / (batch_size * self.tokens_per_row)

    def state_dict(self) -> dict:
        """Where the batch stream stands, to resume it exactly: the generator as the current
        pool was drawn, and how many of its batches were served."""
        if self.pool:
            return {"generator": self.pool_start, "pool_served": torch.tensor(self.bucket - len(self.pool))}
        return {"generator": self.generator.get_state(), "pool_served": torch.tensor(0)}

    def load_state_dict(self, state: dict):
        self.generator.set_state(state["generator"])
        self.pool, self.skip = [], int(state.get("pool_served", 0))


def pack_rows(lengths: list[int], L: int) -> tuple[list[int], list[int], int]:
    """Best-fit decreasing bin packing of items of these lengths into rows of L positions (every
    length <= L): longest item first, each into the row it fills most tightly. Returns each
    item's row and offset in it, and the number of rows. O(items * L)."""
    order = sorted(range(len(lengths)), key=lengths.__getitem__, reverse=True)
    free: list[list[int]] = [[] for _ in range(L + 1)]    # free[c]: rows with c positions left
    row, offset, n_rows = [0] * len(lengths), [0] * len(lengths), 0
    for i in order:
        n = lengths[i]
        c = next((c for c in range(n, L) if free[c]), L)  # the tightest row it fits in; L = a new one
        if c == L:
            r, n_rows = n_rows, n_rows + 1
        else:
            r = free[c].pop()
        row[i], offset[i] = r, L - c
        free[c - n].append(r)
    return row, offset, n_rows


def batch_loss(model, x, y, **extra):
    """Window models: one next-character example per row; sequence models: whole items (extra:
    a packed batch's positions and item ids)."""
    if model.windowed:
        return model.loss(x, y)[1]
    return model(x, y, **extra)[1]


@torch.no_grad()
def token_nll(model, split: Split, device="cpu", chunk_tokens: int = 65536) -> torch.Tensor:
    """Per-target NLL (float64, nats) over the whole split, in order, computed in chunks."""
    was_training = model.training
    model.eval()
    out = []
    if model.windowed:
        ctx, tgt = split.examples(model.block_size)
        for i in range(0, len(ctx), chunk_tokens):
            logits = model.next_logits(ctx[i:i + chunk_tokens].to(device).long())           # (n, V)
            y = tgt[i:i + chunk_tokens].to(device).long()
            out.append(F.cross_entropy(logits.float(), y, reduction="none").double().cpu())
    else:
        # rows shortest first, each chunk cut to its longest item: no work on padding
        lengths = split.lengths                                                         # (N,)
        order = torch.argsort(lengths, stable=True)
        nll_rows = torch.zeros(split.Y.shape, dtype=torch.float64)                     # (N, T)
        rows = max(1, chunk_tokens // split.X.size(1))
        for i in range(0, len(order), rows):
            ix = order[i:i + rows]
            T = max(1, int(lengths[ix].max()))
            x = split.X[ix, :T].to(device).long()
            y = split.Y[ix, :T].to(device).long()
            logits, _ = model(x)                                                        # (b, T, V)
            nll = F.cross_entropy(logits.float().flatten(0, 1), y.flatten(), ignore_index=-1, reduction="none")
            nll_rows[ix, :T] = nll.view(len(ix), T).double().cpu()
        out.append(nll_rows[split.Y != -1])                                            # row by row, in order
    model.train(was_training)
    return torch.cat(out) if out else torch.zeros(0, dtype=torch.float64)


def evaluate(model, split: Split, device="cpu") -> float:
    """The one metric: token-weighted mean NLL in nats per character over the whole split."""
    nll = token_nll(model, split, device)
    return (nll.sum() / max(1, len(nll))).item()


class _Measured(Exception):
    """Raised by calibrate_batchnorm's hook: the layer has its input, the rest of the forward can go."""


@torch.no_grad()
def calibrate_batchnorm(model, split: Split, device="cpu", chunk: int = 65536) -> int:
    """The BatchNorm lecture's calibration: set every BatchNorm1d's running mean and (unbiased)
    variance to the exact statistics of its input over the whole training split, instead of the
    moving average of recent batches. Layer by layer, in chunks: each layer is measured on inputs
    normalized by the layers before it, already calibrated, and the forward stops at the layer
    measured (the layers after it are not run). Returns the number of layers set."""
    from .models.layers import BatchNorm1d
    norms = [m for m in model.modules() if isinstance(m, BatchNorm1d)]
    if not norms or not model.windowed:
        return 0
    was_training = model.training
    model.eval()
    ctx, _ = split.examples(model.block_size)
    for bn in norms:
        total, total_sq, n = 0.0, 0.0, 0
        def measure(module, inputs):
            nonlocal total, total_sq, n
            x = inputs[0].double().reshape(-1, inputs[0].size(-1))                    # (N, C) over batch (and time)
            total, total_sq, n = total + x.sum(0), total_sq + (x * x).sum(0), n + x.size(0)
            raise _Measured
        hook = bn.register_forward_pre_hook(measure)
        try:
            for i in range(0, len(ctx), chunk):
                try:
                    model.next_logits(ctx[i:i + chunk].to(device).long())
                except _Measured:
                    pass
        finally:
            hook.remove()
        mean = total / n
        var = (total_sq / n - mean * mean).clamp_min(0) * n / max(1, n - 1)          # unbiased, as torch.nn
        bn.running_mean.copy_(mean.to(bn.running_mean.dtype))
        bn.running_var.copy_(var.to(bn.running_var.dtype))
    model.train(was_training)
    return len(norms)


def fit_counts(model, data: Dataset, device):
    model.fit(*[t.to(device) for t in data.train.examples(model.block_size)])


def train(model, data: Dataset, cfg: TrainConfig, run=None, device=torch.device("cpu"),
          resume: dict | None = None, progress: bool = True, writer=None, stop_at: int | None = None,
          on_step=None) -> dict:
    """Train `model` in place and return {"step", "best_val", "interrupted"}.

    run: a RunDir to checkpoint into (last + best-by-val weights, state.pt, metrics.jsonl).
    resume: a state dict from state.pt to continue exactly where it stopped.
    stop_at: stop after this step as a Ctrl-C would (used to test exact resumption).
    on_step(step, model, lr): an optional hook called after each optimizer step (diagnostics).

    With cfg.ema, the weights evaluated, saved and left in `model` at the end are the moving
    average (the trained weights go to state.pt, to resume from).
    """
    cfg.validate()
    model.to(device)
    if hasattr(model, "fit"):                       # count models: fitted by counting, no steps
        fit_counts(model, data, device)
        val = evaluate(model, data.val, device)
        if run:
            run.save_weights(model, "last")
            run.save_weights(model, "best")
            run.log({"step": 0, "val": val})
        return {"step": 0, "best_val": val, "interrupted": False}

    generator = torch.Generator().manual_seed(cfg.seed)
    torch.manual_seed(cfg.seed)
    optimizer = make_optimizer(model, cfg, device)
    step, best_val = 0, float("inf")
    if resume is not None:
        optimizer.load_state_dict(resume["optimizer"])
        torch.set_rng_state(resume["torch_rng"])
        step, best_val = int(resume["step"]), float(resume["best_val"])
    average = None
    if cfg.ema > 0:                            # starts as the model stands (resuming: the saved average)
        average = copy.deepcopy(model).requires_grad_(False)
    if resume is not None and "trained" in resume:   # saved with an average: these are the trained weights
        model.load_state_dict(resume["trained"])
    scored = model if average is None else average             # evaluated and saved
    batches = Batches(data.train, model, device, generator, cfg.bucket, cfg.pack)
    if resume is not None:
        batches.load_state_dict(resume)
    else:
        init = init_check(model, batches, device)
        if progress:
            print(init["message"])
        if run:
            run.log({"step": 0, "init_loss": init["loss"], "uniform_loss": init["uniform"]})
    step_loss = torch.compile(batch_loss) if cfg.compile else batch_loss   # traces through the model's weights
    autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=cfg.dtype == "bfloat16")
    tokens_per_step = (len(batches.x) if cfg.batch_size == 0 else cfg.batch_size) * batches.tokens_per_row

    def checkpoint(step, val):
        nonlocal best_val
        if run is None:
            return
        if val is not None and val < best_val:
            best_val = val
            run.save_weights(scored, "best")
        run.save_weights(scored, "last")
        trained = {} if average is None else {"trained": model.state_dict()}
        run.save_state({"step": torch.tensor(step), "best_val": torch.tensor(best_val),
                        "optimizer": optimizer.state_dict(), **batches.state_dict(), **trained,
                        "torch_rng": torch.get_rng_state(), "elapsed": torch.tensor(time.perf_counter() - t_start)})

    interrupted = False                       # Ctrl-C finishes the step, saves, and stops
    def on_sigint(signum, frame):
        nonlocal interrupted
        if interrupted:
            raise KeyboardInterrupt
        interrupted = True
    old_handler = signal.signal(signal.SIGINT, on_sigint) if _main_thread() else None

    model.train()
    bar = tqdm(total=cfg.max_steps, initial=step, disable=not progress, dynamic_ncols=True, unit="step")
    loss_sum = torch.zeros((), device=device)          # summed on device; read at log intervals only
    n_summed, t_log = 0, time.perf_counter()
    t_start = t_log - (float(resume["elapsed"]) if resume is not None and "elapsed" in resume else 0.0)
    try:
        while step < cfg.max_steps and not interrupted:
            lr = lr_at(cfg, step)
            for group in optimizer.param_groups:
                group["lr"] = lr
            x, y, extra = batches.sample(cfg.batch_size)                  # extra: packed rows' pos and seg
            with autocast:
                loss = step_loss(model, x, y, **extra)
            loss = batches.weigh(loss, y, cfg.batch_size)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if cfg.grad_clip > 0:
                torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
            optimizer.step()
            if average is not None:
                update_average(average, model, ema_decay(cfg.ema, step))
            if on_step is not None:
                on_step(step, model, lr)
            loss_sum += loss.detach()
            n_summed += 1
            step += 1
            bar.update(1)

            if step % cfg.log_interval == 0 or step == cfg.max_steps:
                dt = time.perf_counter() - t_log
                mean_loss = loss_sum.item() / n_summed
                tok_s = tokens_per_step * n_summed / dt
                bar.set_postfix(loss=f"{mean_loss:.4f}", tok_s=f"{tok_s:,.0f}", lr=f"{lr:.2g}")
                if run:
                    run.log({"step": step, "loss": mean_loss, "lr": lr, "tokens_per_sec": tok_s})
                if writer:
                    writer.add_scalar("loss/train", mean_loss, step)
                    writer.add_scalar("lr", lr, step)
                loss_sum.zero_()
                n_summed, t_log = 0, time.perf_counter()

            if step % cfg.eval_interval == 0 or step == cfg.max_steps:
                t_eval = time.perf_counter()
                if cfg.calibrate:
                    calibrate_batchnorm(scored, data.train, device)
                val = evaluate(scored, data.val, device)
                model.train()
                bar.write(f"step {step:>7d} | val {val:.4f} nats/char ({val / math.log(2):.4f} bits)")
                if run:
                    run.log({"step": step, "val": val, "elapsed": time.perf_counter() - t_start})
                if writer:
                    writer.add_scalar("loss/val", val, step)
                checkpoint(step, val)
                t_log += time.perf_counter() - t_eval   # evaluation time is not training throughput
            if stop_at is not None and step >= stop_at:
                interrupted = True
    finally:
        bar.close()
        if old_handler is not None:
            signal.signal(signal.SIGINT, old_handler)
    if interrupted:
        checkpoint(step, None)
    if average is not None:
        model.load_state_dict(average.state_dict())
    return {"step": step, "best_val": best_val, "interrupted": interrupted}


def ema_decay(decay: float, step: int) -> float:
    """The moving average's decay at a step: `decay`, but lower early on, (1 + step) / (10 + step)
    (as TensorFlow's ExponentialMovingAverage with num_updates), so that a short run averages over
    its own last steps instead of keeping its initial weights."""
    return min(decay, (1 + step) / (10 + step))


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
def init_check(model, batches: Batches, device, n: int = 1024) -> dict:
    """The MLP lecture's check: at initialization the loss should be near -ln(1/V), the loss of
    predicting every character uniformly. Far above it, the output layer starts too confident."""
    from .diagnostics import expected_initial_loss
    buffers = {k: v.clone() for k, v in model.named_buffers()}     # BatchNorm's running stats stay as they are
    x, y = batches.x[:n].long(), batches.y[:n].long()
    loss = batch_loss(model, x, y).item()
    for k, v in model.named_buffers():
        v.copy_(buffers[k])
    uniform = expected_initial_loss(model.config.vocab_size)
    msg = f"init check: initial loss {loss:.4f}, uniform prediction -ln(1/{model.config.vocab_size}) = {uniform:.4f}"
    if abs(loss - uniform) > 0.5:
        msg += (f"\nwarning: the initial loss is {loss - uniform:+.2f} nats off a uniform guess; "
                "scale the last layer's initial weights down so it starts unsure")
    return {"loss": loss, "uniform": uniform, "message": msg}


def _main_thread() -> bool:
    import threading
    return threading.current_thread() is threading.main_thread()
