"""The neural bigram of the first lecture: one-hot(previous char) @ W, softmax.

Trained by full-batch gradient descent on its loss, NLL + reg * mean(W^2), it converges to the count
bigram: the network learns the log-counts, and `reg` plays the part of count smoothing.

Tagged items: one-hot(tag) is a second input of the same single layer, so the logits are
W[prev] + U[tag], U (n_tags, V): each tag shifts the log-odds of every next character.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..errors import UsageError
from .base import WindowModel, option, sequence_loss, tag_table


@dataclass
class NeuralBigramConfig:
    vocab_size: int = 0
    seq_len: int = 0
    reg: float = option(0.01, "weight of the mean(W^2) penalty added to the loss (the lecture's 0.01)")
    n_tags: int = 0


class NeuralBigram(WindowModel):
    Config = NeuralBigramConfig
    block_size = 1

    def __init__(self, config: NeuralBigramConfig):
        super().__init__()
        if not 0 <= config.reg < float("inf"):
            raise UsageError(f"--reg must be >= 0, got {config.reg}")
        self.config = config
        self.W = nn.Parameter(torch.randn(config.vocab_size, config.vocab_size))  # (V, V)
        self.U = tag_table(config, config.vocab_size)                              # (n_tags, V) or None

    def next_logits(self, ctx, tags=None):
        xenc = F.one_hot(ctx[:, -1], self.config.vocab_size).float()  # (N, V)
        logits = xenc @ self.W                                        # (N, V) @ (V, V) -> (N, V) log-counts
        return logits if tags is None else logits + self.U[tags.long()]   # (N, V)

    def loss_of(self, logits, targets):
        """The lecture's loss: the mean NLL plus reg * mean(W^2), which pulls every logit towards 0,
        i.e. the probabilities towards uniform, as adding counts does."""
        nll = sequence_loss(logits, targets)
        return None if nll is None else nll + self.config.reg * (self.W ** 2).mean()
