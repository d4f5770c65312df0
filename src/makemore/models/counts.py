"""Count models: the bigram table of the first lecture and its n-gram generalisation.

They are fitted by counting, not by gradient descent, but answer `forward` with log-probabilities
as logits, so evaluation and sampling treat them like every other model.

Smoothing: add-k (Laplace/Lidstone), and interpolated Kneser-Ney (Kneser & Ney 1995, in the
interpolated form of Chen & Goodman 1998) for the n-gram: lower orders use continuation counts
(how many distinct characters precede a sequence) and the lowest order falls back to uniform.

Tags (tagged items): the bigram keeps a table per tag, smoothed towards the pooled one,
P_T(next | prev) = (N_T[prev, next] + b P(next | prev)) / (N_T[prev] + b) with b = --tag-prior; the
n-gram takes the tag as one more symbol of context, the farthest one, so its highest order counts
(tag, n-1 characters) and Kneser-Ney backs off from it to the pooled n-gram below.
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
    tag_prior: float = option(10.0, "bigram, tagged items: pseudo-counts of the pooled table in each tag's table")
    n_tags: int = 0


class Bigram(_CountModel):
    """P(next | previous) = (N[prev, next] + k) / (N[prev].sum() + k V)."""
    Config = BigramConfig
    block_size = 1

    def __init__(self, config: BigramConfig):
        super().__init__()
        if not 0 <= config.smoothing < float("inf"):
            raise UsageError(f"--smoothing must be >= 0, got {config.smoothing}")
        if not 0 < config.tag_prior < float("inf"):
            raise UsageError(f"--tag-prior must be > 0, got {config.tag_prior}")
        self.config = config
        V, K = config.vocab_size, config.n_tags
        self.register_buffer("counts", torch.zeros(V, V))     # (V, V) N[prev, next]
        self.register_buffer("logp", torch.full((V, V), -math.log(V)))  # (V, V) log P[prev, next]
        if K:
            self.register_buffer("tag_logp", torch.full((K, V, V), -math.log(V)))  # (K, V, V) log P_T[prev, next]

    @staticmethod
    def count(ctx, targets, V: int, groups=None, n_groups: int = 1) -> torch.Tensor:
        """(n_groups, V, V) counts of the (previous, next) pairs, per group (a tag) if given."""
        counts = torch.zeros(n_groups * V * V, dtype=torch.long)
        for a in range(0, len(targets), FIT_ROWS):                             # int64 pairs of a part at a time
            pairs = ctx[a:a + FIT_ROWS, -1].long() * V + targets[a:a + FIT_ROWS].long()   # (R,)
            if groups is not None:
                pairs += groups[a:a + FIT_ROWS].long() * V * V
            counts += torch.bincount(pairs, minlength=n_groups * V * V)
        return counts.view(n_groups, V, V).double()

    @torch.no_grad()
    def fit(self, ctx, targets, tags=None):
        """Count the (previous, next) pairs of the examples: ctx (N, 1), targets (N,) (tags (N,))."""
        V, K = self.config.vocab_size, self.config.n_tags
        counts = self.count(ctx, targets, V)[0]                                # (V, V)
        P = counts + self.config.smoothing
        P = P / P.sum(1, keepdim=True)                                         # (V, V) rows sum to 1
        self.counts = counts.float()
        self.logp = P.log().float()
        if K:
            per_tag = self.count(ctx, targets, V, tags, K)                     # (K, V, V)
            b = self.config.tag_prior
            P_T = (per_tag + b * P) / (per_tag.sum(2, keepdim=True) + b)       # (K, V, V) towards the pooled rows
            self.tag_logp = P_T.log().float()
        return self

    def probs(self) -> torch.Tensor:
        """The table P[prev, next] (V, V), each row summing to 1."""
        return self.logp.exp()

    def next_logits(self, ctx, tags=None):
        if tags is not None:
            return self.tag_logp[tags.long(), ctx[:, -1]]                      # (N, V)
        return self.logp[ctx[:, -1]]                                           # (N, V)


@dataclass
class NGramConfig:
    vocab_size: int = 0
    seq_len: int = 0
    n: int = option(3, "n-gram order: predict from the previous n-1 characters")
    method: str = option("kneser-ney", "n-gram smoothing: kneser-ney or add-k")
    smoothing: float = option(1.0, "add-k smoothing: pseudo-count added to every cell")
    n_tags: int = 0


class NGram(_CountModel):
    """Counts over the previous n-1 characters, stored sparsely: for each level of context (the
    last k characters, k = 0..n-1; for tagged items also the tag alone and the tag with all n-1)
    the distinct contexts seen (sorted integer keys) and a dense (contexts, V) count table."""
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
        self.radix = max(config.vocab_size, config.n_tags)       # of the keys: a character or a tag
        self.width = config.n - 1 + (1 if config.n_tags else 0)   # the context read: the tag, then n-1 characters
        if self.width * math.log2(max(self.radix, 2)) >= 62:
            raise UsageError(f"--n {config.n} is too large for a vocabulary of {config.vocab_size}")
        self.config = config
        self.block_size = max(config.n - 1, 1)
        chain = self._levels()                                    # level k (from 1) keeps keys{k} and counts{k}
        self.levels = [(k, cols, ext) for k, (cols, ext) in enumerate(chain, 1)]
        if config.method == "add-k":
            self.levels = self.levels[-1:]                        # the top level alone
        for k, _, _ in self.levels:
            self.register_buffer(f"keys{k}", torch.zeros(0, dtype=torch.long))           # (K,) sorted
            self.register_buffer(f"counts{k}", torch.zeros(0, config.vocab_size))         # (K, V)
        self.register_buffer("discount", torch.zeros(len(chain) + 1))

    def _levels(self) -> list[tuple[tuple[int, ...], int | None]]:
        """The levels of context, lowest first: (the columns of the context they read, the column
        whose distinct values their Kneser-Ney continuation counts count, or None for plain counts).
        Untagged: the last k characters, k = 0..n-1, each a suffix of the next (the classic chain).
        Tagged (the tag in column 0): the same, with the tag's own level between the empty context
        and the last character (a tag's unigram, so rare characters of one tag's script back off
        within its items) and the tag with all n-1 characters on top."""
        n, t = self.config.n, 1 if self.config.n_tags else 0
        last = self.width - 1                                    # the column of the last character
        chars = [(tuple(range(self.width - k, self.width)), self.width - k - 1 if k < n - 1 else None)
                 for k in range(n)]                              # the last k characters; ext: the one before
        if t:
            chars[-1] = (chars[-1][0], 0)                        # below the top: continuation over the tags
            chars.insert(1, ((0,), last if n > 1 else None))     # the tag alone
            chars.append((tuple(range(self.width)), None))       # the top: the tag and every character
        return chars

    def _keys(self, ctx):
        """Integer key of each row of ctx (N, k): sum of c_i * R^i (k = 0 gives key 0), R the
        vocabulary size (or the number of tags, if larger)."""
        weights = self.radix ** torch.arange(ctx.size(1), device=ctx.device)                # (k,)
        return (ctx.long() * weights).sum(1)                                               # (N,)

    def _context(self, ctx, tags):
        """The context the levels read (N, width): the tag if tagged, then the last n-1 characters."""
        chars = ctx[:, ctx.size(1) - (self.config.n - 1):] if self.config.n > 1 else ctx[:, :0]
        return chars.long() if tags is None else torch.cat([tags.long()[:, None], chars.long()], 1)

    @torch.no_grad()
    def fit(self, ctx, targets, tags=None):
        """Count n-grams of the examples: ctx (N, block_size), targets (N,) (tags (N,))."""
        V = self.config.vocab_size
        grams = torch.cat([self._context(ctx, tags), targets.long()[:, None]], 1)   # (N, width + 1): context, next
        for k, cols, ext in self.levels:
            if ext is None or self.config.method == "add-k":                                                   # occurrences
                g = grams[:, list(cols) + [-1]]                               # (N, |cols| + 1)
            else:  # Kneser-Ney lower level: count distinct extensions (left characters, or tags), not occurrences
                g = torch.unique(grams[:, [ext] + list(cols) + [-1]], dim=0)[:, 1:]   # (M, |cols| + 1)
            keys, inv = torch.unique(self._keys(g[:, :-1]), return_inverse=True)
            table = torch.zeros(len(keys), V)                                 # (K, V)
            table.index_put_((inv, g[:, -1]), torch.ones(len(g)), accumulate=True)
            setattr(self, f"keys{k}", keys)
            setattr(self, f"counts{k}", table)
            n1, n2 = (table == 1).sum().item(), (table == 2).sum().item()
            self.discount[k] = n1 / (n1 + 2 * n2) if n1 + 2 * n2 > 0 else 0.5
        return self

    def _lookup(self, k, ctx):
        """Count rows of level k for each context (N, width): (N, V), zeros if unseen."""
        keys, table = getattr(self, f"keys{k}"), getattr(self, f"counts{k}")
        cols = next(c for j, c, _ in self.levels if j == k)
        q = self._keys(ctx[:, list(cols)])                                  # (N,)
        if len(keys) == 0:
            return torch.zeros(len(q), self.config.vocab_size, device=ctx.device)
        pos = torch.searchsorted(keys, q).clamp(max=len(keys) - 1)          # (N,)
        found = keys[pos] == q                                              # (N,)
        return table[pos] * found[:, None]                                  # (N, V)

    def next_logits(self, ctx, tags=None):
        V = self.config.vocab_size
        ctx = self._context(ctx, tags)                                         # (N, width)
        if self.config.method == "add-k":
            rows = self._lookup(self.levels[-1][0], ctx).double()              # (N, V)
            p = (rows + self.config.smoothing) / (rows.sum(1, keepdim=True) + self.config.smoothing * V)
            return p.log().float()
        p = torch.full((ctx.size(0), V), 1.0 / V, dtype=torch.float64, device=ctx.device)  # (N, V)
        for k, _, _ in self.levels:
            rows = self._lookup(k, ctx).double()                                 # (N, V)
            total = rows.sum(1, keepdim=True)                                    # (N, 1)
            types = (rows > 0).sum(1, keepdim=True)                              # (N, 1)
            D = self.discount[k].item()
            interp = ((rows - D).clamp(min=0) + D * types * p) / total.clamp(min=1)
            p = torch.where(total > 0, interp, p)                                # unseen context: back off
        return p.log().float()
