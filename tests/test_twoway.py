"""Reading items right to left (`train --reverse`) and mixing both directions over whole items:
the reversed split against encoding the reversed words, a reversed run against a run trained on the
reversed file, the TwoWay mixture's scores against its two directions' own, and its samples
against its probabilities."""

import json
import math
from collections import Counter

import pytest
import torch

import makemore as mm
from makemore.data import build_dataset, encode_words, reverse_split
from makemore.explore import FieldError, next_distribution, surprise
from test_cli import run

pytestmark = pytest.mark.usefixtures("one_thread")

LSTM = dict(type="lstm", n_embd=8, n_hidden=16, max_steps=40, eval_interval=20, batch_size=32)


def test_reverse_split_is_the_reversed_words_encoded(names):
    data = build_dataset(names[:500])
    for s in ("train", "val", "test"):
        split = data.split(s)
        rev = reverse_split(split)
        X, Y = encode_words([w[::-1] for w in split.words], data.vocab, data.max_len)
        assert torch.equal(rev.X, X) and torch.equal(rev.Y, Y) and torch.equal(rev.lengths, split.lengths)
        assert rev.words == [w[::-1] for w in split.words]
        back = reverse_split(rev)
        assert torch.equal(back.X, split.X) and torch.equal(back.Y, split.Y)


def test_em_fits_both_directions_together():
    """fit_mixture's weights against a direct optimizer (Adam on softmax parameters) of the same
    likelihood; and they beat fitting each direction alone, then the two."""
    from makemore.models.ensemble import fit_weights, item_sums, mixture_loss, fit_mixture
    g = torch.Generator().manual_seed(0)
    lengths = torch.randint(2, 8, (300,), generator=g)
    n = int(lengths.sum())
    nll = [torch.rand(n, generator=g, dtype=torch.float64) * 4 + k * 0.1 for k in range(5)]    # 5 members' (targets,)
    reverse = [False, True, False, True, True]
    w, v = fit_mixture(nll, reverse, lengths, iters=500)
    fitted = mixture_loss(nll, reverse, lengths, w, v)[0]

    a, b = torch.zeros(2, requires_grad=True), torch.zeros(3, requires_grad=True)
    c = torch.zeros(2, requires_grad=True)                                          # the directions
    opt = torch.optim.Adam([a, b, c], lr=0.05)
    lp = lambda ix: -torch.stack([nll[i] for i in ix])                               # (M, targets)
    for _ in range(1500):
        ltr = item_sums(torch.logsumexp(lp([0, 2]) + a.log_softmax(0).double()[:, None], 0), lengths)
        rtl = item_sums(torch.logsumexp(lp([1, 3, 4]) + b.log_softmax(0).double()[:, None], 0), lengths)
        loss = -torch.logsumexp(torch.stack([ltr, rtl]) + c.log_softmax(0).double()[:, None], 0).sum() / n
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert fitted == pytest.approx(loss.item(), abs=1e-5)
    assert w[0] + w[2] == pytest.approx(1) and w[1] + w[3] + w[4] == pytest.approx(1) and sum(v) == pytest.approx(1)
    staged = [0.0] * 5                                                              # each direction alone, then the two
    for ix in ([0, 2], [1, 3, 4]):
        for i, x in zip(ix, fit_weights(torch.stack([nll[i] for i in ix])).tolist()):
            staged[i] = x
    items = torch.stack([item_sums(mixture_loss_items, lengths) for mixture_loss_items in
                         (-torch.logsumexp(lp(ix) + torch.tensor([staged[i] for i in ix]).log().double()[:, None], 0)
                          for ix in ([0, 2], [1, 3, 4]))])
    assert fitted <= mixture_loss(nll, reverse, lengths, staged, fit_weights(items).tolist())[0] + 1e-12


def test_a_reversed_run_is_a_run_on_the_reversed_file(tmp_path, small_file):
    """Same split (it depends on the count of items alone), same batches, so the same weights."""
    words = small_file.read_text().split()
    flipped = tmp_path / "flipped.txt"
    flipped.write_text("\n".join(w[::-1] for w in words) + "\n")
    a = mm.create_run(tmp_path / "a", str(small_file), reverse=True, **LSTM)
    a.train(progress=False)
    b = mm.create_run(tmp_path / "b", str(flipped), **LSTM)
    b.train(progress=False)
    for k, v in b.model.state_dict().items():
        assert torch.equal(a.model.state_dict()[k], v), k
    a = mm.load_run(tmp_path / "a")
    assert a.reverse and a.config["data"]["reverse"] is True
    assert a.evaluate() == pytest.approx(mm.load_run(tmp_path / "b").evaluate(), abs=1e-9)
    # items go in and come out the right way round
    item = words[3]
    assert a.score([item])[0]["nll"] == pytest.approx(b.score([item[::-1]])[0]["nll"], abs=1e-9)
    assert a.score([item])[0]["item"] == item
    drawn = [s["item"] for s in a.sample(20, seed=5, marks=False)]
    assert drawn == [s["item"][::-1] for s in b.sample(20, seed=5, marks=False)]
    assert set(a.novelty(words)) <= {"train", "val/test"}                     # every item found, read its way
    backwards = [w[::-1] for w in words if w[::-1] not in set(words)]
    assert backwards and a.novelty(backwards) == ["new"] * len(backwards)
    with pytest.raises(mm.UsageError, match="right to left"):
        a.sample(3, prefix="a")
    # the explorer: a character's surprise given the ones after it; no next-character distribution
    s = surprise(a, item)
    assert [x["char"] for x in s["surprise"][:-1]] == list(item) and s["surprise"][-1]["end"]
    assert sum(x["nll"] for x in s["surprise"]) == pytest.approx(a.score([item])[0]["nll"], abs=1e-4)
    assert s["surprise"][0]["nll"] == pytest.approx(surprise(b, item[::-1])["surprise"][len(item) - 1]["nll"], abs=1e-6)
    with pytest.raises(FieldError, match="right to left"):
        next_distribution(a, "a")


@pytest.fixture
def both_ways(tmp_path, small_file):
    for name, reverse, seed in (("f", False, 1), ("f2", False, 2), ("b", True, 3)):
        mm.create_run(tmp_path / name, str(small_file), reverse=reverse, seed=seed, **LSTM).train(progress=False)
    mm.create_run(tmp_path / "ng", str(small_file), reverse=True, type="ngram", n=3).train(progress=False)
    ens = mm.ensemble(tmp_path / "mix", [str(tmp_path / n) for n in ("f", "b", "f2", "ng")])
    return tmp_path, ens


def test_two_way_mixture_scores_items_by_both_directions(both_ways):
    root, ens = both_ways
    c = ens.config
    assert c["member_reverse"] == [False, True, False, True] and isinstance(ens.model, mm.TwoWay)
    w, v = c["weights"], c["direction_weights"]
    assert w[0] + w[2] == pytest.approx(1) and w[1] + w[3] == pytest.approx(1) and sum(v) == pytest.approx(1)
    # the reference: each member's surprise at each character (its own full forward, in the item's
    # order), mixed by hand per character within a direction, then over whole items across the two
    runs = [mm.load_run(root / n) for n in ("f", "b", "f2", "ng")]
    for s in ("val", "test"):
        items = ens.data.split(s).words
        p = [[torch.tensor([x["p"] for x in surprise(m, item)["surprise"]], dtype=torch.float64) for item in items]
             for m in runs]                                                     # [member][item] (chars + 1,)
        ltr = torch.stack([(w[0] * a + w[2] * c).log().sum() for a, c in zip(p[0], p[2])]).exp()    # (N,)
        rtl = torch.stack([(w[1] * b + w[3] * d).log().sum() for b, d in zip(p[1], p[3])]).exp()
        nll = -(v[0] * ltr + v[1] * rtl).log()
        targets = sum(len(x) + 1 for x in items)
        assert c[s] == pytest.approx(nll.sum().item() / targets, abs=1e-6)
        assert c["direction_loss"][s][0] == pytest.approx(-ltr.log().sum().item() / targets, abs=1e-6)
        assert mm.load_run(root / "mix").evaluate([s])[s] == pytest.approx(c[s], abs=1e-6)
    assert c["val"] <= min(c["direction_loss"]["val"]) + 1e-9            # EM on val never does worse
    item = items[0]
    assert ens.score([item])[0]["nll"] == pytest.approx(nll[0].item(), abs=1e-6)
    assert surprise(ens, item)["surprise"] == [] and surprise(ens, item)["nll"] == pytest.approx(nll[0].item(), abs=1e-6)
    with pytest.raises(FieldError, match="both reading directions"):
        next_distribution(ens, "")


def test_two_way_product_scores_items_by_hand(both_ways):
    """--mix product: within each direction the members' distributions multiplied, each to its
    exponent, renormalized; then the two directions mixed over whole items, as before."""
    root, _ = both_ways
    names = ("f", "b", "f2", "ng")
    ens = mm.ensemble(root / "prod", [str(root / n) for n in names], mix="product")
    c = ens.config
    a, v = c["weights"], c["direction_weights"]
    assert c["mix"] == "product" and isinstance(ens.model.ltr, mm.Ensemble) and ens.model.ltr.product
    assert c["val"] <= mm.load_run(root / "mix").config["val"] + 1e-9       # started from the linear fit: never worse
    runs = [mm.load_run(root / n) for n in names]
    for s in ("val", "test"):
        split = ens.data.split(s)
        ways = [reverse_split(split) if r.reverse else split for r in runs]
        logp = [torch.stack([r.model(w.X.long()[i:i + 1])[0][0].log_softmax(-1) for i in range(len(w))])
                for r, w in zip(runs, ways)]                                   # (N, T, V) each member, its own way

        def direction(i, j):                                                   # two members' product, per item
            mixed = (a[i] * logp[i] + a[j] * logp[j]).log_softmax(-1)
            y = ways[i].Y.long()
            nll = -mixed.gather(2, y.clamp_min(0)[..., None])[..., 0] * (y != -1)
            return nll.sum(1).double()                                          # (N,)
        ltr, rtl = direction(0, 2), direction(1, 3)
        nll = -torch.logsumexp(torch.stack([math.log(v[0]) - ltr, math.log(v[1]) - rtl]), 0)
        assert c[s] == pytest.approx(nll.sum().item() / split.n_targets, abs=1e-5)
        assert c["direction_loss"][s][1] == pytest.approx(rtl.sum().item() / split.n_targets, abs=1e-5)
        assert mm.load_run(root / "prod").evaluate([s])[s] == pytest.approx(c[s], abs=1e-5)
    assert ens.score([split.words[0]])[0]["nll"] == pytest.approx(nll[0].item(), abs=1e-4)
    drawn = ens.sample(200, seed=0, marks=False)
    assert len(drawn) == 200 and drawn == mm.load_run(root / "prod").sample(200, seed=0, marks=False)


def test_two_way_samples_follow_its_probabilities(both_ways):
    """The items drawn from the mixture come as often as the mixture's probability of them says."""
    root, _ = both_ways
    ens = mm.load_run(root / "mix")
    n = 20_000
    drawn = Counter(s["item"] for s in ens.sample(n, seed=0, marks=False))
    assert [s["item"] for s in ens.sample(50, seed=0, marks=False)] == \
        [s["item"] for s in ens.sample(50, seed=0, marks=False)]            # a seed gives the same items
    common = [w for w, _ in drawn.most_common(15)]
    p = [math.exp(-r["nll"]) for r in ens.score(common)]
    for w, q in zip(common, p):
        sd = math.sqrt(n * q * (1 - q))
        assert abs(drawn[w] - n * q) < 5 * sd + 2, (w, drawn[w], n * q)
    with pytest.raises(mm.UsageError, match="both directions"):
        ens.sample(3, prefix="a")


def test_the_commands_with_both_directions(both_ways, capsys):
    root, _ = both_ways
    code, out, err = run(capsys, "ensemble", "-o", root / "mix2", root / "f", root / "b")
    assert code == 0, err
    assert "lstm (rtl)" in out and "right to left" in out and "left to right" in out
    code, out, _ = run(capsys, "sample", "-o", root / "mix2", "-n", 5, "--seed", 1, "--json")
    assert code == 0 and len(json.loads(out)) == 5
    code, out, _ = run(capsys, "score", "-o", root / "mix2", "emma", "--json")
    assert code == 0 and json.loads(out)[0]["nll"] > 0
    for argv, why in ((("sample", "-o", root / "mix2", "--prefix", "em"), "both directions"),
                      (("distill", root / "b", "-o", root / "student"), "right to left"),
                      (("ensemble", "-o", root / "mix3", root / "mix2", root / "f"), "both reading directions already")):
        code, _, err = run(capsys, *argv)
        assert code == 2 and why in err and len(err.strip().splitlines()) == 1, err
    assert not (root / "student").exists() and not (root / "mix3").exists()
    # a mixture of both directions teaches with its left-to-right half (here the one run f)
    code, _, err = run(capsys, "distill", root / "mix2", "-o", root / "student", "--n-embd", 8, "--n-hidden", 16,
                       "--max-steps", 4, "--eval-interval", 2, "--no-progress")
    assert code == 0 and "left-to-right members" in err, err
    from safetensors.torch import load_file
    from makemore.distill import teacher_probs
    stored = next(iter(load_file(next((root / "student").glob("teacher-*.safetensors"))).values())).float()
    f = mm.load_run(root / "f")
    want = teacher_probs(f.model, f.data.train)
    assert stored.shape == want.shape and (stored - want).abs().max() < 1e-3
    # an all right-to-left ensemble is itself a right-to-left run
    code, _, err = run(capsys, "ensemble", "-o", root / "rtl", root / "b", root / "ng")
    assert code == 0, err
    rtl = mm.load_run(root / "rtl")
    assert rtl.reverse and not rtl.two_way and isinstance(rtl.model, mm.Ensemble)
    assert rtl.evaluate(["val"])["val"] == pytest.approx(rtl.config["val"], abs=1e-6)


def test_a_broken_two_way_config_is_refused(both_ways, capsys):
    root, _ = both_ways
    f = root / "mix" / "config.json"
    good = json.loads(f.read_text())
    for key, bad in (("direction_weights", [1.0]), ("direction_weights", "half"), ("member_reverse", [True] * 4),
                     ("member_reverse", [0, 1, 0, 1]), ("mix", "geometric"), ("weights", [0.5, -0.5, 0.5, 1.5])):
        f.write_text(json.dumps({**good, key: bad}))
        code, _, err = run(capsys, "eval", "-o", root / "mix")
        assert code == 2 and key in err and len(err.strip().splitlines()) == 1, err


def test_best_trains_both_directions(tmp_path, small_file, capsys, monkeypatch):
    from makemore import presets
    monkeypatch.setattr(presets, "BEST", {"ngram": dict(type="ngram", n=3),
                                          "ngram-rtl": dict(type="ngram", n=3, reverse=True)})
    code, out, err = run(capsys, "best", "-o", tmp_path / "best", "-i", small_file, "--jobs", 2)
    assert code == 0, err
    cfg = json.loads((tmp_path / "best" / "config.json").read_text())
    assert cfg["member_reverse"] == [False, True] and len(cfg["direction_weights"]) == 2
    assert json.loads((tmp_path / "best" / "members" / "ngram-rtl" / "config.json").read_text())["data"]["reverse"]
    assert cfg["val"] <= min(cfg["member_loss"]["val"]) + 1e-9
    monkeypatch.setattr(presets, "BEST", {"bad": dict(type="ngram", reverse=True, n_head=2)})
    code, _, err = run(capsys, "best", "-o", tmp_path / "b2", "-i", small_file)
    assert code == 2 and "best: bad:" in err
