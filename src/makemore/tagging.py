"""One model of tagged items, used three ways by Bayes' rule:

    generate      p(item | T), or a mixture sum_T w_T p(item | T) (one tag, a blend, the training frequencies)
    score         log p(item | T), or the marginal log p(item) = log sum_T p(T) p(item | T)
    classify      p(T | item) = p(T) p(item | T) / p(item)

p(T) is the tags' share of the training split. Every one of these needs log p(item | T) for every
tag T: `tag_nll` scores the items once per tag (K evaluations of the one metric's computation).
"""

from __future__ import annotations

import math

import torch

from .data import Split
from .errors import UsageError
from .evaluation import item_nll


def tag_prior(counts: dict[str, int]) -> torch.Tensor:
    """log p(T) (K,) in float64, from the tags' item counts (in the order of the tag names)."""
    n = torch.tensor(list(counts.values()), dtype=torch.float64)
    return (n / n.sum()).log()


def check_tag(tag: str, names: list[str]) -> int:
    """The index of a tag; an unknown one is an error that lists the known tags."""
    if tag not in names:
        raise UsageError(f"--tag {tag!r}: not one of the run's tags; it knows {', '.join(names)}")
    return names.index(tag)


def tag_weights(spec, names: list[str], counts: dict[str, int]) -> torch.Tensor:
    """The mixture over tags to sample from, (K,) summing to 1: spec None = the training
    frequencies; "it" = that tag alone; "it=0.7,es=0.3" or {"it": 0.7, "es": 0.3} = a blend,
    its weights normalized (each must be a positive number)."""
    if spec is None:
        return tag_prior(counts).exp()
    if isinstance(spec, str):
        if "=" not in spec and "," not in spec:
            w = torch.zeros(len(names), dtype=torch.float64)
            w[check_tag(spec.strip(), names)] = 1
            return w
        spec = dict(_blend_part(p) for p in spec.split(","))
    if not isinstance(spec, dict) or not spec:
        raise UsageError(f"--tag: a tag, or a blend such as {names[0]}=0.7,{names[-1]}=0.3; got {spec!r}")
    w = torch.zeros(len(names), dtype=torch.float64)
    for tag, weight in spec.items():
        if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not 0 < weight < math.inf:
            raise UsageError(f"--tag {tag}={weight}: a blend's weights must be positive numbers")
        w[check_tag(tag, names)] += weight
    return w / w.sum()


def _blend_part(part: str) -> tuple[str, float]:
    tag, eq, weight = part.partition("=")
    if not eq or not tag.strip():
        raise UsageError(f"--tag: {part!r} is not TAG=WEIGHT (a blend is written it=0.7,es=0.3)")
    try:
        return tag.strip(), float(weight)
    except ValueError:
        raise UsageError(f"--tag {part.strip()}: the weight {weight.strip()!r} is not a number") from None


@torch.no_grad()
def tag_nll(model, split: Split, n_tags: int, device="cpu") -> torch.Tensor:
    """-log p(item | T) of every item of the split under every tag: (K, N) float64, nats."""
    n = len(split)
    return torch.stack([item_nll(model, split.with_tags(torch.full((n,), k, dtype=torch.long)), device)
                        for k in range(n_tags)])


def marginal_nll(nll: torch.Tensor, log_prior: torch.Tensor) -> torch.Tensor:
    """-log sum_T p(T) p(item | T) of each item (N,), from tag_nll's (K, N)."""
    return -torch.logsumexp(log_prior[:, None] - nll, dim=0)


def posterior(nll: torch.Tensor, log_prior: torch.Tensor) -> torch.Tensor:
    """p(T | item) (N, K), from tag_nll's (K, N)."""
    return torch.softmax(log_prior[:, None] - nll, dim=0).T


def report(post: torch.Tensor, truth: torch.Tensor, names: list[str], bins: int = 15) -> dict:
    """How well the tags of items are told: accuracy, macro-F1 (each tag's F1, averaged with equal
    weight), the confusion matrix (rows the true tag, columns the predicted one) and the expected
    calibration error of the top probability (`bins` equal-width bins, weighted by their items)."""
    K = len(names)
    conf, pred = post.max(1)                                                       # (N,), (N,)
    confusion = torch.bincount(truth * K + pred, minlength=K * K).view(K, K)       # (K, K)
    tp = confusion.diag().double()
    precision = tp / confusion.sum(0).clamp(min=1)
    recall = tp / confusion.sum(1).clamp(min=1)
    f1 = torch.where(tp > 0, 2 * precision * recall / (precision + recall).clamp(min=1e-12), torch.zeros_like(tp))
    present = confusion.sum(1) > 0                                                 # tags with items in this split
    return {"accuracy": (pred == truth).double().mean().item(), "macro_f1": f1[present].mean().item(),
            "ece": calibration_error(conf, pred == truth, bins), "tags": names, "confusion": confusion.tolist(),
            "f1": dict(zip(names, f1.tolist())), "items": len(truth)}


def calibration_error(confidence: torch.Tensor, correct: torch.Tensor, bins: int = 15) -> float:
    """Expected calibration error: sum over confidence bins of |accuracy - mean confidence| times
    the bin's share of the items (Naeini et al. 2015; Guo et al. 2017)."""
    which = (confidence.double() * bins).long().clamp(max=bins - 1)                # (N,)
    total = 0.0
    for b in range(bins):
        inside = which == b
        if inside.any():
            total += inside.double().mean().item() * abs(correct[inside].double().mean().item()
                                                         - confidence[inside].double().mean().item())
    return total
