"""Causal bag-of-words: each position sees the plain average of everything before it (and itself),
then an MLP. The stepping stone from fixed windows to attention (as in Karpathy's makemore): attention
replaces the uniform average by learned, data-dependent weights.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn

from ..errors import UsageError
from .base import SequenceModel, check_positive, sequence_loss


@dataclass
class BoWConfig:
    vocab_size: int = 0
    seq_len: int = 0
    n_embd: int = 64        # token and position embedding size
    n_hidden: int = 256     # MLP width


class BoW(SequenceModel):
    Config = BoWConfig

    def __init__(self, config: BoWConfig):
        super().__init__()
        check_positive(config, "n_embd", "n_hidden")
        self.config = config
        C = config.n_embd
        self.wte = nn.Embedding(config.vocab_size, C)
        self.wpe = nn.Embedding(config.seq_len, C)
        self.mlp = nn.Sequential(nn.Linear(2 * C, config.n_hidden), nn.Tanh(), nn.Linear(config.n_hidden, C))
        self.ln = nn.LayerNorm(C)
        self.lm_head = nn.Linear(C, config.vocab_size)

    def _head(self, x, avg):
        h = x + self.mlp(torch.cat([x, avg], dim=-1))         # (..., C): the token and its context average
        return self.lm_head(self.ln(h))                        # (..., V)

    def forward(self, idx, targets=None):
        B, T = idx.shape
        x = self.wte(idx.long()) + self.wpe(torch.arange(T, device=idx.device))  # (B, T, C)
        counts = torch.arange(1, T + 1, device=idx.device, dtype=x.dtype)         # (T,)
        avg = x.cumsum(dim=1) / counts[None, :, None]                            # (B, T, C) causal mean
        logits = self._head(x, avg)                                               # (B, T, V)
        return logits, sequence_loss(logits, targets)

    def init_state(self, batch_size: int, device=None):
        return {"sum": torch.zeros(batch_size, self.config.n_embd, device=device), "t": 0}

    def step(self, tokens, state):
        t = state["t"]
        if t >= self.config.seq_len:
            raise UsageError(f"bow: position {t} is past the model's {self.config.seq_len} positions")
        x = self.wte(tokens.long()) + self.wpe.weight[t]       # (B, C)
        total = state["sum"] + x                               # (B, C) running sum
        return self._head(x, total / (t + 1)), {"sum": total, "t": t + 1}
