"""The bigram lecture's exercises (E01-E05), and two warm-ups of its steps."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ..data import Split, Vocab, encode_words, read_words, split_words
from ..evaluation import evaluate
from ..models import build_model
from .framework import Exercise, cmp, same

LECTURE = "Part 1"
STRENGTHS = (0.001, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0)      # the smoothing strengths E03 tries


def _split(words: list[str], vocab: Vocab) -> Split:
    return Split(words, *encode_words(words, vocab, max(map(len, words))))


def _counted(words: list[str], n: int, smoothing: float, fit_on: list[str] | None = None):
    """The package's add-k count model of order n (the bigram for n = 2), fitted on fit_on (or
    words), and the split of words it is scored on."""
    vocab = Vocab.from_words(words)
    model = build_model("bigram", vocab.size, 2, smoothing=smoothing) if n == 2 else \
        build_model("ngram", vocab.size, 2, n=n, method="add-k", smoothing=smoothing)
    model.fit(*_split(fit_on or words, vocab).examples(n - 1))
    return model, vocab


def _loss(model, words: list[str], vocab: Vocab) -> float:
    return evaluate(model, _split(words, vocab))


def _check_counts(m):
    words = read_words()
    model, vocab = _counted(words, 2, 1.0)
    N, chars = m.bigram_counts(words)
    return [cmp("N (counts)", torch.as_tensor(N).long(), model.counts.long()),
            same("chars", list(chars), ["."] + vocab.chars)]


def _check_nll(m):
    words = read_words()
    model, vocab = _counted(words, 2, 1.0)
    got = m.average_nll(model.probs().double(), words, ["."] + vocab.chars)
    return [cmp("average NLL (add-1 bigram)", torch.tensor(float(got), dtype=torch.float64),
                torch.tensor(_loss(model, words, vocab), dtype=torch.float64), atol=5e-4)]


def _trigram_table(model, V: int) -> torch.Tensor:
    """The package's trigram counts as a dense (V, V, V) table N3[c1, c2, c3]."""
    N3 = torch.zeros(V, V, V, dtype=torch.long)
    keys = model.keys3                                         # key = c1 + c2 * V of the context (c1, c2)
    N3[keys % V, keys // V] = model.counts3.long()
    return N3


def _check_trigram(m):
    words = read_words()
    model, vocab = _counted(words, 3, 1.0)
    V = vocab.size
    N3, chars = m.trigram_counts(words)
    out = [cmp("N3 (trigram counts)", torch.as_tensor(N3).long(), _trigram_table(model, V)),
           same("chars", list(chars), ["."] + vocab.chars)]
    got = m.trigram_nll(words, 1.0)
    out.append(cmp("average NLL (add-1 trigram)", torch.tensor(float(got), dtype=torch.float64),
                   torch.tensor(_loss(model, words, vocab), dtype=torch.float64), atol=1e-4))
    g = torch.Generator().manual_seed(5)
    W = torch.randn(2 * V, V, generator=g)
    X = torch.randint(0, V, (64, 2), generator=g)
    want = F.one_hot(X, V).float().view(64, 2 * V) @ W                 # both characters, one-hot, side by side
    out.append(cmp("the net's logits", m.trigram_net_logits(W, X), want, atol=1e-5))
    return out


def _check_split(m):
    words = read_words()
    train, dev, test = m.split(list(words))
    want = split_words(list(words), 42)
    out = [same("train, dev, test sizes", (len(train), len(dev), len(test)), tuple(map(len, want))),
           same("the split (random.seed(42), shuffle, 80/10/10)", (train, dev, test) == want, True)]
    got = m.evaluate_models(*want)
    vocab = Vocab.from_words(words)
    for n, name in ((2, "bigram"), (3, "trigram")):
        model, _ = _counted(words, n, 1.0, fit_on=want[0])
        ref = torch.tensor([_loss(model, part, vocab) for part in want], dtype=torch.float64)
        out.append(cmp(f"{name}: train, dev, test", torch.tensor(got[name], dtype=torch.float64), ref, atol=1e-4))
    return out


def _check_tuning(m):
    words = read_words()
    train, dev, test = split_words(list(words), 42)
    vocab = Vocab.from_words(words)
    dev_loss = {}
    for k in STRENGTHS:
        model, _ = _counted(words, 3, k, fit_on=train)
        dev_loss[k] = _loss(model, dev, vocab)
    best = min(STRENGTHS, key=dev_loss.get)
    model, _ = _counted(words, 3, best, fit_on=train)
    k, test_loss = m.tune_smoothing(train, dev, test, STRENGTHS)
    return [same("the smoothing chosen on dev", k, best),
            cmp("its test loss", torch.tensor(float(test_loss), dtype=torch.float64),
                torch.tensor(_loss(model, test, vocab), dtype=torch.float64), atol=1e-4)]


class _OneHotSpy(torch.overrides.TorchFunctionMode):
    """Notes whether F.one_hot was called."""
    called = False

    def __torch_function__(self, func, types, args=(), kwargs=None):
        if func is F.one_hot:
            self.called = True
        return func(*args, **(kwargs or {}))


def _check_indexing(m):
    g = torch.Generator().manual_seed(6)
    W = torch.randn(27, 27, generator=g, requires_grad=True)
    xs = torch.randint(0, 27, (100,), generator=g)
    ref = F.one_hot(xs, 27).float() @ W
    dout = torch.randn(100, 27, generator=g)
    ref.backward(dout)
    want_grad, W.grad = W.grad.clone(), None
    with _OneHotSpy() as spy:
        got = m.bigram_logits(W, xs)
    out = [cmp("logits", got, ref), same("F.one_hot called", spy.called, False)]
    got.backward(dout)
    return out + [cmp("W.grad", W.grad, want_grad)]


def _check_cross_entropy(m):
    g = torch.Generator().manual_seed(7)
    logits = torch.randn(64, 27, generator=g)
    ys = torch.randint(0, 27, (64,), generator=g)
    out = []
    for scale in (1, 100):                     # a confident net's logits: exp would overflow without care
        x = logits * scale
        want = -x.double().log_softmax(1)[torch.arange(64), ys].mean()
        out.append(cmp(f"loss of logits x {scale}", torch.as_tensor(m.loss(x, ys)).double(), want, atol=1e-5))
    return out


_TEMPLATE_COUNTS = '''def bigram_counts(words):
    """words: a list of names -> (N, chars): N (V, V) int64 counts, chars: [".", sorted characters]."""
    raise NotImplementedError
'''
_TEMPLATE_NLL = '''def average_nll(P, words, chars):
    """P (V, V) probabilities, words, chars -> the mean NLL in nats per character (float)."""
    raise NotImplementedError
'''
_TEMPLATE_TRIGRAM = '''def trigram_counts(words):
    """-> (N3, chars): N3 (V, V, V) int64, N3[c1, c2, c3] = how often c3 follows c1 c2; each name
    padded with two "." before and one after; chars = [".", sorted characters]."""
    raise NotImplementedError


def trigram_nll(words, k):
    """The average negative log-likelihood per character of the add-k trigram counted on words."""
    raise NotImplementedError


def trigram_net_logits(W, X):
    """The trigram as a net: X (B, 2) the two previous characters, W (2 * V, V) -> logits (B, V),
    the one-hot vectors of both characters side by side, times W."""
    raise NotImplementedError
'''
_TEMPLATE_SPLIT = '''import random


def split(words):
    """-> (train, dev, test): random.seed(42), random.shuffle(words), then 80% / 10% / 10%."""
    raise NotImplementedError


def evaluate_models(train, dev, test):
    """Add-1 bigram and trigram counted on train only -> {"bigram": [train, dev, test losses],
    "trigram": [...]}, each the average NLL per character."""
    raise NotImplementedError
'''
_TEMPLATE_TUNING = '''def tune_smoothing(train, dev, test, strengths):
    """The add-k trigram counted on train for each k in strengths: choose k by the dev loss,
    then evaluate that one model on test, once. -> (k, test loss)."""
    raise NotImplementedError
'''

EXERCISES = [
    Exercise("p1-counts", "Count the bigrams", LECTURE, ["bigram_counts"],
             "Count every pair of consecutive characters in the names, with '.' marking the start and the end "
             "of each name, into a (V, V) tensor of int64; the characters are '.' then the sorted characters. "
             "(The lecture's N: N[a, n] is 5438 over all of names.txt.)",
             _TEMPLATE_COUNTS, _check_counts),
    Exercise("p1-nll", "The average negative log-likelihood", LECTURE, ["average_nll"],
             "Given the (V, V) table of probabilities P[previous, next], the names and the characters, return the "
             "average negative log-likelihood per character (the end '.' counts), as a float. The check compares "
             "it with the package's mean, computed in float64: 2.4546 for add-1 smoothing on all of names.txt. "
             "Summing the logs in a float32 tensor, as the lecture does, prints 2.4544; the check accepts both "
             "(it allows 5e-4).",
             _TEMPLATE_NLL, _check_nll),
    Exercise("p1-e01", "A trigram model", LECTURE, ["trigram_counts", "trigram_nll", "trigram_net_logits"],
             "E01 of the lecture: a trigram model takes two characters and predicts the third. Count it (a "
             "(V, V, V) table; each name starts with two '.'), give its average NLL with add-k smoothing, and write "
             "the same model's forward as a net (both one-hot inputs side by side, times a (2V, V) W). Trained "
             "on all of names.txt with add-1 smoothing it gets 2.2126 against the bigram's 2.4544: did it "
             "improve? The counts and the loss are checked against the package's n-gram model (--type ngram "
             "--n 3 --method add-k), the net's logits against torch.",
             _TEMPLATE_TRIGRAM, _check_trigram),
    Exercise("p1-e02", "Train, dev and test", LECTURE, ["split", "evaluate_models"],
             "E02: split the names 80/10/10 at random (random.seed(42), then random.shuffle: the split every "
             "later lecture uses), count the add-1 bigram and trigram on the training names only, and evaluate "
             "both on all three parts. What do you see? (The trigram gains on every part, but its gap between "
             "train and dev is larger: it has more to overfit.)",
             _TEMPLATE_SPLIT, _check_split),
    Exercise("p1-e03", "Tune the smoothing on dev", LECTURE, ["tune_smoothing"],
             "E03: for the trigram, try each smoothing strength k, choose the one with the lowest dev loss, and "
             "only then evaluate it on test, once. The check gives the strengths "
             f"{', '.join(map(str, STRENGTHS))}. (The train loss always prefers the smallest k: it rewards "
             "memorizing. Dev prefers 0.1.)",
             _TEMPLATE_TUNING, _check_tuning),
    Exercise("p1-e04", "Index rows of W instead of one-hot", LECTURE, ["bigram_logits"],
             "E04: a one-hot vector times W selects a row of W, so the one-hot step is wasted work. Return the "
             "logits of the neural bigram for the inputs xs (B,) by indexing W (V, V) directly, without "
             "F.one_hot; the gradient must flow back to W the same way.",
             "def bigram_logits(W, xs):\n    \"\"\"W (V, V), xs (B,) int64 -> logits (B, V), without F.one_hot.\"\"\"\n"
             "    raise NotImplementedError\n", _check_indexing),
    Exercise("p1-e05", "F.cross_entropy", LECTURE, ["loss"],
             "E05: compute the loss of the neural bigram, the mean negative log-likelihood of the targets ys (B,) "
             "under the logits (B, V), with F.cross_entropy. It is the same number as softmax, log, pick, mean, "
             "but preferred: it never builds the probabilities (less memory, one fused kernel, a simpler "
             "backward) and it subtracts the maximum logit first, so confident logits (checked at 100 x) give a "
             "number instead of inf or nan.",
             "def loss(logits, ys):\n    \"\"\"logits (B, V), ys (B,) -> the mean NLL (a scalar tensor).\"\"\"\n"
             "    raise NotImplementedError\n", _check_cross_entropy),
]
