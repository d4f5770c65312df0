"""The health checks of the "building makemore" part 3 lecture, as numbers.

- activations: per tanh layer, mean, std and saturation (% of |t| > 0.97)
- activation gradients: per tanh layer, mean and std of d loss / d output
- weight gradients: per weight matrix, mean, std and the grad:data ratio std(grad) / std(data)
- updates: per weight matrix over training, log10(std(lr * grad) / std(data)); about -3 is healthy
- initialization: the loss of a uniform prediction, -ln(1/V), next to the model's initial loss
"""

from __future__ import annotations

import math

import torch

SATURATION = 0.97


def saturation(t: torch.Tensor, threshold: float = SATURATION) -> float:
    """Percentage of entries with |t| > threshold."""
    return (t.abs() > threshold).float().mean().item() * 100


def histogram(t: torch.Tensor, bins: int = 50) -> dict:
    t = t.detach().float().flatten().cpu()
    lo, hi = t.min().item(), t.max().item()
    if lo == hi:
        lo, hi = lo - 1e-6, hi + 1e-6
    counts = torch.histc(t, bins=bins, min=lo, max=hi)
    edges = torch.linspace(lo, hi, bins + 1)
    return {"centers": ((edges[:-1] + edges[1:]) / 2).tolist(), "density": (counts / counts.sum()).tolist()}


def activation_stats(t: torch.Tensor) -> dict:
    return {"mean": t.mean().item(), "std": t.std().item(), "saturated_pct": saturation(t)}


def grad_data_ratio(grad: torch.Tensor, data: torch.Tensor) -> float:
    return (grad.std() / data.std()).item()


def update_ratio(lr: float, grad: torch.Tensor, data: torch.Tensor) -> float:
    """log10(std(lr * grad) / std(data)), the lecture's update:data ratio."""
    return math.log10(max((lr * grad).std().item(), 1e-30) / max(data.std().item(), 1e-30))


def expected_initial_loss(vocab_size: int) -> float:
    """The loss of a model that predicts every character with probability 1/V."""
    return -math.log(1.0 / vocab_size)


def tanh_modules(model) -> list[tuple[str, torch.nn.Module]]:
    """The tanh layers of a model (hand-written layers.Tanh or torch.nn.Tanh), in forward order."""
    return [(name, m) for name, m in model.named_modules() if type(m).__name__ == "Tanh"]


def weight_matrices(model) -> list[tuple[str, torch.nn.Parameter]]:
    """The 2-D parameters that are not embeddings: the matrices the lecture inspects."""
    emb = {id(m.weight) for m in model.modules() if type(m).__name__ == "Embedding"}
    return [(n, p) for n, p in model.named_parameters() if p.dim() == 2 and id(p) not in emb]


def inspect(model, ctx: torch.Tensor, targets: torch.Tensor, bins: int = 50) -> dict:
    """One forward/backward of a window model in training mode on a batch; the statistics of
    every tanh layer's outputs and their gradients, and of every weight matrix's gradient."""
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
        logits, loss = model.loss(ctx, targets)
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
    """An `on_step` hook for train(): every `every` steps, the update:data ratio of each matrix."""

    def __init__(self, model, every: int = 10):
        self.names = [n for n, _ in weight_matrices(model)]
        self.every = every
        self.steps: list[int] = []
        self.ratios: dict[str, list[float]] = {n: [] for n in self.names}

    def __call__(self, step, model, lr):
        if step % self.every:
            return
        params = dict(model.named_parameters())
        self.steps.append(step)
        for n in self.names:
            p = params[n]
            g = p.grad if p.grad is not None else torch.zeros_like(p)
            self.ratios[n].append(update_ratio(lr, g, p.detach()))

    def to_dict(self) -> dict:
        return {"steps": self.steps, "ratios": self.ratios}


def lr_sweep(model, data, start: float = 1e-3, end: float = 1.0, steps: int = 1000, batch_size: int = 32,
             optimizer: str = "sgd", seed: int = 1337, device="cpu") -> dict:
    """The lecture's learning-rate search: step i trains one batch at lr = start * (end/start)^(i/(steps-1)).
    The smoothed loss is lowest at the edge of stability; the suggestion is half that rate, inside
    the valley (on names.txt and the lecture's MLP: about 0.1, the lecture's choice)."""
    from .train import Batches, TrainConfig, batch_loss, make_optimizer
    if not 0 < start < end:
        raise ValueError(f"lr-find needs 0 < --start < --end, got {start} and {end}")
    if steps < 10:
        raise ValueError(f"--steps must be at least 10, got {steps}")
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
        loss = batch_loss(model, x, y, **extra)
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
