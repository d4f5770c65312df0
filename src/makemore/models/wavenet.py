"""The hierarchical model of the WaveNet lecture ("building makemore" part 5), after van den Oord
et al. (2016), "WaveNet: A Generative Model for Raw Audio": instead of squashing the whole context
into one layer, fuse neighbouring pairs of positions level by level (a dilated causal convolution
evaluated at one output position), with BatchNorm and tanh at each level.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import UsageError
from .base import WindowModel, check_positive, tag_table, tagged_forward
from .layers import BatchNorm1d, Embedding, FlattenConsecutive, Linear, Sequential, Tanh


@dataclass
class WaveNetConfig:
    vocab_size: int = 0
    seq_len: int = 0
    block_size: int = 8      # a power of two: log2 of it is the number of levels
    n_embd: int = 24
    n_hidden: int = 128      # width of each level
    gain: float = 5 / 3
    n_tags: int = 0


class WaveNet(WindowModel):
    Config = WaveNetConfig
    def __init__(self, config: WaveNetConfig):
        super().__init__()
        check_positive(config, "block_size", "n_embd", "n_hidden")
        if not 0 < config.gain < float("inf"):
            raise UsageError(f"--gain must be > 0, got {config.gain}")
        if config.block_size < 2 or config.block_size & (config.block_size - 1):
            raise UsageError(f"--block-size must be a power of two >= 2 for wavenet, got {config.block_size}")
        self.config = config
        self.block_size = config.block_size
        layers = [Embedding(config.vocab_size, config.n_embd)]
        width = config.n_embd
        for _ in range(config.block_size.bit_length() - 1):     # log2(block_size) levels
            layers += [FlattenConsecutive(2), Linear(2 * width, config.n_hidden, bias=False, gain=config.gain),
                       BatchNorm1d(config.n_hidden), Tanh()]
            width = config.n_hidden
        layers.append(Linear(width, config.vocab_size, gain=0.1))   # start unsure: initial loss near -ln(1/V)
        self.net = Sequential(*layers)
        self.wtag = tag_table(config, config.n_embd)           # (n_tags, n_embd) or None

    def next_logits(self, ctx, tags=None):
        # (N, 8) -> emb (N, 8, 24) -> (N, 4, 48) -> (N, 4, 128) -> (N, 2, 256) -> (N, 2, 128)
        #        -> (N, 256) -> (N, 128) -> (N, V); BatchNorm takes statistics over N and the positions
        return tagged_forward(self.net, self.wtag, ctx, tags)   # (N, block_size) -> (N, V)
