"""The MLP language model of Bengio, Ducharme, Vincent & Jauvin (2003), "A Neural Probabilistic
Language Model": embed the last block_size characters, concatenate, one tanh hidden layer, logits.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch.nn as nn

from .base import WindowModel, check_positive, option


@dataclass
class MLPConfig:
    vocab_size: int = 0
    seq_len: int = 0
    block_size: int = option(3, "characters of context (window models)")
    n_embd: int = option(10, "embedding size (per character for window models)")
    n_hidden: int = option(200, "hidden layer width")


class MLP(WindowModel):
    Config = MLPConfig

    def __init__(self, config: MLPConfig):
        super().__init__()
        check_positive(config, "block_size", "n_embd", "n_hidden")
        self.config = config
        self.block_size = config.block_size
        self.wte = nn.Embedding(config.vocab_size, config.n_embd)                     # the lecture's C
        self.hidden = nn.Linear(config.block_size * config.n_embd, config.n_hidden)  # W1, b1
        self.act = nn.Tanh()
        self.out = nn.Linear(config.n_hidden, config.vocab_size)                     # W2, b2

    def next_logits(self, ctx):
        emb = self.wte(ctx)                        # (N, block_size, n_embd)
        x = emb.view(emb.size(0), -1)              # (N, block_size * n_embd)
        h = self.act(self.hidden(x))               # (N, n_hidden)
        return self.out(h)                         # (N, V)
