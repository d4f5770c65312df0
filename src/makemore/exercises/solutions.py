"""Reference solutions of the exercises: one way to write each, short and plain. The checks compare
a learner's answer with torch (autograd, softmax, cross-entropy) or with the package, never with
these; they are here to be read after trying, and the tests prove each passes its check."""

from __future__ import annotations

import torch


def bigram_counts(words: list[str]) -> tuple[torch.Tensor, list[str]]:
    chars = ["."] + sorted(set("".join(words)))
    stoi = {c: i for i, c in enumerate(chars)}
    N = torch.zeros(len(chars), len(chars), dtype=torch.int64)
    for w in words:
        seq = ["."] + list(w) + ["."]
        for a, b in zip(seq, seq[1:]):
            N[stoi[a], stoi[b]] += 1
    return N, chars


def average_nll(P: torch.Tensor, words: list[str], chars: list[str]) -> float:
    stoi = {c: i for i, c in enumerate(chars)}
    total, n = 0.0, 0
    for w in words:
        seq = ["."] + list(w) + ["."]
        for a, b in zip(seq, seq[1:]):
            total -= torch.log(P[stoi[a], stoi[b]]).item()
            n += 1
    return total / n


def softmax(logits: torch.Tensor) -> torch.Tensor:
    shifted = logits - logits.max(dim=-1, keepdim=True).values
    e = shifted.exp()
    return e / e.sum(dim=-1, keepdim=True)


def cross_entropy_grad(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    n = logits.shape[0]
    d = softmax(logits)
    d[torch.arange(n), targets] -= 1
    return d / n


def tanh_backward(dout: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
    return (1 - out ** 2) * dout


def linear_backward(dout, x, W):
    return dout @ W.T, x.T @ dout, dout.sum(0)


def batchnorm_forward(x, gamma, beta, eps=1e-5):
    mean = x.mean(0, keepdim=True)
    var = x.var(0, keepdim=True, unbiased=False)
    return gamma * (x - mean) / torch.sqrt(var + eps) + beta


def batchnorm_backward(dout, x, gamma, eps=1e-5):
    n = x.shape[0]
    mean = x.mean(0, keepdim=True)
    var = x.var(0, keepdim=True, unbiased=False)
    inv = 1.0 / torch.sqrt(var + eps)
    xhat = (x - mean) * inv
    dgamma = (dout * xhat).sum(0, keepdim=True)
    dbeta = dout.sum(0, keepdim=True)
    dxhat = dout * gamma
    dx = inv / n * (n * dxhat - dxhat.sum(0, keepdim=True) - xhat * (dxhat * xhat).sum(0, keepdim=True))
    return dx, dgamma, dbeta
