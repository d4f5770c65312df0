"""Part 2: the MLP lecture."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from ..framework import examples

BLOCK_SIZE = 3
_trained = {}


def softmax(logits):
    shifted = logits - logits.max(dim=-1, keepdim=True).values
    e = shifted.exp()
    return e / e.sum(dim=-1, keepdim=True)


def _train():
    """The lecture's net, 24-d embeddings and 256 units, trained with Adam on larger batches."""
    X, Y = examples("train", BLOCK_SIZE)
    g = torch.Generator().manual_seed(2147483647)
    p = {"C": torch.randn(27, 24, generator=g), "W1": torch.randn(72, 256, generator=g) * (5 / 3) / 72 ** 0.5,
         "b1": torch.zeros(256), "W2": torch.randn(256, 27, generator=g) * 0.01, "b2": torch.zeros(27)}
    for t in p.values():
        t.requires_grad_()
    opt = torch.optim.Adam(p.values(), lr=3e-3)
    steps = 3000
    for i in range(steps):
        ix = torch.randint(0, len(X), (256,), generator=g)
        loss = F.cross_entropy(_forward(p, X[ix]), Y[ix])
        opt.zero_grad()
        loss.backward()
        for group in opt.param_groups:
            group["lr"] = 3e-3 * 0.5 * (1 + math.cos(math.pi * i / steps))
        opt.step()
    return {k: t.detach() for k, t in p.items()}


def _forward(p, X):
    return torch.tanh(p["C"][X].view(len(X), -1) @ p["W1"] + p["b1"]) @ p["W2"] + p["b2"]


def predict(X):
    if "p" not in _trained:
        with torch.enable_grad():                    # the check calls predict under no_grad
            _trained["p"] = _train()
    return _forward(_trained["p"], X)


def uniform_loss(V):
    return -math.log(1 / V)


def init(g):
    return {"C": torch.randn(27, 10, generator=g), "W1": torch.randn(30, 200, generator=g) * (5 / 3) / 30 ** 0.5,
            "b1": torch.randn(200, generator=g) * 0.01, "W2": torch.randn(200, 27, generator=g) * 0.01,
            "b2": torch.zeros(27)}


def direct_logits(params, X):
    x = params["C"][X].view(len(X), -1)
    return torch.tanh(x @ params["W1"] + params["b1"]) @ params["W2"] + params["b2"] + x @ params["Wd"]
