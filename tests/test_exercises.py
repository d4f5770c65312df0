"""Each exercise's check passes on the reference solution and fails on a wrong answer (the kind of
mistake a learner makes), and the command line walks a learner through one."""

import json
import types

import pytest
import torch

from makemore import exercises
from makemore.cli import main
from makemore.exercises import solutions

WRONG = {   # a plausible mistake for each exercise
    1: dict(bigram_counts=lambda words: (lambda N, c: (N.T, c))(*solutions.bigram_counts(words))),    # rows and columns swapped
    2: dict(average_nll=lambda P, words, chars: solutions.average_nll(P, words, chars) * len(words) / 228146),  # a mean per name
    3: dict(softmax=lambda x: x.exp() / x.exp().sum(-1, keepdim=True)),                                  # no max subtracted
    4: dict(cross_entropy_grad=lambda logits, t: solutions.cross_entropy_grad(logits, t) * logits.shape[0]),  # no / n
    5: dict(tanh_backward=lambda dout, out: (1 - out) * dout),                                            # not squared
    6: dict(linear_backward=lambda dout, x, W: (dout @ W.T, x.T @ dout, dout.sum(1))),                   # db over the wrong dim
    7: dict(batchnorm_forward=lambda x, g, b, eps=1e-5: g * (x - x.mean(0)) / torch.sqrt(x.var(0) + eps) + b,  # unbiased var
            batchnorm_backward=solutions.batchnorm_backward),
}


@pytest.mark.parametrize("number", [e.number for e in exercises.EXERCISES])
def test_the_reference_passes_and_a_mistake_fails(number):
    good = exercises.check(number, solutions)
    assert good.passed, str(good)
    assert all(c.max_difference < 1e-5 for c in good.comparisons)
    bad = exercises.check(number, types.SimpleNamespace(**WRONG[number]))
    assert not bad.passed, str(bad)


def test_what_a_learner_sees(tmp_path, capsys):
    f = tmp_path / "ex5.py"
    assert main(["exercise", "list"]) == 0 and "Backward through tanh" in capsys.readouterr().out
    assert main(["exercise", "show", "5", "--write", str(f)]) == 0
    assert "def tanh_backward" in f.read_text()
    assert main(["exercise", "check", "5", str(f)]) == 1                      # not written yet
    assert "not written yet" in capsys.readouterr().out
    f.write_text(f.read_text().replace("    raise NotImplementedError\n", "    return (1 - out ** 2) * dout\n"))
    assert main(["exercise", "check", "5", str(f)]) == 0
    out = capsys.readouterr().out
    assert "exact:" in out and "maxdiff" in out and "passed" in out
    f.write_text("def tanh_backward(dout, out):\n    return dout / 0 + undefined\n")
    assert main(["exercise", "check", "5", str(f)]) == 1
    assert "NameError" in capsys.readouterr().out
    assert main(["exercise", "show", "5", "--write", str(f)]) == 2                # never overwritten
    assert main(["exercise", "check", "99"]) == 2
    with pytest.raises(SystemExit) as e:                                        # its own --help
        main(["exercise", "--help"])
    assert e.value.code == 0 and "makemore exercise" in capsys.readouterr().out
    assert exercises.check(3, solutions.softmax).passed                           # a function, from a notebook
