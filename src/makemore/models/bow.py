"""Causal bag-of-words: each position sees the plain average of everything before it (and itself),
then an MLP. The stepping stone from fixed windows to attention (as in Karpathy's makemore): attention
replaces the uniform average by learned, data-dependent weights.

Tagged items: a learned vector per tag is added to every position's input (so to the average too).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn

from ..errors import UsageError
from .base import SequenceModel, check_positive, check_tags, per_position, sequence_loss, tag_table


@dataclass
class BoWConfig:
    vocab_size: int = 0
    seq_len: int = 0
    n_embd: int = 64        # token and position embedding size
    n_hidden: int = 256     # MLP width
    n_tags: int = 0


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
        self.wtag = tag_table(config, C)                      # (n_tags, C) or None

    def _head(self, x, avg):
        h = x + self.mlp(torch.cat([x, avg], dim=-1))         # (..., C): the token and its context average
        return self.lm_head(self.ln(h))                        # (..., V)

    def forward(self, idx, targets=None, tags=None):
        check_tags(self, tags)
        B, T = idx.shape
        x = self.wte(idx.long()) + self.wpe(torch.arange(T, device=idx.device))  # (B, T, C)
        if tags is not None:
            x = x + per_position(self.wtag, tags)                                 # (B, T, C)
        counts = torch.arange(1, T + 1, device=idx.device, dtype=x.dtype)         # (T,)
        avg = x.cumsum(dim=1) / counts[None, :, None]                            # (B, T, C) causal mean
        logits = self._head(x, avg)                                               # (B, T, V)
        return logits, sequence_loss(logits, targets)

    def init_state(self, batch_size: int, device=None, tags=None):
        check_tags(self, tags)
        state = {"sum": torch.zeros(batch_size, self.config.n_embd, device=device), "t": 0}
        if tags is not None:
            state["tag"] = self.wtag.to(device)[tags.long().to(device)]         # (B, C) added at every step
        return state

    def step(self, tokens, state):
        t = state["t"]
        if t >= self.config.seq_len:
            raise UsageError(f"bow: position {t} is past the model's {self.config.seq_len} positions")
        x = self.wte(tokens.long()) + self.wpe.weight[t]       # (B, C)
        if "tag" in state:
            x = x + state["tag"]
        total = state["sum"] + x                               # (B, C) running sum
        return self._head(x, total / (t + 1)), {**state, "sum": total, "t": t + 1}
