"""Every model of the ladder as pure functions of tensors, which is what a graph file can hold:

    init(tags) -> state                          tags (B,) int64 -> the state before the first token
    forward(tokens, *state) -> (logits, *state)  one step: tokens (B,) -> logits (B, V) for the next

`state` is a flat tuple of tensors, batch first, named by `names`. An untagged model takes tags
too (zeros), which only give the batch size. Each stepper computes what the model's own `step`
does (the tests hold them to it), with what a graph cannot carry made explicit:
- a recurrent net's state is h (and c) per layer, as in `step`;
- a window model's state is its window of the last block_size tokens (and the tag);
- a count model is its chain of contexts (constraints/exact.py): the state is a context number, a
  step two table lookups, `next` then `logP` — the tables are the model;
- the bag-of-words model's and the Transformer's position is a tensor (B,), and the Transformer's
  key/value cache grows by one position a step (B, nh, t, hs) instead of being written in place;
- an ensemble steps its members side by side and mixes their distributions as `_mix` does.
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn

from ..errors import UsageError
from ..models.base import WindowModel
from ..models.bow import BoW
from ..models.counts import Bigram, NGram
from ..models.ensemble import Ensemble, TwoWay
from ..models.rnn import Recurrent
from ..models.transformer import Transformer


class Stepper(nn.Module):
    names: list[str]
    growing: list[str] = []       # the state tensors whose dimension 2 grows by one a step (a cache)

    def __init__(self, model):
        super().__init__()
        self.model = model

    def init(self, tags):
        raise NotImplementedError


class RecurrentStepper(Stepper):
    """State: h (and c) of every layer, (B, H) each."""

    def __init__(self, model: Recurrent):
        super().__init__(model)
        self.n_state = model.Cell.n_state
        self.names = [f"{'hc'[s]}{l}" for l in range(model.config.n_layer) for s in range(self.n_state)]

    def init(self, tags):
        layers = self.model.start_states(tags.shape[0], tags if self.model.config.n_tags else None, tags.device)
        return tuple(t for layer in layers for t in layer)

    def forward(self, tokens, *state):
        S = self.n_state
        logits, new = self.model.step(tokens, [tuple(state[i:i + S]) for i in range(0, len(state), S)])
        return (logits, *[t for layer in new for t in layer])


class WindowStepper(Stepper):
    """State: the window (B, block_size) of the last tokens, and the tag (B,) of a tagged model."""

    def __init__(self, model: WindowModel):
        super().__init__(model)
        self.names = ["window"] + (["tag"] if model.config.n_tags else [])

    def init(self, tags):
        window = torch.zeros_like(tags)[:, None].expand(-1, self.model.block_size)   # (B, block_size)
        return (window, tags) if self.model.config.n_tags else (window,)

    def forward(self, tokens, window, *tag):
        logits, state = self.model.step(tokens, (window, tag[0]) if tag else window)
        return (logits, *(state if tag else (state,)))


class ChainStepper(Stepper):
    """A count model as lookup tables: state the context (B,), a number into `logP` (C, V) and
    `next` (C, V); a tagged model has one chain per tag, stacked."""
    names = ["context"]

    def __init__(self, model):
        super().__init__(model)
        from ..constraints.exact import chains
        n_tags = model.config.n_tags
        found = chains(model, model.config.seq_len, list(range(n_tags)) if n_tags else None, {})
        if found is None:
            raise UsageError(f"this {model.config.n}-gram has too many contexts to export as lookup tables")
        C = found[0].next.size(0)
        self.register_buffer("logP", torch.cat([c.logP.float() for c in found]))               # (tags*C, V)
        self.register_buffer("next", torch.cat([c.next + k * C for k, c in enumerate(found)]))  # (tags*C, V)
        self.register_buffer("start", torch.tensor([c.start + k * C for k, c in enumerate(found)]))  # (tags,)

    def init(self, tags):
        return (self.start[tags],)                                                   # (B,)

    def forward(self, tokens, context):
        context = self.next[context, tokens]                                         # (B,)
        return self.logP[context], context                                           # (B, V), (B,)


class BoWStepper(Stepper):
    """State: the running sum of the inputs (B, C), the position (B,) and the tag's vector (B, C)."""

    def __init__(self, model: BoW):
        super().__init__(model)
        self.names = ["sum", "t"] + (["tag"] if model.config.n_tags else [])

    def init(self, tags):
        m = self.model
        total = m.wte.weight.new_zeros(1, m.config.n_embd).expand(tags.shape[0], -1)  # (B, C)
        state = (total, torch.zeros_like(tags))
        return state + (m.wtag[tags],) if m.config.n_tags else state

    def forward(self, tokens, total, t, *tag):
        m = self.model
        x = m.wte(tokens) + m.wpe(t)                                                 # (B, C)
        if tag:
            x = x + tag[0]
        total = total + x
        return (m._head(x, total / (t + 1)[:, None].to(x.dtype)), total, t + 1, *tag)


class TransformerStepper(Stepper):
    """State: the position t (B,), the keys and values of every layer so far (B, nh, t, hs) each,
    and the tag's vector (B, 1, C)."""

    def __init__(self, model: Transformer):
        super().__init__(model)
        self.growing = [f"{kv}{l}" for l in range(model.config.n_layer) for kv in "kv"]
        self.names = ["t", *self.growing] + (["tag"] if model.config.n_tags else [])

    def init(self, tags):
        c = self.model.config
        B = tags.shape[0]
        empty = self.model.wte.weight.new_zeros(1, c.n_head, 0, c.n_embd // c.n_head).expand(B, -1, -1, -1)
        state = (torch.zeros_like(tags),) + (empty,) * (2 * c.n_layer)
        return state + (self.model.wtag[tags][:, None],) if c.n_tags else state

    def forward(self, tokens, t, *rest):
        m = self.model
        L = m.config.n_layer
        caches, tag = rest[:2 * L], rest[2 * L:]
        x = (m.wte(tokens) + m.wpe(t))[:, None]                                      # (B, 1, C)
        if tag:
            x = x + tag[0]
        rot = None
        if m.config.rope:
            rot = m.rope_cos[t][:, None, None, None], m.rope_sin[t][:, None, None, None]   # (B, 1, 1, 1, hs/2)
        new = []
        for l, block in enumerate(m.blocks):
            attn = block.attn
            q, k, v = attn.heads(block.ln_1(x), rot)                                 # (B, nh, 1, hs)
            K = torch.cat([caches[2 * l], k], dim=2)                                 # (B, nh, t+1, hs)
            V = torch.cat([caches[2 * l + 1], v], dim=2)
            att = (q @ K.transpose(-2, -1)) / math.sqrt(q.size(-1))                  # (B, nh, 1, t+1)
            x = x + attn.merge(att.softmax(-1) @ V)                                  # (B, 1, C)
            x = x + block.mlp(block.ln_2(x))
            new += [K, V]
        logits = m.lm_head(m.ln_f(x))[:, 0]                                          # (B, V)
        return (logits, t + 1, *new, *tag)


class EnsembleStepper(Stepper):
    """The members' states side by side (each name prefixed m0., m1., ...); the step mixes their
    distributions as the ensemble does."""

    def __init__(self, model: Ensemble):
        super().__init__(model)
        self.members = nn.ModuleList(stepper(m) for m in model.members)
        self.names = [f"m{i}.{n}" for i, s in enumerate(self.members) for n in s.names]
        self.growing = [f"m{i}.{n}" for i, s in enumerate(self.members) for n in s.growing]

    def init(self, tags):
        return tuple(t for s in self.members for t in s.init(tags))

    def forward(self, tokens, *state):
        logits, new, at = [], [], 0
        for s in self.members:
            out = s(tokens, *state[at:at + len(s.names)])
            at += len(s.names)
            logits.append(out[0])
            new += out[1:]
        return (self.model._mix(logits), *new)


def stepper(model) -> Stepper:
    """The stepper of a model (a one-line refusal for what has no next-character step)."""
    if isinstance(model, TwoWay):
        raise UsageError("a mixture of both reading directions has no next-character distribution to export; "
                         "export each direction's run instead")
    for kind, make in ((Ensemble, EnsembleStepper), ((Bigram, NGram), ChainStepper), (Recurrent, RecurrentStepper),
                       (BoW, BoWStepper), (Transformer, TransformerStepper), (WindowModel, WindowStepper)):
        if isinstance(model, kind):
            return make(model)
    raise UsageError(f"no export for a {type(model).__name__}")


def has_forward(model) -> bool:
    """Whether the model's full forward is a graph: not for count models (searched tables; their
    chain steps score items instead) nor ensembles holding one."""
    if isinstance(model, Ensemble):
        return all(has_forward(m) for m in model.members)
    return not isinstance(model, (Bigram, NGram))


class Init(nn.Module):
    """A stepper's init as a module of its own (one graph)."""

    def __init__(self, s: Stepper):
        super().__init__()
        self.s = s

    def forward(self, tags):
        return self.s.init(tags)


class Step(nn.Module):
    """A stepper's step with one signature for every model: tokens, then the state's tensors."""

    def __init__(self, s: Stepper):
        super().__init__()
        self.s = s

    def forward(self, tokens, *state):
        return self.s(tokens, *state)


class Forward(nn.Module):
    """The full forward: idx (B, T) (and tags (B,)) -> logits (B, T, V)."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, idx, tags):
        return self.model(idx, tags=tags if self.model.config.n_tags else None)[0]
