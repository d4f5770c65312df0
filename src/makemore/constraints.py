"""Constrained generation: items that end in a suffix, hold or avoid substrings and have a length
in bounds, every one satisfied by construction, drawn from the model's own distribution
conditioned on the constraint, p(item | constraint), not a distortion of it.

    Automaton(vocab, max_len, suffix="son", contains=["k"], excludes=["q"], min_len=5, max_len=8,
              regex="[a-z]+(son|sen)")

All the controls compile into one deterministic automaton over the vocabulary's tokens: a
Knuth-Morris-Pratt matcher per substring (a suffix, each contained and each excluded one) and the
regular expression's own automaton (the whole item must match; compiled by `interegular`), run
side by side (their product, built breadth first from the start, so only reachable states exist).
`allowed[t, s]` is the set of tokens (the end included, at index 0) that keep an accepting end
reachable from state s after t characters, within the length bounds; a constraint no item can
meet is an error before any sampling.

The bigram's items are drawn exactly from p(item | constraint) (`exact_bigram`): a backward pass
over (previous character, automaton state, characters so far) gives, for every choice of the next
character, the probability that an item continuing with it meets the constraints, and each
character is drawn with its own probability times that one.

Masking alone is not sampling from p(item | constraint): it keeps, at each step, only the allowed
characters, but renormalizing them favours whatever reaches the constraint soonest. Sequential
Monte Carlo corrects that (`smc`): each item is drawn by P particles, each proposed from the
masked distribution and weighted by the mass the mask kept; when the weights degenerate (their
effective number below P/2) the particles are resampled; at the end one particle is picked by
its weight. As P grows, the items' distribution tends to p(item | constraint) (Naesseth,
Lindsten & Schön 2019, "Elements of Sequential Monte Carlo"; Lew et al. 2023, "Sequential Monte
Carlo Steering of Large Language Models using Probabilistic Programs"), and the mean weight
estimates the probability that an item of the model meets the constraint.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from .data import BOUNDARY, Vocab
from .errors import UsageError, first_line
from .models.counts import Bigram

MAX_STATES = 100_000      # product states at most (many long patterns multiply)


def kmp_table(pattern: list[int], V: int) -> np.ndarray:
    """(m + 1, V) the next matched length after each token, for a pattern of m token ids: the
    longest prefix of the pattern that is a suffix of what was read (Knuth, Morris & Pratt 1977)."""
    m = len(pattern)
    table = np.zeros((m + 1, V), dtype=np.int64)
    fail = 0                                       # the state the pattern's own prefix leads to
    for j in range(m + 1):
        if j < m:
            table[j] = table[fail] if j > 0 else 0
            table[j, pattern[j]] = j + 1
            if j > 0:
                fail = table[fail, pattern[j]]
        else:
            table[j] = table[fail]
    return table


def regex_table(pattern: str, vocab: Vocab):
    """(the initial state, the accepting states, (states, V) next state or -1) of the automaton
    interegular compiles a regular expression into, over the vocabulary's tokens (the end: 0)."""
    try:
        import interegular
        fsm = interegular.parse_pattern(pattern).to_fsm()
    except ImportError:
        raise UsageError("--regex needs the interegular package: pip install interegular") from None
    except Exception as e:                          # what it cannot compile: back-references, some groups
        raise UsageError(f"--regex {pattern!r}: cannot be compiled to an automaton ({first_line(e, 100)})") from None
    states = sorted(fsm.states)
    index = {s: i for i, s in enumerate(states)}
    table = np.full((len(states), vocab.size), -1, dtype=np.int64)
    other = fsm.alphabet[interegular.fsm.anything_else] if interegular.fsm.anything_else in fsm.alphabet else None
    for s in states:
        moves = fsm.map.get(s, {})
        for c, ch in enumerate(vocab.chars, 1):
            symbol = fsm.alphabet[ch] if ch in fsm.alphabet else other
            if symbol in moves:
                table[index[s], c] = index[moves[symbol]]
    return index[fsm.initial], {index[s] for s in fsm.finals}, table


class Automaton:
    """The constraints on whole items as one automaton over token ids (see the module docstring).
    State 0 is the start; `delta` (S, V) the next state (-1: never allowed), `accept` (S,) whether
    an item may end there, `allowed` (max_len + 1, S, V) bool what may come next after t characters."""

    def __init__(self, vocab: Vocab, model_max_len: int, suffix: str = "", contains=(), excludes=(),
                 min_len: int = 0, max_len: int | None = None, regex: str = ""):
        max_len = model_max_len if max_len is None else max_len
        if min_len < 0 or max_len < 1:
            raise UsageError(f"--min-len must be >= 0 and --max-len >= 1, got {min_len} and {max_len}")
        if min_len > max_len:
            raise UsageError(f"--min-len {min_len} is above --max-len {max_len}: no item can meet both")
        if max_len > model_max_len:
            raise UsageError(f"--max-len {max_len}: the model's items are at most {model_max_len} characters")
        self.vocab, self.min_len, self.max_len = vocab, min_len, max_len
        parts = [("suffix", suffix)] if suffix else []
        parts += [("contains", s) for s in contains] + [("excludes", s) for s in excludes]
        for kind, s in parts:
            if not s:
                raise UsageError(f"--{kind}: an empty string")
            unknown = vocab.unknown_chars([s])
            if unknown:
                raise UsageError(f"--{kind} {s!r}: character {unknown[0]!r} is not in the model's vocabulary, "
                                 "so no item of it can meet this")
        self.strings = parts
        self.parts = [(kind, len(s), kmp_table(vocab.encode(s), vocab.size)) for kind, s in parts]
        self.start = tuple(0 for _ in self.parts)
        if regex:
            initial, finals, table = regex_table(regex, vocab)
            self.strings.append(("regex", regex))
            self.parts.append(("regex", finals, table))
            self.start += (initial,)
        self._build()
        self._reachability()

    def _next(self, state: tuple, c: int):
        out = []
        for (kind, m, table), j in zip(self.parts, state):
            if kind == "regex":
                j = int(table[j, c])
                if j < 0:
                    return None                                      # the pattern cannot match any more
                out.append(j)
                continue
            if kind == "contains" and j == m:
                out.append(m)                                        # found once: found for good
                continue
            j = int(table[j, c])
            if kind == "excludes" and j == m:
                return None                                          # the excluded string appeared
            out.append(j)
        return tuple(out)

    def _build(self):
        V = self.vocab.size
        start = self.start
        index, order, rows = {start: 0}, [start], []
        while len(rows) < len(order):
            state = order[len(rows)]
            row = np.full(V, -1, dtype=np.int64)
            for c in range(1, V):
                nxt = self._next(state, c)
                if nxt is None:
                    continue
                if nxt not in index:
                    if len(index) >= MAX_STATES:
                        raise UsageError(f"the constraints need more than {MAX_STATES:,} automaton states; use fewer or shorter strings")
                    index[nxt] = len(order)
                    order.append(nxt)
                row[c] = index[nxt]
            rows.append(row)
        self.delta = np.stack(rows)                                               # (S, V)
        self.accept = np.array([all((j in m) if kind == "regex" else j == m
                                    for (kind, m, _), j in zip(self.parts, s) if kind != "excludes")
                                for s in order])                                  # (S,)

    def _reachability(self):
        """allowed[t, s, c]: after t characters in state s, token c keeps an accepting end within
        the length bounds reachable (c = 0, the end: s accepts and t >= min_len)."""
        S, L = len(self.delta), self.max_len
        reach = np.zeros((L + 1, S), dtype=bool)                                  # an accepting end in exactly k more
        reach[0] = self.accept
        valid = self.delta >= 0
        for k in range(1, L + 1):
            reach[k] = (reach[k - 1][np.where(valid, self.delta, 0)] & valid).any(1)
        allowed = np.zeros((L + 1, S, self.vocab.size), dtype=bool)
        for t in range(L + 1):
            lo, hi = max(0, self.min_len - t - 1), L - t - 1                      # more characters after the next one
            if hi >= lo:
                window = reach[lo:hi + 1].any(0)                                  # (S,)
                allowed[t] = window[np.where(valid, self.delta, 0)] & valid
            allowed[t, :, BOUNDARY] = self.accept & (t >= self.min_len)
        if not any(reach[k, 0] for k in range(self.min_len, L + 1)):
            raise UsageError("no item can meet these constraints together (" + self.describe() + ")")
        self.allowed = torch.from_numpy(allowed)                                  # (L + 1, S, V)
        self.delta_t = torch.from_numpy(self.delta)

    def describe(self) -> str:
        parts = [f"--{kind} {s!r}" for kind, s in self.strings]
        return ", ".join(parts + [f"length {self.min_len} to {self.max_len}"])

    def walk(self, tokens: list[int]) -> int:
        """The state after a prefix; one that leaves no way to meet the constraints is an error."""
        s = 0
        for t, c in enumerate(tokens):
            if not bool(self.allowed[t, s, c]):
                raise UsageError(f"--prefix: no item that starts with it can meet the constraints ({self.describe()})")
            s = int(self.delta[s, c])
        return s

    def satisfied(self, item: str) -> bool:
        """Whether an item meets every constraint (for checks)."""
        s = 0
        for c in self.vocab.encode(item):
            s = int(self.delta[s, c])
            if s < 0:
                return False
        return bool(self.accept[s]) and self.min_len <= len(item) <= self.max_len


@torch.inference_mode()
def smc(model, automaton: Automaton, n: int, particles: int = 64, prefix: list[int] = (), temperature: float = 1.0,
        top_k: int | None = None, top_p: float | None = None, generator: torch.Generator | None = None,
        device="cpu", tags: torch.Tensor | None = None):
    """n items that meet the automaton's constraints, each drawn by `particles` particles of
    sequential Monte Carlo. Returns (ids (n, max_len), each item's log-probability under the model
    (with the same temperature and filters), each item's estimate of log p(constraint))."""
    from .sampling import filter_logits
    P, L, V = particles, automaton.max_len, model.config.vocab_size
    B = n * P
    model.eval()
    rows_tags = None if tags is None else tags.repeat_interleave(P).to(device)
    state = model.init_state(B, device) if rows_tags is None else model.init_state(B, device, tags=rows_tags)
    tokens = torch.full((B,), BOUNDARY, dtype=torch.long, device=device)
    auto = torch.full((B,), automaton.walk(list(prefix)), dtype=torch.long)  # (B,) automaton states
    log_p = torch.zeros(B, dtype=torch.float64)                           # (B,) log p of the item so far
    for tok in prefix:                                                    # the boundary, then the prefix
        logits, state = model.step(tokens, state)
        log_p += F.log_softmax(filter_logits(logits.float(), temperature, top_k, top_p), -1)[:, tok].double().cpu()
        tokens = torch.full_like(tokens, tok)
    out = torch.zeros(B, L, dtype=torch.long)
    out[:, :len(prefix)] = torch.tensor(list(prefix), dtype=torch.long)
    log_w = torch.zeros(B, dtype=torch.float64)                           # (B,) log weights
    live = torch.ones(B, dtype=torch.bool)
    for t in range(len(prefix), L + 1):
        logits, state = model.step(tokens, state)                         # (B, V)
        logp = F.log_softmax(filter_logits(logits.float(), temperature, top_k, top_p), -1).double().cpu()
        mask = automaton.allowed[t][auto]                                 # (B, V)
        kept = torch.logsumexp(logp.masked_fill(~mask, -math.inf), -1)    # (B,) log of the mass the mask kept
        q = (logp - kept[:, None]).masked_fill(~mask, -math.inf).exp()   # (B, V) the proposal
        noise = torch.empty(B, V, dtype=torch.float64).exponential_(generator=generator)
        nxt = (q / noise).argmax(-1)                                      # (B,) a draw from q
        nxt = nxt.masked_fill(~live, BOUNDARY)
        log_w += torch.where(live, kept, torch.zeros_like(kept))
        log_p += torch.where(live, logp.gather(1, nxt[:, None])[:, 0], torch.zeros_like(kept))
        grow = live & (nxt != BOUNDARY)
        if t < L:
            out[:, t] = torch.where(grow, nxt, torch.zeros_like(nxt))
        auto = torch.where(grow, automaton.delta_t[auto, nxt], auto)
        live = grow
        tokens = nxt.to(device)
        if not bool(live.any()):
            break
        resampled = _resample(log_w.view(n, P), generator)                # ((n, P), (n,)) or None
        if resampled is not None:
            idx, low = resampled
            rows = (idx + torch.arange(n)[:, None] * P).flatten()         # (B,)
            state = model.select_rows(state, rows.to(device))
            tokens, auto, live, out, log_p = tokens[rows.to(device)], auto[rows], live[rows], out[rows], log_p[rows]
            w = log_w.view(n, P)                                          # a resampled group's particles: its mean weight
            mean = torch.logsumexp(w, 1, keepdim=True) - math.log(P)
            log_w = torch.where(low[:, None], mean.expand(n, P), w[torch.arange(n)[:, None], idx]).flatten()
    pick = torch.multinomial(torch.softmax(log_w.view(n, P), 1).float(), 1, generator=generator)[:, 0]   # (n,)
    chosen = torch.arange(n) * P + pick
    estimate = torch.logsumexp(log_w.view(n, P), 1) - math.log(P)        # (n,) log p(constraint)
    return out[chosen], log_p[chosen], estimate


@torch.inference_mode()
def exact_bigram(model, automaton: Automaton, n: int, prefix: list[int] = (), temperature: float = 1.0,
                 top_k: int | None = None, top_p: float | None = None, generator: torch.Generator | None = None,
                 tags: torch.Tensor | None = None):
    """smc's answer for a bigram table, exactly: each item drawn from p(item | constraints), its log
    p and the exact log p(constraints | prefix). Tagged: each item under its own tag's table."""
    from .sampling import filter_logits
    out = torch.zeros(n, automaton.max_len, dtype=torch.long)
    log_p, log_z = torch.zeros(n, dtype=torch.float64), torch.zeros(n, dtype=torch.float64)
    groups = torch.zeros(n, dtype=torch.long) if tags is None else tags.long()
    for k in groups.unique().tolist():
        rows = (groups == k).nonzero().squeeze(1)
        table = model.logp if tags is None else model.tag_logp[k]                    # (V, V) log P[prev, next]
        logP = F.log_softmax(filter_logits(table.float().cpu(), temperature, top_k, top_p), -1).double()
        ids, lp, z = _exact_rows(logP, automaton, len(rows), list(prefix), generator)
        out[rows], log_p[rows], log_z[rows] = ids, lp, z
    return out, log_p, log_z


def _backward(logP: torch.Tensor, automaton: Automaton) -> list[torch.Tensor]:
    """log beta[t] (V, S): after t characters, the last one c (the boundary before any) and the
    automaton in state s, the log-probability that the item goes on to meet the constraints."""
    V, S, L = logP.size(0), len(automaton.delta), automaton.max_len
    delta = automaton.delta_t.clamp(min=0)                                           # (S, V)
    beta = [None] * (L + 2)
    beta[L + 1] = torch.full((V, S), -math.inf, dtype=torch.float64)
    for t in range(L, -1, -1):
        after = beta[t + 1][torch.arange(V)[None, :], delta]                        # (S, V) log beta[t+1][c', delta[s, c']]
        after[:, BOUNDARY] = 0.0                                                     # ending here: nothing more to meet
        after = after.masked_fill(~automaton.allowed[t], -math.inf)                  # (S, V)
        beta[t] = torch.logsumexp(logP[:, None, :] + after[None], -1)               # (V, S)
    return beta


def _exact_rows(logP, automaton: Automaton, n: int, prefix: list[int], generator):
    beta = _backward(logP, automaton)
    V, L = logP.size(0), automaton.max_len
    s0 = automaton.walk(prefix)
    prev = torch.full((n,), prefix[-1] if prefix else BOUNDARY, dtype=torch.long)
    state = torch.full((n,), s0, dtype=torch.long)
    out = torch.zeros(n, L, dtype=torch.long)
    out[:, :len(prefix)] = torch.tensor(prefix, dtype=torch.long)
    ids = [BOUNDARY] + prefix
    log_p = torch.full((n,), float(sum(logP[a, b] for a, b in zip(ids[:-1], ids[1:]))), dtype=torch.float64)
    log_z = beta[len(prefix)][prev, state].clone()                                   # (n,) log p(constraints | prefix)
    live = torch.ones(n, dtype=torch.bool)
    for t in range(len(prefix), L + 1):
        nxt_beta = beta[t + 1][torch.arange(V)[None, :], automaton.delta_t.clamp(min=0)[state]]   # (n, V)
        nxt_beta[:, BOUNDARY] = 0.0
        score = logP[prev] + nxt_beta.masked_fill(~automaton.allowed[t][state], -math.inf)        # (n, V)
        noise = torch.empty(n, V, dtype=torch.float64).exponential_(generator=generator)
        c = (score - noise.log()).argmax(-1)                                        # a draw, p proportional to e^score
        c = c.masked_fill(~live, BOUNDARY)
        log_p += torch.where(live, logP[prev, c], torch.zeros(n, dtype=torch.float64))
        grow = live & (c != BOUNDARY)
        if t < L:
            out[:, t] = torch.where(grow, c, torch.zeros_like(c))
        state = torch.where(grow, automaton.delta_t[state, c], state)
        prev, live = torch.where(grow, c, prev), grow
        if not bool(live.any()):
            break
    return out, log_p, log_z


PARTICLES = 256      # particles per item by default (docs/usage.md: how many it takes)


def sample_constrained(model, vocab: Vocab, n: int, automaton: Automaton, tag_weights: torch.Tensor | None = None,
                       prefix: str = "", seed: int | None = None, particles: int = PARTICLES, device="cpu",
                       **options) -> list[dict]:
    """n items meeting the automaton's constraints, each {"item", "tag" (an index, or None), "logp"
    (its log-probability under the model), "p_constraint" (its particles' estimate of the share of
    the model's items that meet the constraints, among those that start with the prefix), "exact"
    (True for a bigram: drawn and estimated exactly)}. tag_weights (K,): each item's tag drawn from it
    first, as sample_tagged does. options: temperature, top_k, top_p."""
    from .models.ensemble import TwoWay
    from .sampling import check_count, check_sampling_options
    check_count("-n", n, 1)
    check_count("--particles", particles, 1, 100_000)
    check_sampling_options(options.get("temperature", 1.0), options.get("top_k"), options.get("top_p"))
    if isinstance(model, TwoWay):
        raise UsageError("constraints: this mixture reads items in both directions, so it has no next character "
                         "to constrain; sample from its left-to-right members instead")
    unknown = vocab.unknown_chars([prefix])
    if unknown:
        raise UsageError(f"--prefix {prefix!r}: character {unknown[0]!r} is not in the model's vocabulary")
    prefix_ids = vocab.encode(prefix) if prefix else []
    generator = torch.Generator().manual_seed(seed) if seed is not None else None
    tags = None if tag_weights is None else torch.multinomial(tag_weights, n, replacement=True, generator=generator)
    out, step = [], max(1, 4096 // particles)                       # at most 4,096 particles stepped together
    for a in range(0, n, step):
        b = min(n, a + step)
        part = None if tags is None else tags[a:b]
        exact = isinstance(model, Bigram)
        if exact:                                                     # a count table: exactly
            ids, logp, est = exact_bigram(model, automaton, b - a, prefix_ids, generator=generator, tags=part,
                                          **options)
        else:
            ids, logp, est = smc(model, automaton, b - a, particles, prefix_ids, generator=generator, device=device,
                                 tags=part, **options)
        for k, row in enumerate(ids.tolist()):
            item = vocab.decode(row[:row.index(BOUNDARY)] if BOUNDARY in row else row)
            out.append({"item": item, "tag": None if tags is None else int(tags[a + k]), "logp": logp[k].item(),
                        "p_constraint": math.exp(est[k].item()), "exact": exact})
    return out


CONSTRAINTS = ("suffix", "contains", "excludes", "min_len", "max_len", "regex")


def sample_under(model, vocab: Vocab, model_max_len: int, n: int, constraints: dict, tag_weights=None,
                 particles: int | None = None, unique: bool = False, read=lambda text: text, **options) -> list[dict]:
    """sample_constrained with the constraints as a dict of CONSTRAINTS ("contains" and "excludes"
    lists of strings), each string first read as the model reads text (`read`, e.g. to NFC);
    unique: drawn again until n distinct items (or 50 draws)."""
    for k in constraints:
        if k not in CONSTRAINTS:
            raise UsageError(f"constraints: unknown {k!r}; choose among {', '.join(CONSTRAINTS)}")
    c = {"suffix": read(constraints.get("suffix") or ""), "contains": [read(s) for s in constraints.get("contains") or ()],
         "excludes": [read(s) for s in constraints.get("excludes") or ()], "min_len": constraints.get("min_len") or 0,
         "max_len": constraints.get("max_len"), "regex": constraints.get("regex") or ""}
    automaton = Automaton(vocab, model_max_len, **c)
    drawn, seen = [], set()
    for _ in range(50 if unique else 1):
        for d in sample_constrained(model, vocab, n - len(drawn), automaton, tag_weights,
                                    particles=particles or PARTICLES, **options):
            if not unique or d["item"] not in seen:
                seen.add(d["item"])
                drawn.append(d)
        if len(drawn) >= n:
            break
        options["seed"] = None if options.get("seed") is None else options["seed"] + 1
    return drawn


def _resample(log_w: torch.Tensor, generator):
    """(n, P) log weights -> (the particles each group keeps (n, P), which groups were resampled
    (n,)): multinomially, for the groups whose effective sample size is below P/2 (the others keep
    their own, in order, and their weights); None if none is."""
    n, P = log_w.shape
    w = torch.softmax(log_w, 1)                                           # (n, P)
    ess = 1.0 / (w * w).sum(1)                                            # (n,)
    low = ess < P / 2
    if not bool(low.any()):
        return None
    idx = torch.arange(P).expand(n, P).clone()
    idx[low] = torch.multinomial(w[low].float(), P, replacement=True, generator=generator)
    return idx, low
