"""The data path: read items, build the vocabulary, split, encode.

    lines --read_words--> words --Vocab.from_words--> vocab (index 0 = item boundary, then sorted chars)
          --split_words(seed)--> train / val / test words
          --encode_words--> X, Y  int tensors (N, L+1):  X = [0, c1..cn, 0...]   Y = [c1..cn, 0, -1...]

-1 in Y means "no target here"; every loss uses ignore_index=-1. The boundary is a reserved
token, not the character '.', so items such as "amazon.com" round-trip; it is *shown* as '.'.
"""

from __future__ import annotations

import codecs
import hashlib
import os
import random
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
import torch

from .errors import DataError, UsageError

BOUNDARY = 0           # index of the item boundary token
BOUNDARY_SHOWN = "."   # how the boundary is displayed
BUNDLED = "bundled:names.txt"


MAX_BYTES = 2 ** 30     # the largest input read by default (--max-bytes): 1 GiB
CHUNK = 2 ** 20         # bytes read at a time
CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")   # never in an item: tab and line ends aside


def bundled_names() -> Path:
    """Path of the names.txt shipped inside the package (32,033 names)."""
    return Path(str(resources.files("makemore") / "data" / "names.txt"))


def resolve_input(path: str | None) -> Path:
    return bundled_names() if path in (None, BUNDLED) else Path(path)


@dataclass
class Input:
    """A file's items, read once: its path as recorded (absolute, or BUNDLED) and the SHA-256 of
    exactly the bytes that were read."""
    words: list[str]
    path: str
    sha256: str


def _where(raw: bytes, pos: int) -> tuple[int, int]:
    """(line, column), 1-based, of byte `pos` of `raw`."""
    return raw.count(b"\n", 0, pos) + 1, pos - (raw.rfind(b"\n", 0, pos) + 1) + 1


def _read_bytes(path: Path, shown: str, max_bytes: int) -> tuple[bytes, str]:
    """The whole file, read once in chunks (a FIFO or a pipe works), hashed as it is read, and
    refused past max_bytes (so /dev/zero ends in an error, not in all the memory)."""
    digest, chunks, total = hashlib.sha256(), [], 0
    try:
        with open(path, "rb") as f:
            while chunk := f.read(CHUNK):
                total += len(chunk)
                if total > max_bytes:
                    raise DataError(f"{shown}: larger than --max-bytes {max_bytes:,}; pass a larger --max-bytes "
                                    "if this is really the input")
                digest.update(chunk)
                chunks.append(chunk)
    except IsADirectoryError:
        raise DataError(f"{shown}: is a directory, expected a text file with one item per line") from None
    except OSError as e:
        raise DataError(f"{shown}: cannot read: {e.strerror}") from None
    return b"".join(chunks), digest.hexdigest()


def read_input(path: str | Path | None = None, encoding: str = "utf-8", max_len: int = 256,
               max_bytes: int = MAX_BYTES) -> Input:
    """Read one item per line: strip each line, drop blank lines. Errors name the file and line.
    The file is read once, streamed and bounded by max_bytes; its path is recorded absolute."""
    if path is not None and not isinstance(path, (str, Path)):
        raise TypeError(f"path must be a file path (str or Path), got {type(path).__name__}")
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise UsageError(f"--encoding: unknown encoding {encoding!r}") from None
    if max_len < 1:
        raise UsageError(f"--max-len must be at least 1, got {max_len}")
    if not max_bytes >= 1:
        raise UsageError(f"--max-bytes must be at least 1, got {max_bytes}")
    file = resolve_input(None if path is None else str(path))
    shown = str(path) if path is not None and str(path) != BUNDLED else str(file)
    if not file.exists():
        raise DataError(f"{shown}: no such file")
    raw, sha = _read_bytes(file, shown, max_bytes)
    if not raw:
        raise DataError(f"{shown}: file is empty")
    utf16 = raw[:2] in (b"\xff\xfe", b"\xfe\xff")
    try:
        text = raw.decode("utf-8-sig" if encoding.lower().replace("_", "-") in ("utf-8", "utf8") else encoding)
    except UnicodeDecodeError as e:
        line, col = _where(raw, e.start)
        hint = "--encoding utf-16 (the file starts with a UTF-16 byte-order mark)" if utf16 else \
            "--encoding (e.g. --encoding cp1252)"
        raise DataError(f"{shown}:{line}: cannot decode byte 0x{raw[e.start]:02x} (column {col}) as "
                        f"{encoding}; pass {hint}") from None
    text = text.replace("\r\n", "\n").replace("\r", "\n")             # any line ending
    bad = CONTROL.search(text)
    if bad:
        line = text.count("\n", 0, bad.start()) + 1
        col = bad.start() - (text.rfind("\n", 0, bad.start()) + 1) + 1
        what = "a NUL character (is this a UTF-16 file? pass --encoding utf-16)" if bad.group() == "\x00" else \
            f"the control character U+{ord(bad.group()):04X}"
        raise DataError(f"{shown}:{line}: {what} at column {col}; items are lines of text")
    words = []
    for lineno, line in enumerate(text.split("\n"), start=1):
        w = line.strip()
        if not w:
            continue
        if len(w) > max_len:
            raise DataError(f"{shown}:{lineno}: item is {len(w)} characters long, over --max-len {max_len}")
        words.append(w)
    if not words:
        raise DataError(f"{shown}: no items (every line is blank)")
    recorded = BUNDLED if path is None or str(path) == BUNDLED else os.path.abspath(path)
    return Input(words, recorded, sha)


def read_words(path: str | Path | None = None, encoding: str = "utf-8", max_len: int = 256,
               max_bytes: int = MAX_BYTES) -> list[str]:
    """The items of a file (read_input's words): the bundled names.txt when path is None."""
    return read_input(path, encoding, max_len, max_bytes).words


def dedupe_words(words: list[str]) -> tuple[list[str], int]:
    """Keep the first occurrence of each item; return (kept, number dropped)."""
    kept = list(dict.fromkeys(words))
    return kept, len(words) - len(kept)


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


def split_words(words: list[str], seed: int = 42) -> tuple[list[str], list[str], list[str]]:
    """The lectures' split: random.seed(seed); random.shuffle(words); 80% / 10% / 10%."""
    words = list(words)
    random.Random(seed).shuffle(words)
    n1, n2 = int(0.8 * len(words)), int(0.9 * len(words))
    return words[:n1], words[n1:n2], words[n2:]


def token_dtype(vocab_size: int) -> torch.dtype:
    return torch.int16 if vocab_size <= torch.iinfo(torch.int16).max else torch.int32


def encode_words(words: list[str], vocab: Vocab, max_len: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Encode items into X, Y of shape (N, max_len + 1), vectorized (no per-item tensors).

    X = [0, c1..cn, 0, 0...]  (input: the boundary, then the characters)
    Y = [c1..cn, 0, -1, -1...] (target: the characters, then the boundary, then "no target")
    """
    n = len(words)
    dtype = token_dtype(vocab.size)
    X = torch.zeros(n, max_len + 1, dtype=dtype)
    Y = torch.full((n, max_len + 1), -1, dtype=dtype)
    if n == 0:
        return X, Y
    lengths = np.fromiter(map(len, words), dtype=np.int64, count=n)
    if lengths.max() > max_len:
        raise DataError(f"an item is {lengths.max()} characters long, over the model's maximum {max_len}")
    cps = np.frombuffer("".join(words).encode("utf-32-le"), dtype=np.uint32).astype(np.int64)
    ids = np.searchsorted(vocab.codepoints, cps)
    bad = (ids >= len(vocab.codepoints)) | (vocab.codepoints[np.minimum(ids, len(vocab.codepoints) - 1)] != cps)
    if bad.any():
        c = chr(cps[np.argmax(bad)])
        raise DataError(f"character {c!r} is not in the vocabulary")
    ids = torch.from_numpy(ids + 1).to(dtype)                                    # (total,)
    rows = torch.from_numpy(np.repeat(np.arange(n), lengths))                    # (total,)
    starts = np.cumsum(lengths) - lengths
    cols = torch.from_numpy(np.arange(len(cps)) - np.repeat(starts, lengths))    # (total,)
    X[rows, cols + 1] = ids
    Y[rows, cols] = ids
    Y[torch.arange(n), torch.from_numpy(lengths)] = BOUNDARY
    return X, Y


def context_windows(idx: torch.Tensor, block_size: int) -> torch.Tensor:
    """(B, T) tokens -> (B, T, block_size): the last block_size tokens up to and including each
    position, padded with the boundary before the start, as the lectures build `[0] * block_size`."""
    padded = torch.nn.functional.pad(idx, (block_size - 1, 0), value=BOUNDARY)  # (B, T + block_size - 1)
    return padded.unfold(1, block_size, 1)                                        # (B, T, block_size)


@dataclass
class Split:
    """One encoded split. Sequence models read rows of X/Y; window models read single
    next-character examples (context (N, block), target (N,)) built once on first use."""
    words: list[str]
    X: torch.Tensor
    Y: torch.Tensor

    def __post_init__(self):
        self._examples = {}

    @property
    def lengths(self) -> torch.Tensor:
        """(N,) targets per row: the item's characters plus its end."""
        return (self.Y != -1).sum(1)

    @property
    def n_targets(self) -> int:
        return int(self.lengths.sum())

    def examples(self, block_size: int) -> tuple[torch.Tensor, torch.Tensor]:
        if block_size not in self._examples:
            mask = self.Y != -1                                      # (N, T)
            ctx = context_windows(self.X, block_size)[mask]          # (n_targets, block_size)
            self._examples[block_size] = (ctx.contiguous(), self.Y[mask])
        return self._examples[block_size]


@dataclass
class Dataset:
    vocab: Vocab
    max_len: int          # longest item, in characters (sequences have max_len + 1 positions)
    train: Split
    val: Split
    test: Split

    def split(self, name: str) -> Split:
        return {"train": self.train, "val": self.val, "test": self.test}[name]


def build_dataset(words: list[str], split_seed: int = 42, vocab: Vocab | None = None,
                  max_len: int | None = None) -> Dataset:
    """Split and encode. Pass the vocab / max_len of a saved run to encode new data its way."""
    if isinstance(words, str) or not all(isinstance(w, str) for w in words):
        raise TypeError("words must be a list of strings (items), e.g. ['emma', 'olivia']")
    if len(words) == 0:
        raise ValueError("words is empty: a dataset needs items")
    vocab = vocab or Vocab.from_words(words)
    unknown = vocab.unknown_chars(words)
    if unknown:
        raise DataError(f"the data has characters the model's vocabulary lacks: {''.join(unknown[:20])!r}")
    max_len = max_len or max(map(len, words))
    parts = [Split(w, *encode_words(w, vocab, max_len)) for w in split_words(words, split_seed)]
    return Dataset(vocab, max_len, *parts)
