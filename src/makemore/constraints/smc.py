"""Sequential Monte Carlo: p(item | constraints) for any model with an incremental path.

Masking alone is not sampling from p(item | constraints): it keeps, at each step, only the allowed
characters, but renormalizing them favours whatever reaches the constraint soonest. Sequential
Monte Carlo corrects that: each item is drawn by P particles, each proposed from the masked
distribution and weighted by the mass the mask kept; when the weights degenerate (their effective
number below P/2) the particles are resampled; at the end one particle is picked by its weight.
As P grows, the items' distribution tends to p(item | constraints) (Naesseth, Lindsten & Schön
2019, "Elements of Sequential Monte Carlo"; Lew et al. 2023, "Sequential Monte Carlo Steering of
Large Language Models using Probabilistic Programs"), and the mean weight estimates the
probability that an item of the model meets the constraints.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from ..data import BOUNDARY
from .automaton import Automaton
from .trie import Trie


class Guide:
    """What the proposal multiplies the model's next-token probabilities by, log psi after each
    token, and psi where a particle stands. Plain masking: 1 where the constraints (and, with a
    trie, a new item) can still be met, 0 elsewhere. Twisted: an Exact count model's beta, the
    probability under that model of meeting the constraints from there, one per tag."""

    def __init__(self, automaton: Automaton, trie: Trie | None = None, ok: torch.Tensor | None = None,
                 twists: dict | None = None):
        self.automaton, self.trie, self.ok, self.twists = automaton, trie, ok, twists

    @property
    def _first(self):
        """A twist (every tag's shares the automaton, the trie and the contexts' `next`)."""
        return next(iter(self.twists.values()))

    def start(self, prefix: list[int]) -> tuple[int, int, int]:
        if self.twists:
            return self._first.start(prefix)
        return 0, self.automaton.walk(prefix), -1 if self.trie is None else self.trie.walk(prefix)

    def next_ctx(self, ctx, tokens):
        return self._first.chain.next[ctx, tokens] if self.twists else ctx

    def _each(self, method, tags, t, ctx, state, node, shape):
        if len(self.twists) == 1:
            return getattr(self._first, method)(t, ctx, state, node)
        out = torch.empty(shape, dtype=torch.float64)
        for k, twist in self.twists.items():
            rows = tags == k
            out[rows] = getattr(twist, method)(t, ctx[rows], state[rows], node[rows])
        return out

    def here(self, t, ctx, state, node, tags) -> torch.Tensor:
        if not self.twists:
            return torch.zeros(len(state), dtype=torch.float64)
        return self._each("here", tags, t, ctx, state, node, (len(state),))

    def after(self, t, ctx, state, node, tags) -> torch.Tensor:
        if not self.twists:
            mask = self.automaton.allowed[t][state]                                    # (B, V)
            if self.trie is not None:
                mask = self.trie.mask(mask, node, self.ok)
            return torch.zeros(mask.shape, dtype=torch.float64).masked_fill(~mask, -math.inf)
        return self._each("after", tags, t, ctx, state, node, (len(state), self.automaton.vocab.size))


@torch.inference_mode()
def smc(model, guide: Guide, n: int, particles: int = 64, prefix: list[int] = (), temperature: float = 1.0,
        top_k: int | None = None, top_p: float | None = None, generator: torch.Generator | None = None,
        device="cpu", tags: torch.Tensor | None = None):
    """n items that meet the guide's constraints, each drawn by `particles` particles of sequential
    Monte Carlo, proposed from p(next) psi(after it) and weighted by sum_c p(c) psi(after c) /
    psi(here) (the product over an item is p(item) / q(item), up to psi at the start). Returns (ids
    (n, max_len), each item's log-probability under the model (with the same temperature and
    filters), each item's estimate of log p(constraints))."""
    from ..sampling import filter_logits
    if isinstance(guide, Automaton):
        guide = Guide(guide)
    P, L, V = particles, guide.automaton.max_len, model.config.vocab_size
    B = n * P
    model.eval()
    rows_tags = None if tags is None else tags.repeat_interleave(P)
    state = model.init_state(B, device) if rows_tags is None else model.init_state(B, device, tags=rows_tags.to(device))
    tokens = torch.full((B,), BOUNDARY, dtype=torch.long, device=device)
    ctx, auto, node = (torch.full((B,), x, dtype=torch.long) for x in guide.start(list(prefix)))  # (B,) each
    log_p = torch.zeros(B, dtype=torch.float64)                           # (B,) log p of the item so far
    for tok in prefix:                                                    # the boundary, then the prefix
        logits, state = model.step(tokens, state)
        log_p += F.log_softmax(filter_logits(logits.float(), temperature, top_k, top_p), -1)[:, tok].double().cpu()
        tokens = torch.full_like(tokens, tok)
    out = torch.zeros(B, L, dtype=torch.long)
    out[:, :len(prefix)] = torch.tensor(list(prefix), dtype=torch.long)
    log_w = torch.zeros(B, dtype=torch.float64)                           # (B,) log weights
    psi0 = guide.here(len(prefix), ctx, auto, node, rows_tags)            # (B,) log psi at the start
    here = psi0
    live = torch.ones(B, dtype=torch.bool)
    alive = torch.arange(B)                                               # the rows the model's state holds, in order
    for t in range(len(prefix), L + 1):
        logits, state = model.step(tokens[alive.to(device)], state)       # (A, V) the live rows only
        logp = torch.zeros(B, V, dtype=torch.float64)                     # (B, V) the ended rows' are never read
        logp[alive] = F.log_softmax(filter_logits(logits.float(), temperature, top_k, top_p), -1).double().cpu()
        after = guide.after(t, ctx, auto, node, rows_tags)                # (B, V) log psi after each token
        score = logp + after                                              # (B, V)
        kept = torch.logsumexp(score, -1)                                 # (B,)
        score = torch.where(torch.isfinite(kept)[:, None], score, after)  # the filters left nothing: weight 0
        noise = torch.empty(B, V).exponential_(generator=generator)
        nxt = (score.float() - noise.log()).argmax(-1)                    # (B,) a draw from the proposal
        nxt = nxt.masked_fill(~live, BOUNDARY)
        log_w += torch.where(live, kept - here, torch.zeros_like(kept))
        log_p += torch.where(live, logp.gather(1, nxt[:, None])[:, 0], torch.zeros_like(kept))
        here = torch.where(live, after.gather(1, nxt[:, None])[:, 0], here)
        grow = live & (nxt != BOUNDARY)
        if t < L:
            out[:, t] = torch.where(grow, nxt, torch.zeros_like(nxt))
        auto = torch.where(grow, guide.automaton.delta_t[auto, nxt], auto)
        if guide.trie is not None:
            node = torch.where(grow, guide.trie.child(node, nxt), node)
        ctx = torch.where(grow, guide.next_ctx(ctx, nxt), ctx)
        keep = grow[alive]                                                # (A,) which live rows go on
        if not bool(keep.all()):                                          # an ended item needs no more steps
            state = model.select_rows(state, keep.nonzero().squeeze(1).to(device))
            alive = alive[keep]
        live = grow
        tokens = nxt.to(device)
        if not bool(live.any()):
            break
        resampled = _resample(log_w.view(n, P), generator)                # ((n, P), (n,)) or None
        if resampled is not None:
            idx, low = resampled
            rows = (idx + torch.arange(n)[:, None] * P).flatten()         # (B,)
            at = torch.full((B,), -1, dtype=torch.long)                   # each row's place in the state
            at[alive] = torch.arange(len(alive))
            live = live[rows]
            state = model.select_rows(state, at[rows][live].to(device))
            alive = live.nonzero().squeeze(1)
            tokens, auto, node, ctx = tokens[rows.to(device)], auto[rows], node[rows], ctx[rows]
            out, log_p, here = out[rows], log_p[rows], here[rows]
            w = log_w.view(n, P)                                          # a resampled group's particles: its mean weight
            mean = torch.logsumexp(w, 1, keepdim=True) - math.log(P)
            log_w = torch.where(low[:, None], mean.expand(n, P), w[torch.arange(n)[:, None], idx]).flatten()
    pick = torch.multinomial(_normalized(log_w.view(n, P)).float(), 1, generator=generator)[:, 0]   # (n,)
    chosen = torch.arange(n) * P + pick
    estimate = torch.logsumexp(log_w.view(n, P), 1) - math.log(P) + psi0.view(n, P)[:, 0]   # (n,) log p(constraints)
    return out[chosen], log_p[chosen], estimate


def _resample(log_w: torch.Tensor, generator):
    """(n, P) log weights -> (the particles each group keeps (n, P), which groups were resampled
    (n,)): multinomially, for the groups whose effective sample size is below P/2 (the others keep
    their own, in order, and their weights); None if none is."""
    n, P = log_w.shape
    w = _normalized(log_w)                                                # (n, P)
    ess = 1.0 / (w * w).sum(1)                                            # (n,)
    low = ess < P / 2
    if not bool(low.any()):
        return None
    idx = torch.arange(P).expand(n, P).clone()
    idx[low] = torch.multinomial(w[low].float(), P, replacement=True, generator=generator)
    return idx, low


def _normalized(log_w: torch.Tensor) -> torch.Tensor:
    """(n, P) weights summing to 1 in each group; uniform where every weight is 0."""
    none = ~torch.isfinite(log_w.max(1, keepdim=True).values)
    return torch.softmax(torch.where(none, torch.zeros_like(log_w), log_w), 1)
