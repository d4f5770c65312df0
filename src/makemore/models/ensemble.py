"""An ensemble of trained runs: a linear mixture of their next-character distributions,

    p(c | context) = sum_i w_i p_i(c | context),

the classic way of combining language models (Jelinek & Mercer 1980 interpolate n-grams this way).
Members can be any models of the ladder trained on the same vocabulary: a Transformer, a WaveNet
and a Kneser-Ney n-gram make different mistakes, so the mixture beats each of them. The weights
are fitted on the validation split by EM (`fit_weights`), never on test.

A product mixture (`product=True`, `makemore ensemble --mix product`) multiplies the members'
distributions instead, each raised to a fitted exponent, and renormalizes:

    p(c | context) = prod_i p_i(c | context)^a_i / Z(context),

a log-linear mixture, Hinton's product of experts (2002) with one exponent per expert. A linear
mixture can only spread probability between what its members say; a product sharpens where they
agree and lets an exponent above or below the members' share tune how confident each one is. The
exponents are fitted on val by L-BFGS (`fit_product`), starting from the linear mixture's weights.

The ensemble follows the model contract: `forward` gives log-mixture "logits" (log-probabilities,
so softmax and cross-entropy treat them as usual), and `init_state` / `step` carry every member's
own incremental state side by side.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..errors import UsageError
from .base import SequenceModel, sequence_loss


@dataclass
class EnsembleConfig:
    vocab_size: int = 0
    seq_len: int = 0
    n_tags: int = 0


class Ensemble(SequenceModel):

    def __init__(self, members: list[nn.Module], weights: list[float] | None = None, product: bool = False):
        super().__init__()
        if not members:
            raise UsageError("an ensemble needs at least one member")
        self.members = nn.ModuleList(members)
        tagged = {getattr(m.config, "n_tags", 0) for m in members}
        if len(tagged) > 1:
            raise UsageError("an ensemble's members must all be tagged, over the same tags, or all untagged")
        self.config = EnsembleConfig(members[0].config.vocab_size, members[0].config.seq_len, tagged.pop())
        self.product = product
        w = torch.full((len(members),), 1.0 / len(members)) if weights is None else torch.tensor(weights, dtype=torch.float32)
        if product:
            if len(w) != len(members) or not torch.isfinite(w).all():
                raise UsageError(f"a product mixture's exponents must be {len(members)} finite numbers, got {weights}")
            self.register_buffer("exponents", w)                                  # (M,)
            return
        if len(w) != len(members) or (w < 0).any() or w.sum() <= 0:
            raise UsageError(f"ensemble weights must be {len(members)} non-negative numbers, got {weights}")
        self.register_buffer("log_w", (w / w.sum()).log())                        # (M,)

    @property
    def weights(self) -> list[float]:
        """The members' weights (a linear mixture's, summing to 1) or exponents (a product's)."""
        return self.exponents.tolist() if self.product else self.log_w.exp().tolist()

    def _mix(self, logits: list[torch.Tensor]) -> torch.Tensor:
        logp = torch.stack([F.log_softmax(lg.float(), dim=-1) for lg in logits])   # (M, ..., V)
        shape = (-1, *[1] * (logp.dim() - 1))                                     # (M, 1, ..., 1)
        if self.product:
            return F.log_softmax((logp * self.exponents.view(shape)).sum(0), dim=-1)  # (..., V)
        return torch.logsumexp(logp + self.log_w.view(shape), dim=0)             # (..., V)

    def forward(self, idx, targets=None, tags=None):
        extra = {} if tags is None else {"tags": tags}
        logits = self._mix([m(idx, **extra)[0] for m in self.members])          # (B, T, V)
        return logits, sequence_loss(logits, targets)

    def init_state(self, batch_size: int, device=None, tags=None):
        extra = {} if tags is None else {"tags": tags}
        return [m.init_state(batch_size, device, **extra) for m in self.members]

    def step(self, tokens, state):
        outs = [m.step(tokens, s) for m, s in zip(self.members, state)]
        return self._mix([lg for lg, _ in outs]), [s for _, s in outs]            # (B, V)

    def select_rows(self, state, rows):
        return [m.select_rows(s, rows) for m, s in zip(self.members, state)]


class TwoWay(nn.Module):
    """A mixture over whole items of a model that reads them left to right and one that reads them
    right to left (each may itself be an Ensemble):

        p(x) = v_ltr p_ltr(x1..xn) + v_rtl p_rtl(xn..x1)

    Both give every item an exact probability, but they factor it in opposite orders, so their
    mistakes differ far more than two models of one direction do, and the mixture gains more.
    Forward-backward combinations are an old trick of speech recognition and translation
    (rescoring n-best lists with a right-to-left model, e.g. Liu et al. 2016, "Agreement on
    target-bidirectional neural machine translation"); here it is a proper mixture, so it samples
    (pick a direction, then draw from it) and scores items exactly. It has no next-character
    distribution: p_rtl gives none to a prefix, so there is no `forward` or `step`. The weights v
    are fitted on the items of the validation split by EM (`fit_weights`)."""

    def __init__(self, ltr: nn.Module, rtl: nn.Module, weights: list[float]):
        super().__init__()
        if ltr.config.vocab_size != rtl.config.vocab_size:
            raise UsageError("the two directions of a mixture must share a vocabulary")
        self.ltr, self.rtl = ltr, rtl
        self.config = EnsembleConfig(ltr.config.vocab_size, ltr.config.seq_len)
        w = torch.tensor(weights, dtype=torch.float64)
        if len(w) != 2 or (w < 0).any() or w.sum() <= 0:
            raise UsageError(f"the two directions' weights must be 2 non-negative numbers, got {weights}")
        self.register_buffer("log_v", (w / w.sum()).log())                       # (2,)

    @property
    def weights(self) -> list[float]:
        return self.log_v.exp().tolist()

    def forward(self, idx, targets=None):
        raise UsageError("a mixture of both reading directions gives whole items a probability, not the next "
                         "character: score or sample items instead")


def fit_weights(member_nll: torch.Tensor, iters: int = 200) -> torch.Tensor:
    """EM for the mixture weights, given each member's per-target NLL on held-out text
    (M, N). Each iteration cannot lower the held-out likelihood. Returns (M,) weights."""
    logp = -member_nll.double()                                                  # (M, N)
    M = logp.size(0)
    log_w = torch.full((M, 1), -torch.log(torch.tensor(float(M), dtype=torch.float64)))
    for _ in range(iters):
        joint = logp + log_w                                                     # (M, N)
        resp = (joint - torch.logsumexp(joint, dim=0, keepdim=True)).exp()       # (M, N) responsibilities
        log_w = resp.mean(dim=1, keepdim=True).clamp_min(1e-12).log()            # (M, 1)
    return log_w.exp().squeeze(1)


def mixture_nll(member_nll: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """Per-target NLL of the mixture, from each member's per-target NLL (M, N) and weights (M,)."""
    log_w = weights.double().log()[:, None]                                      # (M, 1)
    return -torch.logsumexp(-member_nll.double() + log_w, dim=0)                 # (N,)


def item_sums(nll: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """(N,) each item's NLL from the per-target NLL (targets,) of items with `lengths` targets each."""
    rows = torch.repeat_interleave(torch.arange(len(lengths)), lengths)            # (targets,) each one's item
    return torch.zeros(len(lengths), dtype=torch.float64).index_add_(0, rows, nll.double())


def directions(reverse: list[bool]) -> list[list[int]]:
    """The members of each reading direction that has any: left to right first."""
    return [g for g in ([i for i, r in enumerate(reverse) if r == d] for d in (False, True)) if g]


def fit_mixture(val_nll: list[torch.Tensor], reverse: list[bool], lengths: torch.Tensor,
                equal: bool = False, iters: int = 200) -> tuple[list[float], list[float] | None]:
    """The weights of a mixture of members, from each one's per-target NLL on val (read its own way;
    the items in one order, `lengths` targets each): the members' weights within each direction
    (each direction's sum to 1), and when both directions are there the two directions' weights,
    else None. equal: no fitting.

    One direction: EM on val's characters (`fit_weights`). Both: each direction's weights are
    started so, the two directions' on val's items, then all of them are fitted together by EM on
    the whole mixture's likelihood of val (the direction of each item and the member behind each
    of its characters are the hidden variables), which no iteration can lower."""
    groups = directions(reverse)
    w = [0.0] * len(val_nll)
    for g in groups:
        gw = torch.full((len(g),), 1.0 / len(g)) if equal else fit_weights(torch.stack([val_nll[i] for i in g]))
        for i, x in zip(g, gw.tolist()):
            w[i] = x
    if len(groups) == 1:
        return w, None
    if equal:
        return w, [0.5, 0.5]
    v = fit_weights(_direction_items(val_nll, reverse, lengths, w))                 # (2,)
    logp = [-torch.stack([val_nll[i] for i in g]).double() for g in groups]         # (M_d, targets) per direction
    log_w = [torch.tensor([w[i] for i in g], dtype=torch.float64).clamp_min(1e-12).log()[:, None] for g in groups]
    log_v = v.double().clamp_min(1e-12).log()[:, None]                             # (2, 1)
    for _ in range(iters):
        tok = [torch.logsumexp(lp + lw, dim=0) for lp, lw in zip(logp, log_w)]       # (targets,) per direction
        joint = torch.stack([item_sums(t, lengths) for t in tok]) + log_v          # (2, N)
        resp = (joint - torch.logsumexp(joint, dim=0, keepdim=True)).exp()         # (2, N) each item's direction
        log_v = resp.mean(dim=1, keepdim=True).clamp_min(1e-12).log()
        for d in range(2):
            r = resp[d].repeat_interleave(lengths)                                 # (targets,) its item's
            member = (logp[d] + log_w[d] - tok[d]).exp()                           # (M_d, targets) each char's member
            log_w[d] = ((member * r).sum(1, keepdim=True) / r.sum().clamp_min(1e-300)).clamp_min(1e-12).log()
    for g, lw in zip(groups, log_w):
        for i, x in zip(g, lw.exp().squeeze(1).tolist()):
            w[i] = x
    return w, log_v.exp().squeeze(1).tolist()


def fit_product(logp: list[torch.Tensor], targets: list[torch.Tensor], reverse: list[bool], lengths: torch.Tensor,
                weights: list[float], direction_weights: list[float] | None, iters: int = 100
                ) -> tuple[list[float], list[float] | None]:
    """The exponents of a product mixture within each direction and, with both directions, the two
    directions' weights, by L-BFGS on the whole mixture's likelihood of held-out items: from each
    member's log-probabilities (targets, V) at every target of those items (read its own way;
    `targets` its true characters, `lengths` targets per item), started at `weights` and
    `direction_weights` (the linear mixture's fit). Returns them as fit_mixture does."""
    groups = directions(reverse)
    if len(groups) > 1 and direction_weights is None:
        raise UsageError("members of both directions need the two directions' weights to start from")
    lp = [torch.stack([logp[i] for i in g]).double() for g in groups]               # (M_d, targets, V) per direction
    ys = [targets[g[0]].long()[:, None] for g in groups]                            # (targets, 1) per direction
    a = torch.tensor(weights, dtype=torch.float64, requires_grad=True)              # (M,) exponents
    log_v = torch.tensor(direction_weights or [1.0], dtype=torch.float64).clamp_min(1e-12).log().requires_grad_()
    n = lengths.sum().double()

    def loss():
        items = torch.stack([item_sums(-F.log_softmax((x * a[g].view(-1, 1, 1)).sum(0), dim=-1).gather(1, y)[:, 0], lengths)
                             for x, g, y in zip(lp, groups, ys)])                     # (D, N) each direction's NLL
        return -torch.logsumexp(log_v.log_softmax(0)[:, None] - items, dim=0).sum() / n

    opt = torch.optim.LBFGS([a, log_v], lr=1, max_iter=iters, tolerance_change=1e-10, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        value = loss()
        value.backward()
        return value
    opt.step(closure)
    v = log_v.detach().softmax(0).tolist()
    return a.detach().tolist(), v if len(groups) > 1 else None


def _direction_items(nll, reverse, lengths, weights) -> torch.Tensor:
    """(directions, N) each direction's mixture's NLL of each item."""
    return torch.stack([item_sums(mixture_nll(torch.stack([nll[i] for i in g]), torch.tensor([weights[i] for i in g])), lengths)
                        for g in directions(reverse)])


def mixture_loss(nll: list[torch.Tensor], reverse: list[bool], lengths: torch.Tensor, weights: list[float],
                 direction_weights: list[float] | None) -> tuple[float, list[float] | None]:
    """The mixture's mean NLL per target over a split (the one metric), from each member's per-target
    NLL there, and with both directions each direction's own (else None)."""
    items = _direction_items(nll, reverse, lengths, weights)                       # (D, N)
    targets = int(lengths.sum())
    if direction_weights is None:
        return items[0].sum().item() / targets, None
    mixed = mixture_nll(items, torch.tensor(direction_weights))
    return mixed.sum().item() / targets, (items.sum(1) / targets).tolist()


def build_mixture(models: list[nn.Module], reverse: list[bool], weights: list[float],
                  direction_weights: list[float] | None, product: bool = False) -> nn.Module:
    """An Ensemble of one direction's members, or the TwoWay mixture of both directions' Ensembles
    (linear mixtures of the members' distributions, or with `product` products of them)."""
    parts = [Ensemble([models[i] for i in g], [weights[i] for i in g], product) for g in directions(reverse)]
    return parts[0] if direction_weights is None else TwoWay(*parts, direction_weights)
