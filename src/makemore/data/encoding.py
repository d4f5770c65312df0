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


UNITS = ("char", "grapheme")     # a token: a code point, or an extended grapheme cluster (Unicode UAX #29)


def split_units(text: str, unit: str = "char") -> list[str]:
    """The tokens of a text: its code points, or its extended grapheme clusters (a base character
    with the marks that combine with it, an emoji sequence, a Hangul syllable)."""
    if unit == "char":
        return list(text)
    import regex
    return regex.findall(r"\X", text)


@dataclass
class Vocab:
    """Index 0 is the item boundary; the tokens follow in sorted (code point) order. unit "char":
    each a code point; "grapheme": each an extended grapheme cluster."""
    chars: list[str]
    unit: str = "char"

    @classmethod
    def from_words(cls, words: list[str], unit: str = "char") -> "Vocab":
        return cls(sorted({t for w in words for t in split_units(w, unit)}), unit)

    def __post_init__(self):
        self.stoi = {c: i + 1 for i, c in enumerate(self.chars)}
        if self.unit == "char":
            self.codepoints = np.array([ord(c) for c in self.chars], dtype=np.int64)  # sorted

    @property
    def size(self) -> int:
        return len(self.chars) + 1

    def split(self, text: str) -> list[str]:
        """The text's tokens in this vocabulary's unit."""
        return split_units(text, self.unit)

    def length(self, text: str) -> int:
        """How many tokens the text is."""
        return len(text) if self.unit == "char" else len(self.split(text))

    def encode(self, word: str) -> list[int]:
        try:
            return [self.stoi[c] for c in self.split(word)]
        except KeyError as e:
            raise DataError(f"character {e.args[0]!r} in {word!r} is not in the vocabulary") from None

    def decode(self, ids) -> str:
        return "".join(self.chars[i - 1] for i in ids if i != BOUNDARY)

    def show(self, i: int) -> str:
        """Display form of token i: the boundary is shown as '.'."""
        return BOUNDARY_SHOWN if i == BOUNDARY else self.chars[i - 1]

    def unknown_chars(self, words: list[str]) -> list[str]:
        return sorted({t for w in words for t in self.split(w)} - set(self.chars))

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
    """The token id of each of the items' codes (vocab.table, or for grapheme items the id of each
    of their clusters), after checking that every one is in the vocabulary."""
    if (items.units is None) != (vocab.unit == "char"):
        raise DataError(f"the items are read by {'code point' if items.units is None else 'grapheme'} "
                        f"but the vocabulary's unit is {vocab.unit}")
    if items.units is None:
        lut, shown = vocab.table(int(items.codes.max(initial=0))), chr
    else:
        lut = np.array([vocab.stoi.get(u, -1) for u in items.units] or [-1],
                       dtype=torch.empty(0, dtype=token_dtype(vocab.size)).numpy().dtype)
        shown = items.units.__getitem__
    present = np.flatnonzero(np.bincount(items.codes, minlength=1))
    bad = present[lut[present] < 0]
    if len(bad):
        raise DataError(f"character {shown(bad[0])!r} is not in the vocabulary")
    return lut


def encode_words(words: list[str] | Items, vocab: Vocab, max_len: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Encode items into X, Y of shape (N, max_len + 1), vectorized (no per-item tensors).

    X = [0, c1..cn, 0, 0...]  (input: the boundary, then the characters)
    Y = [c1..cn, 0, -1, -1...] (target: the characters, then the boundary, then "no target")
    """
    items = words if isinstance(words, Items) else Items.from_words(words, vocab.unit)
    lengths = items.lengths
    if len(items) and lengths.max() > max_len:
        raise DataError(f"an item is {lengths.max()} characters long, over the model's maximum {max_len}")
    return encode_rows(items, _table(items, vocab), np.arange(len(items)), max_len)


def context_windows(idx: torch.Tensor, block_size: int) -> torch.Tensor:
    """(B, T) tokens -> (B, T, block_size): the last block_size tokens up to and including each
    position, padded with the boundary before the start, as the lectures build `[0] * block_size`."""
    padded = torch.nn.functional.pad(idx, (block_size - 1, 0), value=BOUNDARY)  # (B, T + block_size - 1)
    return padded.unfold(1, block_size, 1)                                        # (B, T, block_size)
