"""What every model shares: the loss convention and the window-model plumbing.

The model contract (DESIGN.md):
    forward(idx, targets=None) -> (logits, loss)   idx (B, T) -> logits (B, T, V), ignore_index=-1
    init_state(batch_size, device) -> state
    step(tokens, state) -> (logits, state)          tokens (B,) -> logits (B, V) for the next char
A model with `packable = True` (the Transformer) also trains on packed rows:
    forward(idx, targets, pos=, seg=)               several items per row; pos, seg (B, T) give each
                                                    token's position in its item and the item's id
Each model class names its config dataclass as `Config`; the config holds plain scalars and always
has `vocab_size` and `seq_len` (= longest item + 1), both taken from the data.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..data import context_windows


def check_positive(config, *names) -> None:
    """Sizes must be at least 1: a clear error naming the command-line option otherwise."""
    for k in names:
        if getattr(config, k) < 1:
            raise ValueError(f"--{k.replace('_', '-')} must be at least 1, got {getattr(config, k)}")


def sequence_loss(logits: torch.Tensor, targets: torch.Tensor | None) -> torch.Tensor | None:
    """Mean NLL over the positions that have a target (targets == -1 are skipped)."""
    if targets is None:
        return None
    V = logits.size(-1)
    return F.cross_entropy(logits.reshape(-1, V), targets.reshape(-1).long(), ignore_index=-1)


class WindowModel(nn.Module):
    """A model that predicts the next character from the last `block_size` characters only
    (bigram, n-gram, MLP, BatchNorm MLP, WaveNet). Subclasses write `next_logits`.

    They train on single next-character examples, as the lectures do (`windowed = True`):
    a batch is a (B, block_size) context and a (B,) target, and BatchNorm sees B examples.
    """
    windowed = True
    block_size: int

    def next_logits(self, ctx: torch.Tensor) -> torch.Tensor:
        """(N, block_size) context -> (N, V) logits for the next character."""
        raise NotImplementedError

    def loss(self, ctx: torch.Tensor, targets: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The training loss on a batch of examples: ctx (B, block_size), targets (B,)."""
        logits = self.next_logits(ctx.long())                                  # (B, V)
        return logits, F.cross_entropy(logits, targets.long())

    def forward(self, idx, targets=None):
        B, T = idx.shape
        ctx = context_windows(idx.long(), self.block_size)                     # (B, T, block_size)
        logits = self.next_logits(ctx.reshape(B * T, self.block_size))          # (B*T, V)
        logits = logits.view(B, T, -1)                                         # (B, T, V)
        return logits, sequence_loss(logits, targets)

    def init_state(self, batch_size: int, device=None):
        # the window before the first token: all boundary, like the lectures' [0] * block_size
        return torch.zeros(batch_size, self.block_size, dtype=torch.long, device=device)

    def step(self, tokens, state):
        state = torch.cat([state[:, 1:], tokens.long()[:, None]], dim=1)       # (B, block_size)
        return self.next_logits(state), state
