"""The deep MLP of the BatchNorm lecture ("building makemore" part 3), on the hand-written layers:
Bengio et al. (2003)'s MLP made deeper and trainable with Batch Normalization (Ioffe & Szegedy 2015)
and Kaiming initialization (He et al. 2015) with the tanh gain 5/3.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import UsageError
from .base import WindowModel, check_positive, option, tag_table, tagged_forward
from .layers import BatchNorm1d, Embedding, Flatten, Linear, Sequential, Tanh


@dataclass
class BNMLPConfig:
    vocab_size: int = 0
    seq_len: int = 0
    block_size: int = 3
    n_embd: int = 10
    n_hidden: int = 200
    n_layer: int = option(1, "number of layers (bnmlp: hidden Linear -> BatchNorm -> Tanh layers; the lecture's deep net: 5 of 100)")
    batchnorm: bool = option(True, "BatchNorm after each hidden Linear (off: Linear with bias -> Tanh, to watch "
                             "activations saturate or vanish)")
    gain: float = option(5 / 3, "init gain of the hidden Linears (Kaiming: 5/3 suits tanh)")
    n_tags: int = 0


class BNMLP(WindowModel):
    Config = BNMLPConfig

    def __init__(self, config: BNMLPConfig):
        super().__init__()
        check_positive(config, "block_size", "n_embd", "n_hidden", "n_layer")
        if not 0 < config.gain < float("inf"):
            raise UsageError(f"--gain must be > 0, got {config.gain}")
        self.config = config
        self.block_size = config.block_size
        layers = [Embedding(config.vocab_size, config.n_embd), Flatten()]
        fan_in = config.block_size * config.n_embd
        for _ in range(config.n_layer):
            layers.append(Linear(fan_in, config.n_hidden, bias=not config.batchnorm, gain=config.gain))
            if config.batchnorm:
                layers.append(BatchNorm1d(config.n_hidden))
            layers.append(Tanh())
            fan_in = config.n_hidden
        layers.append(Linear(fan_in, config.vocab_size, gain=0.1))   # start unsure: initial loss near -ln(1/V)
        self.net = Sequential(*layers)
        self.wtag = tag_table(config, config.n_embd)           # (n_tags, n_embd) or None

    def next_logits(self, ctx, tags=None):
        return tagged_forward(self.net, self.wtag, ctx, tags)   # (N, block_size) -> (N, V)
