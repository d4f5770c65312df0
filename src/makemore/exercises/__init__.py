"""Exercises that check themselves, for following the "building makemore" lectures.

The learner writes a function (bigram counting, the NLL, a softmax that cannot overflow,
cross-entropy's gradient by hand, the backward pass of tanh, of a linear layer and of BatchNorm:
the lectures' "becoming a backprop ninja"), and `check` compares it with a reference the way the
lecture's `cmp` does: exact, approximately equal (torch.allclose), and the largest difference.
References are torch (autograd, softmax, cross-entropy) or the package's own models, never the
solutions, which live apart in `makemore.exercises.solutions`.

    makemore exercise list
    makemore exercise show 4 --write ex4.py      # the task, and a file to fill in
    makemore exercise check 4 ex4.py

or in a notebook: `from makemore import exercises; exercises.check(4, my_function)`.
"""

from __future__ import annotations

import importlib.util
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import torch
import torch.nn.functional as F

from ..data import Split, Vocab, encode_words, read_words
from ..errors import UsageError


@dataclass
class Comparison:
    """One line of a check, as the lecture's cmp prints it."""
    what: str
    exact: bool
    approximate: bool
    max_difference: float

    def __str__(self):
        return (f"{self.what:<28} | exact: {str(self.exact):5} | approximate: {str(self.approximate):5} | "
                f"maxdiff: {self.max_difference:.3g}")


def cmp(what: str, got, want: torch.Tensor, atol: float = 1e-6, rtol: float = 1e-5) -> Comparison:
    """Compare a learner's tensor with the reference: exact, approximately equal, largest difference."""
    if not isinstance(got, torch.Tensor):
        got = torch.as_tensor(got, dtype=want.dtype)
    if got.shape != want.shape:
        return Comparison(f"{what} (shape {tuple(got.shape)}, expected {tuple(want.shape)})", False, False, math.inf)
    got, want = got.detach(), want.detach()
    diff = (got.double() - want.double()).abs().max().item() if got.numel() else 0.0
    approx = bool(torch.allclose(got.double(), want.double(), atol=atol, rtol=rtol))
    return Comparison(what, bool(torch.equal(got, want)), approx, diff if math.isfinite(diff) else math.inf)


@dataclass
class Result:
    exercise: int
    comparisons: list[Comparison] = field(default_factory=list)
    error: str | None = None

    @property
    def passed(self) -> bool:
        return self.error is None and bool(self.comparisons) and all(c.approximate for c in self.comparisons)

    def __str__(self):
        lines = [str(c) for c in self.comparisons]
        if self.error:
            lines.append(f"error: {self.error}")
        lines.append(f"exercise {self.exercise}: {'passed' if self.passed else 'not yet'}")
        return "\n".join(lines)


def _names(n: int = 2000) -> list[str]:
    return read_words()[:n]


def _bigram_reference(words):
    """The package's count table and characters, '.' first: what `bigram_counts` must give."""
    from ..models import build_model
    vocab = Vocab.from_words(words)
    every = Split(words, *encode_words(words, vocab, max(map(len, words))))
    model = build_model("bigram", vocab.size, 2, smoothing=1.0).fit(*every.examples(1))
    return model, every, ["."] + vocab.chars


def _check_counts(f):
    words = _names(32_033)
    model, _, chars = _bigram_reference(words)
    N, got_chars = f(words)
    out = [cmp("N (counts)", torch.as_tensor(N).long(), model.counts.long())]
    if list(got_chars) != chars:
        out.append(Comparison("chars ('.' then sorted)", False, False, math.inf))
    return out


def _check_nll(f):
    from ..evaluation import evaluate
    words = _names(32_033)
    model, every, chars = _bigram_reference(words)
    P = model.logp.exp().double()                                          # (V, V) add-1 probabilities
    got = f(P, words, chars)
    return [cmp("average NLL (add-1 bigram)", torch.tensor(float(got), dtype=torch.float64),
                torch.tensor(evaluate(model, every), dtype=torch.float64), atol=1e-6)]


def _check_softmax(f):
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(32, 27, generator=g, dtype=torch.float64)
    out = [cmp("softmax", f(logits.clone()), torch.softmax(logits, -1))]
    big = logits * 1000                                                    # exp would overflow without the shift
    out.append(cmp("softmax of logits x 1000", f(big.clone()), torch.softmax(big, -1)))
    return out


def _check_cross_entropy_grad(f):
    g = torch.Generator().manual_seed(1)
    logits = torch.randn(32, 27, generator=g, dtype=torch.float64, requires_grad=True)
    targets = torch.randint(0, 27, (32,), generator=g)
    F.cross_entropy(logits, targets).backward()
    return [cmp("dlogits", f(logits.detach().clone(), targets), logits.grad)]


def _check_tanh_backward(f):
    g = torch.Generator().manual_seed(2)
    x = torch.randn(32, 64, generator=g, dtype=torch.float64, requires_grad=True)
    out = torch.tanh(x)
    dout = torch.randn(32, 64, generator=g, dtype=torch.float64)
    out.backward(dout)
    return [cmp("dx through tanh", f(dout, out.detach()), x.grad)]


def _check_linear_backward(f):
    g = torch.Generator().manual_seed(3)
    x = torch.randn(32, 30, generator=g, dtype=torch.float64, requires_grad=True)
    W = torch.randn(30, 64, generator=g, dtype=torch.float64, requires_grad=True)
    b = torch.randn(64, generator=g, dtype=torch.float64, requires_grad=True)
    dout = torch.randn(32, 64, generator=g, dtype=torch.float64)
    (x @ W + b).backward(dout)
    dx, dW, db = f(dout, x.detach(), W.detach())
    return [cmp("dx", dx, x.grad), cmp("dW", dW, W.grad), cmp("db", db, b.grad)]


def _check_batchnorm(f_forward, f_backward):
    g = torch.Generator().manual_seed(4)
    x = (torch.randn(32, 64, generator=g, dtype=torch.float64) * 3 + 1).requires_grad_()
    gamma = (torch.rand(1, 64, generator=g, dtype=torch.float64) + 0.5).requires_grad_()
    beta = torch.randn(1, 64, generator=g, dtype=torch.float64, requires_grad=True)
    ref = F.batch_norm(x, None, None, gamma.view(-1), beta.view(-1), training=True, eps=1e-5)   # torch's own
    dout = torch.randn(32, 64, generator=g, dtype=torch.float64)
    ref.backward(dout)
    out = [cmp("BatchNorm forward", f_forward(x.detach(), gamma.detach(), beta.detach()), ref)]
    dx, dgamma, dbeta = f_backward(dout, x.detach(), gamma.detach())
    return out + [cmp("dx", dx, x.grad), cmp("dgamma", dgamma, gamma.grad), cmp("dbeta", dbeta, beta.grad)]


@dataclass
class Exercise:
    number: int
    title: str
    lecture: str
    functions: list[str]                   # what the learner writes
    task: str
    template: str
    check: Callable


EXERCISES = [
    Exercise(1, "Count the bigrams", "Part 1", ["bigram_counts"],
             "Count every pair of consecutive characters in the names, with '.' marking the start and the end "
             "of each name, into a (V, V) tensor of int64; the characters are '.' then the sorted characters. "
             "(The lecture's N: N[a, n] is 5438 over all of names.txt.)",
             'def bigram_counts(words):\n    """words: a list of names -> (N, chars): N (V, V) int64 counts, chars: [".", sorted characters]."""\n'
             "    raise NotImplementedError\n", lambda m: _check_counts(m.bigram_counts)),
    Exercise(2, "The average negative log-likelihood", "Part 1", ["average_nll"],
             "Given the (V, V) table of probabilities P[previous, next], the names and the characters, return the "
             "average negative log-likelihood per character (the end '.' counts), as a float. With add-1 "
             "smoothing on all of names.txt it is 2.4544.",
             'def average_nll(P, words, chars):\n    """P (V, V) probabilities, words, chars -> the mean NLL in nats per character (float)."""\n'
             "    raise NotImplementedError\n", lambda m: _check_nll(m.average_nll)),
    Exercise(3, "A softmax that cannot overflow", "Part 2", ["softmax"],
             "Softmax over the last dimension, written with exp and sum, subtracting each row's maximum first: "
             "the result is the same, and large logits no longer overflow to inf / NaN.",
             'def softmax(logits):\n    """logits (B, V) -> probabilities (B, V), rows summing to 1."""\n'
             "    raise NotImplementedError\n", lambda m: _check_softmax(m.softmax)),
    Exercise(4, "Cross-entropy's gradient by hand", "Part 4", ["cross_entropy_grad"],
             "The gradient of F.cross_entropy(logits, targets) (the mean over the batch) with respect to the "
             "logits, in one expression: softmax(logits), minus 1 at each target, divided by the batch size.",
             'def cross_entropy_grad(logits, targets):\n    """logits (B, V), targets (B,) -> dloss/dlogits (B, V)."""\n'
             "    raise NotImplementedError\n", lambda m: _check_cross_entropy_grad(m.cross_entropy_grad)),
    Exercise(5, "Backward through tanh", "Part 4", ["tanh_backward"],
             "Given out = tanh(x) and the gradient dout flowing into out, return dx. (Use out, not x.)",
             'def tanh_backward(dout, out):\n    """dout (B, H), out = tanh(x) (B, H) -> dx (B, H)."""\n'
             "    raise NotImplementedError\n", lambda m: _check_tanh_backward(m.tanh_backward)),
    Exercise(6, "Backward through a linear layer", "Part 4", ["linear_backward"],
             "For out = x @ W + b and the gradient dout, return (dx, dW, db). Match the shapes: each gradient "
             "has the shape of what it is the gradient of.",
             'def linear_backward(dout, x, W):\n    """dout (B, out), x (B, in), W (in, out) -> (dx, dW, db)."""\n'
             "    raise NotImplementedError\n", lambda m: _check_linear_backward(m.linear_backward)),
    Exercise(7, "BatchNorm, forward and backward by hand", "Part 3 and Part 4", ["batchnorm_forward", "batchnorm_backward"],
             "batchnorm_forward: normalize each column of x (B, C) by the batch's mean and biased variance (+ eps), "
             "then scale by gamma (1, C) and shift by beta (1, C). batchnorm_backward: given dout, x and gamma, "
             "return (dx, dgamma, dbeta), dx in one expression. torch's own batch_norm and autograd are the reference.",
             'def batchnorm_forward(x, gamma, beta, eps=1e-5):\n    """x (B, C), gamma (1, C), beta (1, C) -> out (B, C)."""\n'
             "    raise NotImplementedError\n\n\n"
             'def batchnorm_backward(dout, x, gamma, eps=1e-5):\n    """dout (B, C), x (B, C), gamma (1, C) -> (dx (B, C), dgamma (1, C), dbeta (1, C))."""\n'
             "    raise NotImplementedError\n", lambda m: _check_batchnorm(m.batchnorm_forward, m.batchnorm_backward)),
]
BY_NUMBER = {e.number: e for e in EXERCISES}


def get(number: int) -> Exercise:
    if number not in BY_NUMBER:
        raise UsageError(f"no exercise {number}; there are {', '.join(map(str, BY_NUMBER))} (makemore exercise list)")
    return BY_NUMBER[number]


def listing() -> str:
    return "\n".join(f"{e.number}. {e.title} ({e.lecture}): write {', '.join(e.functions)}" for e in EXERCISES)


def show(number: int) -> str:
    e = get(number)
    return f"Exercise {e.number}: {e.title} ({e.lecture})\n\n{e.task}\n\nStart from:\n\n{e.template}"


def write_template(number: int, path, force: bool = False) -> Path:
    """A file to fill in, with the function(s) to write; an existing file is kept unless force."""
    path = Path(path)
    if path.exists() and not force:
        raise UsageError(f"{path}: exists; check it with `makemore exercise check {number} {path}` (or --force)")
    path.write_text(f'"""Exercise {number}: {get(number).title}. Check: makemore exercise check {number} {path.name}"""\n\n'
                    f"import torch\n\n\n{get(number).template}")
    return path


def load(path):
    """The learner's module from a file."""
    path = Path(path)
    if not path.is_file():
        raise UsageError(f"{path}: no such file (write one with `makemore exercise show N --write {path}`)")
    spec = importlib.util.spec_from_file_location(f"exercise_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def check(number: int, answer) -> Result:
    """Check a learner's answer: a module or file path holding the function(s), or the function
    itself (for one-function exercises). Errors in the learner's code are reported, not raised."""
    e = get(number)
    result = Result(number)
    try:
        if callable(answer):                          # the function itself
            if len(e.functions) != 1:
                raise UsageError(f"exercise {number} needs {', '.join(e.functions)}: pass a module or a file")
            answer = type("answer", (), {e.functions[0]: staticmethod(answer)})
        elif isinstance(answer, (str, Path)):
            answer = load(answer)
        missing = [name for name in e.functions if not hasattr(answer, name)]
        if missing:
            raise UsageError(f"no function {', '.join(missing)} to check")
        result.comparisons = e.check(answer)
    except UsageError:
        raise
    except NotImplementedError:
        result.error = f"{', '.join(e.functions)} not written yet (NotImplementedError)"
    except Exception as err:                          # the learner's code failed: say how, in one line
        result.error = f"{type(err).__name__}: {err}".splitlines()[0]
    return result
