"""The data path: reading, validation, vocabulary, the lectures' split, encoding."""

import random

import pytest
import torch

from hypothesis import given, settings, strategies as st

from makemore.data import (BOUNDARY, SPLITS, DataError, ItemIndex, Split, Vocab, build_dataset, context_windows, dedupe_items, dedupe_words,
                           encode_words, read_input, read_words, row_hashes, split_words)

from makemore.errors import UsageError

def test_bundled_names(names):
    assert len(names) == 32033
    assert dedupe_words(names)[1] == 2539


def test_split_matches_lectures(names, names_data):
    # the lectures: random.seed(42); random.shuffle(words); n1 = int(.8 N); n2 = int(.9 N)
    ref = list(names)
    random.seed(42)
    random.shuffle(ref)
    n1, n2 = int(0.8 * len(ref)), int(0.9 * len(ref))
    assert split_words(names) == (ref[:n1], ref[n1:n2], ref[n2:])
    d = names_data
    assert (d.train.n_targets, d.val.n_targets, d.test.n_targets) == (182625, 22655, 22866)
    assert d.vocab.size == 27 and d.max_len == 15
    assert d.train.X.dtype == torch.int8          # the smallest type that holds 27 ids and -1


def test_encode_matches_per_item_reference():
    words = ["emma", "a.b", "zoé", "李小龙", "x"]
    v = Vocab.from_words(words)
    X, Y = encode_words(words, v, max_len=6)
    for i, w in enumerate(words):
        ids = v.encode(w)
        assert X[i].tolist() == [0] + ids + [0] * (6 - len(ids))
        assert Y[i].tolist() == ids + [0] + [-1] * (6 - len(ids))
        assert v.decode(X[i].tolist()) == w


def test_boundary_is_not_the_dot_character():
    words = ["amazon.com", "a.b.c", "..."]
    v = Vocab.from_words(words)
    assert "." in v.chars and v.stoi["."] != BOUNDARY
    assert [v.decode(v.encode(w)) for w in words] == words
    assert v.show(BOUNDARY) == "."


def test_chinese_names(tmp_path):
    names = ["王伟", "李娜", "张敏", "刘洋", "陈静", "杨帆", "赵磊", "黄丽", "周杰", "吴芳", "徐强", "孙悦"]
    p = tmp_path / "zh.txt"
    p.write_text("\n".join(names), encoding="utf-8")
    words = read_words(p)
    assert words == names
    d = build_dataset(words)
    assert d.vocab.size == len(set("".join(names))) + 1
    assert sorted(d.train.words + d.val.words + d.test.words) == sorted(names)


def test_context_windows_are_the_lectures_contexts():
    # the lectures: context = [0] * block_size; for ch in w + '.': X.append(context); context = context[1:] + [ix]
    words = ["emma", "ava"]
    v = Vocab.from_words(words)
    s = Split(words, *encode_words(words, v, 4))
    ctx, y = s.examples(3)
    ref_ctx, ref_y = [], []
    for w in words:
        context = [0] * 3
        for ix in v.encode(w) + [0]:
            ref_ctx.append(context)
            ref_y.append(ix)
            context = context[1:] + [ix]
    assert ctx.tolist() == ref_ctx and y.tolist() == ref_y
    assert context_windows(s.X.long(), 2).shape == (2, 5, 2)


def test_strip_blank_lines_bom_and_crlf(tmp_path):
    p = tmp_path / "w.txt"
    p.write_bytes("\ufeffanna\r\n\r\n  bob  \n\n".encode("utf-8"))
    assert read_words(p) == ["anna", "bob"]


def test_other_encoding(tmp_path):
    p = tmp_path / "w.txt"
    p.write_bytes("zoë\nrené\n".encode("cp1252"))
    assert read_words(p, encoding="cp1252") == ["zoë", "rené"]
    with pytest.raises(DataError, match=r"w.txt:1: cannot decode .* as utf-8"):
        read_words(p)


@pytest.mark.parametrize("content,pattern", [
    (None, "no such file"),
    ("DIR", "is a directory"),
    (b"", "file is empty"),
    (b"\n  \n\n", "no items"),
    (b"ok\nfine\nbad \xff\xfe here\n", r":3: cannot decode byte 0xff \(column 5\)"),
    (b"ok\n" + b"x" * 300 + b"\n", r":2: item is 300 characters long, over --max-len 256"),
])
def test_bad_input_names_the_problem(tmp_path, content, pattern):
    p = tmp_path / "in.txt"
    if content == "DIR":
        p.mkdir()
    elif content is not None:
        p.write_bytes(content)
    with pytest.raises(DataError, match=pattern):
        read_words(p)


def test_unknown_encoding(tmp_path):
    p = tmp_path / "w.txt"
    p.write_text("a\n")
    with pytest.raises(UsageError, match="unknown encoding"):
        read_words(p, encoding="klingon-8")


def test_unknown_character_in_vocab():
    v = Vocab.from_words(["abc"])
    with pytest.raises(DataError, match="not in the vocabulary"):
        encode_words(["abz"], v, 3)
    with pytest.raises(DataError, match="'z'"):
        v.encode("z")


# --- the array-based reading, against the plain-Python reading it replaces ------------------------

def reference_items(text: str) -> list[str]:
    """One item per line as str methods read them: any line ending, each line stripped, blanks dropped."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return [w for w in (line.strip() for line in lines) if w]


LINE_PARTS = st.sampled_from(["a", "b", "z", "é", "李", "😀", " ", "\t", "\u3000", "\xa0", "\u2028", ".",
                              "\n", "\r\n", "\r", "  \n", "\u2003x"])


@settings(max_examples=300, deadline=None)
@given(st.lists(LINE_PARTS, min_size=1, max_size=40), st.booleans())
def test_reading_equals_the_str_reference(tmp_path_factory, parts, bom):
    text = "".join(parts)
    p = tmp_path_factory.mktemp("r") / "in.txt"
    p.write_bytes(("\ufeff" if bom else "").encode() + text.encode("utf-8"))
    ref = reference_items(text)
    if not ref:
        with pytest.raises(DataError, match="no items"):
            read_input(p)
        return
    items = read_input(p).items
    assert items.words() == ref
    assert items.chars() == sorted(set("".join(ref)))
    assert dedupe_items(items)[0].words() == dedupe_words(ref)[0]
    assert dedupe_items(items)[1] == dedupe_words(ref)[1]


@settings(max_examples=100, deadline=None)
@given(st.lists(LINE_PARTS, min_size=1, max_size=30), st.sampled_from(["\x00", "\x07", "\x1b", "\x7f", "\x0b"]),
       st.integers(0, 30))
def test_a_control_character_is_found_where_the_text_has_it(tmp_path_factory, parts, bad, at):
    parts.insert(min(at, len(parts)), bad)
    text = "".join(parts)
    p = tmp_path_factory.mktemp("c") / "in.txt"
    p.write_bytes(text.encode("utf-8"))
    norm = text.replace("\r\n", "\n").replace("\r", "\n")
    i = norm.index(bad)
    line, col = norm.count("\n", 0, i) + 1, i - (norm.rfind("\n", 0, i) + 1) + 1
    with pytest.raises(DataError, match=rf"in.txt:{line}: .* at column {col};"):
        read_input(p)


def test_long_runs_of_spaces_are_stripped(tmp_path):
    p = tmp_path / "in.txt"
    p.write_text(" " * 500 + "anna" + "\t" * 300 + "\n" + " " * 40 + "\n" + "bo b" + " " * 9 + "\n")
    assert read_words(p) == ["anna", "bo b"]


def test_large_input_is_the_same_as_small(tmp_path):
    """Items of a file larger than one encoding chunk (ROWS items): encoded by chunks, split as the lectures'."""
    import makemore.data as data_module
    words = [f"w{i % 977}x{'y' * (i % 7)}" for i in range(5000)]
    d_ref = build_dataset(words)
    p = tmp_path / "in.txt"
    p.write_text("\n".join(words))
    old = data_module.ROWS
    data_module.ROWS = 333
    try:
        d = build_dataset(read_input(p).items)
    finally:
        data_module.ROWS = old
    for s in ("train", "val", "test"):
        a, b = d.split(s), d_ref.split(s)
        assert torch.equal(a.X, b.X) and torch.equal(a.Y, b.Y) and a.words == b.words
    assert d.train.words == split_words(words)[0]


def test_the_item_index_finds_each_item_in_its_part_of_the_split():
    words = [f"{a}{b}" for a in "abcde" for b in "xyz"] + ["ann", "bob", "cid"] * 2     # repeats across parts
    data = build_dataset(words)
    index = ItemIndex(data)
    parts = {s: set(data.split(s).words) for s in SPLITS}
    asked = words + ["", "new", "zz", "annx", "a" * 50, "ANN", "é"]
    want = [next((s for s in SPLITS if w in parts[s]), None) for w in asked]
    assert index.where(asked) == want and want.count(None) == 7
    assert index.where([]) == []


@settings(max_examples=40, deadline=None)
@given(st.lists(st.text("abc", min_size=1, max_size=6), min_size=10, max_size=60),
       st.lists(st.text("abcd", max_size=7), max_size=20))
def test_the_item_index_agrees_with_sets_of_strings(words, asked):
    data = build_dataset(words)
    parts = {s: set(data.split(s).words) for s in SPLITS}
    assert ItemIndex(data).where(asked) == [next((s for s in SPLITS if w in parts[s]), None) for w in asked]


def test_rows_hash_alike_whatever_their_padding():
    X, _ = encode_words(["ab", "ba", "a"], Vocab(list("ab")), 4)                     # (3, 5)
    wide, _ = encode_words(["ab", "ba", "a"], Vocab(list("ab")), 9)                  # (3, 10)
    h = row_hashes(X.numpy())
    assert (h == row_hashes(wide.numpy())).all() and len(set(h.tolist())) == 3


def test_text_is_read_in_nfc_unless_asked_not_to(tmp_path):
    """A precomposed é (U+00E9) and an e with a combining acute (U+0065 U+0301) are one character
    after NFC; --no-normalize keeps the code points as they are."""
    import makemore as mm
    from makemore.cli import main as cli
    lines = ["Ren\u00e9", "Rene\u0301", "Jos\u00e9", "Jose\u0301"] * 5 + ["ana", "bo", "Ren\u00e9ra"]
    f = tmp_path / "accents.txt"
    f.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert set(read_words(f)) == {"René", "José", "ana", "bo", "Renéra"} and "\u0301" not in "".join(read_words(f))
    assert "\u0301" in "".join(read_words(f, normalize=False))
    assert cli(["train", "-i", str(f), "-o", str(tmp_path / "nfc"), "--type", "bigram", "--no-progress", "--samples", "0"]) == 0
    assert cli(["train", "-i", str(f), "-o", str(tmp_path / "raw"), "--type", "bigram", "--no-progress", "--samples", "0",
                "--no-normalize"]) == 0
    nfc_run, raw_run = mm.load_run(tmp_path / "nfc"), mm.load_run(tmp_path / "raw")
    assert nfc_run.config["data"]["normalize"] == "NFC" and raw_run.config["data"]["normalize"] == "none"
    assert "\u0301" not in nfc_run.vocab.chars and "\u0301" in raw_run.vocab.chars
    # what a user types is read the run's way: a decomposed é scores as the precomposed one
    assert nfc_run.score(["Rene\u0301"])[0]["nll"] == nfc_run.score(["Ren\u00e9"])[0]["nll"]
    assert all(s["item"].startswith("Ren\u00e9") for s in nfc_run.sample(3, prefix="Rene\u0301", seed=0))


def test_a_run_from_before_normalization_rebuilds_its_split_as_it_was(tmp_path):
    """config.json without data.normalize (an earlier version's) means the text was read as it is."""
    import json
    import makemore as mm
    f = tmp_path / "accents.txt"
    f.write_text("\n".join(["Rene\u0301", "Ren\u00e9", "ana", "bo"] * 5) + "\n", encoding="utf-8")
    run = mm.create_run(tmp_path / "r", f, type="bigram", normalize=False)
    run.train(progress=False)
    config = json.loads((tmp_path / "r" / "config.json").read_text())
    del config["data"]["normalize"]
    (tmp_path / "r" / "config.json").write_text(json.dumps(config))
    old = mm.load_run(tmp_path / "r")
    assert old.data.train.words == run.data.train.words and old.evaluate() == run.evaluate()


GRAPHEME_ITEMS = ["नमस्ते", "क्षत्रिय", "สวัสดี", "กิ่ง", "👍🏽ok", "🇫🇷🇩🇪", "👩\u200d💻dev", "ana"] * 4


def test_grapheme_units_are_whole_clusters_and_round_trip():
    """--unit grapheme: each token an extended grapheme cluster (regex's \\X), so a vowel sign, a
    skin tone or half a flag is never a token of its own; decoding gives the same text back."""
    import regex
    from makemore.data import Vocab, build_dataset
    data = build_dataset(GRAPHEME_ITEMS, unit="grapheme")
    clusters = {c for w in GRAPHEME_ITEMS for c in regex.findall(r"\X", w)}
    assert data.vocab.unit == "grapheme" and set(data.vocab.chars) == clusters
    assert "\u094d" not in data.vocab.chars and "🏽" not in data.vocab.chars and "🇫" not in data.vocab.chars
    assert data.max_len == max(len(regex.findall(r"\X", w)) for w in GRAPHEME_ITEMS)
    for w in set(GRAPHEME_ITEMS):
        ids = data.vocab.encode(w)
        assert data.vocab.decode(ids) == w and len(ids) == data.vocab.length(w)
    words = sorted(data.train.words + data.val.words + data.test.words)
    assert words == sorted(GRAPHEME_ITEMS)
    from makemore.data import Items                        # decoded from the encoded rows, not kept strings
    items = build_dataset(Items.from_words(GRAPHEME_ITEMS, "grapheme"))
    assert items.train.words == data.train.words and items.vocab == data.vocab
    chars = build_dataset(GRAPHEME_ITEMS)                   # code points: marks and modifiers are tokens
    assert chars.vocab.unit == "char" and "\u094d" in chars.vocab.chars and chars.max_len > data.max_len
    assert Vocab(["a"], "grapheme").unknown_chars(["ab"]) == ["b"]


def test_a_grapheme_run_trains_samples_scores_and_constrains_in_clusters(tmp_path):
    import regex
    import makemore as mm
    from makemore.cli import main as cli
    f = tmp_path / "scripts.txt"
    f.write_text("\n".join(GRAPHEME_ITEMS) + "\n", encoding="utf-8")
    assert cli(["train", "-i", str(f), "-o", str(tmp_path / "g"), "--type", "bigram", "--unit", "grapheme",
                "--no-progress", "--samples", "0"]) == 0
    run = mm.load_run(tmp_path / "g")
    assert run.config["data"]["unit"] == "grapheme" and run.vocab.unit == "grapheme"
    clusters = set(run.vocab.chars)
    for s in run.sample(50, seed=0):                            # never a mark with nothing to combine with
        assert not any(regex.match(r"\p{M}", c) for c in regex.findall(r"\X", s["item"])), s["item"]
        assert set(run.vocab.split(s["item"])) <= clusters or "्" in s["item"]   # a conjunct may join two tokens
    score = run.score(["नमस्ते"])[0]
    assert score["chars"] == len(regex.findall(r"\X", "नमस्ते")) + 1 < len("नमस्ते") + 1   # its clusters, and the end
    got = run.sample(20, seed=1, constraints={"suffix": "ดี", "max_len": 4})
    assert all(s["item"].endswith("ดี") and run.vocab.length(s["item"]) <= 4 for s in got)
    got = run.sample(10, seed=2, constraints={"regex": "(न|क्ष).*", "new": True})
    assert all(regex.fullmatch("(न|क्ष).*", s["item"]) and s["novelty"] == "new" for s in got)
    # a lone vowel sign is not a token of this run: a one-line error naming it
    with pytest.raises(mm.UsageError, match="not in the model's vocabulary"):
        run.sample(3, constraints={"suffix": "\u0947"})
    # the same file read by code point is another cache entry and another vocabulary
    assert cli(["train", "-i", str(f), "-o", str(tmp_path / "c"), "--type", "bigram", "--no-progress", "--samples", "0"]) == 0
    assert "\u094d" in mm.load_run(tmp_path / "c").vocab.chars and mm.load_run(tmp_path / "g").data.max_len == run.max_len


def test_grapheme_units_do_not_go_with_reading_right_to_left(tmp_path, capsys):
    from makemore.cli import main as cli
    f = tmp_path / "s.txt"
    f.write_text("\n".join(GRAPHEME_ITEMS) + "\n", encoding="utf-8")
    assert cli(["train", "-i", str(f), "-o", str(tmp_path / "r"), "--unit", "grapheme", "--reverse"]) == 2
    err = capsys.readouterr().err.strip()
    assert "--reverse" in err and "--unit grapheme" in err and len(err.splitlines()) == 1
