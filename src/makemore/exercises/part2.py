"""The MLP lecture's exercises (E01-E03), and a warm-up: a softmax that cannot overflow."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from ..evaluation import uniform_loss
from .framework import Comparison, Exercise, cmp, examples

LECTURE = "Part 2"
TARGET = 2.2                        # E01: the lecture's best dev loss, to beat


def below(what: str, value: float, limit: float) -> Comparison:
    ok = value < limit
    return Comparison(f"{what}: {value:.4f} (below {limit})", ok, ok, 0.0 if ok else value - limit)


def _check_softmax(m):
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(32, 27, generator=g, dtype=torch.float64)
    out = [cmp("softmax", m.softmax(logits.clone()), torch.softmax(logits, -1))]
    big = logits * 1000                                                    # exp would overflow without the shift
    return out + [cmp("softmax of logits x 1000", m.softmax(big.clone()), torch.softmax(big, -1))]


def _check_beat(m):
    block = int(getattr(m, "BLOCK_SIZE", 3))
    X, Y = examples("val", block)
    with torch.no_grad():
        nll = sum(F.cross_entropy(m.predict(X[i:i + 4096]), Y[i:i + 4096], reduction="sum").item()
                  for i in range(0, len(X), 4096))
    return [below(f"dev loss (block size {block})", nll / len(X), TARGET)]


def _check_init(m):
    V = 27
    out = [cmp("uniform loss", torch.tensor(float(m.uniform_loss(V)), dtype=torch.float64),
               torch.tensor(uniform_loss(V), dtype=torch.float64))]
    p = m.init(torch.Generator().manual_seed(2147483647))
    X, Y = examples("val", 3)
    h = torch.tanh(p["C"][X].view(len(X), -1) @ p["W1"] + p["b1"])
    loss = F.cross_entropy(h @ p["W2"] + p["b2"], Y).item()
    ok = abs(loss - uniform_loss(V)) < 0.1
    out.append(Comparison(f"initial loss {loss:.4f} (within 0.1 of {uniform_loss(V):.4f})", ok, ok, abs(loss - uniform_loss(V))))
    alive = p["W1"].abs().sum().item() > 0 and h.std().item() > 0.01
    return out + [Comparison("the hidden layer is not switched off (W1 != 0)", alive, alive, 0.0 if alive else math.inf)]


def _check_direct(m):
    g = torch.Generator().manual_seed(8)
    V, E, H, B = 27, 10, 64, 32
    p = {"C": torch.randn(V, E, generator=g), "W1": torch.randn(3 * E, H, generator=g) * 0.2,
         "b1": torch.randn(H, generator=g) * 0.1, "W2": torch.randn(H, V, generator=g) * 0.1,
         "b2": torch.randn(V, generator=g) * 0.1, "Wd": torch.randn(3 * E, V, generator=g) * 0.1}
    X = torch.randint(0, V, (B, 3), generator=g)
    x = p["C"][X].view(B, -1)                                              # (B, 30) the concatenated embeddings
    want = torch.tanh(x @ p["W1"] + p["b1"]) @ p["W2"] + p["b2"] + x @ p["Wd"]   # y = b + W x + U tanh(d + H x)
    return [cmp("logits with direct connections", m.direct_logits(p, X), want, atol=1e-5)]


EXERCISES = [
    Exercise("p2-softmax", "A softmax that cannot overflow", LECTURE, ["softmax"],
             "Softmax over the last dimension, written with exp and sum, subtracting each row's maximum first: "
             "the result is the same, and large logits no longer overflow to inf / NaN.",
             'def softmax(logits):\n    """logits (B, V) -> probabilities (B, V), rows summing to 1."""\n'
             "    raise NotImplementedError\n", _check_softmax),
    Exercise("p2-e01", "Beat the lecture's dev loss of 2.2", LECTURE, ["predict"],
             "E01: tune the MLP (embedding size, hidden width, context length, learning rate and its decay, batch "
             "size, steps) until it beats the lecture's best dev loss of 2.2. Write predict(X): the logits (B, 27) "
             "of your trained net for contexts X (B, BLOCK_SIZE) of the characters' indices ('.' is 0, then a-z), "
             "and set BLOCK_SIZE if it is not 3. The check scores it on the dev split of the lectures "
             "(random.seed(42), 80/10/10), which you must not train on.",
             'BLOCK_SIZE = 3\n\n\ndef predict(X):\n    """X (B, BLOCK_SIZE) int64 contexts -> logits (B, 27) of your trained net."""\n'
             "    raise NotImplementedError\n", _check_beat),
    Exercise("p2-e02", "The loss at initialization", LECTURE, ["uniform_loss", "init"],
             "E02: (1) the loss of a net whose predictions are perfectly uniform over V characters; (2) an "
             "initialization of the lecture's net (C (27, 10), W1 (30, 200), b1 (200,), W2 (200, 27), b2 (27,)) "
             "whose loss starts near it. The lecture's first net starts far above (all N(0, 1): about 17). Keep "
             "the hidden layer alive (W1 not zero), or the net cannot learn anything but the output bias.",
             'def uniform_loss(V):\n    """-> the loss of a uniform prediction over V characters (float)."""\n'
             "    raise NotImplementedError\n\n\n"
             'def init(g):\n    """g: a torch.Generator -> {"C", "W1", "b1", "W2", "b2"} of the lecture\'s shapes."""\n'
             "    raise NotImplementedError\n", _check_init),
    Exercise("p2-e03", "An idea from Bengio et al. 2003: direct connections", LECTURE, ["direct_logits"],
             "E03: the paper's model has, beside the hidden layer, direct connections from the concatenated "
             "embeddings x to the output: y = b + W x + U tanh(d + H x). Write the forward with them: params has "
             "C, W1 (H), b1 (d), W2 (U), b2 (b) and Wd (W, (30, 27)); X (B, 3). The notebook trains the net with "
             "and without them and compares the dev loss: did it work?",
             'def direct_logits(params, X):\n    """params: C, W1, b1, W2, b2, Wd; X (B, 3) -> logits (B, 27)."""\n'
             "    raise NotImplementedError\n", _check_direct),
]
