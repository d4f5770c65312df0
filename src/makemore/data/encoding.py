"""The vocabulary (index 0 for the item boundary, then the characters in code-point order) and
encoding items into rows of token indices: X = [0, c1..cn, 0...], Y = [c1..cn, 0, -1...]."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..errors import DataError
from .reading import ROWS, Items, padded


BOUNDARY = 0           # index of the item boundary token
BOUNDARY_SHOWN = "."   # how the boundary is displayed


@dataclass
class Vocab:
    """Index 0 is the item boundary; characters follow in sorted (code point) order."""
    chars: list[str]

    @classmethod
    def from_words(cls, words: list[str]) -> "Vocab":
        return cls(sorted(set("".join(words))))

    def __post_init__(self):
        self.stoi = {c: i + 1 for i, c in enumerate(self.chars)}
        self.codepoints = np.array([ord(c) for c in self.chars], dtype=np.int64)  # sorted

    @property
    def size(self) -> int:
        return len(self.chars) + 1

    def encode(self, word: str) -> list[int]:
        try:
            return [self.stoi[c] for c in word]
        except KeyError as e:
            raise DataError(f"character {e.args[0]!r} in {word!r} is not in the vocabulary") from None

    def decode(self, ids) -> str:
        return "".join(self.chars[i - 1] for i in ids if i != BOUNDARY)

    def show(self, i: int) -> str:
        """Display form of token i: the boundary is shown as '.'."""
        return BOUNDARY_SHOWN if i == BOUNDARY else self.chars[i - 1]

    def unknown_chars(self, words: list[str]) -> list[str]:
        return sorted(set("".join(words)) - set(self.chars))

    def table(self, top: int) -> np.ndarray:
        """The token id of each code point 0..top (in the smallest type that holds the ids), -1
        for those not in the vocabulary."""
        lut = np.full(max(top, int(self.codepoints.max(initial=0))) + 1, -1,
                      dtype=torch.empty(0, dtype=token_dtype(self.size)).numpy().dtype)
        lut[self.codepoints] = np.arange(1, self.size)
        return lut


def token_dtype(vocab_size: int) -> torch.dtype:
    """The smallest signed integer type that holds every token id and -1."""
    for dtype in (torch.int8, torch.int16):
        if vocab_size <= torch.iinfo(dtype).max:
            return dtype
    return torch.int32


def encode_rows(items: Items, lut: np.ndarray, rows: np.ndarray, max_len: int) -> tuple[torch.Tensor, torch.Tensor]:
    """X, Y (see encode_words) of the items at `rows`, in that order; lut maps code points to token ids."""
    n = items.lengths[rows]
    X = padded(items.codes, items.offsets[rows], n, max_len + 1, lut.dtype, fill=BOUNDARY, column=1, lut=lut)  # (N, L+1)
    Y = np.empty_like(X)
    Y[:, :-1], Y[:, -1] = X[:, 1:], BOUNDARY                                # the next token at each position
    for a in range(0, len(Y), ROWS):                                        # -1 past each item's end
        Y[a:a + ROWS][np.arange(max_len + 1) > n[a:a + ROWS, None]] = -1
    return torch.from_numpy(X), torch.from_numpy(Y)


def _table(items: Items, vocab: Vocab) -> np.ndarray:
    """vocab.table, after checking that every character of the items is in the vocabulary."""
    lut = vocab.table(int(items.codes.max(initial=0)))
    present = np.flatnonzero(np.bincount(items.codes, minlength=1))
    bad = present[lut[present] < 0]
    if len(bad):
        raise DataError(f"character {chr(bad[0])!r} is not in the vocabulary")
    return lut


def encode_words(words: list[str] | Items, vocab: Vocab, max_len: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Encode items into X, Y of shape (N, max_len + 1), vectorized (no per-item tensors).

    X = [0, c1..cn, 0, 0...]  (input: the boundary, then the characters)
    Y = [c1..cn, 0, -1, -1...] (target: the characters, then the boundary, then "no target")
    """
    items = words if isinstance(words, Items) else Items.from_words(words)
    lengths = items.lengths
    if len(items) and lengths.max() > max_len:
        raise DataError(f"an item is {lengths.max()} characters long, over the model's maximum {max_len}")
    return encode_rows(items, _table(items, vocab), np.arange(len(items)), max_len)


def context_windows(idx: torch.Tensor, block_size: int) -> torch.Tensor:
    """(B, T) tokens -> (B, T, block_size): the last block_size tokens up to and including each
    position, padded with the boundary before the start, as the lectures build `[0] * block_size`."""
    padded = torch.nn.functional.pad(idx, (block_size - 1, 0), value=BOUNDARY)  # (B, T + block_size - 1)
    return padded.unfold(1, block_size, 1)                                        # (B, T, block_size)
