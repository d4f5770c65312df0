"""Sampling: seeded, filtered, prefixed, batched; scoring; novelty."""

import pytest
import torch
import torch.nn.functional as F

from makemore.models import build_model
from makemore.sampling import filter_logits, generate, novelty, sample_items, score_items


@pytest.fixture(scope="module")
def bigram(names_data):
    d = names_data
    return build_model("bigram", d.vocab.size, d.max_len + 1).fit(*d.train.examples(1)), d


def test_same_seed_same_items(bigram):
    m, d = bigram
    a = sample_items(m, d.vocab, 50, d.max_len, seed=7)
    b = sample_items(m, d.vocab, 50, d.max_len, seed=7)
    c = sample_items(m, d.vocab, 50, d.max_len, seed=8)
    assert a == b and a != c and len(a) == 50


def test_samples_follow_the_model_distribution(bigram):
    # the first character of many samples is distributed as P(. -> c)
    m, d = bigram
    ids = generate(m, 20000, d.max_len, generator=torch.Generator().manual_seed(0))
    freq = torch.bincount(ids[:, 0], minlength=d.vocab.size).double() / 20000
    p = m.logp[0].double().exp()
    assert (freq - p).abs().max() < 0.01


def test_top_k_one_is_greedy_and_prefix_is_kept(bigram):
    m, d = bigram
    greedy = sample_items(m, d.vocab, 3, d.max_len, temperature=0)
    topk = sample_items(m, d.vocab, 3, d.max_len, top_k=1, seed=1)
    assert greedy == topk and len(set(greedy)) == 1
    pref = sample_items(m, d.vocab, 20, d.max_len, prefix="zo", seed=1)
    assert all(w.startswith("zo") for w in pref)


def test_filter_logits():
    logits = torch.log(torch.tensor([[0.5, 0.3, 0.15, 0.05]]))
    k2 = F.softmax(filter_logits(logits, top_k=2), -1)
    torch.testing.assert_close(k2, torch.tensor([[0.625, 0.375, 0.0, 0.0]]))
    p = F.softmax(filter_logits(logits, top_p=0.7), -1)       # 0.5 + 0.3 reaches 0.7
    torch.testing.assert_close(p, torch.tensor([[0.625, 0.375, 0.0, 0.0]]))
    p = F.softmax(filter_logits(logits, top_p=0.4), -1)       # the top token alone
    torch.testing.assert_close(p, torch.tensor([[1.0, 0.0, 0.0, 0.0]]))
    t = F.softmax(filter_logits(logits, temperature=2.0), -1)
    torch.testing.assert_close(t, F.softmax(logits / 2, -1))


def test_unique(bigram):
    m, d = bigram
    items = sample_items(m, d.vocab, 200, d.max_len, unique=True, seed=0)
    assert len(items) == len(set(items)) == 200


def test_score_is_the_sum_of_bigram_nll(bigram):
    m, d = bigram
    s = score_items(m, d.vocab, ["emma", "zzq"], d.max_len)
    ids = [0] + d.vocab.encode("emma") + [0]
    ref = -sum(m.logp[a, b].double().item() for a, b in zip(ids, ids[1:]))
    assert s[0]["nll"] == pytest.approx(ref, rel=1e-6)
    assert s[0]["nll_per_char"] == pytest.approx(ref / 5, rel=1e-6)
    assert s[1]["nll_per_char"] > s[0]["nll_per_char"]


def test_novelty():
    assert novelty(["ann", "bob", "cid"], ["ann"], ["bob"]) == ["train", "val/test", "new"]
