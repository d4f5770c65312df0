"""The one metric, and the BatchNorm calibration that comes before it.

The metric is the mean negative log-likelihood in nats per target character over a whole split,
token-weighted (the sum of every target's loss over the number of targets; never a mean of batch
means), with the end of an item counted as a character. Bits per character = nats / ln 2.
"""

from __future__ import annotations

import math
import weakref

import torch
import torch.nn.functional as F

from .data import Split, reverse_split
from .errors import UsageError
from .models.ensemble import TwoWay, item_sums, mixture_nll

EVAL_BYTES = 2 ** 24     # logits held at once while evaluating: 16 MiB, whatever the vocabulary
ACT_BYTES = 2 ** 26      # a chunk's layers' outputs while evaluating: 64 MiB, for 4 times the widest layer
MEASURED_ROWS = 2 ** 14  # rows of a BatchNorm input summed in float64 at a time by calibrate_batchnorm


def uniform_loss(vocab_size: int) -> float:
    """The loss of a model that predicts every character with probability 1/V: -ln(1/V)."""
    return -math.log(1.0 / vocab_size)


def _tensors(out):
    if isinstance(out, torch.Tensor):
        yield out
    elif isinstance(out, (tuple, list)):
        for o in out:
            yield from _tensors(o)


@torch.no_grad()
def row_floats(model, row: torch.Tensor) -> tuple[int, int]:
    """(the widest output of any layer, all the layers' outputs together), in floats, for one row
    of examples: its forward with every module hooked (on the meta device too, with no memory).
    The first is what evaluation holds per row, a layer at a time; the second, about what a
    training step keeps per row for the backward. A model whose forward cannot say (a count
    model on the meta device): its logits, V and V."""
    V = model.config.vocab_size
    widest, total = V, 0

    def hook(module, inputs, output):
        nonlocal widest, total
        sizes = [t.numel() for t in _tensors(output)]
        widest, total = max([widest] + sizes), total + sum(sizes)
    hooks = [m.register_forward_hook(hook) for m in model.modules()]
    was_training = model.training
    model.eval()                                   # one row: BatchNorm on its running statistics
    tags = {"tags": torch.zeros(len(row), dtype=torch.long, device=row.device)} if model.config.n_tags else {}
    try:
        model.logits(row.long(), **tags)
    except (RuntimeError, NotImplementedError):
        return V, V
    finally:
        model.train(was_training)
        for h in hooks:
            h.remove()
    return widest, max(total, V)


_WIDEST = weakref.WeakKeyDictionary()    # model -> {row shape: its widest layer's floats}, probed once each


def chunk_rows(model, x: torch.Tensor, width: int, budget: int, device) -> int:
    """Rows of x evaluated at once: their logits within `budget` bytes, and 4 times their widest
    layer's output within ACT_BYTES (probed by row_floats once per model and row shape, so a
    request to the web server or an evaluation during training runs no extra forward)."""
    known = _WIDEST.setdefault(model, {})
    shape = tuple(x.shape[1:])
    if shape not in known:
        known[shape] = row_floats(model, x[:1].to(device))[0] if len(x) else 1
    return max(1, min(budget // (4 * width * model.config.vocab_size), ACT_BYTES // (16 * known[shape])))


def _chunks(lengths, n_rows: int, rows: int):
    """Rows in chunks of `rows`: when they are whole items (lengths given), row indices, shortest
    first, so each chunk can be cut to its longest item; else slices in order (no index array as
    long as the split)."""
    if lengths is None:
        yield from (slice(i, i + rows) for i in range(0, n_rows, rows))
        return
    order = torch.argsort(lengths, stable=True)
    for i in range(0, n_rows, rows):
        yield order[i:i + rows]


def _logits(model, split: Split, device, budget: int):
    """(where, logits (..., V), targets) over the split in chunks, the model in eval mode meanwhile;
    `where` indexes the chunk's rows (and positions) in an (N,) or (N, T) array of the split's.
    Tagged items: each row with its own tag (the conditional the metric is taken on)."""
    was_training = model.training
    model.eval()
    try:
        x, y, lengths = model.examples(split)      # (N, ...) inputs, (N,) or (N, T) targets
        tags = model.example_tags(split)           # (N,) or None
        width = x.size(1) if lengths is not None else 1
        for ix in _chunks(lengths, len(x), chunk_rows(model, x, width, budget, device)):
            xb, yb, where = x[ix], y[ix], ix
            if lengths is not None:                # whole items: no work past the longest one
                T = max(1, int(lengths[ix].max()))
                xb, yb, where = xb[:, :T], yb[:, :T], (ix, slice(0, T))
            extra = {} if tags is None else {"tags": tags[ix].to(device)}
            yield where, model.logits(xb.to(device).long(), **extra), yb.to(device).long()
    finally:
        model.train(was_training)


def _nll(logits, y):
    """Each target's NLL (float32, shaped as y; 0 where y is -1) from its logits (..., V)."""
    return F.cross_entropy(logits.float().flatten(0, -2), y.flatten(), ignore_index=-1, reduction="none").view_as(y)


@torch.no_grad()
def token_nll(model, split: Split, device="cpu", budget: int = EVAL_BYTES) -> torch.Tensor:
    """Per-target NLL (float64, nats) over the whole split, in the split's order."""
    y = model.examples(split)[1]
    nll_all = torch.zeros(y.shape, dtype=torch.float64)
    for where, logits, yb in _logits(model, split, device, budget):                  # (..., V), (...)
        nll_all[where] = _nll(logits, yb).double().cpu()
    return nll_all if y.dim() == 1 else nll_all[y != -1]     # row by row, in order (a window's: all targets)


@torch.no_grad()
def token_logp(model, split: Split, device="cpu", budget: int = EVAL_BYTES) -> tuple[torch.Tensor, torch.Tensor]:
    """The model's whole next-character distribution at every target of the split, in the order of
    token_nll: (log-probabilities (targets, V) float32, the true characters (targets,))."""
    y = model.examples(split)[1]
    out = torch.zeros(*y.shape, model.config.vocab_size)                              # (N, [T,] V)
    for where, logits, _ in _logits(model, split, device, budget):
        out[where] = F.log_softmax(logits.float(), dim=-1).cpu()
    return out[y != -1], y[y != -1].long()


def item_nll(model, split: Split, device="cpu") -> torch.Tensor:
    """Per-item NLL (float64, nats, the end included), in the split's order. A TwoWay mixture
    scores each item under both directions and mixes the two probabilities."""
    if isinstance(model, TwoWay):
        both = torch.stack([item_nll(model.ltr, split, device), item_nll(model.rtl, reverse_split(split), device)])
        return mixture_nll(both, model.log_v.exp().cpu())                          # (N,)
    return item_sums(token_nll(model, split, device), split.lengths)


@torch.no_grad()
def evaluate(model, split: Split, device="cpu") -> float:
    """The one metric: token-weighted mean NLL in nats per character over the whole split (for a
    TwoWay mixture: its items' total NLL over the same number of targets)."""
    if split.n_targets == 0:
        raise UsageError("cannot evaluate on an empty split")
    if isinstance(model, TwoWay):
        return (item_nll(model, split, device).sum() / split.n_targets).item()
    total = torch.zeros((), dtype=torch.float64)
    for _, logits, yb in _logits(model, split, device, EVAL_BYTES):                   # a chunk at a time:
        total += _nll(logits, yb).double().sum().cpu()                                # no array as long as the split
    return (total / split.n_targets).item()


class _Measured(Exception):
    """Raised by calibrate_batchnorm's hook: the layer has its input, the rest of the forward can go."""


@torch.no_grad()
def calibrate_batchnorm(model, split: Split, device="cpu", budget: int = EVAL_BYTES) -> int:
    """The BatchNorm lecture's calibration: set every BatchNorm1d's running mean and (unbiased)
    variance to the exact statistics of its input over the whole training split, instead of the
    moving average of recent batches. Layer by layer, in chunks: each layer is measured on inputs
    normalized by the layers before it, already calibrated, and the forward stops at the layer
    measured (the layers after it are not run). Returns the number of layers set."""
    from .models.layers import BatchNorm1d
    norms = [m for m in model.modules() if isinstance(m, BatchNorm1d)]
    if not norms:
        return 0
    was_training = model.training
    model.eval()
    x, _, lengths = model.examples(split)
    tags = model.example_tags(split)
    width = x.size(1) if lengths is not None else 1
    chunks = list(_chunks(None, len(x), chunk_rows(model, x, width, budget, device)))
    for bn in norms:
        total, total_sq, n = 0.0, 0.0, 0

        def measure(module, inputs):
            nonlocal total, total_sq, n
            h = inputs[0].reshape(-1, inputs[0].size(-1))                             # (N, C) over batch (and time)
            for a in range(0, len(h), MEASURED_ROWS):                                 # float64 a part at a time
                part = h[a:a + MEASURED_ROWS].double()
                total, total_sq = total + part.sum(0), total_sq + (part * part).sum(0)
            n += h.size(0)
            raise _Measured
        hook = bn.register_forward_pre_hook(measure)
        try:
            for ix in chunks:
                try:
                    model.logits(x[ix].to(device).long(), **({} if tags is None else {"tags": tags[ix].to(device)}))
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


@torch.no_grad()
def init_check(model, batches, n: int = 1024) -> dict:
    """The MLP lecture's check: at initialization the loss should be near -ln(1/V), the loss of
    predicting every character uniformly. Far above it, the output layer starts too confident."""
    buffers = {k: v.clone() for k, v in model.named_buffers()}     # BatchNorm's running stats stay as they are
    n = max(1, min(n, EVAL_BYTES // (4 * model.config.vocab_size * batches.x[0].numel())))   # logits within the budget
    x, y = batches.x[:n].long(), batches.y[:n].long()
    tags = None if batches.tags is None else batches.tags[:n]
    rows = chunk_rows(model, x, x[0].numel(), EVAL_BYTES, x.device)                         # layers within theirs
    total = 0.0
    for a in range(0, n, rows):                                     # the mean over all n rows' targets
        targets = int((y[a:a + rows] != -1).sum())
        extra = {} if tags is None else {"tags": tags[a:a + rows]}
        total += model.loss(x[a:a + rows], y[a:a + rows], **extra).item() * targets
    loss = total / int((y != -1).sum())
    for k, v in model.named_buffers():
        v.copy_(buffers[k])
    uniform = uniform_loss(model.config.vocab_size)
    msg = f"init check: initial loss {loss:.4f}, uniform prediction -ln(1/{model.config.vocab_size}) = {uniform:.4f}"
    if abs(loss - uniform) > 0.5:
        msg += (f"\nwarning: the initial loss is {loss - uniform:+.2f} nats off a uniform guess; "
                "scale the last layer's initial weights down so it starts unsure")
    return {"loss": loss, "uniform": uniform, "message": msg}
