"""Reading items: a text file (or the bundled names.txt) read once, bounded and hashed, decoded,
brought to Unicode NFC (unless asked not to), checked (the encoding, control characters, the
length limit) and stripped, line by line, into one flat array of code points (`Items`); every
problem a DataError naming the file and line."""

from __future__ import annotations

import codecs
import hashlib
import os
import unicodedata
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from ..errors import DataError, UsageError


BUNDLED = "bundled:names.txt"
BUNDLED_TAGGED = "bundled:locales.tsv"       # first names by locale (TAG<TAB>ITEM), from faker's tables
MAX_BYTES = 2 ** 30     # the largest input read by default (--max-bytes): 1 GiB
CHUNK = 2 ** 20         # bytes read at a time
ROWS = 2 ** 18          # items padded or encoded at a time (bounds the temporary index arrays)
# never in an item: the C0 controls and DEL, tab and line ends aside
CONTROL = np.zeros(256, dtype=bool)
CONTROL[[*range(0x00, 0x09), 0x0b, 0x0c, *range(0x0e, 0x20), 0x7f]] = True
# what str.strip() strips: the code points str.isspace() holds (all of them below U+3001)
WHITESPACE = np.array([c for c in range(0x3001) if chr(c).isspace()], dtype=np.uint32)


def bundled_names() -> Path:
    """Path of the names.txt shipped inside the package (32,033 names)."""
    return Path(str(resources.files("makemore") / "resources" / "names.txt"))


def bundled_locales() -> Path:
    """Path of the tagged first names by locale shipped inside the package (from faker's tables)."""
    return Path(str(resources.files("makemore") / "resources" / "locales.tsv"))


def resolve_input(path: str | None) -> Path:
    if path == BUNDLED_TAGGED:
        return bundled_locales()
    return bundled_names() if path in (None, BUNDLED) else Path(path)


@dataclass
class Items:
    """Items as one flat array of code points and where each item starts in it: item i is
    codes[offsets[i]:offsets[i + 1]]. ASCII input stays bytes (uint8); other text is uint32.
    Items read by grapheme cluster (`graphemes`) hold instead each cluster's index in `units`."""
    codes: np.ndarray      # (total,) code points (or indices into units)
    offsets: np.ndarray    # (N + 1,) int64
    units: list[str] | None = None      # the distinct grapheme clusters, sorted; None: code points

    @classmethod
    def from_words(cls, words: list[str], unit: str = "char") -> "Items":
        lengths = np.fromiter(map(len, words), dtype=np.int64, count=len(words))
        codes = np.frombuffer("".join(words).encode("utf-32-le"), dtype=np.uint32)
        items = cls(codes, np.concatenate([[0], np.cumsum(lengths)]))
        return graphemes(items) if unit == "grapheme" else items

    def __len__(self) -> int:
        return len(self.offsets) - 1

    @property
    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)                                           # (N,)

    def chars(self) -> list[str]:
        """The distinct characters (grapheme clusters), in code point order."""
        present = np.flatnonzero(np.bincount(self.codes, minlength=1)) if len(self.codes) else []
        if self.units is not None:
            return [self.units[c] for c in present]
        return [chr(c) for c in present]

    def words(self) -> list[str]:
        """One Python string per item (for small inputs, displays and set lookups)."""
        if self.units is not None:
            o, units, codes = self.offsets.tolist(), self.units, self.codes.tolist()
            return ["".join(units[c] for c in codes[a:b]) for a, b in zip(o[:-1], o[1:])]
        raw = self.codes.tobytes() if self.codes.dtype == np.uint8 else self.codes.astype(np.uint32).tobytes()
        text = raw.decode("latin-1" if self.codes.dtype == np.uint8 else "utf-32-le")
        o = self.offsets.tolist()
        return [text[a:b] for a, b in zip(o[:-1], o[1:])]

    def select(self, rows: np.ndarray) -> "Items":
        """The items at these indices, in this order."""
        lengths = self.lengths[rows]
        codes = padded(self.codes, self.offsets[rows], lengths, int(lengths.max(initial=0)), self.codes.dtype)
        return Items(codes[np.arange(codes.shape[1]) < lengths[:, None]], np.concatenate([[0], np.cumsum(lengths)]),
                     self.units)


def graphemes(items: Items) -> Items:
    """Items of code points as items of extended grapheme clusters (the `regex` module's \\X,
    Unicode UAX #29): each a run of code points that reads as one character."""
    import regex
    if items.units is not None:
        return items
    words = items.words()
    clusters = [regex.findall(r"\X", w) for w in words]
    units = sorted({c for cs in clusters for c in cs})
    index = {u: i for i, u in enumerate(units)}
    lengths = np.fromiter(map(len, clusters), dtype=np.int64, count=len(clusters))
    codes = np.fromiter((index[c] for cs in clusters for c in cs), dtype=np.int64, count=int(lengths.sum()))
    return Items(codes, np.concatenate([[0], np.cumsum(lengths)]), units)


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


def read_bytes(path: Path, shown: str, max_bytes: int) -> tuple[bytes, str]:
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
    shown = str(path) if path is not None and str(path) not in (BUNDLED, BUNDLED_TAGGED) else str(file)
    if not file.exists():
        raise DataError(f"{shown}: no such file")
    return file, shown


def recorded_path(path) -> str:
    """How a run records its input: BUNDLED, or the absolute path."""
    if path is not None and str(path) == BUNDLED_TAGGED:
        return BUNDLED_TAGGED
    return BUNDLED if path is None or str(path) == BUNDLED else os.path.abspath(path)


def read_input(path: str | Path | None = None, encoding: str = "utf-8", max_len: int = 256,
               max_bytes: int = MAX_BYTES, normalize: bool = True) -> Input:
    """Read one item per line: strip each line, drop blank lines. Errors name the file and line.
    The file is read once, streamed and bounded by max_bytes; its path is recorded absolute.
    normalize: bring the text to Unicode NFC first (nfc), so that an "é" written as "e" and a
    combining accent and one written as one code point are the same character."""
    file, shown = check_read_options(path, encoding, max_len, max_bytes)
    raw, sha = read_bytes(file, shown, max_bytes)
    if not raw:
        raise DataError(f"{shown}: file is empty")
    return Input(parse_items(raw, shown, encoding, max_len, normalize), recorded_path(path), sha)


def decode_text(raw: bytes, shown: str, encoding: str) -> np.ndarray:
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


def nfc(cps: np.ndarray) -> np.ndarray:
    """Code points in Unicode normalization form C (canonical composition): unchanged when they
    already are (ASCII always is, and most text), else composed through a Python string."""
    if cps.dtype == np.uint8:
        return cps
    text = cps.tobytes().decode("utf-32-le")
    if unicodedata.is_normalized("NFC", text):
        return cps
    return np.frombuffer(unicodedata.normalize("NFC", text).encode("utf-32-le"), dtype=np.uint32)


def parse_items(raw: bytes, shown: str, encoding: str, max_len: int, normalize: bool = True) -> Items:
    """The items of a file's bytes: decoded, in NFC (normalize), checked for control characters,
    cut at any line ending, stripped, blank lines dropped, no item over max_len; by array operations."""
    cps = decode_text(raw, shown, encoding)                                    # (n,) code points
    if normalize:
        cps = nfc(cps)
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
               max_bytes: int = MAX_BYTES, normalize: bool = True) -> list[str]:
    """The items of a file (read_input's words): the bundled names.txt when path is None."""
    return read_input(path, encoding, max_len, max_bytes, normalize).words


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
