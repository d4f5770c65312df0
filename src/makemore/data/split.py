"""The split: the lectures' random.seed(42) shuffle cut 80/10/10, each part encoded (a Split),
and the three together with the vocabulary (a Dataset)."""

from __future__ import annotations

import array
import random
from dataclasses import dataclass

import numpy as np
import torch

from ..errors import DataError
from .encoding import BOUNDARY, Vocab, _table, context_windows, encode_rows
from .reading import ROWS, Items



def split_order(n: int, seed: int = 42) -> np.ndarray:
    """The lectures' shuffle of n items as indices: random.seed(seed); random.shuffle(words) puts
    words[order[k]] at k (the swaps it draws depend on the length alone)."""
    order = array.array("q", range(n))
    random.Random(seed).shuffle(order)
    return np.frombuffer(order, dtype=np.int64)


def split_bounds(n: int) -> tuple[int, int]:
    """The 80% / 10% / 10% cut points of n items."""
    return int(0.8 * n), int(0.9 * n)


def split_words(words: list[str], seed: int = 42) -> tuple[list[str], list[str], list[str]]:
    """The lectures' split: random.seed(seed); random.shuffle(words); 80% / 10% / 10%."""
    shuffled = [words[i] for i in split_order(len(words), seed)]
    n1, n2 = split_bounds(len(words))
    return shuffled[:n1], shuffled[n1:n2], shuffled[n2:]


class Split:
    """One encoded split. Sequence models read rows of X/Y; window models read single
    next-character examples (context (N, block), target (N,)) built once on first use.
    words: the items as strings, or None to decode them from X with `vocab` when first asked."""

    def __init__(self, words: list[str] | None, X: torch.Tensor, Y: torch.Tensor, vocab: "Vocab | None" = None,
                 lengths: torch.Tensor | None = None, tags: torch.Tensor | None = None):
        self._words, self.X, self.Y, self.vocab = words, X, Y, vocab
        self._examples, self._lengths = {}, lengths
        self.tags = tags                              # (N,) int64: each item's tag, or None (untagged)

    def __len__(self) -> int:
        return len(self.X)

    @property
    def words(self) -> list[str]:
        if self._words is None:
            lengths = self.lengths.numpy() - 1                              # characters per item
            inside = np.arange(self.X.size(1) - 1) < lengths[:, None]       # (N, L)
            tokens = self.X[:, 1:].numpy()[inside].astype(np.int64) - 1                # (total,) index into vocab.chars
            offsets = np.concatenate([[0], np.cumsum(lengths)])
            if self.vocab.unit == "char":
                self._words = Items(self.vocab.codepoints[tokens].astype(np.uint32), offsets).words()
            else:                                                                    # grapheme clusters
                self._words = Items(tokens, offsets, list(self.vocab.chars)).words()
        return self._words

    @property
    def lengths(self) -> torch.Tensor:
        """(N,) targets per row: the item's characters plus its end (counted once)."""
        if self._lengths is None:                     # numpy counts bytes far faster than torch sums bools
            self._lengths = torch.from_numpy(np.count_nonzero(self.Y.numpy() != -1, axis=1).astype(np.int64))
        return self._lengths

    @property
    def n_targets(self) -> int:
        return int(self.lengths.sum())

    def examples(self, block_size: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Every target's context window and the target: (n_targets, block_size), (n_targets,), in
        the rows' order; built ROWS rows at a time (a mask over the whole split would index it
        through int64 positions, 16 bytes per target)."""
        if block_size not in self._examples:
            ctx = torch.empty(self.n_targets, block_size, dtype=self.X.dtype)
            y = torch.empty(self.n_targets, dtype=self.Y.dtype)
            at = 0
            for a in range(0, len(self.X), ROWS):
                Y = self.Y[a:a + ROWS]
                mask = Y != -1                                       # (R, T)
                n = int(mask.sum())
                ctx[at:at + n] = context_windows(self.X[a:a + ROWS], block_size)[mask]
                y[at:at + n] = Y[mask]
                at += n
            self._examples[block_size] = (ctx, y)
        return self._examples[block_size]

    def example_tags(self) -> torch.Tensor | None:
        """The tag of every target (n_targets,), in the order of `examples`; None if untagged."""
        return None if self.tags is None else self.tags.repeat_interleave(self.lengths)

    def with_tags(self, tags: torch.Tensor | None) -> "Split":
        """The same rows with other tags (N,) (every item scored under one tag, say)."""
        return Split(self._words, self.X, self.Y, self.vocab, lengths=self.lengths, tags=tags)


def head_rows(split: Split, k: int) -> Split:
    """The split's first k items (all of them if it has fewer)."""
    if k >= len(split):
        return split
    words = None if split._words is None else split._words[:k]
    tags = None if split.tags is None else split.tags[:k]
    return Split(words, split.X[:k], split.Y[:k], split.vocab, lengths=split.lengths[:k], tags=tags)


def reverse_split(split: Split) -> Split:
    """The same items, each read right to left: X = [0, cn..c1, 0...], Y = [cn..c1, 0, -1...]. A
    model of these gives every item a probability of its own, as a left-to-right one does."""
    X, Y = torch.empty_like(split.X), torch.empty_like(split.Y)
    width = split.X.size(1)
    for a in range(0, len(X), ROWS):
        x, n = split.X[a:a + ROWS], split.lengths[a:a + ROWS, None] - 1            # (R, L+1), (R, 1) characters
        j = torch.arange(width)                                                     # (L+1,)
        src = torch.where((j >= 1) & (j <= n), n + 1 - j, j)                        # (R, L+1) mirrored inside the item
        X[a:a + ROWS] = x.gather(1, src)
        y = Y[a:a + ROWS]
        y[:, :-1], y[:, -1] = X[a:a + ROWS, 1:], BOUNDARY
        y[j > n] = -1                                                               # past each item's end
    words = None if split._words is None else [w[::-1] for w in split._words]
    return Split(words, X, Y, split.vocab, lengths=split.lengths, tags=split.tags)


SPLITS = ("train", "val", "test")     # the split's parts, in order


@dataclass
class Dataset:
    """A vocabulary and the three parts of the split (SPLITS), each encoded."""
    vocab: Vocab
    max_len: int          # longest item, in characters (sequences have max_len + 1 positions)
    train: Split
    val: Split
    test: Split
    tags: list[str] | None = None      # the tag names (sorted), when the items are tagged

    def split(self, name: str) -> Split:
        return {"train": self.train, "val": self.val, "test": self.test}[name]

    def reversed(self) -> "Dataset":
        """The same split with every item read right to left (`train --reverse`)."""
        return Dataset(self.vocab, self.max_len, *(reverse_split(s) for s in (self.train, self.val, self.test)), self.tags)


def build_dataset(words: list[str] | Items, split_seed: int = 42, vocab: Vocab | None = None,
                  max_len: int | None = None, tags: np.ndarray | None = None, tag_names: list[str] | None = None,
                  unit: str | None = None) -> Dataset:
    """Split and encode. Pass the vocab / max_len of a saved run to encode new data its way.
    Given Items (read_input's), the splits' words are decoded from X only when asked for.
    tags: each item's tag (N,) as an index into tag_names; the split shuffles (tag, item) lines.
    unit: "char" or "grapheme" (the tokens of a list of words; default: the vocab's, or char)."""
    if not isinstance(words, Items):
        if isinstance(words, str) or not all(isinstance(w, str) for w in words):
            raise TypeError("words must be a list of strings (items), e.g. ['emma', 'olivia']")
    if len(words) == 0:
        raise ValueError("words is empty: a dataset needs items")
    unit = unit or (vocab.unit if vocab is not None else "grapheme" if isinstance(words, Items) and words.units else "char")
    items = words if isinstance(words, Items) else Items.from_words(words, unit)
    chars = items.chars()
    vocab = vocab or Vocab(chars, unit)
    unknown = sorted(set(chars) - set(vocab.chars))
    if unknown:
        raise DataError(f"the data has characters the model's vocabulary lacks: {''.join(unknown[:20])!r}")
    lengths = items.lengths
    max_len = max_len or int(lengths.max())
    if lengths.max() > max_len:
        raise DataError(f"an item is {lengths.max()} characters long, over the model's maximum {max_len}")
    lut = _table(items, vocab)                                   # every character is in it (checked above)
    order = split_order(len(items), split_seed)
    n1, n2 = split_bounds(len(items))
    parts = []
    for rows in (order[:n1], order[n1:n2], order[n2:]):
        X, Y = encode_rows(items, lut, rows, max_len)
        parts.append(Split(None if isinstance(words, Items) else [words[i] for i in rows], X, Y, vocab,
                           lengths=torch.from_numpy(lengths[rows] + 1),
                           tags=None if tags is None else torch.from_numpy(np.asarray(tags, dtype=np.int64)[rows])))
    return Dataset(vocab, max_len, *parts, tags=None if tags is None else list(tag_names))
