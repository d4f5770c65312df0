"""Diagnostics and figures: the numbers on hand-made tensors, and each command's PNG."""

import json
import math

import matplotlib.pyplot as plt
import pytest
import torch

from makemore.cli import main
from makemore.data import build_dataset
from makemore.diagnostics import UpdateTracker, grad_data_ratio, histogram, inspect, lr_sweep, saturation, smooth, update_ratio
from makemore.evaluation import uniform_loss
from makemore.models import build_model
from makemore.train import TrainConfig, train


def test_statistics_on_known_tensors():
    t = torch.tensor([0.5, 0.98, -0.99, 0.1, 0.97, -0.2, 1.0, 0.0])
    assert saturation(t) == pytest.approx(3 / 8 * 100)          # 0.98, -0.99, 1.0; 0.97 is not above
    g, d = torch.tensor([1.0, -1.0, 1.0, -1.0]), torch.tensor([10.0, -10.0, 10.0, -10.0])
    assert grad_data_ratio(g, d) == pytest.approx(0.1)
    assert update_ratio(0.01 * g, d) == pytest.approx(-3.0)     # std(0.01 g) / std(d) = 1e-3
    assert uniform_loss(27) == pytest.approx(3.2958, abs=1e-4)
    assert smooth([2.0, 2.0, 2.0]) == pytest.approx([2.0, 2.0, 2.0])
    h = histogram(torch.tensor([0.0, 0.0, 0.0, 1.0]), bins=2)      # a fraction per bin, not a density
    assert h["fraction"] == pytest.approx([0.75, 0.25]) and sum(h["fraction"]) == pytest.approx(1.0)


def test_inspect_sees_every_tanh_and_matrix(names_data):
    torch.manual_seed(0)
    m = build_model("mlp", names_data.vocab.size, names_data.max_len + 1)
    ctx, y = names_data.train.examples(3)
    stats = inspect(m, ctx[:64].long(), y[:64].long())
    h = torch.tanh(m.hidden(m.wte(ctx[:64].long()).view(64, -1)))   # the same tanh layer, by hand
    assert stats["tanh"][0]["saturated_pct"] == pytest.approx(saturation(h))
    assert stats["tanh"][0]["std"] == pytest.approx(h.std().item(), rel=1e-5)
    assert [w["param"] for w in stats["weights"]] == ["hidden.weight", "out.weight"]
    # scaling the hidden layer up saturates the tanh (the lecture's demonstration)
    with torch.no_grad():
        m.hidden.weight.mul_(20)
    assert inspect(m, ctx[:64].long(), y[:64].long())["tanh"][0]["saturated_pct"] > 50


class Recorder:
    """An on_step hook that keeps every matrix as it stands after each step, and its gradient."""

    def __init__(self, model):
        self.after, self.grads = [dict(self._mats(model))], []

    @staticmethod
    def _mats(model):
        return {n: p.detach().clone() for n, p in model.named_parameters() if n in ("hidden.weight", "out.weight")}

    def __call__(self, step, model, lr):
        self.after.append(self._mats(model))
        self.grads.append({n: p.grad.detach().clone() for n, p in model.named_parameters() if n in self.after[0]})


@pytest.mark.parametrize("optimizer", ["sgd", "adamw"])
def test_update_tracker_measures_the_real_change(names, optimizer):
    """The ratio is std(change of the weights in the step) / std(weights before it): under SGD that
    change is lr * grad (the lecture's formula); under AdamW it is AdamW's own step, not lr * grad."""
    data = build_dataset(names[:500])
    torch.manual_seed(0)
    m = build_model("mlp", data.vocab.size, data.max_len + 1)
    tr, rec = UpdateTracker(m, every=5), Recorder(m)
    cfg = TrainConfig(max_steps=20, optimizer=optimizer, lr=0.1 if optimizer == "sgd" else 3e-3, schedule="constant",
                      weight_decay=0.0, eval_interval=20)
    train(m, data, cfg, progress=False, on_step=lambda *a: (tr(*a), rec(*a)))
    assert tr.steps == [0, 5, 10, 15]
    assert set(tr.ratios) == {"hidden.weight", "out.weight"}
    for i, step in enumerate(tr.steps):
        for n in tr.ratios:
            before, after = rec.after[step][n], rec.after[step + 1][n]
            assert tr.ratios[n][i] == pytest.approx(update_ratio(after - before, before), abs=1e-6)
            by_grad = update_ratio(cfg.lr * rec.grads[step][n], before)
            if optimizer == "sgd":
                assert tr.ratios[n][i] == pytest.approx(by_grad, abs=1e-4)
            elif step > 0:
                assert abs(tr.ratios[n][i] - by_grad) > 0.1       # Adam's normalized step is not lr * grad


def test_lr_sweep_range_and_suggestion(names):
    data = build_dataset(names[:3000])
    m = build_model("mlp", data.vocab.size, data.max_len + 1)
    res = lr_sweep(m, data, 1e-3, 1.0, 200, 32)
    assert res["lrs"][0] == pytest.approx(1e-3) and res["lrs"][-1] == pytest.approx(1.0)
    assert all(b > a for a, b in zip(res["lrs"], res["lrs"][1:]))
    assert 1e-3 <= res["suggested_lr"] <= 1.0 and res["suggested_lr"] <= res["min_loss_lr"]
    assert len(res["losses"]) == 200


def _png_size(path):
    img = plt.imread(path)
    return img.shape[1], img.shape[0]


def test_plot_bigram_grid_equals_the_counts(tmp_path, names, names_data, capsys):
    assert main(["plot", "bigram", "-o", str(tmp_path), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    from makemore.data import Split, encode_words
    every = Split(names, *encode_words(names, names_data.vocab, names_data.max_len))
    bigram = build_model("bigram", 27, 16).fit(*every.examples(1))
    assert torch.tensor(out["counts"]).float().equal(bigram.counts)
    assert out["chars"][0] == "." and out["chars"][1:] == names_data.vocab.chars
    assert _png_size(tmp_path / "bigram.png") == (int(0.6 * 27 * 80), int(0.6 * 27 * 80))


def test_plot_bigram_large_vocab_shows_top_n(tmp_path, capsys):
    import random
    rng = random.Random(0)
    chars = [chr(0x4E00 + i) for i in range(300)]
    p = tmp_path / "zh.txt"
    p.write_text("\n".join("".join(rng.choices(chars, k=3)) for _ in range(500)), encoding="utf-8")
    assert main(["plot", "bigram", "-i", str(p), "--top", "12", "--png", str(tmp_path / "zh.png"), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert len(out["chars"]) == 12 and out["chars"][0] == "."
    assert (tmp_path / "zh.png").stat().st_size > 0


def test_figures_from_a_run(tmp_path, small_file, capsys):
    d = tmp_path / "run"
    assert main(["train", "-i", str(small_file), "-o", str(d), "--type", "mlp", "--max-steps", "40", "--eval-interval", "20",
                 "--log-interval", "10", "--track-updates", "5", "--no-progress", "--samples", "0"]) == 0
    capsys.readouterr()
    updates = json.loads((d / "updates.json").read_text())
    assert updates["steps"][:3] == [0, 5, 10]
    assert main(["plot", "loss", "-o", str(d), str(d)]) == 0
    assert _png_size(d / "loss.png") == (900, 500)
    assert "best val" in capsys.readouterr().out
    assert main(["plot", "embeddings", "-o", str(d), "--json"]) == 0
    pts = json.loads(capsys.readouterr().out)
    assert len(pts["points"]) == len(pts["chars"]) and all(len(p) == 2 for p in pts["points"])
    assert _png_size(d / "embeddings.png") == (800, 800)
    assert main(["diagnose", "-o", str(d), "--json"]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert stats["updates"]["steps"] and stats["tanh"][0]["layer"] == "act"
    assert _png_size(d / "diagnose.png") == (14 * 80, 9 * 80)
    assert main(["lr-find", "-i", str(small_file), "--type", "mlp", "--steps", "100", "--png", str(tmp_path / "lr.png")]) == 0
    assert _png_size(tmp_path / "lr.png") == (800, 500)
    out = capsys.readouterr().out
    assert "suggested lr" in out


def test_init_check_warns_on_an_overconfident_output_layer(names, capsys):
    data = build_dataset(names[:500])
    torch.manual_seed(0)
    m = build_model("mlp", data.vocab.size, data.max_len + 1)
    train(m, data, TrainConfig(max_steps=1), progress=True)
    out = capsys.readouterr().out
    assert "uniform prediction -ln(1/27) = 3.2958" in out and "warning" not in out
    with torch.no_grad():
        m2 = build_model("mlp", data.vocab.size, data.max_len + 1)
        m2.out.weight.mul_(30)
    train(m2, data, TrainConfig(max_steps=1), progress=True)
    assert "warning: the initial loss is" in capsys.readouterr().out
    assert math.isfinite(uniform_loss(2))


def test_diagnose_bnmlp_and_wavenet_lecture_experiment(tmp_path, small_file, capsys):
    # the lecture's experiment: without BatchNorm a large init gain saturates the tanh layers;
    # with BatchNorm the same gain is normalized away
    def sat(*opts):
        assert main(["diagnose", "-i", str(small_file), "--json", "--png", str(tmp_path / "d.png"), *opts]) == 0
        stats = json.loads(capsys.readouterr().out)
        return [t["saturated_pct"] for t in stats["tanh"]]
    off = sat("--type", "bnmlp", "--preset", "lecture", "--n-layer", "3", "--no-batchnorm", "--gain", "5")
    on = sat("--type", "bnmlp", "--preset", "lecture", "--n-layer", "3", "--gain", "5")
    assert len(off) == len(on) == 3
    assert min(off) > 50 and max(on) < 20
    wn = sat("--type", "wavenet", "--preset", "lecture")
    assert len(wn) == 3 and all(s < 20 for s in wn)
