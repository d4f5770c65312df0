"""Tagged items: reading them two ways, the split over (tag, item) lines, every model conditioned on
a tag (the incremental path equal to the full forward), and the three uses of one model by Bayes'
rule (generate a tag or a blend, score conditionally or marginally, classify)."""

import json
import math

import numpy as np
import pytest
import torch

import makemore as mm
from makemore import cache, tagging
from makemore.batches import Batches
from makemore.cli import main as cli
from makemore.data import DataError, build_dataset, read_tagged, split_order, bundled_locales
from makemore.errors import UsageError
from makemore.models import build_model
from makemore.sampling import generate

from test_models import L, V, kind, names, options, tiny_data

pytestmark = pytest.mark.usefixtures("one_thread")

K = 3


def write(path, lines):
    path.write_text("".join(f"{t}\t{w}\n" for t, w in lines), encoding="utf-8")
    return path


@pytest.fixture
def two_kinds(tmp_path):
    """Two tags whose items differ in every character: 'a' items of a, b, c; 'x' items of x, y, z."""
    g = np.random.default_rng(0)
    lines = []
    for _ in range(300):
        for tag, chars in (("a", "abc"), ("x", "xyz")):
            lines.append((tag, "".join(g.choice(list(chars), size=int(g.integers(2, 7))))))
    return write(tmp_path / "two.tsv", lines)


# --- reading ------------------------------------------------------------------------------

def test_a_tagged_file_and_a_directory_read_alike(tmp_path):
    write(tmp_path / "t.tsv", [("it", "giulia"), ("es", "lucía"), ("it", " marco "), ("es", "ana")])
    tagged, path, sha = read_tagged(tmp_path / "t.tsv")
    assert tagged.items.words() == ["giulia", "lucía", "marco", "ana"]
    assert tagged.names == ["es", "it"] and tagged.tags.tolist() == [1, 0, 1, 0]
    assert tagged.counts == {"es": 2, "it": 2} and len(sha) == 64
    d = tmp_path / "names"
    d.mkdir()
    (d / "Italian.txt").write_text("giulia\nmarco\n", encoding="utf-8")
    (d / "Spanish.txt").write_text("lucía\n\nana\n", encoding="utf-8")
    (d / "notes.md").write_text("not a tag\n")
    tagged, _, sha2 = read_tagged(d)
    assert tagged.names == ["Italian", "Spanish"] and tagged.items.words() == ["giulia", "marco", "lucía", "ana"]
    assert tagged.tags.tolist() == [0, 0, 1, 1]
    (d / "Spanish.txt").write_text("lucía\nana\n", encoding="utf-8")
    assert read_tagged(d)[2] != sha2                      # the directory's digest covers its files' bytes


@pytest.mark.parametrize("text,pattern", [
    ("it\tgiulia\nmarco\n", r"t.tsv:2: no tab; a --tagged file's lines are TAG<TAB>ITEM"),
    ("it\tgiulia\n \tmarco\n", r"t.tsv:2: empty tag"),
    ("it\tgiulia\nit,es\tmarco\n", r"t.tsv:2: tag 'it,es' holds ','"),
    ("it\tgiulia\n\nit\t  \n", r"t.tsv:3: empty item after the tag 'it'"),
    ("it\tgiulia\n\nit\tma\x07rco\n", r"t.tsv:3: the control character U\+0007"),
    ("it\tgiulia\n\n\nit\t" + "x" * 300 + "\n", r"t.tsv:4: item is 300 characters long"),
])
def test_bad_tagged_lines_name_the_file_and_line(tmp_path, text, pattern):
    (tmp_path / "t.tsv").write_text(text, encoding="utf-8")
    with pytest.raises(DataError, match=pattern):
        read_tagged(tmp_path / "t.tsv")


def test_a_directory_without_text_files_is_an_error(tmp_path):
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "README.md").write_text("x\n")
    with pytest.raises(DataError, match="no text files"):
        read_tagged(tmp_path / "d")


def test_the_split_is_the_seed_42_shuffle_of_the_lines(tmp_path):
    lines = [("ab"[i % 2], f"w{i}") for i in range(100)]
    write(tmp_path / "t.tsv", lines)
    tagged, _, _ = read_tagged(tmp_path / "t.tsv")
    data = build_dataset(tagged.items, tags=tagged.tags, tag_names=tagged.names)
    order = split_order(100)
    assert data.train.words == [lines[i][1] for i in order[:80]]
    assert [data.tags[t] for t in data.test.tags.tolist()] == [lines[i][0] for i in order[90:]]
    untagged = build_dataset(tagged.items)                # the same rows, with no tags
    assert torch.equal(untagged.train.X, data.train.X) and untagged.train.tags is None


def test_the_tagged_split_is_cached_with_its_tags(tmp_path, monkeypatch, two_kinds):
    monkeypatch.setattr(cache, "MIN_BYTES", 0)
    first = cache.prepare(two_kinds, tagged=True, cache=tmp_path / "c")
    again = cache.prepare(two_kinds, tagged=True, cache=tmp_path / "c")
    assert (first.source, again.source) == ("cached", "loaded")
    assert again.data.tags == ["a", "x"] and again.tags == {"a": 300, "x": 300}
    for s in ("train", "val", "test"):
        assert torch.equal(first.data.split(s).tags, again.data.split(s).tags)


def test_the_bundled_locales_are_faker_first_names_in_many_scripts():
    tagged, path, _ = read_tagged(None)
    assert path == "bundled:locales.tsv" and len(tagged.names) >= 12 and min(tagged.counts.values()) >= 50
    scripts = {"Latin": "a", "Cyrillic": "д", "Greek": "α", "Devanagari": "क", "Han": "伟", "Hangul": "수", "Arabic": "م"}
    chars = set(tagged.items.chars())
    assert all(c in chars for c in scripts.values())
    assert "MIT" in (bundled_locales().parent / "LOCALES-NOTICE.txt").read_text()


# --- models -------------------------------------------------------------------------------

def tagged_model(name, seed=0):
    torch.manual_seed(seed)
    m = build_model(kind(name), V, L + 1, n_tags=K, **options(name))
    _, _, s = tiny_data()
    s.tags = torch.randint(0, K, (len(s),), generator=torch.Generator().manual_seed(1))
    x, y, _ = m.examples(s)
    m.fit(x, y, tags=m.example_tags(s))
    with torch.no_grad():                     # tag vectors start at zero: give them values to tell tags apart
        for n, p in m.named_parameters():
            if "tag" in n or n == "U":
                p.normal_()
    return m.eval()


@pytest.mark.parametrize("name", names)
def test_tagged_incremental_path_equals_the_full_forward(name):
    m = tagged_model(name)
    x = torch.randint(0, V, (4, L + 1))
    tags = torch.tensor([0, 1, 2, 1])
    full, _ = m(x, tags=tags)
    state = m.init_state(4, tags=tags)
    steps = []
    for t in range(L + 1):
        logits, state = m.step(x[:, t], state)
        steps.append(logits)
    torch.testing.assert_close(torch.stack(steps, 1), full, atol=1e-5, rtol=0)
    other, _ = m(x, tags=(tags + 1) % K)
    assert not torch.allclose(other, full)                 # the tag changes the prediction
    rows = torch.tensor([2, 0])                            # select_rows keeps each row's tag
    state = m.select_rows(m.init_state(4, tags=tags), rows)
    logits, _ = m.step(x[rows, 0], state)
    torch.testing.assert_close(logits, full[rows, 0], atol=1e-5, rtol=0)
    a = generate(m, 60, L, generator=torch.Generator().manual_seed(3), tags=torch.arange(60) % K)
    b = generate(m, 60, L, generator=torch.Generator().manual_seed(3), tags=torch.arange(60) % K, cached=False)
    assert torch.equal(a, b)


@pytest.mark.parametrize("name", ["bigram", "lstm", "transformer"])
def test_a_tagged_model_needs_a_tag_and_an_untagged_one_takes_none(name):
    m = tagged_model(name)
    with pytest.raises(UsageError, match="learned from tagged items: give a tag"):
        m(torch.zeros(1, 3, dtype=torch.long))
    plain = build_model(kind(name), V, L + 1, **options(name))
    with pytest.raises(UsageError, match="untagged items: it takes no tag"):
        plain.init_state(1, tags=torch.zeros(1, dtype=torch.long))


@pytest.mark.parametrize("name", ["mlp", "lstm", "transformer"])
def test_an_untagged_model_is_what_it_was(name):
    """No tag parameter and no extra random draw: the same initial weights as before tags existed."""
    torch.manual_seed(0)
    plain = build_model(kind(name), V, L + 1, **options(name))
    torch.manual_seed(0)
    tagged = build_model(kind(name), V, L + 1, n_tags=2, **options(name))
    own = dict(tagged.named_parameters())
    for n, p in plain.named_parameters():
        assert torch.equal(p, own[n])
    assert {n for n in own if n not in dict(plain.named_parameters())} <= {"wtag", "tag_start", "U"}


def test_the_tagged_bigram_is_each_tags_counts_smoothed_towards_the_pooled_table():
    words, vocab, s = tiny_data()
    s.tags = torch.arange(len(s)) % 2
    m = build_model("bigram", V, L + 1, n_tags=2, tag_prior=4.0)
    x, y, _ = m.examples(s)
    tags = m.example_tags(s)
    m.fit(x, y, tags=tags)
    N = torch.zeros(V, V, dtype=torch.float64)
    N.index_put_((x[:, 0].long(), y.long()), torch.ones(len(y), dtype=torch.float64), accumulate=True)
    P = (N + 1) / (N + 1).sum(1, keepdim=True)
    for k in range(2):
        Nk = torch.zeros(V, V, dtype=torch.float64)
        keep = tags == k
        Nk.index_put_((x[keep, 0].long(), y[keep].long()), torch.ones(int(keep.sum()), dtype=torch.float64), accumulate=True)
        want = (Nk + 4 * P) / (Nk.sum(1, keepdim=True) + 4)
        torch.testing.assert_close(m.tag_logp[k].double().exp(), want, atol=1e-6, rtol=1e-5)


@pytest.mark.parametrize("method", ["kneser-ney", "add-k"])
def test_the_tagged_ngram_is_a_distribution_that_follows_its_tag(method):
    s = build_dataset(["abab", "abba"] * 20 + ["baba", "bbaa"] * 20, tags=np.array([0] * 40 + [1] * 40),
                      tag_names=["p", "q"]).train
    m = build_model("ngram", 3, 10, n_tags=2, n=3, method=method)
    x, y, _ = m.examples(s)
    m.fit(x, y, tags=m.example_tags(s))
    ctx = torch.zeros(2, m.block_size, dtype=torch.long)          # the start of an item
    p = m.next_logits(ctx, torch.tensor([0, 1])).double().exp()
    torch.testing.assert_close(p.sum(1), torch.ones(2, dtype=torch.float64))
    assert p[0, 1] > 0.8 and p[1, 2] > 0.8                        # 'p' items start with a, 'q' items with b


def test_packed_and_plain_batches_carry_each_rows_tag():
    words, vocab, s = tiny_data()
    s.tags = torch.arange(len(s)) % K
    m = build_model("transformer", V, L + 1, n_tags=K, **options("transformer"))
    for pack in (False, True):
        b = Batches(s, m, "cpu", torch.Generator().manual_seed(0), pack=pack)
        x, y, extra = b.sample(16)
        if not pack:                                       # the rows the batch's generator drew
            ix = torch.randint(len(s), (16,), generator=torch.Generator().manual_seed(0))
            assert torch.equal(x, s.X[ix, :x.size(1)].long()) and torch.equal(extra["tags"], s.tags[ix])
            continue
        seg, tags = extra["seg"], extra["tags"]
        for r in range(seg.size(0)):                       # every token of an item carries the item's tag
            for item in seg[r].unique().tolist():
                if item >= 0:
                    assert tags[r][seg[r] == item].unique().numel() == 1
        assert torch.isfinite(m.loss(x, y, **extra))


# --- a run of tagged items ------------------------------------------------------------------

@pytest.fixture
def tagged_run(tmp_path, two_kinds):
    run = mm.create_run(tmp_path / "run", two_kinds, tagged=True, type="bigram", smoothing=0.01)
    run.train(progress=False)
    return mm.load_run(tmp_path / "run")


def test_a_tagged_run_records_its_tags_and_tells_them_apart(tagged_run):
    d = tagged_run.config["data"]
    assert d["tags"] == {"a": 300, "x": 300} and sum(d["tags_train"].values()) == d["items"]["train"]
    assert tagged_run.config["model"]["n_tags"] == 2 and tagged_run.tags == ["a", "x"]
    out = tagged_run.classify(["abca", "zyx"])
    assert [r["tags"][0]["tag"] for r in out] == ["a", "x"] and out[0]["tags"][0]["p"] > 0.95
    assert math.isclose(sum(t["p"] for t in out[0]["tags"]), 1.0, rel_tol=1e-9)
    report = tagged_run.tag_report("test")
    assert report["accuracy"] == 1.0 and report["macro_f1"] == 1.0 and sum(map(sum, report["confusion"])) == 60
    assert report["conditional"] == pytest.approx(tagged_run.evaluate(["test"])["test"], rel=1e-9)
    assert report["marginal"] >= report["conditional"]


def test_the_marginal_score_is_the_prior_weighted_sum_of_the_conditionals(tagged_run):
    items = ["abc", "xyz", "ab"]
    cond = torch.tensor([[r["nll"] for r in tagged_run.score(items, tag=t)] for t in tagged_run.tags], dtype=torch.float64)
    prior = torch.tensor(list(tagged_run.config["data"]["tags_train"].values()), dtype=torch.float64)
    want = -torch.logsumexp((prior / prior.sum()).log()[:, None] - cond, 0)
    got = torch.tensor([r["nll"] for r in tagged_run.score(items)], dtype=torch.float64)
    torch.testing.assert_close(got, want)
    post = tagged_run.classify(items)
    p_a = [next(t["p"] for t in r["tags"] if t["tag"] == "a") for r in post]   # Bayes: p(a | item)
    torch.testing.assert_close(torch.tensor(p_a, dtype=torch.float64),
                               ((prior[0] / prior.sum()).log() - cond[0] + got).exp())


def test_sampling_a_tag_a_blend_or_the_training_frequencies(tagged_run):
    one = tagged_run.sample(200, tag="x", seed=1)
    assert {s["tag"] for s in one} == {"x"} and sum(set(s["item"]) <= set("xyz") for s in one) >= 190
    blend = tagged_run.sample(2000, tag="a=0.7,x=0.3", seed=2)
    share = sum(s["tag"] == "a" for s in blend) / 2000
    assert abs(share - 0.7) < 0.04
    assert sum(set(s["item"]) <= set("abc" if s["tag"] == "a" else "xyz") for s in blend) >= 1900   # each from its tag
    free = tagged_run.sample(2000, seed=3)
    train = tagged_run.config["data"]["tags_train"]
    assert abs(sum(s["tag"] == "a" for s in free) / 2000 - train["a"] / sum(train.values())) < 0.04
    assert tagged_run.sample(5, tag={"a": 1}, seed=4) == tagged_run.sample(5, tag="a", seed=4)


@pytest.mark.parametrize("spec,pattern", [
    ("q", r"--tag 'q': not one of the run's tags; it knows a, x"),
    ("a=0.5,q=0.5", r"--tag 'q': not one of the run's tags"),
    ("a=0,x=1", r"--tag a=0.0: a blend's weights must be positive numbers"),
    ("a=-1", r"must be positive numbers"),
    ("a=nan", r"must be positive numbers"),
    ("a=z", r"the weight 'z' is not a number"),
    ("a,x", r"'a' is not TAG=WEIGHT"),
])
def test_bad_tags_are_one_line_errors(tagged_run, spec, pattern):
    with pytest.raises(UsageError, match=pattern):
        tagged_run.sample(3, tag=spec)


def test_an_untagged_run_refuses_a_tag(tmp_path, small_file):
    run = mm.create_run(tmp_path / "r", small_file, type="bigram")
    run.train(progress=False)
    with pytest.raises(UsageError, match="trained on untagged items"):
        run.sample(3, tag="a")
    with pytest.raises(UsageError, match="trained on untagged items"):
        run.classify(["emma"])
    assert "tag" not in run.sample(2, seed=0)[0]


@pytest.mark.parametrize("type_", ["lstm", "transformer", "mlp"])
def test_neural_tagged_runs_learn_their_tags(tmp_path, two_kinds, type_):
    sizes = {"lstm": dict(n_embd=16, n_hidden=32), "mlp": dict(n_embd=8, n_hidden=32),
             "transformer": dict(n_embd=16, n_head=2, n_layer=1)}[type_]
    run = mm.create_run(tmp_path / "r", two_kinds, tagged=True, type=type_, max_steps=600, eval_interval=600, **sizes)
    run.train(progress=False)
    run = mm.load_run(tmp_path / "r")
    assert run.tag_report("test")["accuracy"] > 0.95
    assert sum(set(s["item"]) <= set("xyz") for s in run.sample(100, tag="x", seed=0)) > 90
    if type_ == "mlp":                                     # diagnose's batch carries its rows' tags
        from makemore.explore import run_health
        assert run_health(run)["tanh"]


def test_the_tagged_cli(tmp_path, two_kinds, capsys):
    out = tmp_path / "run"
    assert cli(["train", "-o", str(out), "-i", str(two_kinds), "--tagged", "--type", "bigram", "--no-progress",
                "--samples", "3"]) == 0
    assert cli(["sample", "-o", str(out), "-n", "5", "--tag", "x", "--show-tag", "--seed", "1"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()[-5:]
    assert all(line.split()[-1] == "x" for line in lines)
    assert cli(["classify", "-o", str(out), "abc", "zzy", "--top", "1", "--json"]) == 0
    got = json.loads(capsys.readouterr().out)
    assert [r["tags"][0]["tag"] for r in got] == ["a", "x"] and all(len(r["tags"]) == 1 for r in got)
    assert cli(["score", "-o", str(out), "abc", "--tag", "a", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["nll"] > 0
    assert cli(["eval", "-o", str(out), "--json"]) == 0
    tags = json.loads(capsys.readouterr().out)["tags"]
    assert tags["accuracy"] == 1.0 and len(tags["confusion"]) == 2
    assert cli(["eval", "-o", str(out)]) == 0
    assert "marginal over tags" in capsys.readouterr().out
    assert cli(["plot", "confusion", "-o", str(out), "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["confusion"] == tags["confusion"] and (out / "confusion.png").stat().st_size > 1000
    for argv, pattern in [
        (["sample", "-o", str(out), "--tag", "q"], "it knows a, x"),
        (["sample", "-o", str(out), "--tag", "a=x"], "is not a number"),
        (["classify", "-o", str(out)], "give items to classify"),
    ]:
        assert cli(argv) == 2
        err = capsys.readouterr().err.strip()
        assert pattern in err and len(err.splitlines()) == 1


def test_a_bad_tagged_file_writes_nothing(tmp_path, capsys):
    bad = tmp_path / "bad.tsv"
    bad.write_text("it\tgiulia\nmarco\n" * 10)
    assert cli(["train", "-o", str(tmp_path / "r"), "-i", str(bad), "--tagged", "--no-progress"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.endswith("bad.tsv:2: no tab; a --tagged file's lines are TAG<TAB>ITEM") and len(err.splitlines()) == 1
    assert not (tmp_path / "r").exists()


def test_a_tag_with_few_items_is_warned_about(tmp_path, capsys):
    lines = [("big", f"item{i}") for i in range(60)] + [("tiny", "one"), ("tiny", "two")]
    write(tmp_path / "t.tsv", lines)
    assert cli(["train", "-o", str(tmp_path / "r"), "-i", str(tmp_path / "t.tsv"), "--tagged", "--type", "bigram",
                "--no-progress", "--samples", "0"]) == 0
    assert "warning: tag 'tiny' has only 2 items" in capsys.readouterr().err


def test_a_directory_of_files_trains_as_tagged_items(tmp_path, two_kinds):
    d = tmp_path / "kinds"
    d.mkdir()
    for tag in ("a", "x"):
        words = [w.split("\t")[1] for w in two_kinds.read_text().splitlines() if w.startswith(tag + "\t")]
        (d / f"{tag}.txt").write_text("\n".join(words) + "\n")
    run = mm.create_run(tmp_path / "r", d, type="bigram")
    run.train(progress=False)
    assert mm.load_run(tmp_path / "r").tags == ["a", "x"]
    assert mm.load_run(tmp_path / "r").classify(["xyz"])[0]["tags"][0]["tag"] == "x"


def test_the_tagging_report_by_hand():
    post = torch.tensor([[0.9, 0.1], [0.6, 0.4], [0.2, 0.8], [0.7, 0.3]], dtype=torch.float64)
    truth = torch.tensor([0, 1, 1, 0])
    r = tagging.report(post, truth, ["p", "q"], bins=10)
    assert r["confusion"] == [[2, 0], [1, 1]] and r["accuracy"] == 0.75
    f1_p, f1_q = 2 * (2 / 3) * 1 / (2 / 3 + 1), 2 * 1 * 0.5 / 1.5
    assert r["macro_f1"] == pytest.approx((f1_p + f1_q) / 2)
    # bins: 0.9 (right), 0.6 (wrong), 0.8 (right), 0.7 (right), one item each
    assert r["ece"] == pytest.approx((0.1 + 0.6 + 0.2 + 0.3) / 4)


# --- the web page's API -------------------------------------------------------------------------

def tagged_runs(root):
    """A directory with one small tagged LSTM ("tagged") and an untagged bigram ("plain"), both of the two kinds."""
    g = np.random.default_rng(0)
    lines = [(tag, "".join(g.choice(list(chars), size=int(g.integers(2, 7)))))
             for _ in range(300) for tag, chars in (("a", "abc"), ("x", "xyz"))]
    data = write(root / "two.tsv", lines)
    mm.create_run(root / "runs" / "tagged", data, tagged=True, type="lstm", n_embd=16, n_hidden=32, max_steps=400,
                  eval_interval=400).train(progress=False)
    (root / "plain.txt").write_text("\n".join(w for _, w in lines) + "\n")
    mm.create_run(root / "runs" / "plain", root / "plain.txt", type="bigram").train(progress=False)
    return root / "runs"


@pytest.fixture(scope="module")
def tagged_served(tmp_path_factory):
    from test_serve import start_server, stop_server
    root = tmp_path_factory.mktemp("tagged-serve")
    tagged_runs(root)
    server, thread = start_server(root / "runs")
    yield server, mm.load_run(root / "runs" / "tagged")
    stop_server(server, thread)


def test_the_api_answers_under_a_tag_or_the_mixture_over_tags(tagged_served):
    from makemore import explore
    from test_serve import api, request
    server, run = tagged_served
    summary = {r["name"]: r for r in api(server, "runs")["runs"]}
    assert summary["tagged"]["tags"] == ["a", "x"] and summary["plain"]["tags"] is None
    # without a tag, each character's surprise is under the mixture, and they sum to the marginal score
    for item in ("abca", "xyz", "ax"):
        got = api(server, "score", run="tagged", items=[item])["scores"][0]
        assert got["nll"] == pytest.approx(run.score([item])[0]["nll"], rel=1e-5)
        assert sum(s["nll"] for s in got["surprise"]) == pytest.approx(got["nll"], rel=1e-9)
        for tag in run.tags:
            one = api(server, "score", run="tagged", items=[item], tag=tag)["scores"][0]
            assert one["nll"] == pytest.approx(run.score([item], tag=tag)[0]["nll"], rel=1e-5)
    # the marginal next-character distribution: sum_T p(T | prefix) p(next | prefix, T)
    post = {t["tag"]: t["p"] for t in run.classify(["xy"])[0]["tags"]}
    nxt = api(server, "next", run="tagged", prefix="xy", k=30)
    per = {t: {c["char"]: c["p"] for c in api(server, "next", run="tagged", prefix="xy", k=30, tag=t)["top"]} for t in run.tags}
    ends = {t: api(server, "next", run="tagged", prefix="xy", tag=t)["end"] for t in run.tags}
    prior = run.tag_log_prior.exp()
    p_prefix = {t: math.exp(-run.score(["xy"], tag=t)[0]["nll"]) / ends[t] for t in run.tags}   # p("xy" as a prefix | T)
    weight = {t: prior[k].item() * p_prefix[t] for k, t in enumerate(run.tags)}
    z = sum(weight.values())
    want_end = sum(weight[t] / z * ends[t] for t in run.tags)
    assert nxt["end"] == pytest.approx(want_end, rel=1e-4)
    for c in nxt["top"]:
        assert c["p"] == pytest.approx(sum(weight[t] / z * per[t].get(c["char"], 0.0) for t in run.tags), abs=1e-4)
    assert post["x"] > 0.9
    assert api(server, "classify", run="tagged", item="xyz") == {"run": "tagged", **explore.tag_posterior(run, "xyz")}
    items = api(server, "sample", run="tagged", n=10, seed=1, tag="x")["items"]
    assert [i["tag"] for i in items] == ["x"] * 10
    assert {i["tag"] for i in api(server, "sample", run="tagged", n=50, seed=1, tag="a=1,x=1")["items"]} == {"a", "x"}
    assert {i["tag"] for i in api(server, "sample", run="tagged", n=50, seed=1, tag={"a": 1})["items"]} == {"a"}
    done = api(server, "complete", run="tagged", prefix="xy", beam=3)["completions"]
    assert {c["tag"] for c in done} == {"x"}
    trace = api(server, "trace", run="tagged", item="xy", tag="a")
    assert len(trace["layers"][0]["h"]) == 3
    for body, field in [({"run": "tagged", "n": 3, "tag": "q"}, "tag"), ({"run": "tagged", "n": 3, "tag": "a=z"}, "tag"),
                        ({"run": "plain", "n": 3, "tag": "a"}, "tag"), ({"run": "tagged", "n": 3, "tag": 3}, "tag")]:
        status, _, data = request(server, "POST", "/api/sample", body)
        assert status == 400 and data["field"] == field, data
    status, _, data = request(server, "POST", "/api/classify", {"run": "plain", "item": "ab"})
    assert status == 400 and "untagged" in data["error"]


def test_ensembles_and_distillation_of_tagged_runs(tmp_path, two_kinds, tagged_run, small_file):
    from makemore.distill import distill
    other = mm.create_run(tmp_path / "kn", two_kinds, tagged=True, type="ngram", n=3)
    other.train(progress=False)
    mix = mm.ensemble(tmp_path / "mix", [tagged_run.path, tmp_path / "kn"])
    mix = mm.load_run(tmp_path / "mix")
    assert mix.tags == ["a", "x"] and {s["tag"] for s in mix.sample(20, tag="x", seed=0)} == {"x"}
    assert mix.classify(["xyzzy"])[0]["tags"][0]["tag"] == "x"
    assert mix.evaluate(["val"])["val"] == pytest.approx(mix.config["val"], rel=1e-6)   # each member given its true tag
    plain = mm.create_run(tmp_path / "plain", small_file, type="bigram")
    plain.train(progress=False)
    with pytest.raises(DataError, match=r"its data differs .* ensemble members must be trained on the same file"):
        mm.ensemble(tmp_path / "bad", [tagged_run.path, tmp_path / "plain"])
    student = distill(tmp_path / "student", tagged_run.path, progress=False, type="lstm", n_embd=16, n_hidden=32,
                      max_steps=300, eval_interval=300)
    student = mm.load_run(tmp_path / "student")
    assert student.tags == ["a", "x"] and student.classify(["abcab"])[0]["tags"][0]["tag"] == "a"


def test_a_sweep_over_tagged_items(tmp_path, two_kinds):
    from makemore.sweep import run_sweep
    out = run_sweep(tmp_path / "sw", two_kinds, type="ngram", trials=2, tagged=True, log=lambda line: None)
    best = mm.load_run(tmp_path / "sw" / "best")
    assert best.tags == ["a", "x"]
    assert min(r["val"] for r in out["rows"] if r.get("val") is not None) == pytest.approx(best.evaluate(["val"])["val"])
    again = run_sweep(tmp_path / "sw", trials=3, log=lambda line: None)   # continued: its own file, read tagged
    assert len(again["rows"]) == 3 and all(mm.load_run(p).tags == ["a", "x"] for p in (tmp_path / "sw" / "trials").iterdir())


def test_the_bundled_tagged_data_is_what_the_script_builds():
    """scripts/locales.py rebuilds locales.tsv (and the genders benchmark file) from faker's tables."""
    import subprocess
    import sys
    from pathlib import Path
    script = Path(__file__).resolve().parents[1] / "scripts" / "locales.py"
    done = subprocess.run([sys.executable, str(script), "--check"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
