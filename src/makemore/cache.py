"""The encoded split on disk, so that a second run on the same file starts at once.

    prepare(input, ...) -> Prepared   the split of a file, read (and cached), or loaded from the cache

An entry is keyed by the SHA-256 of the file's bytes and every setting that shapes the split
(encoding, --max-len, --dedupe, the split seed, a run's vocabulary and length). It holds X and Y
of each split as .npy files, memory-mapped when loaded (copy on write: nothing writes back), and
meta.json with the SHA-256 of each of them, checked on every load: a damaged or altered entry is
noticed, set aside and made again, never trained on. An entry is written in a new directory of
its own and renamed into place whole, so a kill leaves no half of one, and two runs writing the
same entry at once both end with one whole entry.

Where: `.makemore-cache/` beside the run directory (in its parent), or the directory
$MAKEMORE_CACHE names; MAKEMORE_CACHE=off turns it off. Inputs under MIN_BYTES are read faster
than an entry is checked, so they are not cached. The KEEP entries used last are kept.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import stat
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .data import (BUNDLED_TAGGED, MAX_BYTES, SPLITS, Dataset, Split, TaggedItems, Vocab, build_dataset, graphemes,
                   check_read_options, dedupe_items, dedupe_tagged, read_input, read_tagged, recorded_path)
from .errors import DataError, RunError
from .files import NOFOLLOW, read_bounded

FORMAT = 2
MIN_BYTES = 2 ** 20
KEEP = 8
ENV = "MAKEMORE_CACHE"
DIRNAME = ".makemore-cache"


@dataclass
class Prepared:
    """A file's split and what a run records of it."""
    data: Dataset
    path: str                 # as a run records it: absolute, or bundled:names.txt
    sha256: str               # of the file's bytes
    dropped: int              # items --dedupe dropped
    chars: list[str]          # the file's own characters (a run's vocabulary may hold more)
    source: str               # "read" (no cache), "cached" (read, then written) or "loaded" (from the cache)
    tags: dict | None = None  # tagged input: {tag: items}, over every line (after --dedupe)


def cache_dir(beside: str | Path | None) -> Path | None:
    """Where entries go for a run in directory `beside`: $MAKEMORE_CACHE, else .makemore-cache in
    the run's parent directory; None when turned off or there is no run directory."""
    env = os.environ.get(ENV, "")
    if env.lower() in ("off", "0", "no", "none"):
        return None
    if env:
        return Path(env)
    return None if beside is None else Path(os.path.abspath(beside)).parent / DIRNAME


def file_sha256(file: Path, max_bytes: int) -> str | None:
    """The SHA-256 of a regular file of at least MIN_BYTES and at most max_bytes, streamed; None
    for anything else (a FIFO is read once only, a small file is not worth an entry). A FIFO is
    never opened here: opening and closing its reading end would break the pipe of its writer."""
    try:
        if not stat.S_ISREG(os.stat(file).st_mode):
            return None
        fd = os.open(file, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError:
        return None
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode) or not MIN_BYTES <= st.st_size <= max_bytes:
        os.close(fd)
        return None
    with os.fdopen(fd, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def entry_key(sha256: str, settings: dict) -> str:
    return hashlib.sha256(json.dumps({"format": FORMAT, "sha256": sha256, **settings},
                                     sort_keys=True).encode()).hexdigest()[:40]


def prepare(input=None, *, encoding: str = "utf-8", max_len: int = 256, max_bytes: int = MAX_BYTES,
            dedupe: bool = False, split_seed: int = 42, vocab: list[str] | None = None,
            data_max_len: int | None = None, cache: Path | None = None, min_items: int = 0,
            tagged: bool = False, tag_names: list[str] | None = None, normalize: bool = True,
            unit: str = "char") -> Prepared:
    """The split of `input` as build_dataset makes it (with a run's vocab and data_max_len, to
    encode its way), from the cache directory `cache` when an entry is there, else read and then
    cached. min_items: fewer items (after --dedupe) is a DataError.
    tagged: `input` is TAG<TAB>ITEM lines (the bundled locales.tsv when None) or, whatever this
    says, a directory of text files, one per tag; tag_names: a run's tags, to index them its way.
    normalize: the text in Unicode NFC (a run trained before this setting existed reads without).
    unit: "char" (a token per code point) or "grapheme" (per extended grapheme cluster).

    A run's own file, encoded its own way, finds the entry its training wrote: that entry is
    keyed without the vocabulary and length, which are the file's own."""
    if tagged and input is None:
        input = BUNDLED_TAGGED
    file, shown = check_read_options(input, encoding, max_len, max_bytes)
    tagged = tagged or file.is_dir()
    settings = {"encoding": encoding, "max_len": max_len, "dedupe": dedupe, "split_seed": split_seed}
    if tagged:                                # untagged entries keep their keys
        settings["tagged"] = True
    if normalize:
        settings["normalize"] = "NFC"
    if unit != "char":                        # character entries keep their keys
        settings["unit"] = unit
    sha = file_sha256(file, max_bytes) if cache is not None else None
    own = None if sha is None else cache / entry_key(sha, settings)             # the file's own vocabulary and length
    given = None if sha is None or (vocab is None and data_max_len is None) else \
        cache / entry_key(sha, {**settings, "vocab": vocab, "data_max_len": data_max_len})
    for entry in (own, given):
        loaded = None if entry is None else load(entry, sha)
        if loaded is not None and loaded[0].vocab.unit == unit and vocab in (None, loaded[0].vocab.chars) and data_max_len in (None, loaded[0].max_len) \
                and tag_names in (None, loaded[0].tags):
            data, meta = loaded
            return Prepared(data, recorded_path(input), sha, meta["dropped"], meta["chars"], "loaded", meta.get("tag_counts"))
    tags, names, counts = None, None, None
    if tagged:
        read, path, read_sha = read_tagged(input, encoding=encoding, max_len=max_len, max_bytes=max_bytes,
                                           normalize=normalize)
        read, dropped = dedupe_tagged(read) if dedupe else (read, 0)
        items, counts = read.items, read.counts
        tags, names = _tag_indices(read, tag_names, shown)
    else:
        read = read_input(input, encoding=encoding, max_len=max_len, max_bytes=max_bytes, normalize=normalize)
        path, read_sha, items = read.path, read.sha256, read.items
        items, dropped = dedupe_items(items) if dedupe else (items, 0)
    del read
    if unit == "grapheme":
        items = graphemes(items)
    if len(items) < min_items:
        why = f" (--dedupe dropped {dropped:,} repeated items, {len(items)} left)" if dedupe else ""
        raise DataError(f"{shown}: only {len(items)} items{why}; need at least {min_items} to split 80/10/10")
    chars = items.chars()
    data = build_dataset(items, split_seed, vocab=None if vocab is None else Vocab(vocab, unit), max_len=data_max_len,
                         tags=tags, tag_names=names, unit=unit)
    natural = data.vocab.chars == chars and data.max_len == int(items.lengths.max()) and tag_names in (None, names)
    del items
    entry, source = (own if natural else given), "read"
    if entry is not None and read_sha == sha:                 # the file did not change while it was read
        meta = {"sha256": sha, "dropped": dropped, "chars": chars, "tag_counts": counts}
        source = "cached" if save(entry, data, meta) else "read"
    return Prepared(data, path, read_sha, dropped, chars, source, counts)


def _tag_indices(read: TaggedItems, tag_names: list[str] | None, shown: str):
    """(each item's tag index, the tag names): the file's own, or a run's (`tag_names`), which
    must then hold every tag of the file."""
    if tag_names is None:
        return read.tags, read.names
    unknown = sorted(set(read.names) - set(tag_names))
    if unknown:
        raise DataError(f"{shown}: tag {unknown[0]!r} is not one of the run's tags ({', '.join(tag_names)})")
    index = np.array([tag_names.index(t) for t in read.names], dtype=np.int64)
    return index[read.tags], list(tag_names)


def _arrays(data: Dataset) -> dict:
    tags = {} if data.tags is None else {f"{s}.tags": data.split(s).tags.numpy() for s in SPLITS}
    return {f"{s}.{xy}": getattr(data.split(s), xy).numpy() for s in SPLITS for xy in ("X", "Y")} | \
        {f"{s}.lengths": data.split(s).lengths.numpy().astype(np.int32) for s in SPLITS} | tags


def save(entry: Path, data: Dataset, meta: dict) -> bool:
    """Write the entry whole (a new directory, renamed into place), then drop the entries used
    longest ago beyond KEEP. A directory that cannot be written is no error: the run goes on
    uncached (False)."""
    try:
        entry.parent.mkdir(parents=True, exist_ok=True)
        if entry.parent.is_symlink():          # never written through a planted link
            return False
        tmp = Path(tempfile.mkdtemp(dir=entry.parent, prefix=".new-"))
    except OSError:
        return False
    try:
        hashes = {}
        for name, a in _arrays(data).items():
            np.save(tmp / f"{name}.npy", a, allow_pickle=False)
            with open(tmp / f"{name}.npy", "rb") as f:
                hashes[name] = hashlib.file_digest(f, "sha256").hexdigest()
        info = {"format": FORMAT, **meta, "vocab": data.vocab.chars, "unit": data.vocab.unit, "max_len": data.max_len, "tags": data.tags,
                "arrays": hashes}
        (tmp / "meta.json").write_text(json.dumps(info))
        os.chmod(tmp, 0o755)
        os.rename(tmp, entry)                  # fails if another process put the entry there first: theirs stays
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)
        return entry.is_dir()
    prune(entry.parent)
    return True


def load(entry: Path, sha: str) -> tuple[Dataset, dict] | None:
    """(the dataset, meta.json) of a whole, unaltered entry, its arrays memory-mapped; None if
    there is none. One that does not check out is set aside (removed) so it is made again."""
    if not entry.is_dir() or entry.is_symlink() or entry.parent.is_symlink():
        return None
    try:
        meta = json.loads(read_bounded(entry / "meta.json", 2 ** 20))
        tagged = meta.get("tags") is not None
        if meta.get("format") != FORMAT or meta.get("sha256") != sha or set(meta["arrays"]) != set(_names(tagged)):
            raise ValueError("another entry")
        arrays = {}
        for name, digest in meta["arrays"].items():
            path = entry / f"{name}.npy"
            fd = os.open(path, os.O_RDONLY | NOFOLLOW)
            with os.fdopen(fd, "rb") as f:
                if not stat.S_ISREG(os.fstat(fd).st_mode) or hashlib.file_digest(f, "sha256").hexdigest() != digest:
                    raise ValueError(f"{name} altered")
            arrays[name] = torch.from_numpy(np.load(path, mmap_mode="c", allow_pickle=False))
        vocab = Vocab(meta["vocab"], meta.get("unit", "char"))
        splits = [Split(None, arrays[f"{s}.X"], arrays[f"{s}.Y"], vocab, lengths=arrays[f"{s}.lengths"].long(),
                        tags=arrays[f"{s}.tags"].long() if tagged else None) for s in SPLITS]
        data = Dataset(vocab, int(meta["max_len"]), *splits, tags=meta.get("tags"))
    except (OSError, ValueError, KeyError, TypeError, RunError):   # damaged, altered or another version's: made again
        shutil.rmtree(entry, ignore_errors=True)
        return None
    with contextlib.suppress(OSError):
        os.utime(entry / "meta.json")          # used now: kept longest
    return data, meta


def _names(tagged: bool = False) -> list[str]:
    return [f"{s}.{a}" for s in SPLITS for a in ("X", "Y", "lengths") + (("tags",) if tagged else ())]


def prune(directory: Path, keep: int = KEEP) -> None:
    """Remove all but the `keep` entries used last (and directories a kill left half-written)."""
    entries = []
    for p in directory.iterdir():
        if p.name.startswith(".new-"):
            with contextlib.suppress(OSError):
                if p.stat().st_mtime < time.time() - 3600:     # a kill's leftover, not a write under way
                    shutil.rmtree(p, ignore_errors=True)
            continue
        with contextlib.suppress(OSError):
            entries.append((os.stat(p / "meta.json").st_mtime, p))
    for _, p in sorted(entries, reverse=True)[keep:]:
        shutil.rmtree(p, ignore_errors=True)
