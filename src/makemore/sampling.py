"""Batched generation on the incremental path, scoring, and novelty.

Every row of the batch advances one token per step through `model.step` (KV cache, hidden state
or sliding window), so the cost per new token does not grow with the prefix. A done mask stops the
loop as soon as every row has ended.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .data import BOUNDARY, Vocab, encode_words
from .errors import RunError, UsageError


def filter_logits(logits, temperature: float = 1.0, top_k: int | None = None, top_p: float | None = None):
    """Temperature, then keep the top_k most likely, then the smallest set with mass >= top_p."""
    logits = logits / temperature                                                   # (B, V)
    if top_k is not None and top_k < logits.size(-1):
        kth = torch.topk(logits, top_k, dim=-1).values[:, -1:]                      # (B, 1)
        logits = logits.masked_fill(logits < kth, float("-inf"))
    if top_p is not None and top_p < 1.0:
        sorted_logits, order = torch.sort(logits, dim=-1, descending=True)          # (B, V)
        cum = sorted_logits.softmax(-1).cumsum(-1)                                  # (B, V)
        drop = cum - sorted_logits.softmax(-1) >= top_p   # mass before this token already >= top_p
        sorted_logits = sorted_logits.masked_fill(drop, float("-inf"))
        logits = torch.empty_like(logits).scatter_(-1, order, sorted_logits)
    return logits


MAX_ITEMS = 10_000_000    # items one call samples at most


def check_count(option: str, n, low: int = 0, high: int = MAX_ITEMS) -> None:
    """A number of items to sample: a whole number in [low, high]."""
    if not isinstance(n, int) or not low <= n <= high:
        raise UsageError(f"{option} must be in [{low}, {high:,}], got {n}")


def check_sampling_options(temperature, top_k, top_p):
    if not temperature >= 0:                       # NaN fails this too
        raise UsageError(f"--temperature must be >= 0, got {temperature}")
    if top_k is not None and top_k < 1:
        raise UsageError(f"--top-k must be at least 1, got {top_k}")
    if top_p is not None and not 0 < top_p <= 1:
        raise UsageError(f"--top-p must be in (0, 1], got {top_p}")


class FullRerun:
    """The slow reference path: re-run `forward` over the whole sequence so far at every step
    (what a model without incremental decoding has to do). Same interface as model.step."""

    def __init__(self, model):
        self.model = model

    def init_state(self, batch_size, device=None):
        return torch.zeros(batch_size, 0, dtype=torch.long, device=device)

    def step(self, tokens, state):
        seq = torch.cat([state, tokens.long()[:, None]], dim=1)                     # (B, t+1)
        logits, _ = self.model(seq)                                                 # (B, t+1, V)
        return logits[:, -1], seq


@torch.no_grad()
def generate(model, n: int, max_len: int, prefix: list[int] = (), temperature: float = 1.0,
             top_k: int | None = None, top_p: float | None = None, generator: torch.Generator | None = None,
             device="cpu", cached: bool = True) -> torch.Tensor:
    """Sample n items, each continuing `prefix` (token ids). Returns (n, max_len) token ids: the
    item's characters (prefix included), then zeros. Items stop at max_len characters.
    cached=False re-runs the full forward at every step instead (the reference, and the baseline)."""
    check_sampling_options(temperature, top_k, top_p)
    model.eval()
    decoder = model if cached else FullRerun(model)
    out = torch.zeros(n, max_len, dtype=torch.long)
    state = decoder.init_state(n, device)
    tokens = torch.full((n,), BOUNDARY, dtype=torch.long, device=device)
    for t, tok in enumerate(prefix):               # feed the boundary and the prefix
        _, state = decoder.step(tokens, state)
        tokens = torch.full((n,), tok, dtype=torch.long, device=device)
        out[:, t] = tok
    done = torch.zeros(n, dtype=torch.bool, device=device)
    for t in range(len(prefix), max_len):
        logits, state = decoder.step(tokens, state)                                 # (n, V)
        if t == len(prefix) and not bool(torch.isfinite(logits).all()):
            raise RunError("the model's outputs are not finite numbers (NaN or infinity): its weights are "
                           "broken; train it again")
        if temperature == 0:
            nxt = logits.argmax(-1)                                                  # (n,)
        else:
            probs = F.softmax(filter_logits(logits.float(), temperature, top_k, top_p), dim=-1)
            nxt = torch.multinomial(probs.cpu(), 1, generator=generator).squeeze(1).to(device)  # (n,)
        nxt = nxt.masked_fill(done, BOUNDARY)
        out[:, t] = nxt.cpu()
        done |= nxt == BOUNDARY
        if bool(done.all()):
            break
        tokens = nxt
    return out


SAMPLE_TOKENS = 2 ** 17    # rows x positions decoded at once by default (KV cache of the default Transformer: 64 MiB)


def default_batch_size(max_len: int) -> int:
    """Rows decoded at once by default: as many as fit SAMPLE_TOKENS positions, at least 1000."""
    return max(1000, SAMPLE_TOKENS // max_len)


def sample_items(model, vocab: Vocab, n: int, max_len: int, prefix: str = "", unique: bool = False,
                 seed: int | None = None, batch_size: int | None = None, device="cpu", **options) -> list[str]:
    """Sample n items as strings. unique=True keeps drawing until n distinct items (or gives up).
    batch_size: rows decoded at once; by default as many as fit SAMPLE_TOKENS positions (8,738 rows
    for names), so per-step overheads are shared by many rows while caches stay small."""
    check_count("-n", n, 1)
    unknown = vocab.unknown_chars([prefix])
    if unknown:
        raise UsageError(f"--prefix {prefix!r}: character {unknown[0]!r} is not in the model's vocabulary")
    if len(prefix) >= max_len:
        raise UsageError(f"--prefix is {len(prefix)} characters; the model's items are at most {max_len}")
    batch_size = batch_size or default_batch_size(max_len)
    prefix_ids = vocab.encode(prefix) if prefix else []
    generator = torch.Generator().manual_seed(seed) if seed is not None else None
    items, seen = [], set()
    for _ in range(50 if unique else 1_000_000):
        want = min(batch_size, n - len(items)) if not unique else min(batch_size, 2 * (n - len(items)) + 8)
        ids = generate(model, want, max_len, prefix_ids, generator=generator, device=device, **options)
        for row in ids.tolist():
            item = vocab.decode(row[:row.index(BOUNDARY)] if BOUNDARY in row else row)
            if unique and item in seen:
                continue
            seen.add(item)
            items.append(item)
            if len(items) == n:
                return items
    return items


def novelty(items: list[str], train_words, heldout_words) -> list[str]:
    """Each item is 'train' (seen in training), 'val/test' (only in the held-out splits) or 'new'."""
    train_set, held = set(train_words), set(heldout_words)
    return ["train" if w in train_set else "val/test" if w in held else "new" for w in items]


@torch.no_grad()
def score_items(model, vocab: Vocab, items: list[str], max_len: int, device="cpu") -> list[dict]:
    """NLL of each item under the model: total nats, and per character (the end counts as one)."""
    if isinstance(items, str) or not all(isinstance(w, str) for w in items):
        raise TypeError("items must be a list of strings, e.g. ['emma']")
    for w in items:
        unknown = vocab.unknown_chars([w])
        if unknown:
            raise UsageError(f"item {w!r}: character {unknown[0]!r} is not in the model's vocabulary")
        if len(w) > max_len:
            raise UsageError(f"item {w!r} is {len(w)} characters, longer than the model's {max_len}")
        if not w:
            raise UsageError("an item to score is empty")
    model.eval()
    X, Y = encode_words(items, vocab, max_len)                                     # (N, T)
    logits, _ = model(X.to(device).long())                                         # (N, T, V)
    y = Y.to(device).long()
    nll = F.cross_entropy(logits.float().flatten(0, 1), y.flatten(), ignore_index=-1, reduction="none")
    nll = nll.view_as(y).double().cpu()                                            # (N, T), 0 where no target
    totals = nll.sum(1)
    return [{"item": w, "nll": t, "nll_per_char": t / (len(w) + 1), "chars": len(w) + 1}
            for w, t in zip(items, totals.tolist())]
