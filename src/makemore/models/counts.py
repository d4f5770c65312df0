"""Count models: the bigram table of the first lecture and its n-gram generalisation.

They are fitted by counting, not by gradient descent, but answer `forward` with log-probabilities
as logits, so evaluation and sampling treat them like every other model.

Smoothing: add-k (Laplace/Lidstone), and interpolated Kneser-Ney (Kneser & Ney 1995, in the
interpolated form of Chen & Goodman 1998) for the n-gram: lower orders use continuation counts
(how many distinct characters precede a sequence) and the lowest order falls back to uniform.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from ..errors import UsageError
from .base import WindowModel, option

FIT_ROWS = 2 ** 22          # examples counted at a time (bounds the int64 pairs of a bigram fit)


class _CountModel(WindowModel):
    """Count tables are buffers whose sizes are only known after fitting: loading resizes them."""

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        for name in self._buffers:
            if prefix + name in state_dict:
                self._buffers[name] = torch.empty_like(state_dict[prefix + name])
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)


@dataclass
class BigramConfig:
    vocab_size: int = 0
    seq_len: int = 0
    smoothing: float = option(1.0, "add-k smoothing: pseudo-count added to every cell (the lecture's N + 1)")


class Bigram(_CountModel):
    """P(next | previous) = (N[prev, next] + k) / (N[prev].sum() + k V)."""
    Config = BigramConfig
    block_size = 1

    def __init__(self, config: BigramConfig):
        super().__init__()
        if not 0 <= config.smoothing < float("inf"):
            raise UsageError(f"--smoothing must be >= 0, got {config.smoothing}")
        self.config = config
        V = config.vocab_size
        self.register_buffer("counts", torch.zeros(V, V))     # (V, V) N[prev, next]
        self.register_buffer("logp", torch.full((V, V), -math.log(V)))  # (V, V) log P[prev, next]

    @torch.no_grad()
    def fit(self, ctx, targets):
        """Count the (previous, next) pairs of the examples: ctx (N, 1), targets (N,)."""
        V = self.config.vocab_size
        counts = torch.zeros(V * V, dtype=torch.long)
        for a in range(0, len(targets), FIT_ROWS):                             # int64 pairs of a part at a time
            pairs = ctx[a:a + FIT_ROWS, -1].long() * V + targets[a:a + FIT_ROWS].long()   # (R,)
            counts += torch.bincount(pairs, minlength=V * V)
        counts = counts.view(V, V).double()                                    # (V, V)
        P = counts + self.config.smoothing
        P = P / P.sum(1, keepdim=True)                                         # (V, V) rows sum to 1
        self.counts = counts.float()
        self.logp = P.log().float()
        return self

    def probs(self) -> torch.Tensor:
        """The table P[prev, next] (V, V), each row summing to 1."""
        return self.logp.exp()

    def next_logits(self, ctx):
        return self.logp[ctx[:, -1]]                                           # (N, V)


@dataclass
class NGramConfig:
    vocab_size: int = 0
    seq_len: int = 0
    n: int = option(3, "n-gram order: predict from the previous n-1 characters")
    method: str = option("kneser-ney", "n-gram smoothing: kneser-ney or add-k")
    smoothing: float = option(1.0, "add-k smoothing: pseudo-count added to every cell")


class NGram(_CountModel):
    """Counts over the previous n-1 characters, stored sparsely: for each order k = 1..n the distinct
    contexts seen (sorted integer keys) and a dense (contexts, V) count table."""
    Config = NGramConfig
    METHODS = ("kneser-ney", "add-k")

    def __init__(self, config: NGramConfig):
        super().__init__()
        if config.n < 1:
            raise UsageError(f"--n must be at least 1, got {config.n}")
        if config.method not in self.METHODS:
            raise UsageError(f"--method must be one of {', '.join(self.METHODS)}, got {config.method!r}")
        if not 0 <= config.smoothing < float("inf"):
            raise UsageError(f"--smoothing must be >= 0, got {config.smoothing}")
        if (config.n - 1) * math.log2(max(config.vocab_size, 2)) >= 62:
            raise UsageError(f"--n {config.n} is too large for a vocabulary of {config.vocab_size}")
        self.config = config
        self.block_size = max(config.n - 1, 1)
        for k in self._orders():
            self.register_buffer(f"keys{k}", torch.zeros(0, dtype=torch.long))           # (K,) sorted
            self.register_buffer(f"counts{k}", torch.zeros(0, config.vocab_size))         # (K, V)
        self.register_buffer("discount", torch.zeros(config.n + 1))

    def _orders(self):
        return range(1, self.config.n + 1) if self.config.method == "kneser-ney" else [self.config.n]

    def _keys(self, ctx):
        """Integer key of each row of ctx (N, k-1): sum of c_i * V^i (k-1 = 0 gives key 0)."""
        weights = self.config.vocab_size ** torch.arange(ctx.size(1), device=ctx.device)  # (k-1,)
        return (ctx.long() * weights).sum(1)                                               # (N,)

    @torch.no_grad()
    def fit(self, ctx, targets):
        """Count n-grams of the examples: ctx (N, block_size), targets (N,)."""
        n, V = self.config.n, self.config.vocab_size
        grams = torch.cat([ctx.long(), targets.long()[:, None]], 1)[:, -n:]   # (N, n): context, next
        for k in self._orders():
            g = grams[:, n - k:]                                              # (N, k) the k-grams
            if k < n:  # Kneser-Ney lower order: count distinct left extensions, not occurrences
                g = torch.unique(grams[:, n - k - 1:], dim=0)[:, 1:]          # (M, k)
            keys, inv = torch.unique(self._keys(g[:, :-1]), return_inverse=True)
            table = torch.zeros(len(keys), V)                                 # (K, V)
            table.index_put_((inv, g[:, -1]), torch.ones(len(g)), accumulate=True)
            setattr(self, f"keys{k}", keys)
            setattr(self, f"counts{k}", table)
            n1, n2 = (table == 1).sum().item(), (table == 2).sum().item()
            self.discount[k] = n1 / (n1 + 2 * n2) if n1 + 2 * n2 > 0 else 0.5
        return self

    def _lookup(self, k, ctx):
        """Count rows for the last k-1 characters of each context: (N, V), zeros if unseen."""
        keys, table = getattr(self, f"keys{k}"), getattr(self, f"counts{k}")
        q = self._keys(ctx[:, ctx.size(1) - (k - 1):] if k > 1 else ctx[:, :0])  # (N,)
        if len(keys) == 0:
            return torch.zeros(len(q), self.config.vocab_size, device=ctx.device)
        pos = torch.searchsorted(keys, q).clamp(max=len(keys) - 1)          # (N,)
        found = keys[pos] == q                                              # (N,)
        return table[pos] * found[:, None]                                  # (N, V)

    def next_logits(self, ctx):
        V = self.config.vocab_size
        if self.config.method == "add-k":
            rows = self._lookup(self.config.n, ctx).double()                   # (N, V)
            p = (rows + self.config.smoothing) / (rows.sum(1, keepdim=True) + self.config.smoothing * V)
            return p.log().float()
        p = torch.full((ctx.size(0), V), 1.0 / V, dtype=torch.float64, device=ctx.device)  # (N, V)
        for k in self._orders():
            rows = self._lookup(k, ctx).double()                                 # (N, V)
            total = rows.sum(1, keepdim=True)                                    # (N, 1)
            types = (rows > 0).sum(1, keepdim=True)                              # (N, 1)
            D = self.discount[k].item()
            interp = ((rows - D).clamp(min=0) + D * types * p) / total.clamp(min=1)
            p = torch.where(total > 0, interp, p)                                # unseen context: back off
        return p.log().float()
