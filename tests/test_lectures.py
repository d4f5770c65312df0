"""The lecture notebooks (docs/lectures/) and the library functions they call: each notebook is
built from its source and executed with shortened trainings; the stored notebooks are the current
sources' (none goes stale); the activations lecture's stages match the lecture's own code."""

from __future__ import annotations

import random
import sys
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

import makemore as mm
from makemore import lectures as L
from makemore.data import bundled_names

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
import notebooks  # noqa: E402

NAMES = notebooks.names()


def test_every_lecture_has_a_notebook_in_both_languages():
    assert NAMES == ["part1-bigram", "part2-mlp", "part3-batchnorm", "part5-wavenet", "part6-beyond"]
    for name in NAMES:
        nbs = notebooks.build(name)
        en = [c.source for c in nbs["en"].cells if c.cell_type == "markdown"]
        zh = [c.source for c in nbs["zh"].cells if c.cell_type == "markdown"]
        assert len(en) == len(zh) > 3, name                                     # every text cell has its twin
        assert all(any("\u4e00" <= ch <= "\u9fff" for ch in z) for z in zh), name    # and it is Chinese


@pytest.mark.parametrize("name", NAMES)
def test_the_stored_notebooks_are_the_sources_executed(name):
    import nbformat
    built = notebooks.build(name)
    for lang, suffix in notebooks.LANGUAGES.items():
        stored = nbformat.read(notebooks.LECTURES / f"{name}{suffix}.ipynb", as_version=4)
        assert [(c.cell_type, c.source) for c in stored.cells] == [(c.cell_type, c.source) for c in built[lang].cells], \
            f"docs/lectures/{name}{suffix}.ipynb is stale: run python scripts/notebooks.py {name}"
        code = [c for c in stored.cells if c.cell_type == "code"]
        assert all(c.execution_count for c in code), f"{name}{suffix}: not executed"
        assert not [o for c in code for o in c.outputs if o.output_type == "error"], f"{name}{suffix}: an error is stored"


@pytest.mark.parametrize("name", NAMES)
def test_the_notebook_runs(name, tmp_path, monkeypatch):
    """Executed from its source with MAKEMORE_LECTURE_FAST=1: any failing cell (the notebooks
    assert the lecture's numbers) fails the test."""
    monkeypatch.setenv("MAKEMORE_LECTURE_FAST", "1")
    monkeypatch.setenv("MAKEMORE_LECTURE_RUNS", str(tmp_path / "runs"))
    monkeypatch.setenv("PYTHONPATH", str(Path(mm.__file__).parents[1]))
    nb = notebooks.execute(notebooks.build(name)["en"], str(tmp_path), timeout=600)
    assert all(c.execution_count for c in nb.cells if c.cell_type == "code")


def test_the_source_format():
    cells = notebooks.parse("# %% [markdown]\n# # Title\n# text\n# %% [markdown zh]\n# # 标题\n# %%\nx = 1\n\n# a comment\n")
    assert cells == [("en", "# Title\ntext"), ("zh", "# 标题"), ("code", "x = 1\n\n# a comment")]
    with pytest.raises(SystemExit):
        notebooks.parse("# %% [raw]\n")


# --- the library functions the notebooks call ---------------------------------------------------

def test_pair_counts_are_the_count_tensor():
    words = mm.read_words()
    data = mm.build_dataset(words)
    N = L.fit_bigram(data).counts
    pairs = L.pair_counts(words)
    ix = lambda c: 0 if c == "." else data.vocab.encode(c)[0]
    assert sum(pairs.values()) == int(N.sum()) == 228146
    assert all(N[ix(a), ix(b)] == c for (a, b), c in pairs.items())
    assert pairs[("a", "n")] == 5438


def test_the_lectures_sampling_loop():
    """The first lecture's five names from its seed, and the loop is the lecture's: one
    torch.multinomial draw per character from one generator."""
    data = mm.build_dataset(mm.read_words())
    P = L.fit_bigram(data).logp.exp()
    assert L.lecture_samples(P, data.vocab) == ["cexze.", "momasurailezitynn.", "konimittain.", "llayn.", "ka."]
    g, ix, first = torch.Generator().manual_seed(L.LECTURE_SEED), 0, []
    while True:
        ix = torch.multinomial(P[ix], num_samples=1, replacement=True, generator=g).item()
        first.append(data.vocab.show(ix))
        if ix == 0:
            break
    assert "".join(first) == "cexze."


def test_item_likelihood_and_contexts():
    data = mm.build_dataset(mm.read_words())
    P0, P1 = (L.fit_bigram(data, smoothing=k).logp.exp() for k in (0, 1))
    assert L.item_likelihood(P0, data.vocab, "andrejq")["nll"] == float("inf")     # 'jq' never occurs
    r = L.item_likelihood(P1, data.vocab, "andrejq")
    assert r["nll"] == pytest.approx(27.8672, abs=1e-3) and len(r["bigrams"]) == 8
    assert L.contexts("emma", data.vocab) == [("...", "e"), ("..e", "m"), (".em", "m"), ("emm", "a"), ("mma", ".")]


def _lecture_net(stage: str, steps: int):
    """The activations lecture's code, written out as it is there: one generator for the weights
    and the batches, SGD at lr 0.1 then 0.01 halfway."""
    words = open(bundled_names()).read().splitlines()
    chars = sorted(set("".join(words)))
    stoi = {s: i + 1 for i, s in enumerate(chars)}
    stoi["."] = 0
    random.seed(42)
    random.shuffle(words)
    X, Y = [], []
    for w in words[:int(0.8 * len(words))]:
        context = [0] * 3
        for ch in w + ".":
            X.append(context)
            Y.append(stoi[ch])
            context = context[1:] + [stoi[ch]]
    Xtr, Ytr = torch.tensor(X), torch.tensor(Y)
    scales = {"original": (1, 1, 1, 1), "softmax": (1, 1, 0.01, 0), "tanh": (0.2, 0.01, 0.01, 0),
              "kaiming": ((5 / 3) / 30 ** 0.5, 0.01, 0.01, 0)}[stage]
    g = torch.Generator().manual_seed(2147483647)
    C = torch.randn((27, 10), generator=g)
    W1 = torch.randn((30, 200), generator=g) * scales[0]
    b1 = torch.randn(200, generator=g) * scales[1]
    W2 = torch.randn((200, 27), generator=g) * scales[2]
    b2 = torch.randn(27, generator=g) * scales[3]
    parameters = [C, W1, b1, W2, b2]
    for p in parameters:
        p.requires_grad = True
    for i in range(steps):
        ix = torch.randint(0, Xtr.shape[0], (32,), generator=g)
        h = torch.tanh(C[Xtr[ix]].view(-1, 30) @ W1 + b1)
        loss = F.cross_entropy(h @ W2 + b2, Ytr[ix])
        for p in parameters:
            p.grad = None
        loss.backward()
        lr = 0.1 if i < steps // 2 else 0.01
        for p in parameters:
            p.data += -lr * p.grad
    return parameters


@pytest.mark.parametrize("stage,steps,atol", [("kaiming", 200, 1e-5), ("tanh", 200, 1e-5), ("original", 0, 0.0)])
def test_the_part3_recipe_is_the_lectures_own_run(stage, steps, atol, tmp_path):
    """`--preset part3-STAGE --recipe part3` draws the lecture's initial weights and then its
    batches: after `steps` SGD steps the weights are the lecture's, to float rounding."""
    run = mm.create_run(tmp_path / stage, type="mlp", preset=f"part3-{stage}", recipe="part3",
                        max_steps=max(steps, 1), eval_interval=max(steps, 1))
    if steps:
        run.train(progress=False)
        model = mm.load_run(tmp_path / stage, weights="last").model
    else:
        model = run.model                                       # the initialization alone: exactly the lecture's
    ours = [model.wte.weight, model.hidden.weight.T, model.hidden.bias, model.out.weight.T, model.out.bias]
    for a, b in zip(ours, _lecture_net(stage, steps)):
        assert torch.allclose(a, b, atol=atol, rtol=0), (stage, (a - b).abs().max().item())


def test_the_batchnorm_stage_drops_b1_and_normalizes(tmp_path):
    run = mm.create_run(tmp_path / "bn", type="mlp", preset="part3-batchnorm", recipe="part3", max_steps=1)
    m = run.model
    assert m.hidden.bias is None and type(m.norm).__name__ == "BatchNorm1d"
    g = torch.Generator().manual_seed(2147483647)
    C = torch.randn((27, 10), generator=g)
    W1 = torch.randn((30, 200), generator=g) * (5 / 3) / 30 ** 0.5       # no b1: W2 is the next draw
    W2 = torch.randn((200, 27), generator=g) * 0.01
    assert torch.equal(m.wte.weight, C) and torch.allclose(m.hidden.weight.T, W1) and torch.allclose(m.out.weight.T, W2)
    assert torch.equal(m.out.bias, torch.zeros(27))


def test_shared_rng_trains_on_one_process_only():
    with pytest.raises(mm.UsageError, match="one process"):
        from makemore import distributed
        import unittest.mock as mock
        with mock.patch.object(distributed, "world_size", return_value=2):
            data = mm.build_dataset(mm.read_words())
            mm.train(mm.build_model("mlp", data.vocab.size, data.max_len + 1), data,
                     mm.TrainConfig(max_steps=1, shared_rng=True), progress=False)


def test_mlp_stage_options_are_checked():
    for bad, match in [(dict(init="xavier"), "--init"), (dict(w1_scale=-1.0), "--w1-scale"),
                       (dict(b2_scale=float("nan")), "--b2-scale")]:
        with pytest.raises(mm.UsageError, match=match):
            mm.build_model("mlp", 27, 16, **bad)
