"""Recurrent language models over the item, one character at a time, with a learned start state:
- RNN: the vanilla recurrent net of Mikolov et al. (2010), "Recurrent neural network based language model"
- GRU: the gated recurrent unit of Cho et al. (2014), "Learning Phrase Representations using RNN Encoder-Decoder"
- LSTM: Hochreiter & Schmidhuber (1997), with the forget gate, as used by Graves (2013), "Generating
  Sequences With Recurrent Neural Networks"
The cells are written out gate by gate; the input's share of every gate is computed for all time
steps in one matmul before the loop, which then only adds the recurrent part. Dropout (`--dropout`)
acts on the non-recurrent connections only, as in Zaremba et al. (2014), "Recurrent Neural Network
Regularization": on the embeddings, between layers and before the head, never on h -> h.

The AWD-LSTM regularizers of Merity, Keskar & Socher (2017), "Regularizing and Optimizing LSTM
Language Models", are options too, each off at 0 (the model is then the one above, bit for bit):
- `weight_drop`: DropConnect (Wan et al. 2013) on the recurrent matrix W_h, one mask per forward,
  shared by every time step and every row of the batch, so the recurrence itself is regularized
  while the loop stays a plain matmul per step;
- `locked_in`, `locked_hidden`, `locked_out`: variational dropout (Gal & Ghahramani 2016, "A
  Theoretically Grounded Application of Dropout in Recurrent Neural Networks"): one mask per item,
  the same at every time step, on the embeddings, between layers and before the head;
- `ar`, `tar`: activation regularization, ar * mean(h^2) of the last layer's (dropped) output, and
  temporal activation regularization, tar * mean((h_t+1 - h_t)^2) of its output before dropout,
  both over the positions that have a target. They are added to the training loss (`loss`) only;
  the evaluated NLL is the cross-entropy alone.

Tagged items: each tag has its own start state, a learned offset (per layer, of h and of the LSTM's
c) added to the shared one, so the item is read from the first character on by a net set for its
kind, and the step itself is unchanged (docs/design.md compares this with adding the tag to
every input).

The incremental path (`step`, for sampling) computes the same cells, faster on a CPU, equal to the
forward up to float rounding: the first layer's input share depends on the character alone, so it
is one (V, gates*H) table x2h(wte) looked up per row instead of a matmul over the batch; the table
row and the recurrent matmul are added inside one addmm; and tanh is computed as 2 sigmoid(2x) - 1
(torch.tanh is several times slower than torch.sigmoid on CPUs). Training keeps the plain form.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..errors import UsageError
from .base import SequenceModel, check_fraction, check_positive, check_tags, option, sequence_loss, soft_loss, tag_table


def tanh_by_sigmoid(x):
    """tanh(x) = 2 sigmoid(2x) - 1, equal up to float rounding; several times faster than torch.tanh
    on a CPU."""
    return 2 * torch.sigmoid(2 * x) - 1


class RNNCell(nn.Module):
    """h' = tanh(x W_x + h W_h + b)

    step(xw, state, fast, w_hh, gates): xw is the input's share x W_x + b (B, gates*H); fast (the
    incremental path) computes the same up to float rounding, in fewer and cheaper operations;
    gates, a dict, receives each gate's activations (B, H) by name (what the web page draws)."""
    gates = 1
    n_state = 1             # the state is (h,)

    def __init__(self, n_in, n_hidden):
        super().__init__()
        self.x2h = nn.Linear(n_in, self.gates * n_hidden)              # input part, with the bias
        self.h2h = nn.Linear(n_hidden, self.gates * n_hidden, bias=False)

    def recurrent(self, xw, h, fast=False, w_hh=None):
        """xw + h W_h (B, gates*H); fast: in one addmm; w_hh: W_h with DropConnect applied."""
        if w_hh is not None:
            return xw + F.linear(h, w_hh)
        return torch.addmm(xw, h, self.h2h.weight.T) if fast else xw + self.h2h(h)

    def step(self, xw, state, fast=False, w_hh=None, gates=None):
        (h,) = state                                                     # (B, H)
        tanh = tanh_by_sigmoid if fast else torch.tanh
        return (tanh(self.recurrent(xw, h, fast, w_hh)),)                # no gates


class GRUCell(RNNCell):
    """r = σ(x W_xr + h W_hr), z = σ(x W_xz + h W_hz), n = tanh(x W_xn + r ⊙ (h W_hn + b_hn)),
    h' = (1 - z) ⊙ n + z ⊙ h"""
    gates = 3

    def __init__(self, n_in, n_hidden):
        super().__init__(n_in, n_hidden)
        self.h2h = nn.Linear(n_hidden, 3 * n_hidden)                     # b_hn sits inside the reset gate

    def step(self, xw, state, fast=False, w_hh=None, gates=None):
        (h,) = state                                                     # (B, H)
        tanh = tanh_by_sigmoid if fast else torch.tanh
        xr, xz, xn = xw.chunk(3, dim=-1)                                 # 3 x (B, H)
        hw = self.h2h(h) if w_hh is None else F.linear(h, w_hh, self.h2h.bias)
        hr, hz, hn = hw.chunk(3, dim=-1)                                 # 3 x (B, H)
        r = torch.sigmoid(xr + hr)
        z = torch.sigmoid(xz + hz)
        n = tanh(xn + r * hn)
        if gates is not None:
            gates.update(reset=r, update=z, candidate=n)
        return ((1 - z) * n + z * h,)


class LSTMCell(RNNCell):
    """i, f, g, o = σ, σ, tanh, σ of (x W_x + h W_h + b); c' = f ⊙ c + i ⊙ g; h' = o ⊙ tanh(c')"""
    gates = 4
    n_state = 2             # the state is (h, c)

    def step(self, xw, state, fast=False, w_hh=None, gates=None):
        h, c = state                                                     # (B, H), (B, H)
        tanh = tanh_by_sigmoid if fast else torch.tanh
        i, f, g, o = self.recurrent(xw, h, fast, w_hh).chunk(4, dim=-1)  # 4 x (B, H)
        i, f, g, o = torch.sigmoid(i), torch.sigmoid(f), tanh(g), torch.sigmoid(o)
        if gates is not None:
            gates.update(input=i, forget=f, cell=g, output=o)
        c = f * c + i * g
        h = o * tanh(c)
        return (h, c)


@dataclass
class RecurrentConfig:
    vocab_size: int = 0
    seq_len: int = 0
    n_embd: int = 64        # character embedding size
    n_hidden: int = 256     # hidden state size
    n_layer: int = 1        # stacked recurrent layers
    dropout: float = option(0.0, "dropout probability (recurrent nets: on inputs, between layers and before "
                            "the head, not on the recurrence)")
    weight_drop: float = option(0.0, "recurrent nets: DropConnect probability on the recurrent weights h -> h, "
                                "one mask per batch (AWD-LSTM; 0 = off)")
    locked_in: float = option(0.0, "recurrent nets: variational dropout on the embeddings, one mask per item "
                              "shared over time (0 = off)")
    locked_hidden: float = option(0.0, "recurrent nets: variational dropout between layers (0 = off)")
    locked_out: float = option(0.0, "recurrent nets: variational dropout before the head (0 = off)")
    ar: float = option(0.0, "recurrent nets: activation regularization, this times the mean squared output of "
                       "the last layer, added to the training loss (0 = off)")
    tar: float = option(0.0, "recurrent nets: temporal activation regularization, this times the mean squared "
                        "change of the last layer's output from one step to the next (0 = off)")
    n_tags: int = 0


def locked_dropout(x: torch.Tensor, p: float, training: bool) -> torch.Tensor:
    """Variational dropout on (B, T, D): one mask per row, the same at every time step (scaled by
    1 / (1 - p), as dropout is). p = 0 or eval mode: x itself."""
    if not training or p == 0:
        return x
    mask = x.new_empty(x.size(0), 1, x.size(2)).bernoulli_(1 - p) / (1 - p)   # (B, 1, D)
    return x * mask                                                            # (B, T, D)


class Recurrent(SequenceModel):
    """The recurrent net around a cell; the subclasses below name theirs (`Cell`)."""
    Config = RecurrentConfig
    Cell: type[RNNCell]

    def __init__(self, config: RecurrentConfig):
        super().__init__()
        check_positive(config, "n_embd", "n_hidden", "n_layer")
        for k in ("dropout", "weight_drop", "locked_in", "locked_hidden", "locked_out"):
            check_fraction(config, k)
        for k in ("ar", "tar"):
            if not getattr(config, k) >= 0:
                raise UsageError(f"--{k} must be >= 0, got {getattr(config, k)}")
        self.config = config
        self.drop = nn.Dropout(config.dropout)
        H = config.n_hidden
        self.wte = nn.Embedding(config.vocab_size, config.n_embd)
        self.cells = nn.ModuleList(self.Cell(config.n_embd if l == 0 else H, H) for l in range(config.n_layer))
        self.start = nn.Parameter(torch.zeros(config.n_layer, self.Cell.n_state, H))  # learned start state
        self.lm_head = nn.Linear(H, config.vocab_size)
        self.tag_start = tag_table(config, config.n_layer * self.Cell.n_state * H)   # (n_tags, layers*states*H)

    def start_states(self, batch_size: int, tags=None, device=None):
        """Per layer, a tuple of (B, H) tensors: the learned start state, plus each row's tag's offset."""
        check_tags(self, tags)
        start = self.start.to(device)                                    # (n_layer, n_state, H)
        if tags is None:
            return [tuple(s.expand(batch_size, -1) for s in layer) for layer in start]
        offset = self.tag_start.to(device)[tags.long().to(device)].view(batch_size, *start.shape)  # (B, n_layer, n_state, H)
        return [tuple(start[l, s] + offset[:, l, s] for s in range(start.size(1))) for l in range(start.size(0))]

    def init_state(self, batch_size: int, device=None, tags=None):
        return self.start_states(batch_size, tags, device)

    def unroll(self, idx, tags=None):
        """The full forward: (B, T) -> logits (B, T, V), and the last layer's output (B, T, H)
        before and after the dropout in front of the head (what TAR and AR act on)."""
        c = self.config
        B, T = idx.shape
        x = locked_dropout(self.wte(idx.long()), c.locked_in, self.training)   # (B, T, n_embd)
        starts = self.start_states(B, tags, idx.device)
        for l, (cell, start) in enumerate(zip(self.cells, starts)):
            if l > 0:
                x = locked_dropout(x, c.locked_hidden, self.training)
            w_hh = None                                                  # DropConnect: one mask per forward
            if self.training and c.weight_drop > 0:
                w_hh = F.dropout(cell.h2h.weight, c.weight_drop)         # (gates*H, H)
            state = start                                                # (B, H) each
            xw = cell.x2h(self.drop(x))                                  # (B, T, gates*H): all steps at once
            hs = []
            for t in range(T):
                state = cell.step(xw[:, t], state, w_hh=w_hh)
                hs.append(state[0])
            x = torch.stack(hs, dim=1)                                   # (B, T, H)
        h = x
        x = self.drop(locked_dropout(x, c.locked_out, self.training))    # (B, T, H)
        return self.lm_head(x), h, x                                     # (B, T, V), (B, T, H), (B, T, H)

    def forward(self, idx, targets=None, tags=None):
        logits, _, _ = self.unroll(idx, tags)
        return logits, sequence_loss(logits, targets)

    def loss(self, x, y, soft=None, tags=None, **extra):
        """The training loss: the cross-entropy (against soft targets when distilling), plus AR and TAR."""
        c = self.config
        logits, h, dropped = self.unroll(x, tags)
        loss = sequence_loss(logits, y) if soft is None else soft_loss(logits, y, soft)
        if c.ar == 0 and c.tar == 0:
            return loss
        has = (y != -1).to(h.dtype)                                     # (B, T) positions with a target
        if c.ar > 0:
            loss = loss + c.ar * (dropped.pow(2).mean(-1) * has).sum() / has.sum()
        if c.tar > 0:
            pair = has[:, 1:] * has[:, :-1]                              # (B, T-1) both steps in the item
            change = (h[:, 1:] - h[:, :-1]).pow(2).mean(-1)              # (B, T-1)
            loss = loss + c.tar * (change * pair).sum() / pair.sum().clamp(min=1)
        return loss

    def input_table(self) -> torch.Tensor:
        """The first layer's input share of the gates for every character: x2h(wte), (V, gates*H)."""
        return self.cells[0].x2h(self.wte.weight)

    def step(self, tokens, state):
        xw = F.embedding(tokens.long(), self.input_table())               # (B, gates*H): x2h(wte(tokens))
        new_state = []
        for l, (cell, s) in enumerate(zip(self.cells, state)):
            if l > 0:
                xw = cell.x2h(x)                                         # (B, gates*H)
            s = cell.step(xw, s, fast=True)
            new_state.append(s)
            x = s[0]                                                     # (B, H)
        return self.lm_head(x), new_state                                # (B, V)


class RNN(Recurrent):
    Cell = RNNCell


class GRU(Recurrent):
    Cell = GRUCell


class LSTM(Recurrent):
    Cell = LSTMCell
