"""The health checks of the "building makemore" part 3 lecture, as numbers.

- activations: per tanh layer, mean, std and saturation (% of |t| > 0.97)
- activation gradients: per tanh layer, mean and std of d loss / d output
- weight gradients: per weight matrix, mean, std and the grad:data ratio std(grad) / std(data)
- updates: per weight matrix over training, log10(std(update) / std(data)), the update being the
  step's real change of the weights (lr * grad under SGD; AdamW's step otherwise); about -3 is healthy
- initialization: the loss of a uniform prediction, -ln(1/V), next to the model's initial loss
Also the first lecture's bigram count table and the embedding scatter, as numbers for the figures.
"""

from __future__ import annotations

import math

import torch

from .data import Split, Vocab, encode_words
from .errors import UsageError
from .evaluation import uniform_loss
from .models import build_model

SATURATION = 0.97


def saturation(t: torch.Tensor, threshold: float = SATURATION) -> float:
    """Percentage of entries with |t| > threshold."""
    return (t.abs() > threshold).float().mean().item() * 100


def histogram(t: torch.Tensor, bins: int = 50) -> dict:
    """Bin centers and the fraction of the entries in each bin (the fractions sum to 1)."""
    t = t.detach().float().flatten().cpu()
    lo, hi = t.min().item(), t.max().item()
    if lo == hi:
        lo, hi = lo - 1e-6, hi + 1e-6
    counts = torch.histc(t, bins=bins, min=lo, max=hi)
    edges = torch.linspace(lo, hi, bins + 1)
    return {"centers": ((edges[:-1] + edges[1:]) / 2).tolist(), "fraction": (counts / counts.sum()).tolist()}


def activation_stats(t: torch.Tensor) -> dict:
    return {"mean": t.mean().item(), "std": t.std().item(), "saturated_pct": saturation(t)}


def grad_data_ratio(grad: torch.Tensor, data: torch.Tensor) -> float:
    return (grad.std() / data.std()).item()


def update_ratio(update: torch.Tensor, data: torch.Tensor) -> float:
    """log10(std(update) / std(data)), the lecture's update:data ratio. `update` is the real change
    of the weights in one step (UpdateTracker), which is lr * grad only under plain SGD."""
    return math.log10(max(update.std().item(), 1e-30) / max(data.std().item(), 1e-30))


def tanh_modules(model) -> list[tuple[str, torch.nn.Module]]:
    """The tanh layers of a model (hand-written layers.Tanh or torch.nn.Tanh), in forward order."""
    return [(name, m) for name, m in model.named_modules() if type(m).__name__ == "Tanh"]


def weight_matrices(model) -> list[tuple[str, torch.nn.Parameter]]:
    """The 2-D parameters that are not embeddings: the matrices the lecture inspects."""
    emb = {id(m.weight) for m in model.modules() if type(m).__name__ == "Embedding"}
    return [(n, p) for n, p in model.named_parameters() if p.dim() == 2 and id(p) not in emb]


def inspect(model, ctx: torch.Tensor, targets: torch.Tensor, bins: int = 50, **extra) -> dict:
    """One forward/backward of a window model in training mode on a batch (extra: its rows' tags,
    for a model of tagged items); the statistics of every tanh layer's outputs and their
    gradients, and of every weight matrix's gradient."""
    outputs = {}

    def keep(name):
        def hook(module, inputs, out):
            out.retain_grad()
            outputs[name] = out
        return hook

    handles = [m.register_forward_hook(keep(name)) for name, m in tanh_modules(model)]
    try:
        model.train()
        model.zero_grad(set_to_none=True)
        loss = model.loss(ctx, targets, **extra)
        loss.backward()
    finally:
        for h in handles:
            h.remove()
    layers = []
    for name, _ in tanh_modules(model):
        t = outputs[name]
        g = t.grad if t.grad is not None else torch.zeros_like(t)
        layers.append({"layer": name, **activation_stats(t.detach()), "grad_mean": g.mean().item(),
                       "grad_std": g.std().item(), "hist": histogram(t, bins), "grad_hist": histogram(g, bins)})
    weights = []
    for name, p in weight_matrices(model):
        g = p.grad if p.grad is not None else torch.zeros_like(p)
        weights.append({"param": name, "shape": list(p.shape), "grad_mean": g.mean().item(), "grad_std": g.std().item(),
                        "grad_data_ratio": grad_data_ratio(g, p.detach()), "hist": histogram(g, bins)})
    model.zero_grad(set_to_none=True)
    return {"loss": loss.item(), "tanh": layers, "weights": weights}


class UpdateTracker:
    """An `on_step` hook for train(): every `every` steps, the update:data ratio of each matrix,
    from the real change of its weights in that step (whatever the optimizer). It keeps a copy of
    the matrices from the step before each recorded one; made before training, it records step 0."""

    def __init__(self, model, every: int = 10):
        self.names = [n for n, _ in weight_matrices(model)]
        self.every = every
        self.steps: list[int] = []
        self.ratios: dict[str, list[float]] = {n: [] for n in self.names}
        self.before = self._copy(model)

    def _copy(self, model) -> dict:
        params = dict(model.named_parameters())
        return {n: params[n].detach().clone() for n in self.names}

    def __call__(self, step, model, lr):
        if step % self.every == 0:
            params = dict(model.named_parameters())
            self.steps.append(step)
            for n in self.names:
                self.ratios[n].append(update_ratio(params[n].detach() - self.before[n], self.before[n]))
        if (step + 1) % self.every == 0:             # the weights before the next recorded step
            self.before = self._copy(model)

    def to_dict(self) -> dict:
        return {"steps": self.steps, "ratios": self.ratios}


def lr_sweep(model, data, start: float = 1e-3, end: float = 1.0, steps: int = 1000, batch_size: int = 32,
             optimizer: str = "sgd", seed: int = 1337, device="cpu") -> dict:
    """The lecture's learning-rate search: step i trains one batch at lr = start * (end/start)^(i/(steps-1)).
    The smoothed loss is lowest at the edge of stability; the suggestion is half that rate, inside
    the valley (on names.txt and the lecture's MLP: about 0.1, the lecture's choice)."""
    from .batches import Batches
    from .train import TrainConfig, make_optimizer
    if not 0 < start < end:
        raise UsageError(f"lr-find needs 0 < --start < --end, got {start} and {end}")
    if steps < 10:
        raise UsageError(f"--steps must be at least 10, got {steps}")
    if batch_size < 1:
        raise UsageError(f"--batch-size must be at least 1, got {batch_size}")
    if not any(p.requires_grad for p in model.parameters()):
        raise UsageError(f"a {type(model).__name__} model is fitted by counting; it has no learning rate")
    torch.manual_seed(seed)
    model.to(device).train()
    opt = make_optimizer(model, TrainConfig(optimizer=optimizer, lr=start, weight_decay=0.0), torch.device(device))
    batches = Batches(data.train, model, device, torch.Generator().manual_seed(seed))
    lrs = torch.logspace(math.log10(start), math.log10(end), steps).tolist()
    losses = torch.zeros(steps)
    for i, lr in enumerate(lrs):
        for g in opt.param_groups:
            g["lr"] = lr
        x, y, extra = batches.sample(batch_size)
        loss = model.loss(x, y, **extra)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        losses[i] = loss.detach()
    losses = losses.tolist()
    smoothed = smooth(losses)
    best = min(range(steps), key=lambda i: smoothed[i])
    suggested = max(start, lrs[best] / 2)
    return {"lrs": lrs, "losses": losses, "smoothed": smoothed, "suggested_lr": suggested, "min_loss_lr": lrs[best]}


def smooth(values: list[float], beta: float = 0.98) -> list[float]:
    """Bias-corrected exponential moving average."""
    out, avg = [], 0.0
    for k, v in enumerate(values, start=1):
        avg = beta * avg + (1 - beta) * (v if math.isfinite(v) else 1e9)
        out.append(avg / (1 - beta ** k))
    return out


def health(model, data, batch_size: int = 32, seed: int = 1337, device="cpu") -> dict:
    """`makemore diagnose`: inspect() on one random training batch, with the uniform loss beside."""
    if batch_size < 2:
        raise UsageError(f"--batch-size must be at least 2, got {batch_size}")
    if not tanh_modules(model):
        raise UsageError(f"diagnose inspects models with tanh layers (mlp, bnmlp, wavenet), not a {type(model).__name__}")
    x, y, _ = model.examples(data.train)
    tags = model.example_tags(data.train)
    ix = torch.randint(len(x), (batch_size,), generator=torch.Generator().manual_seed(seed))
    extra = {} if tags is None else {"tags": tags[ix].to(device)}
    stats = inspect(model.to(device), x[ix].long().to(device), y[ix].long().to(device), **extra)
    return {**stats, "uniform_loss": uniform_loss(model.config.vocab_size)}


def bigram_table(words: list[str], top: int = 40) -> dict:
    """The first lecture's V x V bigram counts over all items, fitted by the bigram model; above
    `top` characters, the boundary and the top - 1 most frequent characters.
    Returns {"chars", "counts" (k x k), "title", "top_pairs" (the 15 most frequent, with counts)}."""
    if top < 2:
        raise UsageError(f"--top must be at least 2, got {top}")
    vocab = Vocab.from_words(words)
    V = vocab.size
    every = Split(words, *encode_words(words, vocab, max(map(len, words))))
    counts = build_model("bigram", V, 2).fit(*every.examples(1)).counts.long()            # (V, V)
    keep = list(range(V))
    title = f"bigram counts: {len(words):,} items, {V - 1} characters + boundary '.'"
    if V > top:                                    # the boundary, then the most frequent characters
        freq = counts.sum(0) + counts.sum(1)
        keep = [0] + sorted(freq[1:].argsort(descending=True)[:top - 1].add(1).tolist())
        title = f"bigram counts: top {top - 1} of {V - 1} characters by frequency + boundary '.'"
    sub = counts[keep][:, keep]                                                            # (k, k)
    chars = [vocab.show(i) for i in keep]
    top = sub.flatten().argsort(descending=True, stable=True)[:15].tolist()
    pairs = [(chars[i // len(keep)] + chars[i % len(keep)], sub.flatten()[i].item()) for i in top]
    return {"chars": chars, "counts": sub.tolist(), "title": title, "top_pairs": pairs}


def embedding_points(model, vocab: Vocab, name: str) -> dict:
    """The character embedding table in 2-D (a PCA above 2 dimensions): {"chars", "points", "title"}."""
    from .models.ensemble import Ensemble, TwoWay
    emb = next((m.weight for m in model.modules() if type(m).__name__ == "Embedding"), None)
    mixed = isinstance(model, (Ensemble, TwoWay))
    if emb is None or mixed:
        raise UsageError(f"a {name} model has no single character embedding table"
                         + ("; plot one of its members" if mixed else ""))
    W = emb.detach().float().cpu()                                  # (V, C)
    if W.size(1) > 2:                                               # PCA to 2-D
        Wc = W - W.mean(0)
        _, S, Vh = torch.linalg.svd(Wc, full_matrices=False)
        pts = Wc @ Vh[:2].T                                         # (V, 2)
        explained = (S[:2] ** 2).sum() / (S ** 2).sum()
        title = f"{name} character embeddings: PCA of {W.size(1)} dims ({explained:.0%} of variance)"
    else:
        pts = W if W.size(1) == 2 else torch.cat([W, torch.zeros_like(W)], 1)
        title = f"{name} character embeddings ({W.size(1)}-D)"
    return {"chars": [vocab.show(i) for i in range(vocab.size)], "points": pts.tolist(), "title": title}


def report(stats: dict, updates: dict | None, label: str) -> str:
    """`makemore diagnose` as text: per tanh layer and weight matrix, and the last update ratios."""
    lines = [f"{label}: loss on the batch {stats['loss']:.4f}; uniform prediction -ln(1/V) = {stats['uniform_loss']:.4f}"]
    if "fresh" in label and abs(stats["loss"] - stats["uniform_loss"]) > 0.5:
        lines.append("warning: the initial loss is more than 0.5 nats off a uniform guess")
    lines.append(f"{'tanh layer':<28} {'mean':>8} {'std':>7} {'saturated':>9} {'grad mean':>11} {'grad std':>10}")
    lines += [f"{t['layer']:<28} {t['mean']:+8.3f} {t['std']:7.3f} {t['saturated_pct']:8.2f}% "
              f"{t['grad_mean']:+11.2e} {t['grad_std']:10.2e}" for t in stats["tanh"]]
    lines.append(f"{'weight':<28} {'shape':>11} {'grad mean':>11} {'grad std':>10} {'grad:data':>10}")
    lines += [f"{w['param']:<28} {str(tuple(w['shape'])):>11} {w['grad_mean']:+11.2e} {w['grad_std']:10.2e} "
              f"{w['grad_data_ratio']:10.2e}" for w in stats["weights"]]
    if updates:
        lines.append("update:data ratio, log10, last recorded (healthy near -3):")
        lines += [f"  {name:<26} {r[-1]:+.2f}" for name, r in updates["ratios"].items()]
    return "\n".join(lines)


def lr_report(res: dict) -> str:
    """`makemore lr-find` as text: ten points of the sweep and the suggestion."""
    steps = len(res["lrs"])
    lines = [f"{'log10(lr)':>9} {'lr':>9} {'loss (smoothed)':>16}"]
    lines += [f"{math.log10(res['lrs'][i]):9.2f} {res['lrs'][i]:9.3g} {res['smoothed'][i]:16.4f}"
              for i in range(0, steps, max(1, steps // 10))]
    lines.append(f"suggested lr: {res['suggested_lr']:.3g} (half the rate of the lowest smoothed loss, {res['min_loss_lr']:.3g})")
    return "\n".join(lines)
