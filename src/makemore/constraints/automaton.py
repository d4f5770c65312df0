"""The constraints on whole items as one automaton over the vocabulary's tokens.

    Automaton(vocab, max_len, suffix="son", contains=["k"], excludes=["q"], min_len=5, max_len=8,
              regex="[a-z]+(son|sen)")

All the controls compile into one deterministic automaton over the vocabulary's tokens: a
Knuth-Morris-Pratt matcher per substring (a suffix, each contained and each excluded one) and the
regular expression's own automaton (the whole item must match; compiled by `interegular`), run
side by side (their product, built breadth first from the start, so only reachable states exist).
`allowed[t, s]` is the set of tokens (the end included, at index 0) that keep an accepting end
reachable from state s after t characters, within the length bounds; a constraint no item can
meet is an error before any sampling.
"""

from __future__ import annotations

import numpy as np
import torch

from ..data import BOUNDARY, Vocab
from ..errors import UsageError, first_line

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
        for c, token in enumerate(vocab.chars, 1):             # a grapheme cluster: its code points in turn
            at = s
            for ch in token:
                symbol = fsm.alphabet[ch] if ch in fsm.alphabet else other
                at = fsm.map.get(at, {}).get(symbol)
                if at is None:
                    break
            if at is not None:
                table[index[s], c] = index[at]
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
        self.parts = [(kind, vocab.length(s), kmp_table(vocab.encode(s), vocab.size)) for kind, s in parts]
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
        return bool(self.accept[s]) and self.min_len <= self.vocab.length(item) <= self.max_len
