"""The MLP language model of Bengio, Ducharme, Vincent & Jauvin (2003), "A Neural Probabilistic
Language Model": embed the last block_size characters, concatenate, one tanh hidden layer, logits.

The options under "the activations lecture" rebuild each stage of "building makemore" part 3 on
this same net (presets part3-original ... part3-batchnorm, docs/lectures/): the lecture's
initialization, every tensor drawn from N(0, 1) in the order C, W1, b1, W2, b2 and then scaled; its
fixes, one option each; and a BatchNorm layer (Ioffe & Szegedy 2015) between W1 and the tanh.

Tagged items: a learned vector per tag, of the embedding's size, is added to every character's
embedding in the window (the same for all window models: bnmlp and wavenet do it too).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn

from ..errors import UsageError
from .base import WindowModel, check_positive, option, tag_table
from .layers import BatchNorm1d


@dataclass
class MLPConfig:
    vocab_size: int = 0
    seq_len: int = 0
    block_size: int = option(3, "characters of context (window models)")
    n_embd: int = option(10, "embedding size (per character for window models)")
    n_hidden: int = option(200, "hidden layer width")
    # the activations lecture (part 3): its initialization, its fixes and BatchNorm
    init: str = option("torch", "mlp: torch (torch.nn's initialization) or randn (the lectures': C, W1, b1, W2, b2 "
                       "drawn from N(0, 1) in that order, each times its --*-scale)")
    w1_scale: float = option(1.0, "mlp --init randn: scale of the hidden weights W1 (the lecture's fix: 0.2)")
    b1_scale: float = option(1.0, "mlp --init randn: scale of the hidden bias b1 (the lecture's fix: 0.01)")
    w2_scale: float = option(1.0, "mlp --init randn: scale of the output weights W2 (the lecture's fix: 0.01)")
    b2_scale: float = option(1.0, "mlp --init randn: scale of the output bias b2 (the lecture's fix: 0)")
    kaiming: bool = option(False, "mlp --init randn: W1 scaled by the tanh gain over sqrt(fan_in), (5/3) / sqrt(30) "
                           "for the lecture's net, instead of --w1-scale (He et al. 2015)")
    batchnorm: bool = option(False, "mlp: a BatchNorm layer between the hidden Linear and the tanh (b1 is then "
                             "dropped, as the lecture drops it)")
    n_tags: int = 0


class MLP(WindowModel):
    Config = MLPConfig

    def __init__(self, config: MLPConfig):
        super().__init__()
        check_positive(config, "block_size", "n_embd", "n_hidden")
        if config.init not in ("torch", "randn"):
            raise UsageError(f"--init must be torch or randn, got {config.init!r}")
        for k in ("w1_scale", "b1_scale", "w2_scale", "b2_scale"):
            if not 0 <= getattr(config, k) < float("inf"):
                raise UsageError(f"--{k.replace('_', '-')} must be a finite number >= 0, got {getattr(config, k)}")
        self.config = config
        self.block_size = config.block_size
        fan_in = config.block_size * config.n_embd
        rng = torch.get_rng_state()                                   # where the lecture's draws start
        self.wte = nn.Embedding(config.vocab_size, config.n_embd)                     # the lecture's C
        self.hidden = nn.Linear(fan_in, config.n_hidden, bias=not config.batchnorm)  # W1, b1
        self.norm = BatchNorm1d(config.n_hidden) if config.batchnorm else nn.Identity()
        self.act = nn.Tanh()
        self.out = nn.Linear(config.n_hidden, config.vocab_size)                     # W2, b2
        if config.init == "randn":
            torch.set_rng_state(rng)
            self.lecture_init(config, fan_in)
        self.wtag = tag_table(config, config.n_embd)                                 # (n_tags, n_embd) or None

    @torch.no_grad()
    def lecture_init(self, config: MLPConfig, fan_in: int):
        """The lecture's draws, from the random stream as it stood when the model was built: with
        torch.manual_seed(s) before, the same numbers as its `g = torch.Generator().manual_seed(s)`.
        W1 is drawn (fan_in, n_hidden) and W2 (n_hidden, V) as the lecture writes them; nn.Linear
        stores their transposes."""
        V, H = config.vocab_size, config.n_hidden
        self.wte.weight.copy_(torch.randn(V, config.n_embd))                                  # C (V, n_embd)
        w1_scale = (5 / 3) / fan_in ** 0.5 if config.kaiming else config.w1_scale
        self.hidden.weight.copy_((torch.randn(fan_in, H) * w1_scale).T)                        # W1 (fan_in, H)
        if self.hidden.bias is not None:
            self.hidden.bias.copy_(torch.randn(H) * config.b1_scale)                          # b1 (H,)
        self.out.weight.copy_((torch.randn(H, V) * config.w2_scale).T)                         # W2 (H, V)
        self.out.bias.copy_(torch.randn(V) * config.b2_scale)                                 # b2 (V,)

    def next_logits(self, ctx, tags=None):
        emb = self.wte(ctx)                        # (N, block_size, n_embd)
        if tags is not None:
            emb = emb + self.wtag[tags.long()][:, None]    # the tag's vector on every character of the window
        x = emb.reshape(emb.size(0), -1)              # (N, block_size * n_embd)
        h = self.act(self.norm(self.hidden(x)))    # (N, n_hidden)
        return self.out(h)                         # (N, V)
