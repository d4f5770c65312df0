"""An ensemble of trained runs: a linear mixture of their next-character distributions,

    p(c | context) = sum_i w_i p_i(c | context),

the classic way of combining language models (Jelinek & Mercer 1980 interpolate n-grams this way).
Members can be any models of the ladder trained on the same vocabulary: a Transformer, a WaveNet
and a Kneser-Ney n-gram make different mistakes, so the mixture beats each of them. The weights
are fitted on the validation split by EM (`fit_weights`), never on test.

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


class Ensemble(SequenceModel):

    def __init__(self, members: list[nn.Module], weights: list[float] | None = None):
        super().__init__()
        if not members:
            raise UsageError("an ensemble needs at least one member")
        self.members = nn.ModuleList(members)
        self.config = EnsembleConfig(members[0].config.vocab_size, members[0].config.seq_len)
        w = torch.full((len(members),), 1.0 / len(members)) if weights is None else torch.tensor(weights, dtype=torch.float32)
        if len(w) != len(members) or (w < 0).any() or w.sum() <= 0:
            raise UsageError(f"ensemble weights must be {len(members)} non-negative numbers, got {weights}")
        self.register_buffer("log_w", (w / w.sum()).log())                        # (M,)

    @property
    def weights(self) -> list[float]:
        return self.log_w.exp().tolist()

    def _mix(self, logits: list[torch.Tensor]) -> torch.Tensor:
        logp = torch.stack([F.log_softmax(lg.float(), dim=-1) for lg in logits])   # (M, ..., V)
        log_w = self.log_w.view(-1, *[1] * (logp.dim() - 1))                     # (M, 1, ..., 1)
        return torch.logsumexp(logp + log_w, dim=0)                              # (..., V)

    def forward(self, idx, targets=None):
        logits = self._mix([m(idx)[0] for m in self.members])                    # (B, T, V)
        return logits, sequence_loss(logits, targets)

    def init_state(self, batch_size: int, device=None):
        return [m.init_state(batch_size, device) for m in self.members]

    def step(self, tokens, state):
        outs = [m.step(tokens, s) for m, s in zip(self.members, state)]
        return self._mix([lg for lg, _ in outs]), [s for _, s in outs]            # (B, V)

    def select_rows(self, state, rows):
        return [m.select_rows(s, rows) for m, s in zip(self.members, state)]


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
