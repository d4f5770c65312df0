"""Tagged items: each item with its kind (a language, a gender, a category), read two ways:

    a file of `TAG<TAB>ITEM` lines (`--tagged`)          it<TAB>giulia
    a directory of text files, one per tag               names/Italian.txt, names/Spanish.txt, ...
                                                         (the tag is the file's name without .txt)

Either becomes the same thing: the items (one flat `Items`, in the order read: a directory's files
in the order of their names) and each item's tag as an index into the sorted tag names. The split
is then the usual seed-42 shuffle over the (tag, item) lines. Every problem is a DataError naming
the file and line.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import DataError
from .reading import (BUNDLED, BUNDLED_TAGGED, MAX_BYTES, Items, check_read_options, decode_text, nfc, parse_items,
                      read_bytes, recorded_path)

FEW = 10                 # a tag with fewer items than this is warned about (and kept)
TAG_BANNED = ",="        # a blend is written tag=weight,tag=weight


@dataclass
class TaggedItems:
    """Items with a tag each: tags[i] indexes names (sorted); counts[k] items carry tag k."""
    items: Items
    tags: np.ndarray         # (N,) int64
    names: list[str]

    @property
    def counts(self) -> dict[str, int]:
        return dict(zip(self.names, np.bincount(self.tags, minlength=len(self.names)).tolist()))


def few_items(counts: dict[str, int]) -> list[str]:
    """A warning for each tag with fewer than FEW items."""
    return [f"warning: tag {t!r} has only {n} item{'s' * (n != 1)}; what it learns of that tag is little more "
            "than what the other tags share" for t, n in counts.items() if n < FEW]


def check_tag(tag: str, where: str) -> str:
    tag = tag.strip()
    if not tag:
        raise DataError(f"{where}: empty tag")
    bad = [c for c in TAG_BANNED if c in tag]
    if bad:
        raise DataError(f"{where}: tag {tag!r} holds {bad[0]!r}, which blends (--tag a=0.7,b=0.3) use to separate tags")
    return tag


def parse_tagged(raw: bytes, shown: str, encoding: str, max_len: int, normalize: bool = True) -> tuple[Items, list[str]]:
    """The items of a `TAG<TAB>ITEM` file's bytes and each one's tag (as a string), in NFC (normalize)."""
    cps = decode_text(raw, shown, encoding)
    if normalize:
        cps = nfc(cps)
    text = cps.tobytes().decode("latin-1" if cps.dtype == np.uint8 else "utf-32-le")
    tags, items = [], []
    for no, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        tag, tab, item = line.partition("\t")
        if not tab:
            raise DataError(f"{shown}:{no}: no tab; a --tagged file's lines are TAG<TAB>ITEM")
        tags.append(check_tag(tag, f"{shown}:{no}"))
        if not item.strip():
            raise DataError(f"{shown}:{no}: empty item after the tag {tag.strip()!r}")
        items.append((no, item))
    if not items:
        raise DataError(f"{shown}: no items (every line is blank)")
    # the items' own checks (control characters, the length limit), with the file's line numbers
    body = "\n".join(item for _, item in items).encode("utf-8")
    try:
        parsed = parse_items(body, shown, "utf-8", max_len, normalize=False)
    except DataError as e:
        msg = str(e)
        head, _, rest = msg[len(shown) + 1:].partition(":")
        if head.isdigit() and msg.startswith(shown + ":"):
            raise DataError(f"{shown}:{items[int(head) - 1][0]}:{rest}") from None
        raise
    if len(parsed) != len(items):                  # an item that is only spaces and control-free: caught above
        raise DataError(f"{shown}: an item is blank after its tag")
    return parsed, tags


def read_tagged(path=None, encoding: str = "utf-8", max_len: int = 256, max_bytes: int = MAX_BYTES,
                normalize: bool = True):
    """(TaggedItems, the path as a run records it, SHA-256) of a `TAG<TAB>ITEM` file or a directory
    of text files, one per tag; the bundled locales.tsv when path is None. normalize: in NFC."""
    if path is not None and str(path) == BUNDLED:
        raise DataError("--tagged: the bundled names.txt has no tags; leave out -i for the bundled locales.tsv")
    path = BUNDLED_TAGGED if path is None else path
    file, shown = check_read_options(path, encoding, max_len, max_bytes)
    recorded = recorded_path(path)
    if file.is_dir():
        tagged, sha = _read_directory(file, shown, encoding, max_len, max_bytes, normalize)
        return tagged, recorded, sha
    raw, sha = read_bytes(file, shown, max_bytes)
    if not raw:
        raise DataError(f"{shown}: file is empty")
    items, tags = parse_tagged(raw, shown, encoding, max_len, normalize)
    return _tagged(items, tags), recorded, sha


def _dir_sha(parts) -> str:
    h = hashlib.sha256()
    for name, sha in parts:
        h.update(f"{name}\0{sha}\n".encode())
    return h.hexdigest()


def _read_directory(directory: Path, shown: str, encoding: str, max_len: int, max_bytes: int, normalize: bool):
    """(TaggedItems, SHA-256 over the files' names and SHA-256s) of a directory of NAME.txt files."""
    files = sorted(p for p in directory.iterdir() if p.suffix == ".txt" and not p.name.startswith(".") and p.is_file())
    if not files:
        raise DataError(f"{shown}: no text files (NAME.txt, one per tag) in this directory")
    all_items, tags, parts, total = [], [], [], 0
    for f in files:
        where = f"{shown.rstrip('/')}/{f.name}"
        tag = check_tag(f.stem, where)
        raw, sha = read_bytes(f, where, max_bytes - total)
        total += len(raw)
        if not raw.strip():
            raise DataError(f"{where}: file is empty; a tag needs items")
        items = parse_items(raw, where, encoding, max_len, normalize)
        all_items.append(items)
        tags += [tag] * len(items)
        parts.append((f.name, sha))
    wide = any(i.codes.dtype != np.uint8 for i in all_items)       # one file beyond ASCII: all as uint32
    codes = np.concatenate([i.codes.astype(np.uint32) if wide else i.codes for i in all_items])
    lengths = np.concatenate([i.lengths for i in all_items])
    items = Items(codes, np.concatenate([[0], np.cumsum(lengths)]))
    return _tagged(items, tags), _dir_sha(parts)


def _tagged(items: Items, tags: list[str]) -> TaggedItems:
    names = sorted(set(tags))
    index = {t: k for k, t in enumerate(names)}
    return TaggedItems(items, np.fromiter((index[t] for t in tags), dtype=np.int64, count=len(tags)), names)


def dedupe_tagged(tagged: TaggedItems) -> tuple[TaggedItems, int]:
    """Keep the first occurrence of each (tag, item) line."""
    words = tagged.items.words()
    first = {}
    for i, pair in enumerate(zip(tagged.tags.tolist(), words)):
        first.setdefault(pair, i)
    rows = np.array(sorted(first.values()), dtype=np.int64)
    if len(rows) == len(words):
        return tagged, 0
    return TaggedItems(tagged.items.select(rows), tagged.tags[rows], tagged.names), len(words) - len(rows)
