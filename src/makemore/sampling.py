"""Batched generation on the incremental path, scoring, and novelty.

Every row of the batch advances one token per step through `model.step` (KV cache, hidden state
or sliding window), so the cost per new token does not grow with the prefix. The rows step in
blocks of BLOCK_ROWS, small enough for a block's activations to stay in the CPU's caches; rows
that have ended leave their block (their state rows are dropped), so a step costs only the items
still growing, and the loop stops as soon as every row has ended.

The draws do not depend on the blocks or on which rows are still in them: each step takes one
exponential variate E per character for each item still growing, in item order, and the item
draws the character maximizing p / E (what torch.multinomial does for one sample: the character c
with probability p_c). So the incremental path and the full re-run (`cached=False`) give the same
items for the same seed, whatever the blocks.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .data import BOUNDARY, Split, Vocab, encode_words
from .errors import RunError, UsageError
from .evaluation import item_nll
from .models.ensemble import TwoWay


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

    def init_state(self, batch_size, device=None, tags=None):
        return torch.zeros(batch_size, 0, dtype=torch.long, device=device), tags

    def step(self, tokens, state):
        seq, tags = state
        seq = torch.cat([seq, tokens.long()[:, None]], dim=1)                       # (B, t+1)
        logits, _ = self.model(seq, **({} if tags is None else {"tags": tags}))     # (B, t+1, V)
        return logits[:, -1], (seq, tags)

    def select_rows(self, state, rows):
        seq, tags = state
        return seq.index_select(0, rows), None if tags is None else tags.index_select(0, rows)  # (B', t), (B',)


def draw(probs: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
    """One character per row, c with probability probs[:, c]: the argmax of probs / E for
    exponential variates E (noise, like probs (B, V)): the first of V exponential clocks of rates
    probs to ring. torch.multinomial(probs, 1) computes exactly this from
    noise = torch.empty_like(probs).exponential_(generator=g)."""
    return (probs / noise).argmax(-1)                                               # (B,)


BLOCK_ROWS = 1024      # rows stepped together: a block's activations stay in the CPU's caches
COMPACT_AT = 1 / 8     # a block drops its ended rows (and their state) once they are this share of it


class _Block:
    """Rows of the batch stepped together: which rows of `out` they are, their state, the tokens
    they feed next, and which of them have not ended."""

    def __init__(self, decoder, rows, device, tags=None):
        self.rows = rows                                                            # (B,) on the CPU
        self.state = decoder.init_state(len(rows), device) if tags is None else \
            decoder.init_state(len(rows), device, tags=tags[rows].to(device))
        self.tokens = torch.full((len(rows),), BOUNDARY, dtype=torch.long, device=device)  # (B,)
        self.live = torch.ones(len(rows), dtype=torch.bool)                         # (B,)

    def compact(self, decoder, device):
        keep = self.live.nonzero().squeeze(1)                                       # (B',)
        self.rows, self.live = self.rows[keep], self.live[keep]
        keep = keep.to(device)
        self.tokens, self.state = self.tokens[keep], decoder.select_rows(self.state, keep)


def generate(model, n: int, max_len: int, prefix: list[int] = (), temperature: float = 1.0,
             top_k: int | None = None, top_p: float | None = None, generator: torch.Generator | None = None,
             device="cpu", cached: bool = True, tags: torch.Tensor | None = None, exponentials=None) -> torch.Tensor:
    """Sample n items, each continuing `prefix` (token ids). Returns (n, max_len) token ids: the
    item's characters (prefix included), then zeros. Items stop at max_len characters.
    tags (n,): each item's tag, for a model of tagged items.
    cached=False re-runs the full forward at every step instead (the reference, and the baseline).
    exponentials(rows, V) -> (rows, V) exponential variates: a stream of them in place of `generator`'s
    (the exported web page's, export.web.PageStream, to draw what the page draws).
    The rows are stepped in blocks of BLOCK_ROWS; the items do not depend on the blocks."""
    check_sampling_options(temperature, top_k, top_p)
    out = torch.zeros(n, max_len, dtype=torch.long)          # made outside inference mode: callers may edit it
    with torch.inference_mode():
        model.eval()
        decoder = model if cached else FullRerun(model)
        blocks = [_Block(decoder, rows, device, tags) for rows in torch.arange(n).split(BLOCK_ROWS)]
        for block in blocks:
            for t, tok in enumerate(prefix):       # feed the boundary and the prefix
                _, block.state = decoder.step(block.tokens, block.state)
                block.tokens = torch.full_like(block.tokens, tok)
                out[block.rows, t] = tok
        growing = torch.ones(n, dtype=torch.bool)             # (n,) the items that have not ended
        for t in range(len(prefix), max_len):
            if not blocks:
                break
            if temperature != 0:
                # one exponential variate per character for each item still growing, in item order:
                # no draw depends on the blocks, nor on when ended rows leave them
                slot = growing.cumsum(0) - 1                                         # (n,) its row of noise
                rows, V = int(slot[-1]) + 1, model.config.vocab_size
                noise = torch.empty(rows, V).exponential_(generator=generator) if exponentials is None \
                    else exponentials(rows, V)                                       # (items growing, V)
            for block in list(blocks):
                logits, block.state = decoder.step(block.tokens, block.state)       # (B, V)
                if t == len(prefix) and not bool(torch.isfinite(logits).all()):
                    raise RunError("the model's outputs are not finite numbers (NaN or infinity): its weights "
                                   "are broken; train it again")
                if temperature == 0:
                    nxt = logits.argmax(-1).cpu()                                    # (B,)
                else:
                    probs = F.softmax(filter_logits(logits.float(), temperature, top_k, top_p), dim=-1)  # (B, V)
                    nxt = draw(probs.cpu(), noise[slot[block.rows].clamp(min=0)])    # (B,); ended rows: masked
                nxt = nxt.masked_fill(~block.live, BOUNDARY)
                out[block.rows, t] = nxt
                block.live &= nxt != BOUNDARY
                growing[block.rows] = block.live
                block.tokens = nxt.to(device)
                ended = len(block.live) - int(block.live.sum())     # the host sync of a step: done yet?
                if ended == len(block.live):
                    blocks.remove(block)
                elif ended >= COMPACT_AT * len(block.live):
                    block.compact(decoder, device)
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
    return [w for w, _ in sample_tagged(model, vocab, n, max_len, None, prefix, unique, seed, batch_size, device, **options)]


def sample_tagged(model, vocab: Vocab, n: int, max_len: int, tag_weights: torch.Tensor | None, prefix: str = "",
                  unique: bool = False, seed: int | None = None, batch_size: int | None = None, device="cpu",
                  **options) -> list[tuple[str, int | None]]:
    """sample_items, for a model of tagged items: n (item, tag) pairs, each item's tag drawn from
    tag_weights (K,) (a mixture of the tags' conditionals: one tag, a blend, or the training
    frequencies) with the same generator, then the item from p(item | tag). tag_weights None: an
    untagged model, and every tag is None."""
    check_count("-n", n, 1)
    unknown = vocab.unknown_chars([prefix])
    if unknown:
        raise UsageError(f"--prefix {prefix!r}: character {unknown[0]!r} is not in the model's vocabulary")
    if vocab.length(prefix) >= max_len:
        raise UsageError(f"--prefix is {vocab.length(prefix)} characters; the model's items are at most {max_len}")
    if prefix and isinstance(model, TwoWay):
        raise UsageError("--prefix: this mixture reads items in both directions, so it cannot continue a prefix; "
                         "sample from its left-to-right members instead")
    batch_size = batch_size or default_batch_size(max_len)
    prefix_ids = vocab.encode(prefix) if prefix else []
    generator = torch.Generator().manual_seed(seed) if seed is not None else None
    items, seen = [], set()
    for _ in range(50 if unique else 1_000_000):
        want = min(batch_size, n - len(items)) if not unique else min(batch_size, 2 * (n - len(items)) + 8)
        tags = None if tag_weights is None else torch.multinomial(tag_weights, want, replacement=True, generator=generator)
        drawn = _draw(model, vocab, want, max_len, prefix_ids, generator, device, tags=tags, **options)
        for item, tag in zip(drawn, [None] * want if tags is None else tags.tolist()):
            if unique and item in seen:
                continue
            seen.add(item)
            items.append((item, tag))
            if len(items) == n:
                return items
    return items


def _draw(model, vocab: Vocab, n: int, max_len: int, prefix_ids: list[int], generator, device, tags=None,
          **options) -> list[str]:
    """n items as strings; a TwoWay mixture's right-to-left ones turned around."""
    if not isinstance(model, TwoWay):
        ids = generate(model, n, max_len, prefix_ids, generator=generator, device=device, tags=tags, **options)
        return [vocab.decode(row[:row.index(BOUNDARY)] if BOUNDARY in row else row) for row in ids.tolist()]
    if tags is not None:
        raise UsageError("a mixture of both reading directions of tagged items is not supported")
    rtl = torch.rand(n, generator=generator, dtype=torch.float64) < model.weights[1]     # (n,) each item's direction
    items = [""] * n
    for part, rows, turn in ((model.ltr, (~rtl).nonzero().squeeze(1), False), (model.rtl, rtl.nonzero().squeeze(1), True)):
        if len(rows):
            drawn = _draw(part, vocab, len(rows), max_len, [], generator, device, **options)
            for r, w in zip(rows.tolist(), drawn):
                items[r] = w[::-1] if turn else w
    return items


def novelty(items: list[str], train_words, heldout_words) -> list[str]:
    """Each item is 'train' (seen in training), 'val/test' (only in the held-out splits) or 'new'
    (for lists of words; a run marks its samples through its split's ItemIndex, Run.novelty)."""
    train_set, held = set(train_words), set(heldout_words)
    return ["train" if w in train_set else "val/test" if w in held else "new" for w in items]


def items_split(vocab: Vocab, items: list[str], max_len: int) -> Split:
    """Items to score, checked and encoded as a Split of their own."""
    if isinstance(items, str) or not all(isinstance(w, str) for w in items):
        raise TypeError("items must be a list of strings, e.g. ['emma']")
    for w in items:
        unknown = vocab.unknown_chars([w])
        if unknown:
            raise UsageError(f"item {w!r}: character {unknown[0]!r} is not in the model's vocabulary")
        if vocab.length(w) > max_len:
            raise UsageError(f"item {w!r} is {vocab.length(w)} characters, longer than the model's {max_len}")
        if not w:
            raise UsageError("an item to score is empty")
    return Split(items, *encode_words(items, vocab, max_len), vocab)


@torch.no_grad()
def score_items(model, vocab: Vocab, items: list[str], max_len: int, device="cpu", tags: torch.Tensor | None = None,
                totals: torch.Tensor | None = None) -> list[dict]:
    """NLL of each item under the model: total nats, and per character (the end counts as one).
    tags (N,): each item's tag (a model of tagged items: log p(item | tag)). totals: the items'
    NLLs already computed (a tagged model's marginal), to report the same way."""
    if totals is None:                                                             # (given: the items were checked)
        model.eval()
        split = items_split(vocab, items, max_len)
        totals = item_nll(model, split.with_tags(tags), device)                    # (N,) a TwoWay's: both directions
    return [{"item": w, "nll": t, "nll_per_char": t / (vocab.length(w) + 1), "chars": vocab.length(w) + 1}
            for w, t in zip(items, totals.tolist())]
