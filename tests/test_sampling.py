"""Sampling: seeded, filtered, prefixed, batched; scoring; novelty."""

import pytest
import torch
import torch.nn.functional as F

from makemore import sampling
from makemore.data import BOUNDARY
from makemore.models import MODELS, build_model
from makemore.models.ensemble import Ensemble
from makemore.sampling import draw, filter_logits, generate, novelty, sample_items, score_items
from test_models import L, V, make


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


def ending_model(type, seed=0, **config):
    """A small untrained model whose end token is likely enough that items have lengths 1 to L
    (the tiny vocabulary of test_models), so rows leave the batch at every step."""
    torch.manual_seed(seed)
    m = build_model(type, V, L + 1, **config)
    with torch.no_grad():
        if type == "transformer":      # no head bias: end where the final LayerNorm's first feature is high
            m.ln_f.bias[0] = 1.0
            m.lm_head.weight[BOUNDARY, 0] += 1.0
        else:
            m.lm_head.bias[BOUNDARY] += 1.0
    return m.eval()


def models():
    lstm = ending_model("lstm", n_embd=8, n_hidden=32)
    return {"lstm": lstm, "lstm-2-layers": ending_model("lstm", n_embd=8, n_hidden=32, n_layer=2),
            "gru": ending_model("gru", n_embd=8, n_hidden=32), "rnn": ending_model("rnn", n_embd=8, n_hidden=32),
            "transformer": ending_model("transformer", n_layer=2, n_head=2, n_embd=16, rope=True),
            "ensemble": Ensemble([lstm, ending_model("lstm", 1, n_embd=8, n_hidden=32), make("ngram")],
                                 [0.5, 0.3, 0.2]).eval()}


OPTIONS = {"plain": {}, "top-k": dict(top_k=3), "top-p": dict(top_p=0.8), "hot": dict(temperature=1.5, top_k=5, top_p=0.9),
           "greedy": dict(temperature=0)}


@pytest.fixture(params=[None, 64], ids=["one-block", "blocks-of-64"])
def block_rows(request, monkeypatch):
    """Rows stepped together: all of a test's rows in one block, or blocks of 64."""
    if request.param:
        monkeypatch.setattr(sampling, "BLOCK_ROWS", request.param)


@pytest.mark.parametrize("options", OPTIONS)
@pytest.mark.parametrize("name", ["lstm", "lstm-2-layers", "gru", "rnn", "transformer", "ensemble"])
def test_incremental_and_full_rerun_sample_the_same_items(name, options, block_rows, one_thread):
    m, opts = models()[name], OPTIONS[options]
    for prefix in ([], [3, 4]):
        a = generate(m, 300, L, prefix, generator=torch.Generator().manual_seed(5), **opts)
        b = generate(m, 300, L, prefix, generator=torch.Generator().manual_seed(5), cached=False, **opts)
        assert torch.equal(a, b)
        lengths = (a != BOUNDARY).sum(1)
        assert (a[:, :len(prefix)] == torch.tensor(prefix, dtype=torch.long)).all()
        if options != "greedy":
            assert len(set(lengths.tolist())) >= 4        # rows ended at many steps: the batch shrank


def generate_all_rows(model, n, max_len, generator, **options):
    """The plain loop: every row steps until all have ended, and each step draws exponential
    variates for the items still growing, in item order, each as torch.multinomial would."""
    out = torch.zeros(n, max_len, dtype=torch.long)
    state, tokens = model.init_state(n), torch.full((n,), BOUNDARY)
    growing = torch.ones(n, dtype=torch.bool)
    for t in range(max_len):
        logits, state = model.step(tokens, state)                                         # (n, V)
        probs = F.softmax(filter_logits(logits.float(), **options), dim=-1)[growing]      # (growing, V)
        noise = torch.empty_like(probs).exponential_(generator=generator)
        out[growing, t] = (probs / noise).argmax(-1)
        growing &= out[:, t] != BOUNDARY
        if not growing.any():
            break
        tokens = out[:, t]
    return out


@pytest.mark.parametrize("name", ["lstm", "transformer", "ensemble"])
def test_blocks_and_dropping_finished_rows_do_not_change_the_items(name, block_rows, one_thread):
    m = models()[name]
    with torch.no_grad():
        for opts in ({}, dict(top_k=4, top_p=0.9)):
            ref = generate_all_rows(m, 400, L, torch.Generator().manual_seed(2), **opts)
            assert torch.equal(generate(m, 400, L, generator=torch.Generator().manual_seed(2), **opts), ref)


@pytest.mark.parametrize("name", list(MODELS) + ["ensemble"])
def test_select_rows_keeps_those_rows_states(name, one_thread):
    m = Ensemble([make("lstm"), make("transformer"), make("ngram")]).eval() if name == "ensemble" else make(name)
    x = torch.randint(0, V, (6, 4))
    with torch.inference_mode():
        state = m.init_state(6)
        for t in range(3):
            _, state = m.step(x[:, t], state)
        rows = torch.tensor([4, 1, 1, 5])                   # a subset, reordered, with a repeat (beam search)
        all_rows, _ = m.step(x[:, 3], state)
        picked, _ = m.step(x[rows, 3], m.select_rows(state, rows))
    torch.testing.assert_close(picked, all_rows[rows], atol=1e-6, rtol=0)


def test_draw_is_what_multinomial_draws():
    g = torch.Generator().manual_seed(0)
    probs = F.softmax(torch.randn(5000, 27, generator=g) * 3, -1)                         # (B, V)
    a = torch.multinomial(probs, 1, generator=torch.Generator().manual_seed(1)).squeeze(1)
    b = draw(probs, torch.empty_like(probs).exponential_(generator=torch.Generator().manual_seed(1)))
    assert torch.equal(a, b)


def test_novelty():
    assert novelty(["ann", "bob", "cid"], ["ann"], ["bob"]) == ["train", "val/test", "new"]
