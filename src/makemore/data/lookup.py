"""Which part of the split an item is in (to mark a sample new, seen in training, or held out),
found without a Python string per item: each encoded row is hashed to 64 bits once, the hashes
are sorted, and a match is confirmed against the row itself, so the answer is exact. Ten million
items take 16 bytes each (their strings would take ten times that)."""

from __future__ import annotations

import numpy as np

from .encoding import encode_words
from .reading import ROWS
from .split import SPLITS, Dataset

BASE = 0x100000001B3            # the hash's multiplier (odd: every token id moves the hash)


def row_hashes(X: np.ndarray) -> np.ndarray:
    """(N, W) token ids -> (N,) uint64: sum of x[j] * BASE**j (mod 2**64). The padding (0) adds
    nothing, so an item hashes alike however wide its row."""
    powers = np.array([pow(BASE, j, 2 ** 64) for j in range(X.shape[1])], dtype=np.uint64)
    out = np.empty(len(X), dtype=np.uint64)
    for a in range(0, len(X), ROWS):
        out[a:a + ROWS] = (X[a:a + ROWS].astype(np.uint64) * powers).sum(1, dtype=np.uint64)
    return out


class ItemIndex:
    """The split's items, by hash: `where(items)` names the part each item is in (or None)."""

    def __init__(self, data: Dataset):
        self.data = data
        parts = [data.split(s).X.numpy() for s in SPLITS]
        self.starts = np.cumsum([0] + [len(X) for X in parts])       # part k holds rows starts[k]..starts[k+1]
        keys = np.concatenate([row_hashes(X) for X in parts])        # (N,) every row of every part
        self.order = np.argsort(keys, kind="stable")                 # (N,) rows by hash
        self.keys = keys[self.order]                                 # (N,) sorted

    def where(self, items: list[str]) -> list[str | None]:
        """For each item, the part of the split holding it ("train", "val", "test"), else None."""
        found: list[str | None] = [None] * len(items)
        vocab, max_len = self.data.vocab, self.data.max_len
        known = [i for i, w in enumerate(items) if vocab.length(w) <= max_len and not vocab.unknown_chars([w])]
        if not known:
            return found
        X = encode_words([items[i] for i in known], vocab, max_len)[0].numpy()     # (K, max_len + 1)
        hashes = row_hashes(X)
        lo, hi = np.searchsorted(self.keys, hashes, "left"), np.searchsorted(self.keys, hashes, "right")
        for i, x, a, b in zip(known, X, lo, hi):
            for row in self.order[a:b]:                              # the rows with this hash: one, nearly always
                k = int(np.searchsorted(self.starts, row, "right")) - 1
                if np.array_equal(self.data.split(SPLITS[k]).X[row - self.starts[k]].numpy(), x):
                    found[i] = SPLITS[k]
                    break
        return found
