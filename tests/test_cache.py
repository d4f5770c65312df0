"""The encoded split's cache: a second run loads what the first one read, identical to reading
the file again; a damaged, altered, half-written or planted entry is never used."""

import multiprocessing
import os

import pytest
import torch

import makemore.cache as cache
from makemore import runs
from makemore.data import build_dataset, read_words
from makemore.errors import DataError


@pytest.fixture
def small_cache(monkeypatch):
    monkeypatch.setattr(cache, "MIN_BYTES", 1)           # every file is worth an entry here
    monkeypatch.delenv(cache.ENV, raising=False)


@pytest.fixture
def big(tmp_path):
    words = read_words()
    p = tmp_path / "names.txt"
    p.write_text("\n".join(words[:4000]) + "\n")
    return p, words[:4000]


def mapped_file(t: torch.Tensor):
    """The file whose mapping holds tensor t's memory (from /proc/self/maps), or None."""
    ptr = t.data_ptr()
    for line in open("/proc/self/maps"):
        parts = line.split()
        lo, hi = (int(x, 16) for x in parts[0].split("-"))
        if lo <= ptr < hi:
            return parts[5] if len(parts) > 5 else None
    return None


def same(a, b):
    assert a.vocab.chars == b.vocab.chars and a.max_len == b.max_len
    for s in ("train", "val", "test"):
        x, y = a.split(s), b.split(s)
        assert x.X.dtype == y.X.dtype and torch.equal(x.X, y.X) and torch.equal(x.Y, y.Y)
        assert x.words == y.words


def test_a_second_prepare_loads_what_the_first_read(small_cache, big, tmp_path):
    p, words = big
    c = tmp_path / "cache"
    first = cache.prepare(p, cache=c)
    second = cache.prepare(p, cache=c)
    assert (first.source, second.source) == ("cached", "loaded")
    same(second.data, build_dataset(words))
    same(first.data, second.data)
    assert second.sha256 == first.sha256 and second.chars == first.chars
    (entry,) = c.iterdir()
    assert mapped_file(second.data.train.X) == str(entry / "train.X.npy")    # memory-mapped, not read in
    assert not str(mapped_file(first.data.train.X)).endswith(".npy")
    assert cache.prepare(p, cache=None).source == "read"
    assert cache.prepare(p, cache=c, split_seed=7).source == "cached"        # another split: its own entry
    assert len([e for e in c.iterdir()]) == 2


def test_the_settings_and_the_bytes_key_the_entry(small_cache, big, tmp_path):
    p, words = big
    c = tmp_path / "cache"
    cache.prepare(p, cache=c)
    assert cache.prepare(p, cache=c, dedupe=True).source == "cached"
    d = cache.prepare(p, cache=c, dedupe=True)
    assert d.source == "loaded" and d.dropped == len(words) - len(set(words))
    p.write_text("\n".join(words[:3999]) + "\n")                              # the file changed
    changed = cache.prepare(p, cache=c)
    assert changed.source == "cached"
    same(changed.data, build_dataset(words[:3999]))


def test_a_run_finds_the_entry_its_training_wrote(small_cache, big, tmp_path, monkeypatch):
    p, words = big
    run = runs.create_run(tmp_path / "runs" / "a", p, type="bigram")
    run.train(progress=False)
    entries = list((tmp_path / "runs" / cache.DIRNAME).iterdir())
    assert len(entries) == 1
    calls = []
    monkeypatch.setattr(cache, "read_input", lambda *a, **k: calls.append(a))  # a read would be recorded
    loaded = runs.load_run(tmp_path / "runs" / "a")
    same(loaded.data, build_dataset(words))
    assert calls == []
    assert loaded.evaluate() == run.evaluate()
    resumed = runs.create_run(tmp_path / "runs" / "b", p, type="bigram")       # a second run: loaded too
    assert calls == [] and resumed.config["data"] == {**run.config["data"]}


def test_a_damaged_entry_is_noticed_and_made_again(small_cache, big, tmp_path):
    p, words = big
    c = tmp_path / "cache"
    cache.prepare(p, cache=c)
    (entry,) = c.iterdir()
    ref = build_dataset(words)
    damages = [
        lambda: (entry / "train.X.npy").write_bytes((entry / "train.X.npy").read_bytes()[:-1] + b"\x05"),
        lambda: (entry / "val.Y.npy").write_bytes((entry / "val.Y.npy").read_bytes()[:200]),
        lambda: (entry / "meta.json").write_text("{not json"),
        lambda: (entry / "test.X.npy").unlink(),
        lambda: ((entry / "train.Y.npy").unlink(), os.symlink(entry / "train.X.npy", entry / "train.Y.npy")),
    ]
    for damage in damages:
        damage()
        again = cache.prepare(p, cache=c)
        assert again.source == "cached", damage
        same(again.data, ref)
        assert cache.prepare(p, cache=c).source == "loaded"


def test_a_kill_leaves_no_half_entry(small_cache, big, tmp_path, monkeypatch):
    p, words = big
    c = tmp_path / "cache"

    def killed(*a, **k):
        raise OSError("killed mid-write")
    monkeypatch.setattr(cache.np, "save", killed)
    assert cache.prepare(p, cache=c).source == "read"                         # the run goes on, uncached
    assert list(c.iterdir()) == []
    monkeypatch.undo()
    monkeypatch.setattr(cache, "MIN_BYTES", 1)
    (c / ".new-left-by-a-kill").mkdir()
    os.utime(c / ".new-left-by-a-kill", (0, 0))
    assert cache.prepare(p, cache=c).source == "cached"
    assert [e.name for e in c.iterdir() if e.name.startswith(".new-")] == []  # the old leftover pruned


def test_a_planted_link_is_never_written_through(small_cache, big, tmp_path):
    p, _ = big
    target = tmp_path / "elsewhere"
    target.mkdir()
    os.symlink(target, tmp_path / "cache")
    assert cache.prepare(p, cache=tmp_path / "cache").source == "read"
    assert list(target.iterdir()) == []


def test_only_the_entries_used_last_are_kept(small_cache, big, tmp_path):
    p, _ = big
    c = tmp_path / "cache"
    for seed in range(cache.KEEP + 3):
        cache.prepare(p, cache=c, split_seed=seed)
    assert len(list(c.iterdir())) == cache.KEEP
    assert cache.prepare(p, cache=c, split_seed=cache.KEEP + 2).source == "loaded"
    assert cache.prepare(p, cache=c, split_seed=0).source == "cached"          # the oldest went


def _prepare(args):
    path, c = args
    cache.MIN_BYTES = 1
    return cache.prepare(path, cache=c).source


def test_two_processes_writing_one_entry_end_with_one_whole_entry(big, tmp_path, monkeypatch):
    monkeypatch.delenv(cache.ENV, raising=False)
    p, words = big
    c = tmp_path / "cache"
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        sources = pool.map(_prepare, [(p, c)] * 4)
    assert set(sources) <= {"cached", "loaded"}
    assert len([e for e in c.iterdir()]) == 1
    monkeypatch.setattr(cache, "MIN_BYTES", 1)
    loaded = cache.prepare(p, cache=c)
    assert loaded.source == "loaded"
    same(loaded.data, build_dataset(words))


def test_where_entries_go(small_cache, tmp_path, monkeypatch, big):
    assert cache.cache_dir(tmp_path / "runs" / "a") == tmp_path / "runs" / cache.DIRNAME
    monkeypatch.setenv(cache.ENV, str(tmp_path / "mine"))
    assert cache.cache_dir(tmp_path / "runs" / "a") == tmp_path / "mine"
    monkeypatch.setenv(cache.ENV, "off")
    assert cache.cache_dir(tmp_path / "runs" / "a") is None
    run = runs.create_run(tmp_path / "r", big[0], type="bigram")
    run.train(progress=False)
    assert not (tmp_path / cache.DIRNAME).exists()


def test_small_files_are_not_cached(big, tmp_path, monkeypatch):
    monkeypatch.delenv(cache.ENV, raising=False)
    assert os.path.getsize(big[0]) < cache.MIN_BYTES
    assert cache.prepare(big[0], cache=tmp_path / "cache").source == "read"
    assert not (tmp_path / "cache").exists()


def test_a_run_on_a_changed_file_is_refused_even_with_an_entry(small_cache, big, tmp_path):
    p, words = big
    run = runs.create_run(tmp_path / "runs" / "a", p, type="bigram")
    run.train(progress=False)
    p.write_text("\n".join(words[:3000]) + "\n")
    with pytest.raises(DataError, match="changed since the run was trained"):
        runs.load_run(tmp_path / "runs" / "a").data


def test_the_command_says_what_the_cache_did(tmp_path, monkeypatch, capsys):
    """Two `makemore train` runs on a file over MIN_BYTES: the first caches the split, the second
    loads it, and both report the same losses."""
    from makemore.cli import main
    monkeypatch.delenv(cache.ENV, raising=False)
    words = read_words()
    p = tmp_path / "many.txt"
    p.write_text("\n".join(words * 5) + "\n")
    assert os.path.getsize(p) > cache.MIN_BYTES
    out = []
    for name in ("a", "b"):
        assert main(["train", "-i", str(p), "-o", str(tmp_path / "runs" / name), "--type", "bigram",
                     "--no-progress", "--samples", "0"]) == 0
        out.append(capsys.readouterr())
    assert "encoded split cached in" in out[0].err and "loaded from the cache" in out[1].err
    assert out[0].out == out[1].out
    assert (tmp_path / "runs" / cache.DIRNAME).is_dir()
