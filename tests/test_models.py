"""Every model of the registry against the contract: shapes, causality, the incremental path equal to
the full forward, identical samples either way, learning, BatchNorm in eval mode, save/load."""

import math

import pytest
import torch

from makemore.runs import RunDir, load_model
from makemore.data import Split, Vocab, encode_words
from makemore.models import MODELS, build_model
from makemore.sampling import generate


pytestmark = pytest.mark.usefixtures("one_thread")


V, L = 7, 8          # tiny vocabulary; items of up to 8 characters (9 positions)
TINY = {             # tiny configs so every test is fast
    "ngram": dict(n=3), "mlp": dict(n_embd=4, n_hidden=16), "bnmlp": dict(n_embd=4, n_hidden=16, n_layer=2),
    "wavenet": dict(n_embd=4, n_hidden=16), "rnn": dict(n_embd=8, n_hidden=16), "gru": dict(n_embd=8, n_hidden=16),
    "lstm": dict(n_embd=8, n_hidden=16, n_layer=2), "bow": dict(n_embd=8, n_hidden=16),
    "transformer": dict(n_layer=2, n_head=2, n_embd=16),
}
VARIANTS = {         # options that change the forward, run through the same tests: name -> (type, config)
    "transformer-rope": ("transformer", dict(TINY["transformer"], rope=True)),
}


def kind(name):
    """The registry type of a test model name."""
    return VARIANTS[name][0] if name in VARIANTS else name


def options(name):
    """Its tiny config."""
    return VARIANTS[name][1] if name in VARIANTS else TINY.get(name, {})


def tiny_data(seed=0, n=64):
    g = torch.Generator().manual_seed(seed)
    words = ["".join("abcdef"[i] for i in torch.randint(0, 6, (int(k),), generator=g))
             for k in torch.randint(1, L + 1, (n,), generator=g)]
    vocab = Vocab(list("abcdef"))
    return words, vocab, Split(words, *encode_words(words, vocab, L))


def make(name, seed=0, fitted=True):
    torch.manual_seed(seed)
    m = build_model(kind(name), V, L + 1, **options(name))
    if fitted:
        m.fit(*m.examples(tiny_data()[2])[:2])
    with torch.no_grad():             # non-trivial BatchNorm statistics and gains for the eval-mode tests
        for mod in m.modules():
            if type(mod).__name__ == "BatchNorm1d":
                mod.running_mean.normal_()
                mod.running_var.uniform_(0.5, 2)
    return m.eval()


names = list(MODELS) + list(VARIANTS)


@pytest.mark.parametrize("name", names)
def test_shapes_and_loss(name):
    m = make(name)
    _, _, s = tiny_data()
    x, y = s.X[:5].long(), s.Y[:5].long()
    logits, loss = m(x, y)
    assert logits.shape == (5, L + 1, V) and loss.dim() == 0 and math.isfinite(loss.item())
    assert m(x)[1] is None


@pytest.mark.parametrize("name", names)
def test_causal(name):
    m = make(name)
    x = torch.randint(0, V, (3, L + 1))
    base, _ = m(x)
    for t in (1, 4, L):
        x2 = x.clone()
        x2[:, t] = (x2[:, t] + 1) % V
        out, _ = m(x2)
        torch.testing.assert_close(out[:, :t], base[:, :t], atol=1e-6, rtol=0)
        assert not torch.allclose(out[:, t:], base[:, t:])   # the change is seen from t on


@pytest.mark.parametrize("name", names)
def test_incremental_equals_forward(name):
    m = make(name)
    x = torch.randint(0, V, (4, L + 1))
    full, _ = m(x)
    state = m.init_state(4)
    steps = []
    for t in range(L + 1):
        logits, state = m.step(x[:, t], state)
        steps.append(logits)
    torch.testing.assert_close(torch.stack(steps, 1), full, atol=1e-5, rtol=0)


@pytest.mark.parametrize("name", names)
def test_cached_and_full_rerun_sample_the_same_items(name):
    m = make(name)
    a = generate(m, 200, L, generator=torch.Generator().manual_seed(3))
    b = generate(m, 200, L, generator=torch.Generator().manual_seed(3), cached=False)
    assert torch.equal(a, b)
    c = generate(m, 200, L, prefix=[2, 3], generator=torch.Generator().manual_seed(3))
    d = generate(m, 200, L, prefix=[2, 3], generator=torch.Generator().manual_seed(3), cached=False)
    assert torch.equal(c, d) and (c[:, :2] == torch.tensor([2, 3])).all()


@pytest.mark.parametrize("name", [n for n in names if list(make(n).parameters())])   # not the count models
def test_overfits_one_batch(name):
    m = make(name).train()
    # every context in this batch determines its next character, so the loss can reach zero
    words = ["abcdefab", "abcdefab", "abcdefab", "abcdefab"]
    s = Split(words, *encode_words(words, Vocab(list("abcdef")), L))
    x, y, _ = m.examples(s)
    if name == "nnbigram":   # a bigram cannot memorise sequences: it can only reach the empirical bigram entropy
        pytest.skip("a bigram's best loss on a batch is its conditional entropy, not zero")
    opt = torch.optim.Adam(m.parameters(), lr=1e-2)
    for _ in range(300):
        loss = m.loss(x.long(), y.long())
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 0.05, loss.item()


def test_nnbigram_reaches_the_bigram_entropy():
    m = make("nnbigram").train()
    _, _, s = tiny_data(n=4)
    x, y = s.examples(1)
    counts = build_model("bigram", V, L + 1, smoothing=0).fit(x, y)
    target = torch.nn.functional.cross_entropy(counts.next_logits(x.long()), y.long()).item()
    m.config.reg = 0.0
    opt = torch.optim.Adam(m.parameters(), lr=0.1)
    for _ in range(500):
        loss = m.loss(x.long(), y.long())
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() == pytest.approx(target, abs=0.01)


@pytest.mark.parametrize("name", ["bnmlp", "wavenet"])
def test_batchnorm_eval_is_batch_independent(name):
    m = make(name)
    ctx = torch.randint(0, V, (16, m.block_size))
    alone = m.next_logits(ctx[:1])
    torch.testing.assert_close(m.next_logits(ctx)[:1], alone, atol=1e-6, rtol=0)
    bn = next(mod for mod in m.modules() if type(mod).__name__ == "BatchNorm1d")
    before = bn.running_mean.clone()
    m.next_logits(ctx)
    assert torch.equal(bn.running_mean, before)          # eval mode reads the running statistics only
    m.train()
    m.next_logits(ctx)
    assert not torch.equal(bn.running_mean, before)      # training mode updates them


def test_lecture_sizes_and_initial_loss():
    assert sum(p.numel() for p in build_model("wavenet", 27, 16).parameters()) == 76579
    assert sum(p.numel() for p in build_model("bnmlp", 27, 16).parameters()) == 12097
    assert sum(p.numel() for p in build_model("mlp", 27, 16).parameters()) == 11897
    assert 200_000 < sum(p.numel() for p in build_model("transformer", 27, 16).parameters()) < 210_000
    for name in ("bnmlp", "wavenet"):
        torch.manual_seed(0)
        m = build_model(name, 27, 16)
        ctx, y = torch.randint(0, 27, (256, m.block_size)), torch.randint(0, 27, (256,))
        assert abs(m.loss(ctx, y).item() - math.log(27)) < 0.3


@pytest.mark.parametrize("name", names)
def test_save_load_same_logits(name, tmp_path):
    m = make(name)
    run = RunDir(tmp_path)
    run.save_weights(m, "last")
    loaded = load_model(run, "last", config={"type": kind(name), "model": vars(m.config)})
    x = torch.randint(0, V, (3, L + 1))
    torch.testing.assert_close(loaded(x)[0], m(x)[0], atol=0, rtol=0)


@pytest.mark.parametrize("bad", [dict(n_embd=0), dict(n_head=3), dict(n_embd=6, n_head=2, rope=True)])
def test_transformer_bad_sizes(bad):
    with pytest.raises(ValueError, match="--n-"):
        build_model("transformer", V, L + 1, **bad)


def test_wavenet_block_size_power_of_two():
    with pytest.raises(ValueError, match="power of two"):
        build_model("wavenet", V, L + 1, block_size=6)


@pytest.mark.parametrize("name", [n for n in names if "dropout" in MODELS[kind(n)].Config.__dataclass_fields__])
def test_dropout_acts_in_training_only(name):
    torch.manual_seed(0)
    m = build_model(kind(name), V, L + 1, **{**options(name), "dropout": 0.3})
    torch.manual_seed(0)
    ref = build_model(kind(name), V, L + 1, **options(name))
    ref.load_state_dict(m.state_dict())
    x = torch.randint(0, V, (4, L + 1))
    m.eval(), ref.eval()
    torch.testing.assert_close(m(x)[0], ref(x)[0], atol=0, rtol=0)           # eval: no dropout at all
    m.train()
    assert not torch.allclose(m(x)[0], ref(x)[0])                            # training: units are dropped
    with pytest.raises(ValueError, match="--dropout"):
        build_model(kind(name), V, L + 1, dropout=1.0)


def test_rope_scores_depend_on_the_distance_only():
    """Rotary embedding (Su et al. 2021): a query at position i and a key at j score q.k as if both
    were moved by any shift s; the score changes with the distance i - j."""
    from makemore.models.transformer import rotate
    m = build_model("transformer", V, 40, n_layer=1, n_head=2, n_embd=16, rope=True)
    rot = m._rotation(torch.arange(40))                                     # (40, 1, 1, 4) each
    q, k = torch.randn(2, 8, dtype=torch.float64).unbind(0)                 # (hs,) each
    def score(i, j):
        at = lambda x, p: rotate(x.float()[None, None, None], tuple(r[p] for r in rot))[0, 0, 0]  # (hs,)
        return (at(q, i) * at(k, j)).sum().item()
    for i, j in [(3, 0), (7, 7), (5, 9)]:
        for s in (1, 11, 30):
            assert score(i + s, j + s) == pytest.approx(score(i, j), abs=1e-5)
    assert score(3, 0) != pytest.approx(score(4, 0), abs=1e-3)
