"""Each exercise's check passes on the reference solution and fails on a typical mistake (the kind a
learner makes), and the command line walks a learner through one."""

import types

import pytest
import torch
import torch.nn.functional as F

from makemore import exercises
from makemore.cli import main
from makemore.exercises import part4
from makemore.exercises.solutions import part1, part2, part3, part4 as sol4

SOLUTIONS = {"p1": part1, "p2": part2, "p3": part3, "p4": sol4}


def bessel_forward_biased_backward():
    """p4-e03: the lecture's forward (n - 1) with torch's backward (n): the two conventions mixed."""
    def backward(dout, x, gamma, eps=1e-5):
        n = x.shape[0]
        var_inv = (x.var(0, keepdim=True, unbiased=False) + eps) ** -0.5
        xhat = (x - x.mean(0, keepdim=True)) * var_inv
        dx = gamma * var_inv / n * (n * dout - dout.sum(0, keepdim=True) - xhat * (dout * xhat).sum(0, keepdim=True))
        return dx, (dout * xhat).sum(0, keepdim=True), dout.sum(0, keepdim=True)
    return dict(batchnorm_forward=sol4.batchnorm_forward, batchnorm_backward=backward)


def one_start_dot(words):
    """p1-e01: each name padded with one '.' in front instead of two."""
    N3, chars = part1.trigram_counts(words)
    stoi = {c: i for i, c in enumerate(chars)}
    N3 = torch.zeros_like(N3)
    for w in words:
        seq = [0] + [stoi[c] for c in w] + [0]
        for a, b, c in zip(seq, seq[1:], seq[2:]):
            N3[a, b, c] += 1
    return N3, chars


def forgot_a_branch(t, Xb, Yb):
    """p4-e01: counts is used twice (in probs and in counts_sum); only the first use's gradient kept.
    (Leaving out the max's branch would not show: softmax ignores a shift, so that gradient is ~0.)"""
    d = sol4.backprop(t, Xb, Yb)
    d["dcounts"] = t["counts_sum_inv"] * d["dprobs"]
    return d


WRONG = {   # a typical mistake for each exercise
    "p1-counts": dict(bigram_counts=lambda words: (lambda N, c: (N.T, c))(*part1.bigram_counts(words))),   # rows and columns swapped
    "p1-nll": dict(average_nll=lambda P, words, chars: part1.average_nll(P, words, chars) * len(words) / 228146),  # a mean per name
    "p1-e01": dict(trigram_counts=one_start_dot, trigram_nll=part1.trigram_nll, trigram_net_logits=part1.trigram_net_logits),
    "p1-e02": dict(split=lambda words: (words[:25626], words[25626:28829], words[28829:]),                # not shuffled
                   evaluate_models=part1.evaluate_models),
    "p1-e03": dict(tune_smoothing=lambda train, dev, test, ks: part1.tune_smoothing(train, train, test, ks)),  # chosen on train
    "p1-e04": dict(bigram_logits=lambda W, xs: W[:, xs].T),                                             # columns, not rows
    "p1-e05": dict(loss=lambda logits, ys: -(logits.exp() / logits.exp().sum(1, keepdim=True))[range(len(ys)), ys].log().mean()),
    "p2-softmax": dict(softmax=lambda x: x.exp() / x.exp().sum(-1, keepdim=True)),                     # no max subtracted
    "p2-e01": dict(predict=lambda X: torch.zeros(len(X), 27)),                                          # an untrained net
    "p2-e02": dict(uniform_loss=part2.uniform_loss, init=lambda g: {                                    # the lecture's first init
        "C": torch.randn(27, 10, generator=g), "W1": torch.randn(30, 200, generator=g), "b1": torch.randn(200, generator=g),
        "W2": torch.randn(200, 27, generator=g), "b2": torch.randn(27, generator=g)}),
    "p2-e03": dict(direct_logits=lambda p, X: part2.direct_logits(p, X) - p["C"][X].view(len(X), -1) @ p["Wd"]
                   + p["C"][X[:, -1]] @ p["Wd"][-10:]),                                                 # only the last character
    "p3-e01": dict(zero_init_gradients=part3.zero_init_gradients,
                   zero_init_limit=lambda X, Y: torch.log(torch.tensor(27.0)).item()),                  # "it learns nothing"
    "p3-e02": dict(fold=lambda W, b, g, beta, m, v, eps: (W * g / v.sqrt(), (b - m) * g / v.sqrt() + beta)),  # eps left out
    "p4-tanh": dict(tanh_backward=lambda dout, out: (1 - out) * dout),                                  # not squared
    "p4-linear": dict(linear_backward=lambda dout, x, W: (dout @ W.T, x.T @ dout, dout.sum(1))),        # db over the wrong dim
    "p4-e01": dict(backprop=forgot_a_branch),
    "p4-e02": dict(cross_entropy_backward=lambda logits, Yb: sol4.cross_entropy_backward(logits, Yb) * logits.shape[0]),  # no / n
    "p4-e03": bessel_forward_biased_backward(),
    "p4-e04": dict(train_step=lambda p, Xb, Yb, lr: sol4.train_step(p, Xb, Yb, lr / 10)),             # the rate off by 10
}


@pytest.mark.parametrize("exercise", list(exercises.BY_ID))
def test_the_reference_passes_and_a_mistake_fails(exercise):
    good = exercises.check(exercise, SOLUTIONS[exercise[:2]])
    assert good.passed, str(good)
    bad = exercises.check(exercise, types.SimpleNamespace(**WRONG[exercise]))
    assert not bad.passed, str(bad)


def test_every_lecture_has_its_own_exercises():
    ids = list(exercises.BY_ID)
    for part, count in (("p1", 5), ("p2", 3), ("p3", 2), ("p4", 4)):
        assert [i for i in ids if i.startswith(part + "-e")] == [f"{part}-e{k:02d}" for k in range(1, count + 1)]
    assert set(WRONG) == set(ids)


def test_the_batchnorm_check_says_which_variance_it_checks():
    """p4-e03 accepts the lecture's n - 1 and torch's n, each forward with its own backward."""
    lecture = exercises.check("p4-e03", sol4)
    assert lecture.passed and "n - 1, as the lecture" in str(lecture)
    torch_way = dict(batchnorm_forward=lambda x, g, b, eps=1e-5: F.batch_norm(x, None, None, g.view(-1), b.view(-1), True, 0.1, eps),
                     batchnorm_backward=bessel_forward_biased_backward()["batchnorm_backward"])
    result = exercises.check("p4-e03", types.SimpleNamespace(**torch_way))
    assert result.passed and "n, as torch.nn.BatchNorm1d" in str(result)


def test_the_backprop_forward_is_the_lectures_net():
    """The net of p4-e01 is the lecture's: 4,137 parameters, and on the lecture's first batch
    (drawn after the weights from one generator) the lecture's loss, 3.3377, but for BatchNorm's
    gain and bias, which the lecture draws unseeded."""
    p = part4.init_parameters()
    assert sum(t.numel() for t in p.values()) == 4137
    _, _, _, values, _ = part4.autograd_reference()
    assert abs(values["loss"].item() - 3.3377) < 0.005


def test_what_a_learner_sees(tmp_path, capsys):
    f = tmp_path / "tanh.py"
    assert main(["exercise", "list"]) == 0
    listed = capsys.readouterr().out
    assert "p1-e01" in listed and "p4-e04" in listed and "Backward through tanh" in listed
    assert main(["exercise", "show", "p4-tanh", "--write", str(f)]) == 0
    assert "def tanh_backward" in f.read_text()
    assert main(["exercise", "check", "p4-tanh", str(f)]) == 1                 # not written yet
    assert "not written yet" in capsys.readouterr().out
    f.write_text(f.read_text().replace("    raise NotImplementedError\n", "    return (1 - out ** 2) * dout\n"))
    assert main(["exercise", "check", "p4-tanh", str(f)]) == 0
    out = capsys.readouterr().out
    assert "exact:" in out and "maxdiff" in out and "passed" in out
    f.write_text("def tanh_backward(dout, out):\n    return dout / 0 + undefined\n")
    assert main(["exercise", "check", "p4-tanh", str(f)]) == 1
    assert "NameError" in capsys.readouterr().out
    assert main(["exercise", "show", "p4-tanh", "--write", str(f)]) == 2        # never overwritten
    assert main(["exercise", "check", "p9-e99"]) == 2
    with pytest.raises(SystemExit) as e:                                        # its own --help
        main(["exercise", "--help"])
    assert e.value.code == 0 and "makemore exercise" in capsys.readouterr().out
    assert exercises.check("p2-softmax", part2.softmax).passed                  # a function, from a notebook
