"""Exact sampling from p(item | constraints) for the count models.

A count model predicts from a finite context, so it is a chain: C contexts, `logP` (C, V) the
next token's log-probability in each, `next` (C, V) the context each token leads to.
- The bigram's contexts are the previous character.
- The Kneser-Ney n-gram's are the longest suffix of the last n-1 characters that its counts hold:
  a longer, unseen one backs off to the same probabilities, and the longest held suffix of a window
  plus one more character is that of its own longest held suffix plus that character (what was
  held had its own prefix held), so these contexts are closed under `next`. They are found breadth
  first from the start, each with one real window that leads to it (`ngram_contexts`).
- The add-k n-gram's are the states of an Aho-Corasick automaton over its held windows (an unseen
  window does not back off: it is uniform, so what matters is whether the whole window is held;
  `addk_contexts`).

The backward pass over (context, automaton state, characters so far) gives beta, the probability
that an item goes on to meet the constraints; each next token is then drawn with its own
probability times beta after it, which is p(item | constraints) exactly. With `--new` the trie of
the training items adds its nodes (each a string, so each one context and one automaton state),
whose beta leaves out the training items themselves (`trie_backward`).
"""

from __future__ import annotations

import math
import weakref
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from ..data import BOUNDARY
from ..errors import UsageError
from ..models.counts import Bigram, NGram
from .automaton import Automaton
from .trie import Trie

LIMIT = 2 ** 25      # (contexts or trie nodes) x automaton states x vocabulary, at most, for the exact path


@dataclass
class Chain:
    logP: torch.Tensor      # (C, V) float64 log p(next token | context)
    next: torch.Tensor      # (C, V) long the context after each token
    start: int              # the context before the first character

    def walk(self, tokens: list[int]) -> int:
        c = self.start
        for t in tokens:
            c = int(self.next[c, t])
        return c


_contexts = weakref.WeakKeyDictionary()      # model -> {depth: (windows, next) or None}


def ngram_contexts(model: NGram, depth: int):
    """The Kneser-Ney n-gram's contexts reachable within `depth` characters (see the module
    docstring): (windows (C, block_size) one window leading to each, next (C, V)); None past LIMIT."""
    cache = _contexts.setdefault(model, {})
    if depth not in cache:
        cache[depth] = _enumerate(model, depth)
    return cache[depth]


def _enumerate(model: NGram, depth: int):
    n, R, V = model.config.n, model.radix, model.config.vocab_size
    w = n - 1
    held = {len(cols): getattr(model, f"keys{k}").cpu().numpy()          # j -> the sorted keys of held j-character contexts
            for k, cols, _ in model.levels if not (model.config.n_tags and 0 in cols)}
    base = [sum(R ** i for i in range(j)) for j in range(w + 1)]           # codes of j-character contexts start here

    def reduce(W):                                                        # (M, w) windows -> (M,) codes
        code, done = np.zeros(len(W), dtype=np.int64), np.zeros(len(W), dtype=bool)
        for j in range(w, 0, -1):
            keys = held.get(j)
            if keys is None or not len(keys):
                continue
            key = (W[:, w - j:] * R ** np.arange(j, dtype=np.int64)).sum(1)
            pos = np.searchsorted(keys, key).clip(max=len(keys) - 1)
            hit = (keys[pos] == key) & ~done
            code[hit] = base[j] + key[hit]
            done |= hit
        return code

    windows = [np.zeros((1, w), dtype=np.int64)]
    known = reduce(windows[0])                                            # sorted codes
    ids = np.zeros(1, dtype=np.int64)                                     # the context of each known code
    frontier = windows[0]
    first = [0]                                                           # the context id of the frontier's first row
    nxt = np.zeros((1, V), dtype=np.int64)
    for _ in range(depth):
        if not len(frontier):
            break
        F_ = len(frontier)
        ext = np.concatenate([np.repeat(frontier[:, 1:], V - 1, 0), np.tile(np.arange(1, V), F_)[:, None]], 1) \
            if w else np.zeros((F_ * (V - 1), 0), dtype=np.int64)         # (F (V - 1), w) each window plus a character
        codes = reduce(ext)
        uniq, at = np.unique(codes, return_index=True)
        pos = np.searchsorted(known, uniq).clip(max=len(known) - 1)
        new = known[pos] != uniq
        C = len(ids)
        if (C + new.sum()) * V > LIMIT:
            return None
        known, ids = np.concatenate([known, uniq[new]]), np.concatenate([ids, C + np.arange(new.sum())])
        order = np.argsort(known, kind="stable")
        known, ids = known[order], ids[order]
        target = ids[np.searchsorted(known, codes)].reshape(F_, V - 1)    # (F, V - 1)
        nxt = np.concatenate([nxt, np.zeros((new.sum(), V), dtype=np.int64)])
        nxt[first[-1]:first[-1] + F_, 1:] = target
        frontier = ext[at[new]]
        windows.append(frontier)
        first.append(C)
    W = np.concatenate(windows)                                           # (C, w)
    block = np.zeros((len(W), model.block_size), dtype=np.int64)
    block[:, model.block_size - w:] = W
    return torch.from_numpy(block), torch.from_numpy(nxt)


def addk_contexts(model: NGram):
    """The add-k n-gram's contexts. Its prediction depends on whether the last n-1 tokens form a
    window its counts hold (and which one: an unseen window is uniform), so its contexts are the
    states of an Aho-Corasick automaton over the held windows (Aho & Corasick 1975, "Efficient string
    matching"): the longest suffix of what was read that begins a held window; a state n-1 deep is
    the held window itself. Returns (windows (C, block_size): each full state's window, full (C,)
    bool, next (C, V), start: the state of the all-boundary window), or None past LIMIT."""
    n, R, V = model.config.n, model.radix, model.config.vocab_size
    w = n - 1
    top, cols, _ = model.levels[-1]
    digits = (getattr(model, f"keys{top}").cpu().numpy()[:, None] // R ** np.arange(len(cols))) % R   # (K, |cols|)
    held = np.unique(digits[:, len(cols) - w:], axis=0) if w else np.zeros((1, 0), dtype=np.int64)    # (M, w) windows
    index, strings = {(): 0}, [()]
    for d in range(1, w + 1):                                            # every prefix of a held window, by depth
        for prefix in map(tuple, np.unique(held[:, :d], axis=0)):
            index[prefix] = len(strings)
            strings.append(prefix)
    if len(strings) * V > LIMIT:
        return None
    C = len(strings)
    nxt, fail = np.zeros((C, V), dtype=np.int64), np.zeros(C, dtype=np.int64)
    for s, text in enumerate(strings):                                   # breadth first: fail[s] is done before s
        if s:
            nxt[s] = nxt[fail[s]]
        if len(text) < w:
            for c in range(V):
                child = index.get(text + (c,))
                if child is not None:
                    fail[child] = nxt[fail[s], c] if s else 0
                    nxt[s, c] = child
    start = 0
    for _ in range(w):
        start = int(nxt[start, BOUNDARY])
    full = np.array([len(t) == w for t in strings])
    windows = np.zeros((C, model.block_size), dtype=np.int64)
    if w:
        windows[full, model.block_size - w:] = np.array([t for t in strings if len(t) == w])
    return torch.from_numpy(windows), torch.from_numpy(full), torch.from_numpy(nxt), start


def chains(model, depth: int, tags: list[int] | None, options: dict) -> list[Chain] | None:
    """One Chain per tag (or one, untagged) of a count model, its probabilities under the sampling
    options (temperature, top_k, top_p); None where the model has no exact path."""
    from ..sampling import filter_logits

    def logP(logits):
        return F.log_softmax(filter_logits(logits.float().cpu(), options.get("temperature", 1.0),
                                           options.get("top_k"), options.get("top_p")), -1).double()
    groups = [None] if tags is None else tags
    if isinstance(model, Bigram):
        V = model.config.vocab_size
        nxt = torch.arange(V).expand(V, V).clone()
        return [Chain(logP(model.logp if k is None else model.tag_logp[k]), nxt, BOUNDARY) for k in groups]
    if isinstance(model, NGram) and model.config.method == "add-k":
        found = addk_contexts(model)
        if found is None:
            return None
        windows, full, nxt, start = found
        out = []
        for k in groups:
            logits = torch.zeros(len(nxt), nxt.size(1))                               # unseen windows: uniform
            rows = windows[full].to(model.discount.device)
            logits[full] = model.next_logits(rows, None if k is None else torch.full((len(rows),), k, device=rows.device)).cpu()
            out.append(Chain(logP(logits), nxt, start))
        return out
    if isinstance(model, NGram) and model.config.method == "kneser-ney":
        found = ngram_contexts(model, depth)
        if found is None:
            return None
        windows, nxt = found
        device = model.discount.device
        out = []
        for k in groups:
            parts = [model.next_logits(windows[a:a + 65536].to(device),
                                       None if k is None else torch.full((len(windows[a:a + 65536]),), k, device=device))
                     for a in range(0, len(windows), 65536)]
            out.append(Chain(logP(torch.cat(parts)), nxt, 0))
        return out
    return None


def backward(chain: Chain, automaton: Automaton) -> list[torch.Tensor]:
    """log beta[t] (C, S): in context c and automaton state s after t characters, the
    log-probability that the item goes on to meet the constraints."""
    S, L = len(automaton.delta), automaton.max_len
    C = chain.logP.size(0)
    beta = [None] * (L + 2)
    beta[L + 1] = torch.full((C, S), -math.inf, dtype=torch.float64)
    for t in range(L, -1, -1):
        beta[t] = torch.logsumexp(chain.logP[:, None, :] + _after(beta[t + 1], chain, automaton, t, None, None), -1)
    return beta


def _after(beta_next, chain: Chain, automaton: Automaton, t: int, ctx, state):
    """(rows, S, V) or, for given ctx and state (B,), (B, V): log beta after each next token (0 for the end)."""
    delta = automaton.delta_t.clamp(min=0)                                  # (S, V)
    if ctx is None:
        after = beta_next[chain.next[:, None, :], delta[None]]              # (C, S, V)
        allowed = automaton.allowed[t][None]
    else:
        after = beta_next[chain.next[ctx], delta[state]]                    # (B, V)
        allowed = automaton.allowed[t][state]
    after[..., BOUNDARY] = 0.0
    return after.masked_fill(~allowed, -math.inf)


def trie_backward(trie: Trie, chain: Chain, automaton: Automaton, beta) -> tuple[torch.Tensor, torch.Tensor]:
    """(log beta of each trie node, leaving out the trie's own items; each node's context)."""
    s = torch.from_numpy(trie.states(automaton.delta))
    n = len(s)
    ctx = torch.zeros(n, dtype=torch.long)
    ctx[0] = chain.start
    char, parent = torch.from_numpy(trie.char), torch.from_numpy(trie.parent)
    for d in range(1, trie.depth + 1):
        v = slice(trie.level[d], trie.level[d + 1])
        ctx[v] = chain.next[ctx[parent[v]], char[v]]
    out = torch.full((n,), -math.inf, dtype=torch.float64)
    top = min(trie.depth, automaton.max_len)
    for d in range(top, -1, -1):
        a, b = trie.level[d], trie.level[d + 1]
        sv = s[a:b].clamp(min=0)
        after = _after(beta[d + 1], chain, automaton, d, ctx[a:b], sv)     # (N_d, V)
        after[torch.from_numpy(trie.terminal[a:b]), BOUNDARY] = -math.inf   # a training item: not new
        if d < top:
            kids = torch.arange(b, trie.level[d + 2])
            rows = parent[kids] - a
            keep = automaton.allowed[d][sv[rows], char[kids]]
            after[rows, char[kids]] = torch.where(keep, out[kids], -math.inf)
        out[a:b] = torch.where(s[a:b] >= 0, torch.logsumexp(chain.logP[ctx[a:b]] + after, -1), -math.inf)
    return out, ctx


class Exact:
    """Draws from p(item | constraints (, not in the trie)) of one chain; the backward passes are
    done once, on construction."""

    def __init__(self, chain: Chain, automaton: Automaton, trie: Trie | None = None):
        self.chain, self.automaton, self.trie = chain, automaton, trie
        self.beta = backward(chain, automaton)
        self.node_beta = None if trie is None else trie_backward(trie, chain, automaton, self.beta)[0]

    def start(self, prefix: list[int]) -> tuple[int, int, int]:
        """(context, automaton state, trie node or -1) after a prefix."""
        node = -1 if self.trie is None else self.trie.walk(prefix)
        return self.chain.walk(prefix), self.automaton.walk(prefix), node

    def log_z(self, prefix: list[int]) -> float:
        """log p(constraints | prefix)."""
        c, s, u = (torch.tensor([x]) for x in self.start(prefix))
        return float(self.here(len(prefix), c, s, u)[0])

    def here(self, t: int, ctx, state, node) -> torch.Tensor:
        """(B,) log beta of each row (context, automaton state, trie node) after t characters."""
        out = self.beta[t][ctx, state]
        if self.trie is not None:
            on = node >= 0
            out = torch.where(on, self.node_beta[node.clamp(min=0)], out)
        return out

    def after(self, t: int, ctx, state, node) -> torch.Tensor:
        """(B, V) log beta after each next token of each row (0 for an allowed end, -inf for what
        is not allowed or, on the trie, leads to no new item)."""
        after = _after(self.beta[t + 1], self.chain, self.automaton, t, ctx, state)   # (B, V)
        if self.trie is not None:
            after[(node >= 0) & torch.from_numpy(self.trie.terminal)[node.clamp(min=0)], BOUNDARY] = -math.inf
            row, char, kid = self.trie.edges(node)
            after[row, char] = torch.where(self.automaton.allowed[t][state[row], char], self.node_beta[kid], -math.inf)
        return after

    @torch.inference_mode()
    def draw(self, n: int, prefix: list[int], generator=None):
        """n items: (ids (n, max_len), each item's log p, log p(constraints | prefix) (n,))."""
        chain, automaton, trie = self.chain, self.automaton, self.trie
        V, L = chain.logP.size(1), automaton.max_len
        log_z = self.log_z(prefix)
        if log_z == -math.inf:
            raise UsageError("the model gives no probability to any item that meets these constraints "
                             f"({automaton.describe()}{', not in the training file' if trie is not None else ''})")
        c0, s0, u0 = self.start(prefix)
        ctx, state, node = (torch.full((n,), x, dtype=torch.long) for x in (c0, s0, u0))
        out = torch.zeros(n, L, dtype=torch.long)
        out[:, :len(prefix)] = torch.tensor(prefix, dtype=torch.long)
        before = [chain.walk(prefix[:i]) for i in range(len(prefix))]                 # the context before each
        log_p = torch.full((n,), float(sum(chain.logP[c, t] for c, t in zip(before, prefix))), dtype=torch.float64)
        live = torch.ones(n, dtype=torch.bool)
        for t in range(len(prefix), L + 1):
            score = chain.logP[ctx] + self.after(t, ctx, state, node)                   # (n, V)
            noise = torch.empty(n, V, dtype=torch.float64).exponential_(generator=generator)
            c = (score - noise.log()).argmax(-1).masked_fill(~live, BOUNDARY)            # a draw, p proportional to e^score
            log_p += torch.where(live, chain.logP[ctx, c], torch.zeros(n, dtype=torch.float64))
            grow = live & (c != BOUNDARY)
            if t < L:
                out[:, t] = torch.where(grow, c, torch.zeros_like(c))
            if trie is not None:
                node = torch.where(grow, trie.child(node, c), node)
            state = torch.where(grow, automaton.delta_t[state, c], state)
            ctx, live = torch.where(grow, chain.next[ctx, c], ctx), grow
            if not bool(live.any()):
                break
        return out, log_p, torch.full((n,), log_z, dtype=torch.float64)


def exact_samplers(model, automaton: Automaton, tags: list[int] | None, options: dict, trie: Trie | None = None):
    """An Exact per tag (or one), or None where the model has no exact path or it would be too large."""
    S, V = len(automaton.delta), model.config.vocab_size
    if trie is not None and len(trie.parent) * V > LIMIT:
        return None
    found = chains(model, automaton.max_len, tags, options)
    if found is None or found[0].logP.size(0) * S * V > LIMIT:
        return None
    return [Exact(chain, automaton, trie) for chain in found]
