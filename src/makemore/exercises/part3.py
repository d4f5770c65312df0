"""The activations lecture's exercises (E01-E02)."""

from __future__ import annotations

import torch

from ..evaluation import evaluate
from ..models import build_model
from ..models.layers import BatchNorm1d, Linear
from .framework import Exercise, cmp, examples, same

LECTURE = "Part 3"
PARAMETERS = {"C": "wte.weight", "W1": "hidden.weight", "b1": "hidden.bias", "W2": "out.weight", "b2": "out.bias"}


def _zero_net():
    """The lecture's MLP (10-d embeddings, 200 tanh units) with every weight and bias set to 0."""
    model = build_model("mlp", 27, 16, n_embd=10, n_hidden=200)
    with torch.no_grad():
        for p in model.parameters():
            p.zero_()
    return model


def _check_zero_init(m):
    X, Y = examples("train", 3)
    ix = torch.randint(0, len(X), (32,), generator=torch.Generator().manual_seed(3))
    model = _zero_net()
    model.loss(X[ix], Y[ix]).backward()
    params = dict(model.named_parameters())
    got = m.zero_init_gradients(X[ix], Y[ix])
    out = []
    for name, pname in PARAMETERS.items():            # nn.Linear stores W transposed: compare in the lecture's layout
        want = params[pname].grad.T if name in ("W1", "W2") else params[pname].grad
        out.append(cmp(f"gradient of {name}", got[name], want))
    unigram = build_model("ngram", 27, 16, n=1, method="add-k", smoothing=0.0).fit(X, Y)
    limit = torch.tensor(evaluate(unigram, _train_split()), dtype=torch.float64)
    return out + [cmp("the loss it trains down to", torch.tensor(float(m.zero_init_limit(X, Y)), dtype=torch.float64),
                      limit, atol=1e-4)]


def _train_split():
    from ..data import build_dataset, read_words
    return build_dataset(read_words()).train


def _check_fold(m):
    g = torch.Generator().manual_seed(9)
    torch.manual_seed(9)
    linear, norm = Linear(30, 64), BatchNorm1d(64)
    with torch.no_grad():                                       # a trained-looking layer: nothing at its default
        linear.bias.normal_(generator=g)
        norm.gamma.uniform_(0.5, 1.5, generator=g)
        norm.beta.normal_(generator=g)
        norm.running_mean.normal_(generator=g)
        norm.running_var.uniform_(0.2, 3.0, generator=g)
    norm.eval()
    x = torch.randn(256, 30, generator=g)
    with torch.no_grad():
        want = norm(linear(x))
        W, b = m.fold(linear.weight.clone(), linear.bias.clone(), norm.gamma.clone(), norm.beta.clone(),
                      norm.running_mean.clone(), norm.running_var.clone(), norm.eps)
        out = [same("folded shapes", (tuple(W.shape), tuple(b.shape)), ((30, 64), (64,)))]
        return out + [cmp("x @ W + b against Linear -> BatchNorm (eval)", x @ W + b, want, atol=1e-5)]


EXERCISES = [
    Exercise("p3-e01", "Every weight and bias at zero", LECTURE, ["zero_init_gradients", "zero_init_limit"],
             "E01: initialize the lecture's net (C (27, 10), W1 (30, 200), b1, W2 (200, 27), b2) with every weight "
             "and bias at 0 and train it: it neither trains fine nor not at all, it trains partially. "
             "zero_init_gradients(X, Y) returns the gradients {C, W1, b1, W2, b2} of the loss on the batch at that "
             "initialization (W1 and W2 in the lecture's (in, out) layout): which are not zero, and why? "
             "zero_init_limit(X, Y) returns the loss such a net trains down to on the training examples X, Y, and "
             "what it then predicts. (Hint: while h = tanh(0) = 0, which products stay zero?)",
             'def zero_init_gradients(X, Y):\n    """X (B, 3), Y (B,) -> {"C": ..., "W1": ..., "b1": ..., "W2": ..., "b2": ...} at an all-zero init."""\n'
             "    raise NotImplementedError\n\n\n"
             'def zero_init_limit(X, Y):\n    """X (N, 3), Y (N,): the training examples -> the loss the all-zero net trains down to (float)."""\n'
             "    raise NotImplementedError\n", _check_zero_init),
    Exercise("p3-e02", "Fold BatchNorm into the linear layer", LECTURE, ["fold"],
             "E02: after training, a BatchNorm in eval mode is a fixed affine map per feature, so it can be folded "
             "into the Linear before it: return W' (fan_in, fan_out) and b' (fan_out,) such that x @ W' + b' equals "
             "BatchNorm(x @ W + b) in eval mode (its gamma, beta, running mean and running variance, eps), and the "
             "BatchNorm can be thrown away at inference.",
             'def fold(W, b, gamma, beta, running_mean, running_var, eps):\n    """W (in, out), b (out,), the BatchNorm\'s (out,) tensors -> (W\', b\')."""\n'
             "    raise NotImplementedError\n", _check_fold),
]
