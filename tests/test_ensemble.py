"""Ensembles: the mixture (linear or product) against a hand computation, its incremental path
against its forward, EM and the product's L-BFGS against grid searches, and `makemore ensemble`
end to end."""

import json

import pytest
import torch

from makemore.models.ensemble import Ensemble, fit_product, fit_weights
from makemore.sampling import generate
from test_cli import run
from test_models import L, make

pytestmark = pytest.mark.usefixtures("one_thread")


def members():
    return [make("transformer", seed=1), make("ngram"), make("lstm", seed=2)]


def test_mixture_of_probabilities():
    ms, w = members(), [0.5, 0.2, 0.3]
    ens = Ensemble(ms, w).eval()
    x = torch.randint(0, 7, (3, L + 1))
    probs = sum(wi * m(x)[0].softmax(-1) for wi, m in zip(w, ms))               # (B, T, V)
    logits, _ = ens(x)
    torch.testing.assert_close(logits.softmax(-1), probs, atol=1e-6, rtol=0)
    torch.testing.assert_close(logits.exp().sum(-1), torch.ones(3, L + 1), atol=1e-5, rtol=0)  # log-probabilities
    one = Ensemble(ms[:1]).eval()
    torch.testing.assert_close(one(x)[0], ms[0](x)[0].log_softmax(-1), atol=1e-6, rtol=0)


def test_incremental_equals_forward_and_samples_match():
    ens = Ensemble(members(), [0.6, 0.1, 0.3]).eval()
    x = torch.randint(0, 7, (4, L + 1))
    full, _ = ens(x)
    state, steps = ens.init_state(4), []
    for t in range(L + 1):
        logits, state = ens.step(x[:, t], state)
        steps.append(logits)
    torch.testing.assert_close(torch.stack(steps, 1), full, atol=1e-5, rtol=0)
    a = generate(ens, 100, L, generator=torch.Generator().manual_seed(0))
    b = generate(ens, 100, L, generator=torch.Generator().manual_seed(0), cached=False)
    assert torch.equal(a, b)


def test_product_of_distributions():
    ms, a = members(), [0.7, -0.2, 0.9]                                         # an exponent may be negative
    ens = Ensemble(ms, a, product=True).eval()
    x = torch.randint(0, 7, (3, L + 1))
    logp = sum(ai * m(x)[0].log_softmax(-1) for ai, m in zip(a, ms))             # (B, T, V) unnormalized
    want = logp.exp() / logp.exp().sum(-1, keepdim=True)
    logits, _ = ens(x)
    torch.testing.assert_close(logits.exp(), want, atol=1e-6, rtol=0)
    assert ens.weights == pytest.approx(a)
    state, steps = ens.init_state(3), []
    for t in range(L + 1):
        lg, state = ens.step(x[:, t], state)
        steps.append(lg)
    torch.testing.assert_close(torch.stack(steps, 1), logits, atol=1e-5, rtol=0)
    with pytest.raises(Exception, match="finite"):
        Ensemble(ms, [1.0, float("nan"), 0.0], product=True)


def test_product_fit_finds_the_best_exponents():
    """Two members of one direction: L-BFGS lands on the grid's best pair of exponents."""
    g = torch.Generator().manual_seed(0)
    V, n = 6, 3000
    truth = torch.randn(n, V, generator=g) * 2
    y = torch.multinomial(truth.softmax(-1), 1, generator=g).squeeze(1)                # (n,)
    lp = [(truth + torch.randn(n, V, generator=g) * s).log_softmax(-1) for s in (1.0, 2.0)]   # two noisy members
    lengths = torch.full((n // 3,), 3)                                                        # items of 3 targets
    a, v = fit_product(lp, [y, y], [False, False], lengths, [0.5, 0.5], None)
    assert v is None

    def nll(a1, a2):
        return -(a1 * lp[0] + a2 * lp[1]).log_softmax(-1).gather(1, y[:, None]).mean().item()
    grid = torch.linspace(0, 1.5, 61).tolist()
    best = min((nll(p, q), p, q) for p in grid for q in grid)
    assert nll(*a) <= best[0] + 1e-9 and abs(a[0] - best[1]) < 0.05 and abs(a[1] - best[2]) < 0.05
    assert a[0] > a[1] > 0                                                      # the less noisy member counts more


def test_em_finds_the_best_weights():
    g = torch.Generator().manual_seed(0)
    p = torch.rand(2, 5000, generator=g) * torch.tensor([[1.0], [0.6]]) + 0.01   # member probabilities of the targets
    w = fit_weights(-p.log())
    grid = torch.linspace(0, 1, 1001, dtype=torch.float64)
    ll = torch.stack([(a * p[0].double() + (1 - a) * p[1].double()).log().mean() for a in grid])
    assert w.sum().item() == pytest.approx(1.0)
    assert w[0].item() == pytest.approx(grid[ll.argmax()].item(), abs=2e-3)
    assert 0.5 < w[0] < 1                                                       # the better member weighs more, not all


def test_ensemble_command(tmp_path, small_file, capsys):
    common = ["-i", small_file, "--no-progress", "--samples", 0]
    assert run(capsys, "train", "-o", tmp_path / "ng", "--type", "ngram", "--n", 3, *common)[0] == 0
    assert run(capsys, "train", "-o", tmp_path / "mlp", "--type", "mlp", "--max-steps", 200, "--eval-interval", 100, *common)[0] == 0
    ev = {r: json.loads(run(capsys, "eval", "-o", tmp_path / r, "--json")[1]) for r in ("ng", "mlp")}
    code, out, err = run(capsys, "ensemble", "-o", tmp_path / "ens", tmp_path / "ng", tmp_path / "mlp")
    assert code == 0, err
    cfg = json.loads((tmp_path / "ens" / "config.json").read_text())
    assert cfg["type"] == "ensemble" and cfg["members"] == ["../ng", "../mlp"] and sum(cfg["weights"]) == pytest.approx(1)
    code, out, _ = run(capsys, "eval", "-o", tmp_path / "ens", "--json")
    mixed = json.loads(out)
    assert code == 0 and mixed["val"] == pytest.approx(cfg["val"], abs=1e-5)
    assert mixed["val"] <= min(ev["ng"]["val"], ev["mlp"]["val"]) + 1e-9      # EM on val never does worse
    code, out, _ = run(capsys, "sample", "-o", tmp_path / "ens", "-n", 5, "--seed", 0, "--json")
    assert code == 0 and len(json.loads(out)) == 5
    code, out, _ = run(capsys, "score", "-o", tmp_path / "ens", "emma", "--json")
    assert code == 0 and json.loads(out)[0]["nll"] > 0
    assert run(capsys, "plot", "embeddings", "-o", tmp_path / "ens")[0] == 2                # no single table
    assert run(capsys, "train", "-o", tmp_path / "ens", "--resume")[0] == 2
    # the product of the two: its exponents fitted from the linear weights, never worse on val
    code, out, err = run(capsys, "ensemble", "-o", tmp_path / "prod", "--mix", "product", tmp_path / "ng", tmp_path / "mlp")
    assert code == 0, err
    prod = json.loads((tmp_path / "prod" / "config.json").read_text())
    assert prod["mix"] == "product" and prod["val"] <= cfg["val"] + 1e-9
    code, out, _ = run(capsys, "eval", "-o", tmp_path / "prod", "--json")
    assert code == 0 and json.loads(out)["val"] == pytest.approx(prod["val"], abs=1e-5)
    code, out, _ = run(capsys, "score", "-o", tmp_path / "prod", "emma", "--json")
    assert code == 0 and json.loads(out)[0]["nll"] > 0
    # an existing directory is protected; members of other data are refused
    assert run(capsys, "ensemble", "-o", tmp_path / "ens", tmp_path / "ng")[0] == 2
    other = tmp_path / "other.txt"
    other.write_text("\n".join(small_file.read_text().split()[:300]) + "\n")
    assert run(capsys, "train", "-o", tmp_path / "ng2", "--type", "bigram", "-i", other, "--no-progress", "--samples", 0)[0] == 0
    code, _, err = run(capsys, "ensemble", "-o", tmp_path / "bad", tmp_path / "ng", tmp_path / "ng2")
    assert code == 2 and "same file" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "bad").exists()


def test_best_trains_members_side_by_side_then_mixes(tmp_path, small_file, capsys, monkeypatch):
    from makemore import presets
    monkeypatch.setattr(presets, "BEST", {"mlp": dict(type="mlp", max_steps=150, eval_interval=50),
                                          "ngram": dict(type="ngram", n=3)})
    code, out, err = run(capsys, "best", "-o", tmp_path / "best", "-i", small_file, "--jobs", 2)
    assert code == 0, err
    assert "mlp" in out and "ngram" in out and "ensemble" in out
    cfg = json.loads((tmp_path / "best" / "config.json").read_text())
    assert cfg["members"] == ["members/mlp", "members/ngram"] and cfg["member_types"] == ["mlp", "ngram"]
    assert (tmp_path / "best" / "members" / "mlp" / "train.log").read_text().count("val") >= 3
    code, out, _ = run(capsys, "eval", "-o", tmp_path / "best", "--json")
    assert code == 0 and json.loads(out)["val"] == pytest.approx(cfg["val"], abs=1e-5)
    assert run(capsys, "best", "-o", tmp_path / "best", "-i", small_file)[0] == 2          # protected without --force
    monkeypatch.setattr(presets, "BEST", {"bad": dict(type="mlp", n_head=2)})      # checked before any member trains
    code, _, err = run(capsys, "best", "-o", tmp_path / "b2", "-i", small_file)
    assert code == 2 and "best: bad: option --n-head does not apply to --type mlp" in err
    assert not (tmp_path / "b2").exists()
