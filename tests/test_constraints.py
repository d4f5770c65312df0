"""Constrained sampling: the automaton against plain string checks, every sampled item meeting its
constraints, and sequential Monte Carlo against the exact conditional distribution of a small
bigram, enumerated by brute force (plain masking, one particle, shown to distort it)."""

import contextlib
import itertools
import json
import math
import random

import pytest
import torch
from hypothesis import event, given, settings, strategies as st

import makemore as mm
from makemore.cli import main as cli
from makemore.constraints import Automaton, Exact, Guide, Trie, chains, smc
from makemore.data import Vocab
from makemore.errors import UsageError
from makemore.models import build_model

pytestmark = pytest.mark.usefixtures("one_thread")

VOCAB = Vocab(list("abc"))
WORD = st.text(st.sampled_from("abc"), max_size=7)


@settings(max_examples=200, deadline=None)
@given(item=WORD, suffix=st.text(st.sampled_from("abc"), max_size=3), contains=st.lists(st.text(st.sampled_from("abc"), min_size=1, max_size=3), max_size=2),
       excludes=st.lists(st.text(st.sampled_from("abc"), min_size=1, max_size=3), max_size=2), lo=st.integers(0, 4), hi=st.integers(4, 8))
def test_the_automaton_is_the_plain_string_checks(item, suffix, contains, excludes, lo, hi):
    try:
        a = Automaton(VOCAB, 8, suffix=suffix, contains=contains, excludes=excludes, min_len=lo, max_len=hi)
    except UsageError as e:                     # only when nothing can meet them: then no item of length <= 8 does
        assert "no item can meet" in str(e)
        for n in range(lo, hi + 1):
            for w in map("".join, itertools.product("abc", repeat=n)):
                assert not (w.endswith(suffix) and all(s in w for s in contains) and not any(s in w for s in excludes))
        return
    want = item.endswith(suffix) and all(s in item for s in contains) and not any(s in item for s in excludes) \
        and lo <= len(item) <= hi
    assert a.satisfied(item) == want


def tiny_bigram(seed=0):
    m = build_model("bigram", VOCAB.size, 8)
    g = torch.Generator().manual_seed(seed)
    P = torch.rand(VOCAB.size, VOCAB.size, generator=g) ** 3 + 0.05
    m.logp = (P / P.sum(1, keepdim=True)).log()
    return m


def exact(m, a):
    """p(item | constraints) of every item, by enumeration."""
    def logp(w):
        ids = [0] + VOCAB.encode(w) + [0]
        return sum(m.logp[x, y].item() for x, y in zip(ids[:-1], ids[1:]))
    p = {w: math.exp(logp(w)) for n in range(a.max_len + 1) for w in map("".join, itertools.product("abc", repeat=n))
         if a.satisfied(w)}
    return p, sum(p.values()), logp


def tv(items, p, z):
    count = {}
    for w in items:
        count[w] = count.get(w, 0) + 1
    return 0.5 * sum(abs(count.get(w, 0) / len(items) - q / z) for w, q in p.items())


def test_smc_draws_the_exact_conditional_and_masking_does_not():
    m = tiny_bigram()
    a = Automaton(VOCAB, 7, suffix="ab", excludes=["cc"], min_len=3, max_len=5)
    p, z, logp = exact(m, a)
    n = 1500
    floor = tv(random.Random(0).choices(list(p), [q / z for q in p.values()], k=n), p, z)   # exact draws' own noise
    many = smc(m, a, n, particles=512, generator=torch.Generator().manual_seed(1))
    one = smc(m, a, n, particles=1, generator=torch.Generator().manual_seed(1))             # masking alone
    words = {k: [VOCAB.decode([i for i in row if i]) for row in ids.tolist()] for k, (ids, _, _) in (("many", many), ("one", one))}
    assert all(a.satisfied(w) for w in words["many"] + words["one"])
    assert tv(words["many"], p, z) < floor + 0.03, (tv(words["many"], p, z), floor)
    assert tv(words["one"], p, z) > 0.3                                                   # masking distorts
    _, lp, est = many
    assert all(abs(x - logp(w)) < 1e-4 for x, w in zip(lp.tolist(), words["many"]))      # each item's log p
    assert math.exp(torch.logsumexp(est, 0).item() - math.log(n)) == pytest.approx(z, rel=0.05)


def test_a_twist_guides_the_particles_and_the_model_itself_makes_one_particle_exact():
    m, other = tiny_bigram(), tiny_bigram(7)
    a = Automaton(VOCAB, 7, suffix="ab", excludes=["cc"], min_len=3, max_len=5)
    p, z, logp = exact(m, a)
    n = 1500
    floor = tv(random.Random(0).choices(list(p), [q / z for q in p.values()], k=n), p, z)
    for twist, P in ((m, 1), (other, 16)):
        guide = Guide(a, twists={None: Exact(chains(twist, a.max_len, None, {})[0], a)})
        ids, lp, est = smc(m, guide, n, particles=P, generator=torch.Generator().manual_seed(1))
        words = [VOCAB.decode([i for i in row if i]) for row in ids.tolist()]
        assert all(a.satisfied(w) for w in words)
        assert tv(words, p, z) < floor + 0.03, (P, tv(words, p, z), floor)
        assert all(abs(x - logp(w)) < 1e-4 for x, w in zip(lp.tolist(), words))
        if twist is m:                                   # every weight is 1: each estimate is p(constraints) itself
            assert torch.allclose(est.exp(), torch.full((n,), z, dtype=torch.float64), rtol=1e-5)
        else:
            assert math.exp(torch.logsumexp(est, 0).item() - math.log(n)) == pytest.approx(z, rel=0.05)


def test_every_item_of_a_neural_tagged_model_meets_the_constraints():
    torch.manual_seed(0)
    m = build_model("lstm", VOCAB.size, 10, n_tags=2, n_embd=8, n_hidden=16).eval()
    with torch.no_grad():
        m.tag_start.normal_()
    a = Automaton(VOCAB, 9, suffix="ba", contains=["cc"], excludes=["aaa"], min_len=4, max_len=9)
    ids, lp, _ = smc(m, a, 40, particles=16, prefix=[1], generator=torch.Generator().manual_seed(0),
                     tags=torch.arange(40) % 2)
    words = [VOCAB.decode([i for i in row if i]) for row in ids.tolist()]
    assert all(a.satisfied(w) and w.startswith("a") for w in words), words
    for w, tag, x in zip(words, (torch.arange(40) % 2).tolist(), lp.tolist()):           # log p under the tag
        idx = torch.tensor([[0] + VOCAB.encode(w)])
        with torch.no_grad():
            logits, _ = m(idx, tags=torch.tensor([tag]))
        want = torch.log_softmax(logits[0].double(), -1).gather(1, torch.tensor(VOCAB.encode(w) + [0])[:, None]).sum()
        assert x == pytest.approx(want.item(), abs=1e-4)


@pytest.mark.parametrize("kwargs,pattern", [
    (dict(suffix="d"), r"--suffix 'd': character 'd' is not in the model's vocabulary"),
    (dict(min_len=6, max_len=3), r"--min-len 6 is above --max-len 3"),
    (dict(contains=["ab"], excludes=["b"]), r"no item can meet these constraints together"),
    (dict(max_len=9), r"--max-len 9: the model's items are at most 8"),
    (dict(contains=[""]), r"--contains: an empty string"),
])
def test_impossible_constraints_are_errors_before_sampling(kwargs, pattern):
    with pytest.raises(UsageError, match=pattern):
        Automaton(VOCAB, 8, **kwargs)


def test_constraints_from_the_command_line(tmp_path, small_file, capsys):
    out = tmp_path / "run"
    assert cli(["train", "-i", str(small_file), "-o", str(out), "--type", "bigram", "--no-progress", "--samples", "0"]) == 0
    capsys.readouterr()
    assert cli(["sample", "-o", str(out), "-n", "12", "--seed", "1", "--suffix", "son", "--min-len", "5", "--max-len", "8",
                "--particles", "32", "--json"]) == 0
    items = json.loads(capsys.readouterr().out)
    assert len(items) == 12 and all(s["item"].endswith("son") and 5 <= len(s["item"]) <= 8 for s in items)
    assert all(s["logp"] < 0 and 0 < s["p_constraint"] < 1 for s in items)
    run = mm.load_run(out)
    again = run.sample(12, seed=1, constraints={"suffix": "son", "min_len": 5, "max_len": 8}, particles=32)
    assert [s["item"] for s in again] == [s["item"] for s in items]                       # the same seed, the same items
    assert cli(["sample", "-o", str(out), "-n", "4", "--contains", "k", "--excludes", "a", "--prefix", "j"]) == 0
    captured = capsys.readouterr()
    assert all("k" in line.split()[0] and "a" not in line.split()[0] for line in captured.out.splitlines())
    assert "of this model's items that start with the prefix meet the constraints (exactly)" in captured.err
    # --new: never an item of the file, by construction (a suffix whose items are mostly in it)
    assert cli(["sample", "-o", str(out), "-n", "30", "--seed", "2", "--new", "--suffix", "n", "--max-len", "4"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 30 and all(line.split()[1] == "new" and line.split()[0].endswith("n") for line in lines)
    assert cli(["train", "-i", str(small_file), "-o", str(tmp_path / "lstm"), "--type", "lstm", "--max-steps", "30",
                "--no-progress", "--samples", "0"]) == 0
    capsys.readouterr()
    assert cli(["sample", "-o", str(tmp_path / "lstm"), "-n", "20", "--seed", "2", "--new", "--min-len", "1", "--max-len", "4",
                "--particles", "4"]) == 0
    captured = capsys.readouterr()
    assert all(line.split()[1] == "new" for line in captured.out.splitlines()) and "estimated by the particles" in captured.err
    for argv, pattern in [(["--suffix", "son", "--max-len", "2"], "no item can meet"),
                          (["--particles", "8"], "--particles: give a constraint"),
                          (["--prefix", "q", "--suffix", "son", "--max-len", "3"], "--prefix: no item that starts with it"),
                          (["--new", "--regex", "emma"], "--new: every item that meets the constraints is in the training file")]:
        assert cli(["sample", "-o", str(out), *argv]) == 2
        err = capsys.readouterr().err.strip()
        assert pattern in err and len(err.splitlines()) == 1, err


def test_the_bigram_is_sampled_exactly():
    m = tiny_bigram(1)
    a = Automaton(VOCAB, 7, suffix="ab", excludes=["cc"], contains=["b"], min_len=3, max_len=6)
    p, z, logp = exact(m, a)
    n = 3000
    sampler = Exact(chains(m, a.max_len, None, {})[0], a)
    ids, lp, lz = sampler.draw(n, [], torch.Generator().manual_seed(2))
    words = [VOCAB.decode([i for i in row if i]) for row in ids.tolist()]
    floor = tv(random.Random(0).choices(list(p), [q / z for q in p.values()], k=n), p, z)
    assert all(a.satisfied(w) for w in words) and tv(words, p, z) < floor + 0.02, (tv(words, p, z), floor)
    assert torch.allclose(lz.exp(), torch.full((n,), z, dtype=torch.float64), rtol=1e-6)      # p(constraints), exactly
    assert all(abs(x - logp(w)) < 1e-6 for x, w in zip(lp.tolist(), words))
    # with a prefix: p(constraints | prefix) = the sum over the items that start with it, over p(prefix)
    ids, _, lz = sampler.draw(5, [1], torch.Generator().manual_seed(2))
    pre = sum(q for w, q in p.items() if w.startswith("a"))
    p_a = math.exp(m.logp[0, 1].item())
    assert lz[0].exp().item() == pytest.approx(pre / p_a, rel=1e-6)        # float32 tables


def test_the_web_api_samples_under_constraints(tmp_path, small_file):
    from test_serve import api, request, start_server, stop_server
    mm.create_run(tmp_path / "runs" / "bigram", small_file, type="bigram").train(progress=False)
    server, thread = start_server(tmp_path / "runs")
    try:
        items = api(server, "sample", run="bigram", n=10, seed=3, suffix="son", contains="a", max_len=9)["items"]
        assert all(x["item"].endswith("son") and "a" in x["item"] and len(x["item"]) <= 9 and x["exact"] for x in items)
        want = mm.load_run(tmp_path / "runs" / "bigram").sample(10, seed=3, constraints={"suffix": "son", "contains": ["a"],
                                                                                          "max_len": 9})
        assert [x["item"] for x in items] == [x["item"] for x in want]
        items = api(server, "sample", run="bigram", n=10, seed=3, new=True, max_len=4)["items"]
        assert all(x["novelty"] == "new" and len(x["item"]) <= 4 for x in items)
        for body, field in [({"suffix": "son", "max_len": 2}, "suffix"), ({"min_len": 99}, "min_len"),
                            ({"particles": 8}, "particles"), ({"suffix": 3}, "suffix"), ({"new": "yes"}, "new"),
                            ({"new": True, "regex": "emma"}, "new")]:
            status, _, data = request(server, "POST", "/api/sample", {"run": "bigram", **body})
            assert status == 400 and data["field"] == field, data
    finally:
        stop_server(server, thread)


@settings(max_examples=150, deadline=None)
@given(item=WORD, pattern=st.sampled_from(["a*b", "(ab|c)+", "[ab]{2,4}c?", "a.*c", "[^a]+", "(a|b)*bb(a|b)*", "c?", "x+a"]))
def test_a_pattern_is_matched_whole_as_re_fullmatch_does(item, pattern):
    import re
    try:
        a = Automaton(VOCAB, 8, regex=pattern)
    except UsageError as e:
        assert "no item can meet" in str(e) and pattern == "x+a"
        return
    assert a.satisfied(item) == (re.fullmatch(pattern, item) is not None and len(item) <= 8)


def test_a_pattern_it_cannot_compile_is_one_line():
    with pytest.raises(UsageError, match=r"--regex '\(a\)\\\\1': cannot be compiled to an automaton"):
        Automaton(VOCAB, 8, regex=r"(a)\1")


def fitted(kind, words, max_len=7, **options):
    """A count model of VOCAB fitted on words."""
    from makemore.data import context_windows, encode_words
    m = build_model(kind, VOCAB.size, max_len + 1, **options)
    X, Y = encode_words(words, VOCAB, max_len)
    keep = Y >= 0
    return m.fit(context_windows(X, m.block_size)[keep], Y[keep]).eval()


def model_logp(m, words):
    """log p(item) under a count model, position by position through next_logits."""
    from makemore.data import context_windows, encode_words
    X, Y = encode_words(words, VOCAB, max(map(len, words)))
    logp = torch.log_softmax(m.next_logits(context_windows(X, m.block_size).flatten(0, 1)).double(), -1)
    logp = logp.view(*Y.shape, -1).gather(2, Y.long().clamp(min=0)[..., None])[..., 0]
    return torch.where(Y >= 0, logp, torch.zeros_like(logp)).sum(1).tolist()


def enumerate_items(max_len):
    return [w for n in range(max_len + 1) for w in map("".join, itertools.product("abc", repeat=n))]


TRAIN = ["abab", "cab", "abc", "bcab", "ab", "cabab", "ccab", "bab", "acab", "abcab", "aab", "cbab"]


@pytest.mark.parametrize("method", ["kneser-ney", "add-k"])
@pytest.mark.parametrize("order", [2, 3, 5])
@pytest.mark.parametrize("new", [False, True])
def test_the_ngram_is_sampled_exactly_with_and_without_the_training_items(method, order, new):
    m = fitted("ngram", TRAIN, n=order, method=method, smoothing=0.5)
    a = Automaton(VOCAB, 7, suffix="ab", excludes=["cc"], min_len=2, max_len=6)
    words = [w for w in enumerate_items(6) if a.satisfied(w) and not (new and w in TRAIN)]
    lps = model_logp(m, words)
    p = dict(zip(words, map(math.exp, lps)))
    z = sum(p.values())
    trie = Trie(encode_rows_of(TRAIN), VOCAB.size) if new else None
    sampler = Exact(chains(m, a.max_len, None, {})[0], a, trie)
    n = 3000
    ids, lp, lz = sampler.draw(n, [], torch.Generator().manual_seed(3))
    drawn = [VOCAB.decode([i for i in row if i]) for row in ids.tolist()]
    floor = tv(random.Random(0).choices(list(p), [q / z for q in p.values()], k=n), p, z)
    assert all(w in p for w in drawn)                                        # every one meets them (and is new)
    assert tv(drawn, p, z) < floor + 0.03, (tv(drawn, p, z), floor)
    assert lz[0].exp().item() == pytest.approx(z, rel=1e-6)
    want = dict(zip(words, lps))
    assert all(abs(x - want[w]) < 1e-6 for x, w in zip(lp.tolist(), drawn))


def encode_rows_of(words, width=8):
    rows = torch.zeros(len(words), width, dtype=torch.long)
    for i, w in enumerate(words):
        rows[i, :len(w)] = torch.tensor(VOCAB.encode(w))
    return rows.numpy()


@settings(max_examples=100, deadline=None)
@given(train=st.lists(WORD, max_size=12), suffix=st.text(st.sampled_from("abc"), max_size=2),
       contains=st.lists(st.text(st.sampled_from("abc"), min_size=1, max_size=2), max_size=1), hi=st.integers(1, 4))
def test_the_trie_knows_where_a_new_item_can_still_be_reached(train, suffix, contains, hi):
    try:
        a = Automaton(VOCAB, 6, suffix=suffix, contains=contains, max_len=hi)
    except UsageError:
        return
    trie = Trie(encode_rows_of(train), VOCAB.size)
    ok = trie.reachable(a)
    fine = [w for w in enumerate_items(hi) if a.satisfied(w) and w not in train]
    for v in range(len(trie.parent)):
        chars, u = [], v
        while u > 0:
            chars.append(int(trie.char[u]))
            u = int(trie.parent[u])
        prefix = VOCAB.decode(chars[::-1])
        if len(prefix) <= hi:
            assert bool(ok[v]) == any(w.startswith(prefix) for w in fine), (prefix, train)


@settings(max_examples=100, deadline=None)
@given(kind=st.sampled_from(["bigram", "ngram", "mlp", "lstm", "transformer"]), train=st.lists(WORD.filter(bool), min_size=1, max_size=10),
       suffix=st.text(st.sampled_from("abc"), max_size=2), contains=st.lists(st.text(st.sampled_from("abc"), min_size=1, max_size=2), max_size=2),
       excludes=st.lists(st.text(st.sampled_from("abc"), min_size=1, max_size=2), max_size=1), lo=st.integers(0, 3),
       hi=st.integers(1, 7), new=st.booleans(), prefix=st.text(st.sampled_from("abc"), max_size=2), seed=st.integers(0, 9))
def test_every_sampled_item_meets_random_constraints_on_random_models(kind, train, suffix, contains, excludes, lo, hi,
                                                                       new, prefix, seed):
    from makemore.constraints import sample_under
    torch.manual_seed(seed)
    if kind in ("bigram", "ngram"):
        m = fitted(kind, train, **({"n": 3} if kind == "ngram" else {}))
    else:
        m = build_model(kind, VOCAB.size, 8, **({"n_embd": 8, "n_hidden": 8} if kind in ("lstm", "mlp") else
                                                {"n_embd": 8, "n_head": 2, "n_layer": 1})).eval()
    c = dict(suffix=suffix, contains=contains, excludes=excludes, min_len=lo, max_len=hi, new=new)
    try:
        drawn = sample_under(m, VOCAB, 7, 6, c, particles=4, prefix=prefix, seed=seed,
                             trie=lambda: Trie(encode_rows_of(train), VOCAB.size),
                             twist=(lambda: fitted("bigram", train)) if seed % 2 else None)
    except UsageError as e:             # refused only when no item can meet them: check by enumeration
        event("refused")
        assert len(str(e).splitlines()) == 1
        if "gives no probability" in str(e):                 # a count model that never writes such an item
            a = Automaton(VOCAB, 7, suffix=suffix, contains=contains, excludes=excludes, min_len=lo, max_len=hi)
            words = [w for w in enumerate_items(hi) if a.satisfied(w) and w.startswith(prefix) and not (new and w in train)]
            assert kind in ("bigram", "ngram") and all(x == -math.inf for x in model_logp(m, words))
            return
        a = None
        with contextlib.suppress(UsageError):
            a = Automaton(VOCAB, 7, suffix=suffix, contains=contains, excludes=excludes, min_len=lo, max_len=hi)
        assert a is None or not any(a.satisfied(w) and w.startswith(prefix) and not (new and w in train)
                                    for w in enumerate_items(hi)), str(e)
        return
    a = Automaton(VOCAB, 7, suffix=suffix, contains=contains, excludes=excludes, min_len=lo, max_len=hi)
    items = [d["item"] for d in drawn]
    assert len(items) == 6 and all(a.satisfied(w) and w.startswith(prefix) for w in items), items
    assert not new or not set(items) & set(train)
    assert all(d["exact"] == (kind in ("bigram", "ngram")) for d in drawn)
    event(f"sampled from {kind}" + (", new" if new else ""))
