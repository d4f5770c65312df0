"""Batches for the training loop, indexed from the pre-encoded split: no per-item Python work per step.

Plain random batches, length buckets (sequence models) and packed rows (the Transformer), all
drawn from one seeded generator whose state is saved with each checkpoint, so a resumed run draws
exactly the batches an uninterrupted one would.
"""

from __future__ import annotations

import hashlib
import json

import numpy as np
import torch

from .data import Split
from .errors import RunError, UsageError, first_line


class Batches:
    """Random batches indexed from the pre-encoded split: no per-item Python work per step.
    Window models get (B, block_size) contexts and (B,) targets; sequence models (B, T) rows,
    cut to the longest item drawn (T known on the host, so no device sync): the padding past
    it has no targets, and a causal model's logits before it do not depend on it.

    bucket > 1 (sequence models): draw bucket * B items at once, sort them by length, cut them
    into `bucket` batches and serve those in random order. Every item is still drawn uniformly,
    but a batch holds items of about one length, so little is computed on padding: names are
    7.1 targets long on average, while the longest of 32 random ones is 11.

    pack (models with `packable = True`, the Transformer): the same random items, laid end to end
    in fewer, shared rows (`pack_rows`), with each token's position in its own item and the item
    it belongs to, so attention stays within an item. The loss is the plain batch's loss; a batch
    of 32 names computes on about 250 positions instead of 340.

    soft (distillation, sequence models): a SoftTargets over the same rows; each batch then also
    carries extra["soft"] (B, T, V), the target distributions of its positions, indexed with the
    same rows (and packed the same way).

    sample() returns (x, y, extra): extra holds the packed batch's `pos` and `seg` for the model's
    loss, the soft targets, and the rows' `tags` (tagged items; packed rows: each token's), and is
    empty otherwise. What a row is comes from the model (`model.examples`, the training
    contract): one next-character example (lengths None) or a whole item.
    """

    def __init__(self, split: Split, model, device, generator: torch.Generator, bucket: int = 0,
                 pack: bool = False, soft: SoftTargets | None = None):
        self.check(model, bucket, pack)
        x, y, self.lengths = model.examples(split)          # lengths: (N,) targets per row, on the host
        self.x, self.y = x.to(device), y.to(device)
        tags = model.example_tags(split)                     # (N,) each row's tag, or None
        self.tags = None if tags is None else tags.to(device)
        self.soft = None
        if soft is not None:
            if self.lengths is None:
                raise UsageError(f"--soft-targets: distillation trains sequence models (rnn, gru, lstm, bow, "
                                 f"transformer), not {type(model).__name__}")
            self.soft = soft.to(device)
        self.generator = generator
        self.tokens_per_row = split.n_targets / len(x)       # 1 for single next-character examples
        self.bucket = bucket if self.lengths is not None and bucket > 1 else 0
        self.pack = pack
        self.row_len = x.size(1)                 # packed rows: at most the model's positions
        if pack:                                 # the split flat, then one pad slot (x 0, y -1)
            self.flat_x = torch.cat([self.x.flatten(), self.x.new_zeros(1)])
            self.flat_y = torch.cat([self.y.flatten(), self.y.new_full((1,), -1)])
            if self.soft is not None:
                V = self.soft.probs.size(-1)
                self.flat_soft = torch.cat([self.soft.probs.view(-1, V), self.soft.probs.new_zeros(1, V)])
        self.pool: list[torch.Tensor] = []       # the current pool's batches not yet served
        self.pool_start = None                   # generator state the current pool was drawn from
        self.skip = 0                            # on resume: batches of the first pool already served

    @staticmethod
    def check(model, bucket: int, pack: bool):
        """The batch options this model can take (a clear error before anything is saved)."""
        if pack and not model.packable:
            raise UsageError(f"--pack applies to models that attend within packed rows (transformer), "
                             f"not {type(model).__name__}; pass --no-pack")
        if pack and bucket > 1:
            raise UsageError("--pack and --bucket are two ways to cut padding; pass --no-pack to use --bucket")

    def _indices(self, batch_size: int) -> torch.Tensor:
        if not self.bucket:
            return torch.randint(len(self.x), (batch_size,), generator=self.generator)  # (B,)
        if not self.pool:
            self.pool_start = self.generator.get_state()
            ix = torch.randint(len(self.x), (self.bucket * batch_size,), generator=self.generator)
            ix = ix[torch.argsort(self.lengths[ix], stable=True)].view(self.bucket, batch_size)  # (K, B) by length
            self.pool = list(ix[torch.randperm(self.bucket, generator=self.generator)].unbind(0))[self.skip:]
            self.skip = 0
        return self.pool.pop(0)

    def sample(self, batch_size: int):
        if batch_size == 0:                                                  # full batch
            extra = {} if self.soft is None else {"soft": self.soft.mix(self.soft.probs, self.y.long())}
            return self.x.long(), self.y.long(), self._tags(extra, slice(None))
        ix = self._indices(batch_size)                                       # (B,)
        if self.lengths is None:
            ix = ix.to(self.x.device)
            return self.x[ix].long(), self.y[ix].long(), self._tags({}, ix)  # (B, block_size), (B,)
        n = self.lengths[ix]                                                 # (B,) tokens per item, on the host
        T = max(1, int(n.max()))
        if self.pack:
            return self._packed(ix, n, min(self.row_len, 2 * T))
        ix = ix.to(self.x.device)
        x, y = self.x[ix, :T].long(), self.y[ix, :T].long()                 # (B, T)
        if self.soft is None:
            return x, y, self._tags({}, ix)
        return x, y, self._tags({"soft": self.soft.mix(self.soft.probs[ix, :T], y)}, ix)  # (B, T, V)

    def _tags(self, extra: dict, ix) -> dict:
        """extra with the rows' tags (B,), when the items are tagged."""
        if self.tags is not None:
            extra["tags"] = self.tags[ix]
        return extra

    def _packed(self, ix: torch.Tensor, n: torch.Tensor, L: int):
        """The items ix, n[i] tokens each, packed into (R, L) rows. Padding: x 0, y -1, seg -1.
        The indices are worked out on the host; two gathers then fill the rows on the device."""
        n = n.numpy()                                                        # (B,) every item has its end target
        row, offset, R = pack_rows(n.tolist(), L)
        item = np.repeat(np.arange(len(n)), n)                               # (N,) the item of each token
        t = np.arange(len(item)) - np.repeat(np.cumsum(n) - n, n)             # (N,) its position in its item
        dest = np.repeat(np.asarray(row) * L + np.asarray(offset), n) + t   # (N,) where it goes in the rows
        src = np.full(R * L, self.x.numel())                                 # padding reads the pad slot
        src[dest] = ix.numpy()[item] * self.row_len + t                      # (R*L,) flat index into the split
        pos, seg = np.zeros(R * L, dtype=np.int64), np.full(R * L, -1)
        pos[dest], seg[dest] = t, item
        src = torch.from_numpy(src).to(self.x.device)
        x, y = self.flat_x[src].long().view(R, L), self.flat_y[src].long().view(R, L)   # (R, L)
        extra = {"pos": torch.from_numpy(pos).view(R, L), "seg": torch.from_numpy(seg).view(R, L)}
        extra = {k: v.to(self.x.device) for k, v in extra.items()}
        if self.tags is not None:                                            # each token's item's tag
            token_tags = torch.cat([self.tags[ix.to(self.x.device)], self.tags.new_zeros(1)])   # (B + 1,) the pad: 0
            extra["tags"] = token_tags[extra["seg"].where(extra["seg"] >= 0, len(ix))]         # (R, L)
        if self.soft is not None:
            extra["soft"] = self.soft.mix(self.flat_soft[src].view(R, L, -1), y)          # (R, L, V)
        return x, y, extra

    def weigh(self, loss: torch.Tensor, y: torch.Tensor, batch_size: int) -> torch.Tensor:
        """The loss to train on. Bucketed batches: the batch's mean loss turned into its summed loss
        over the targets a random batch holds on average. A batch of short items has few targets,
        and its mean would count each of them more; scaled, every target weighs the same, as in
        the token-weighted metric. Stays on the device (no sync). Plain batches: the mean as is."""
        if not self.bucket:
            return loss
        return loss * (y != -1).sum() / (batch_size * self.tokens_per_row)

    def state_dict(self) -> dict:
        """Where the batch stream stands, to resume it exactly: the generator as the current
        pool was drawn, and how many of its batches were served."""
        if self.pool:
            return {"generator": self.pool_start, "pool_served": torch.tensor(self.bucket - len(self.pool))}
        return {"generator": self.generator.get_state(), "pool_served": torch.tensor(0)}

    def load_state_dict(self, state: dict):
        self.generator.set_state(state["generator"])
        self.pool, self.skip = [], int(state.get("pool_served", 0))


def split_digest(split: Split) -> str:
    """SHA-256 of a split's encoded rows: soft targets belong to the rows they were computed on."""
    h = hashlib.sha256()
    for t in (split.X, split.Y):
        h.update(str(tuple(t.shape)).encode())
        h.update(t.contiguous().numpy().tobytes())
    return h.hexdigest()


class SoftTargets:
    """A teacher's next-character distributions over every position of a split's rows, (N, T, V),
    kept as alpha * p^(1/temperature) (renormalized), to be mixed with the true characters:
    target = (1 - alpha) * one_hot(y) + alpha * p. The cross-entropy against it is
    (1 - alpha) * CE(true) + alpha * CE(teacher).

    On disk (`save`, `load`): a safetensors file with `probs` (N, T, V) in float16, the teacher's
    p at temperature 1, and in its metadata the digest of the rows and what the teacher was."""

    def __init__(self, probs: torch.Tensor, alpha: float):
        self.probs, self.alpha = probs, alpha              # (N, T, V) float32, alpha * p

    def to(self, device):
        return SoftTargets(self.probs.to(device), self.alpha)

    def mix(self, probs: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """(B, T, V) alpha * p of the batch's positions -> the mixed targets, the true character's
        share added where y is a target (positions without one keep p; the loss skips them)."""
        return probs.scatter_add(-1, y.clamp(min=0)[..., None],
                                 torch.full(y.shape + (1,), 1 - self.alpha, device=probs.device) * (y != -1)[..., None])

    @staticmethod
    def save(path, probs: torch.Tensor, split: Split, about: dict) -> None:
        """Write the teacher's (N, T, V) distributions over `split` (float16), with `about` (the
        teacher: JSON-able) in the metadata."""
        from safetensors.torch import save_file
        if probs.shape[:2] != split.X.shape:
            raise ValueError(f"soft targets of shape {tuple(probs.shape)} for rows {tuple(split.X.shape)}")
        save_file({"probs": probs.to(torch.float16).contiguous()}, str(path),
                  metadata={"rows": split_digest(split), "about": json.dumps(about)})

    @staticmethod
    def read(path) -> tuple[torch.Tensor, dict]:
        """(probs (N, T, V) float16, metadata) of a soft-targets file; a one-line RunError if it is not one."""
        from safetensors import safe_open
        try:
            with safe_open(str(path), framework="pt") as f:
                return f.get_tensor("probs"), f.metadata() or {}
        except Exception as e:
            raise RunError(f"--soft-targets {path}: not a soft-targets file of makemore distill "
                           f"({first_line(e, 120)})") from None

    @classmethod
    def load(cls, path, split: Split, alpha: float, temperature: float = 1.0) -> SoftTargets:
        """The soft targets of `split` from `path`, checked to be of the same rows."""
        probs, meta = cls.read(path)
        if meta.get("rows") != split_digest(split) or probs.shape[:2] != split.X.shape or probs.dim() != 3:
            raise RunError(f"--soft-targets {path}: computed on other training rows than this run's "
                           "(another data file or split); compute them again with makemore distill")
        p = probs.float()                                                    # (N, T, V)
        if temperature != 1:
            p = p.pow(1 / temperature)
            p = p / p.sum(-1, keepdim=True).clamp(min=1e-30)
        return cls(alpha * p, alpha)


def pack_rows(lengths: list[int], L: int) -> tuple[list[int], list[int], int]:
    """Best-fit decreasing bin packing of items of these lengths into rows of L positions (every
    length <= L): longest item first, each into the row it fills most tightly. Returns each
    item's row and offset in it, and the number of rows. O(items * L)."""
    order = sorted(range(len(lengths)), key=lengths.__getitem__, reverse=True)
    free: list[list[int]] = [[] for _ in range(L + 1)]    # free[c]: rows with c positions left
    row, offset, n_rows = [0] * len(lengths), [0] * len(lengths), 0
    for i in order:
        n = lengths[i]
        c = next((c for c in range(n, L) if free[c]), L)  # the tightest row it fits in; L = a new one
        if c == L:
            r, n_rows = n_rows, n_rows + 1
        else:
            r = free[c].pop()
        row[i], offset[i] = r, L - c
        free[c - n].append(r)
    return row, offset, n_rows
