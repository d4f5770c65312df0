"""`--new`: the items of the training file as a trie, so that generation can steer clear of them.

An item is new unless it ends exactly at a node of the trie where a training item ends. Off the
trie (a character no training item continues with), every completion is new. On it, a character
is allowed only if a completion that is new and meets the other constraints is still reachable
from the node it leads to: `Trie.reachable` works that out for every node at once, deepest level
first, without a (nodes x vocabulary) table (a node can reach a new end directly if the end is
allowed and it is not an item, or if more characters are allowed than it has allowed children,
since one of them leaves the trie). Both the trie and the automaton are deterministic, so a node
stands for one string and so for one automaton state: the product of the two has no more states
than the trie has nodes.
"""

from __future__ import annotations

import numpy as np
import torch

from ..data import BOUNDARY


class Trie:
    """Items of token ids as a trie, nodes in breadth-first order (a parent before its children):
    node 0 the empty item, `parent`, `char` (the token leading to it), `terminal` (an item ends
    there) and `level[d]:level[d + 1]` the nodes d characters deep. An edge's key, parent * V +
    char, is sorted along the nodes, so children are found by binary search."""

    def __init__(self, rows: np.ndarray, V: int):
        """rows (N, W): each item's token ids, then zeros (the boundary)."""
        rows = np.asarray(rows, dtype=np.int64)
        N, W = rows.shape
        self.V = V
        node = np.zeros(N, dtype=np.int64)                             # (N,) each item's node so far
        parent, char, level = [np.array([-1])], [np.array([BOUNDARY])], [0, 1]
        for d in range(W):
            going = rows[:, d] != BOUNDARY                             # (N,) items at least d + 1 long
            if not going.any():
                break
            keys, inv = np.unique(node[going] * V + rows[going, d], return_inverse=True)
            node[going] = level[-1] + inv.reshape(-1)
            parent.append(keys // V)
            char.append(keys % V)
            level.append(level[-1] + len(keys))
        self.parent, self.char = np.concatenate(parent), np.concatenate(char)   # (n,)
        self.level = level                                                     # (depth + 2,)
        self.terminal = np.zeros(len(self.parent), dtype=bool)                 # (n,)
        self.terminal[node] = True
        self.key = self.parent[1:] * V + self.char[1:]                         # (n - 1,) node v's at v - 1

    @property
    def depth(self) -> int:
        return len(self.level) - 2

    def child(self, nodes: torch.Tensor, chars: torch.Tensor) -> torch.Tensor:
        """(B,) the node each (node, char) leads to; -1 off the trie (or from -1)."""
        u, c = nodes.numpy(), chars.numpy()
        if len(self.key) == 0:
            return torch.full_like(nodes, -1)
        q = u * self.V + c
        pos = np.searchsorted(self.key, q).clip(max=len(self.key) - 1)
        return torch.from_numpy(np.where((u >= 0) & (self.key[pos] == q), pos + 1, -1))

    def walk(self, tokens: list[int]) -> int:
        """The node of a prefix, -1 if it leaves the trie."""
        u = torch.tensor([0])
        for c in tokens:
            u = self.child(u, torch.tensor([c]))
        return int(u[0])

    def edges(self, nodes: torch.Tensor):
        """The children of a batch of nodes (-1: none), flattened: (the row of each edge, its char,
        the child node)."""
        u = nodes.numpy()
        on = u >= 0
        first = np.where(on, np.searchsorted(self.key, u * self.V), 0)
        last = np.where(on, np.searchsorted(self.key, (u + 1) * self.V), 0)
        count = last - first
        row = np.repeat(np.arange(len(u)), count)                               # (E,)
        start = np.repeat(first - np.cumsum(count) + count, count)
        edge = start + np.arange(count.sum())                                   # (E,) index into key
        return (torch.from_numpy(row), torch.from_numpy(self.char[edge + 1]),
                torch.from_numpy(edge + 1))

    def states(self, delta: np.ndarray, start: int = 0) -> np.ndarray:
        """(n,) the automaton's state at each node (-1 where it has refused the string)."""
        s = np.full(len(self.parent), -1, dtype=np.int64)
        s[0] = start
        for d in range(1, self.depth + 1):
            v = np.arange(self.level[d], self.level[d + 1])
            p = s[self.parent[v]]
            s[v] = np.where(p >= 0, delta[p.clip(min=0), self.char[v]], -1)
        return s

    def reachable(self, automaton) -> np.ndarray:
        """(n,) bool: from each node (at its own depth), an item that is not in the trie and meets
        the automaton's constraints can still be reached (see the module docstring)."""
        allowed = automaton.allowed.numpy()                                     # (L + 1, S, V)
        L = automaton.max_len
        s = self.states(automaton.delta)
        n_allowed = allowed[:, :, 1:].sum(2)                                    # (L + 1, S)
        ok = np.zeros(len(self.parent), dtype=bool)
        for d in range(min(self.depth, L), -1, -1):
            a, b = self.level[d], self.level[d + 1]
            v = np.arange(a, b)
            live, sv = s[v] >= 0, s[v].clip(min=0)
            reach = allowed[d, sv, BOUNDARY] & ~self.terminal[v]
            if d < min(self.depth, L):
                kids = np.arange(b, self.level[d + 2])
                p = self.parent[kids]
                kept = allowed[d, s[p].clip(min=0), self.char[kids]] & (s[p] >= 0)
                n_kept = np.bincount(p - a, weights=kept, minlength=b - a)
                reach |= np.bincount(p - a, weights=kept & ok[kids], minlength=b - a) > 0
            else:
                n_kept = np.zeros(b - a)
            reach |= n_allowed[d, sv] > n_kept                                # a character that leaves the trie
            ok[v] = live & reach
        return ok

    def mask(self, allowed_rows: torch.Tensor, nodes: torch.Tensor, ok: torch.Tensor) -> torch.Tensor:
        """allowed_rows (B, V) narrowed for the rows on the trie (nodes >= 0): not the end where an
        item of the trie ends, and a character only if its child can still reach a new item."""
        out = allowed_rows.clone()
        on = nodes >= 0
        out[on, BOUNDARY] &= ~torch.from_numpy(self.terminal)[nodes[on]]
        row, char, kid = self.edges(nodes)
        out[row, char] &= ok[kid]
        return out


def trie_of(data) -> Trie:
    """The trie of every item of a dataset (all its splits)."""
    from ..data import SPLITS
    rows = np.concatenate([data.split(s).X[:, 1:].numpy() for s in SPLITS])    # (N, max_len)
    return Trie(rows, data.vocab.size)
