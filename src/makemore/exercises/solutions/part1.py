"""Part 1: the bigram lecture."""

from __future__ import annotations

import random

import torch
import torch.nn.functional as F


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


def trigram_counts(words: list[str]) -> tuple[torch.Tensor, list[str]]:
    chars = ["."] + sorted(set("".join(words)))
    stoi = {c: i for i, c in enumerate(chars)}
    V = len(chars)
    N3 = torch.zeros(V, V, V, dtype=torch.int64)
    for w in words:
        seq = [0, 0] + [stoi[c] for c in w] + [0]
        for a, b, c in zip(seq, seq[1:], seq[2:]):
            N3[a, b, c] += 1
    return N3, chars


def _trigrams(stoi: dict, words: list[str]) -> torch.Tensor:
    """Every (c1, c2, c3) of the names, as rows of a (N, 3) tensor."""
    rows = []
    for w in words:
        seq = [0, 0] + [stoi[c] for c in w] + [0]
        rows += zip(seq, seq[1:], seq[2:])
    return torch.tensor(rows)


def _trigram_loss(N3: torch.Tensor, stoi: dict, words: list[str], k: float) -> float:
    P = (N3 + k).double()
    P /= P.sum(2, keepdim=True)
    t = _trigrams(stoi, words)
    return -P[t[:, 0], t[:, 1], t[:, 2]].log().mean().item()


def trigram_nll(words: list[str], k: float) -> float:
    N3, chars = trigram_counts(words)
    return _trigram_loss(N3, {c: i for i, c in enumerate(chars)}, words, k)


def trigram_net_logits(W: torch.Tensor, X: torch.Tensor) -> torch.Tensor:
    V = W.shape[1]
    return F.one_hot(X, V).float().view(X.shape[0], 2 * V) @ W


def split(words: list[str]):
    random.seed(42)
    random.shuffle(words)
    n1, n2 = int(0.8 * len(words)), int(0.9 * len(words))
    return words[:n1], words[n1:n2], words[n2:]


def _bigram_loss(N: torch.Tensor, stoi: dict, words: list[str]) -> float:
    P = (N + 1).double()
    P /= P.sum(1, keepdim=True)
    t = _trigrams(stoi, words)                       # the bigram is (c2, c3) of each trigram
    return -P[t[:, 1], t[:, 2]].log().mean().item()


def evaluate_models(train, dev, test):
    chars = ["."] + sorted(set("".join(train + dev + test)))
    stoi = {c: i for i, c in enumerate(chars)}
    N, N3 = torch.zeros(len(chars), len(chars), dtype=torch.int64), trigram_counts(train)[0]
    for w in train:
        seq = [0] + [stoi[c] for c in w] + [0]
        for a, b in zip(seq, seq[1:]):
            N[a, b] += 1
    if N3.shape[0] != len(chars):                            # the same characters in all three parts
        raise ValueError("train lacks characters the other parts have")
    return {"bigram": [_bigram_loss(N, stoi, part) for part in (train, dev, test)],
            "trigram": [_trigram_loss(N3, stoi, part, 1.0) for part in (train, dev, test)]}


def tune_smoothing(train, dev, test, strengths):
    N3, chars = trigram_counts(train)
    stoi = {c: i for i, c in enumerate(chars)}
    best = min(strengths, key=lambda k: _trigram_loss(N3, stoi, dev, k))
    return best, _trigram_loss(N3, stoi, test, best)


def bigram_logits(W: torch.Tensor, xs: torch.Tensor) -> torch.Tensor:
    return W[xs]


def loss(logits: torch.Tensor, ys: torch.Tensor) -> torch.Tensor:
    return F.cross_entropy(logits, ys)
