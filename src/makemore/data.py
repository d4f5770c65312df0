"""The data path: read items, build the vocabulary, split, encode.

    lines --read_input--> items --Vocab(items.chars())--> vocab (index 0 = item boundary, then sorted chars)
          --split_order(seed)--> train / val / test rows
          --encode_rows--> X, Y  int tensors (N, L+1):  X = [0, c1..cn, 0...]   Y = [c1..cn, 0, -1...]

-1 in Y means "no target here"; every loss uses ignore_index=-1. The boundary is a reserved
token, not the character '.', so items such as "amazon.com" round-trip; it is *shown* as '.'.

Items are held as one flat array of code points and each item's offset in it (`Items`), never as
one Python string per item, and they are validated, split and encoded by array operations (what
that costs at ten million lines is in docs/results.md); `Items.words()` gives the strings.
"""

from __future__ import annotations

import array
import codecs
import hashlib
import os
import random
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
ROWS = 2 ** 18          # items encoded at a time (bounds the temporary index arrays)
# never in an item: the C0 controls and DEL, tab and line ends aside
CONTROL = np.zeros(256, dtype=bool)
CONTROL[[*range(0x00, 0x09), 0x0b, 0x0c, *range(0x0e, 0x20), 0x7f]] = True
# what str.strip() strips: the code points str.isspace() holds (all of them below U+3001)
WHITESPACE = np.array([c for c in range(0x3001) if chr(c).isspace()], dtype=np.uint32)


def bundled_names() -> Path:
    """Path of the names.txt shipped inside the package (32,033 names)."""
    return Path(str(resources.files("makemore") / "resources" / "names.txt"))


def resolve_input(path: str | None) -> Path:
    return bundled_names() if path in (None, BUNDLED) else Path(path)


@dataclass
class Items:
    """Items as one flat array of code points and where each item starts in it: item i is
    codes[offsets[i]:offsets[i + 1]]. ASCII input stays bytes (uint8); other text is uint32."""
    codes: np.ndarray      # (total,) code points
    offsets: np.ndarray    # (N + 1,) int64

    @classmethod
    def from_words(cls, words: list[str]) -> "Items":
        lengths = np.fromiter(map(len, words), dtype=np.int64, count=len(words))
        codes = np.frombuffer("".join(words).encode("utf-32-le"), dtype=np.uint32)
        return cls(codes, np.concatenate([[0], np.cumsum(lengths)]))

    def __len__(self) -> int:
        return len(self.offsets) - 1

    @property
    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)                                           # (N,)

    def chars(self) -> list[str]:
        """The distinct characters, in code point order."""
        return [chr(c) for c in np.flatnonzero(np.bincount(self.codes, minlength=1))]

    def words(self) -> list[str]:
        """One Python string per item (for small inputs, displays and set lookups)."""
        raw = self.codes.tobytes() if self.codes.dtype == np.uint8 else self.codes.astype(np.uint32).tobytes()
        text = raw.decode("latin-1" if self.codes.dtype == np.uint8 else "utf-32-le")
        o = self.offsets.tolist()
        return [text[a:b] for a, b in zip(o[:-1], o[1:])]

    def select(self, rows: np.ndarray) -> "Items":
        """The items at these indices, in this order."""
        lengths = self.lengths[rows]
        codes = padded(self.codes, self.offsets[rows], lengths, int(lengths.max(initial=0)), self.codes.dtype)
        return Items(codes[np.arange(codes.shape[1]) < lengths[:, None]], np.concatenate([[0], np.cumsum(lengths)]))


@dataclass
class Input:
    """A file's items, read once: its path as recorded (absolute, or BUNDLED) and the SHA-256 of
    exactly the bytes that were read."""
    items: Items
    path: str
    sha256: str

    @property
    def words(self) -> list[str]:
        return self.items.words()


def _where(raw: bytes, pos: int) -> tuple[int, int]:
    """(line, column), 1-based, of byte `pos` of `raw`."""
    return raw.count(b"\n", 0, pos) + 1, pos - (raw.rfind(b"\n", 0, pos) + 1) + 1


def _line_col(cps: np.ndarray, pos: int) -> tuple[int, int]:
    """(line, column), 1-based, of code point `pos`: a line ends at \\n, \\r\\n or a lone \\r."""
    before = cps[:pos]
    lone_cr = (before[:-1] == 13) & (before[1:] != 10)
    line = 1 + int((before == 10).sum()) + int(lone_cr.sum()) + int(pos > 0 and before[-1] == 13)
    ends = np.flatnonzero((before == 10) | (before == 13))
    return line, pos - (int(ends[-1]) + 1 if len(ends) else 0) + 1


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


def check_read_options(path, encoding: str, max_len: int, max_bytes: int) -> tuple[Path, str]:
    """(the file to read, the name to show in errors), after checking the options."""
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
    return file, shown


def recorded_path(path) -> str:
    """How a run records its input: BUNDLED, or the absolute path."""
    return BUNDLED if path is None or str(path) == BUNDLED else os.path.abspath(path)


def read_input(path: str | Path | None = None, encoding: str = "utf-8", max_len: int = 256,
               max_bytes: int = MAX_BYTES) -> Input:
    """Read one item per line: strip each line, drop blank lines. Errors name the file and line.
    The file is read once, streamed and bounded by max_bytes; its path is recorded absolute."""
    file, shown = check_read_options(path, encoding, max_len, max_bytes)
    raw, sha = _read_bytes(file, shown, max_bytes)
    if not raw:
        raise DataError(f"{shown}: file is empty")
    return Input(parse_items(raw, shown, encoding, max_len), recorded_path(path), sha)


def _decode(raw: bytes, shown: str, encoding: str) -> np.ndarray:
    """The code points of the file: the bytes themselves when UTF-8 input is ASCII (no copy)."""
    utf8 = encoding.lower().replace("_", "-") in ("utf-8", "utf8")
    if utf8 and raw.isascii():
        return np.frombuffer(raw, dtype=np.uint8)
    try:
        text = raw.decode("utf-8-sig" if utf8 else encoding)
    except UnicodeDecodeError as e:
        line, col = _where(raw, e.start)
        hint = "--encoding utf-16 (the file starts with a UTF-16 byte-order mark)" if raw[:2] in (b"\xff\xfe", b"\xfe\xff") \
            else "--encoding (e.g. --encoding cp1252)"
        raise DataError(f"{shown}:{line}: cannot decode byte 0x{raw[e.start]:02x} (column {col}) as "
                        f"{encoding}; pass {hint}") from None
    return np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)


def _strip(ws: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> None:
    """Move each line's [start, end) in past the whitespace at its two ends, in place: a few
    array steps for the usual one or two spaces, then line by line for long runs of them."""
    last = len(ws) - 1
    for _ in range(8):
        i = np.flatnonzero((starts < ends) & ws[np.minimum(starts, last)])
        starts[i] += 1
        j = np.flatnonzero((starts < ends) & ws[np.maximum(ends - 1, 0)])
        ends[j] -= 1
        if not len(i) and not len(j):
            return
    for k in np.flatnonzero((starts < ends) & (ws[np.minimum(starts, last)] | ws[np.maximum(ends - 1, 0)])):
        kept = np.flatnonzero(~ws[starts[k]:ends[k]])
        starts[k], ends[k] = (starts[k] + kept[0], starts[k] + kept[-1] + 1) if len(kept) else (starts[k], starts[k])


def parse_items(raw: bytes, shown: str, encoding: str, max_len: int) -> Items:
    """The items of a file's bytes: decoded, checked for control characters, cut at any line
    ending, stripped, blank lines dropped, no item over max_len; by array operations."""
    cps = _decode(raw, shown, encoding)                                    # (n,) code points
    if not len(cps):                                                       # a byte-order mark alone
        raise DataError(f"{shown}: no items (every line is blank)")
    ctrl = CONTROL[cps] if cps.dtype == np.uint8 else CONTROL[np.minimum(cps, 255)]
    if ctrl.any():
        pos = int(np.argmax(ctrl))
        line, col = _line_col(cps, pos)
        what = "a NUL character (is this a UTF-16 file? pass --encoding utf-16)" if cps[pos] == 0 else \
            f"the control character U+{int(cps[pos]):04X}"
        raise DataError(f"{shown}:{line}: {what} at column {col}; items are lines of text")
    del ctrl
    breaks = np.flatnonzero((cps == 10) | (cps == 13))                     # \n, \r: \r\n leaves a blank line
    starts = np.concatenate([[0], breaks + 1])                             # (lines,) each line's [start, end)
    ends = np.concatenate([breaks, [len(cps)]])
    del breaks
    if cps.dtype == np.uint8:
        table = np.zeros(256, dtype=bool)
        table[WHITESPACE[WHITESPACE < 256]] = True
        ws = table[cps]
    else:
        ws = np.isin(cps, WHITESPACE)
    _strip(ws, starts, ends)
    del ws
    kept = np.flatnonzero(starts < ends)
    if not len(kept):
        raise DataError(f"{shown}: no items (every line is blank)")
    starts, ends = starts[kept], ends[kept]
    lengths = ends - starts
    if lengths.max() > max_len:
        k = int(np.argmax(lengths > max_len))
        raise DataError(f"{shown}:{_line_col(cps, int(starts[k]))[0]}: item is {int(lengths[k])} characters long, "
                        f"over --max-len {max_len}")
    mark = np.zeros(len(cps) + 1, dtype=np.int8)                           # +1 where an item starts, -1 past its end
    mark[starts], mark[ends] = 1, -1
    inside = np.cumsum(mark[:-1], dtype=np.int8).view(bool)
    del mark
    return Items(cps[inside], np.concatenate([[0], np.cumsum(lengths)]))


def read_words(path: str | Path | None = None, encoding: str = "utf-8", max_len: int = 256,
               max_bytes: int = MAX_BYTES) -> list[str]:
    """The items of a file (read_input's words): the bundled names.txt when path is None."""
    return read_input(path, encoding, max_len, max_bytes).words


def dedupe_words(words: list[str]) -> tuple[list[str], int]:
    """Keep the first occurrence of each item; return (kept, number dropped)."""
    kept = list(dict.fromkeys(words))
    return kept, len(words) - len(kept)


def dedupe_items(items: Items) -> tuple[Items, int]:
    """dedupe_words on Items, by sorting the padded rows (no code point of an item is 0, the padding)."""
    lengths = items.lengths
    rows = padded(items.codes, items.offsets[:-1], lengths, int(lengths.max(initial=0)), items.codes.dtype)
    rows = np.ascontiguousarray(rows).view(np.dtype((np.void, rows.dtype.itemsize * rows.shape[1]))).ravel()
    first = np.sort(np.unique(rows, return_index=True)[1])                 # each item's first occurrence, in order
    return (items if len(first) == len(items) else items.select(first)), len(items) - len(first)


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


def token_dtype(vocab_size: int) -> torch.dtype:
    """The smallest signed integer type that holds every token id and -1."""
    for dtype in (torch.int8, torch.int16):
        if vocab_size <= torch.iinfo(dtype).max:
            return dtype
    return torch.int32


def padded(values: np.ndarray, starts: np.ndarray, lengths: np.ndarray, width: int, dtype, fill=0,
           column: int = 0, lut: np.ndarray | None = None) -> np.ndarray:
    """(N, width) rows: row r holds values[starts[r]:starts[r] + lengths[r]] (mapped through `lut`
    if given) from `column` on, `fill` elsewhere. Filled ROWS rows at a time, so the index arrays
    stay small."""
    out = np.full((len(starts), width), fill, dtype=dtype)
    flat = out.reshape(-1)
    for a in range(0, len(starts), ROWS):
        n = lengths[a:a + ROWS]
        first = np.cumsum(n) - n                                           # (R,) each row's first value, in the chunk
        k = np.arange(int(n.sum()))                                        # (total,) the chunk's values, in order
        row = np.arange(a, a + len(n)) * width + column
        got = values[np.repeat(starts[a:a + ROWS] - first, n) + k]
        flat[np.repeat(row - first, n) + k] = got if lut is None else lut[got]
    return out


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


class Split:
    """One encoded split. Sequence models read rows of X/Y; window models read single
    next-character examples (context (N, block), target (N,)) built once on first use.
    words: the items as strings, or None to decode them from X with `vocab` when first asked."""

    def __init__(self, words: list[str] | None, X: torch.Tensor, Y: torch.Tensor, vocab: "Vocab | None" = None,
                 lengths: torch.Tensor | None = None):
        self._words, self.X, self.Y, self.vocab = words, X, Y, vocab
        self._examples, self._lengths = {}, lengths

    def __len__(self) -> int:
        return len(self.X)

    @property
    def words(self) -> list[str]:
        if self._words is None:
            lengths = self.lengths.numpy() - 1                              # characters per item
            inside = np.arange(self.X.size(1) - 1) < lengths[:, None]       # (N, L)
            codes = self.vocab.codepoints[self.X[:, 1:].numpy()[inside].astype(np.int64) - 1]
            self._words = Items(codes.astype(np.uint32), np.concatenate([[0], np.cumsum(lengths)])).words()
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
        if block_size not in self._examples:
            mask = self.Y != -1                                      # (N, T)
            ctx = context_windows(self.X, block_size)[mask]          # (n_targets, block_size)
            self._examples[block_size] = (ctx.contiguous(), self.Y[mask])
        return self._examples[block_size]


def head_rows(split: Split, k: int) -> Split:
    """The split's first k items (all of them if it has fewer)."""
    if k >= len(split):
        return split
    words = None if split._words is None else split._words[:k]
    return Split(words, split.X[:k], split.Y[:k], split.vocab, lengths=split.lengths[:k])


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
    return Split(words, X, Y, split.vocab, lengths=split.lengths)


SPLITS = ("train", "val", "test")     # the split's parts, in order


@dataclass
class Dataset:
    """A vocabulary and the three parts of the split (SPLITS), each encoded."""
    vocab: Vocab
    max_len: int          # longest item, in characters (sequences have max_len + 1 positions)
    train: Split
    val: Split
    test: Split

    def split(self, name: str) -> Split:
        return {"train": self.train, "val": self.val, "test": self.test}[name]

    def reversed(self) -> "Dataset":
        """The same split with every item read right to left (`train --reverse`)."""
        return Dataset(self.vocab, self.max_len, *(reverse_split(s) for s in (self.train, self.val, self.test)))


def build_dataset(words: list[str] | Items, split_seed: int = 42, vocab: Vocab | None = None,
                  max_len: int | None = None) -> Dataset:
    """Split and encode. Pass the vocab / max_len of a saved run to encode new data its way.
    Given Items (read_input's), the splits' words are decoded from X only when asked for."""
    if not isinstance(words, Items):
        if isinstance(words, str) or not all(isinstance(w, str) for w in words):
            raise TypeError("words must be a list of strings (items), e.g. ['emma', 'olivia']")
    if len(words) == 0:
        raise ValueError("words is empty: a dataset needs items")
    items = words if isinstance(words, Items) else Items.from_words(words)
    chars = items.chars()
    vocab = vocab or Vocab(chars)
    unknown = sorted(set(chars) - set(vocab.chars))
    if unknown:
        raise DataError(f"the data has characters the model's vocabulary lacks: {''.join(unknown[:20])!r}")
    lengths = items.lengths
    max_len = max_len or int(lengths.max())
    if lengths.max() > max_len:
        raise DataError(f"an item is {lengths.max()} characters long, over the model's maximum {max_len}")
    lut = vocab.table(int(items.codes.max(initial=0)))          # every character is in it (checked above)
    order = split_order(len(items), split_seed)
    n1, n2 = split_bounds(len(items))
    parts = []
    for rows in (order[:n1], order[n1:n2], order[n2:]):
        X, Y = encode_rows(items, lut, rows, max_len)
        parts.append(Split(None if isinstance(words, Items) else [words[i] for i in rows], X, Y, vocab,
                           lengths=torch.from_numpy(lengths[rows] + 1)))
    return Dataset(vocab, max_len, *parts)
