"""Recurrent language models over the item, one character at a time, with a learned start state:
- RNN: the vanilla recurrent net of Mikolov et al. (2010), "Recurrent neural network based language model"
- GRU: the gated recurrent unit of Cho et al. (2014), "Learning Phrase Representations using RNN Encoder-Decoder"
- LSTM: Hochreiter & Schmidhuber (1997), with the forget gate, as used by Graves (2013), "Generating
  Sequences With Recurrent Neural Networks"
The cells are written out gate by gate; the input's share of every gate is computed for all time
steps in one matmul before the loop, which then only adds the recurrent part. Dropout (`--dropout`)
acts on the non-recurrent connections only, as in Zaremba et al. (2014), "Recurrent Neural Network
Regularization": on the embeddings, between layers and before the head, never on h -> h.

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

from .base import SequenceModel, check_fraction, check_positive, option, sequence_loss


def tanh_by_sigmoid(x):
    """tanh(x) = 2 sigmoid(2x) - 1, equal up to float rounding; several times faster than torch.tanh
    on a CPU."""
    return 2 * torch.sigmoid(2 * x) - 1


class RNNCell(nn.Module):
    """h' = tanh(x W_x + h W_h + b)

    step(xw, state, fast): xw is the input's share x W_x + b (B, gates*H); fast (the incremental
    path) computes the same up to float rounding, in fewer and cheaper operations."""
    gates = 1
    n_state = 1             # the state is (h,)

    def __init__(self, n_in, n_hidden):
        super().__init__()
        self.x2h = nn.Linear(n_in, self.gates * n_hidden)              # input part, with the bias
        self.h2h = nn.Linear(n_hidden, self.gates * n_hidden, bias=False)

    def recurrent(self, xw, h, fast=False):
        """xw + h W_h (B, gates*H); fast: in one addmm."""
        return torch.addmm(xw, h, self.h2h.weight.T) if fast else xw + self.h2h(h)

    def step(self, xw, state, fast=False):
        (h,) = state                                                     # (B, H)
        tanh = tanh_by_sigmoid if fast else torch.tanh
        return (tanh(self.recurrent(xw, h, fast)),)


class GRUCell(RNNCell):
    """r = σ(x W_xr + h W_hr), z = σ(x W_xz + h W_hz), n = tanh(x W_xn + r ⊙ (h W_hn + b_hn)),
    h' = (1 - z) ⊙ n + z ⊙ h"""
    gates = 3

    def __init__(self, n_in, n_hidden):
        super().__init__(n_in, n_hidden)
        self.h2h = nn.Linear(n_hidden, 3 * n_hidden)                     # b_hn sits inside the reset gate

    def step(self, xw, state, fast=False):
        (h,) = state                                                     # (B, H)
        tanh = tanh_by_sigmoid if fast else torch.tanh
        xr, xz, xn = xw.chunk(3, dim=-1)                                 # 3 x (B, H)
        hr, hz, hn = self.h2h(h).chunk(3, dim=-1)                        # 3 x (B, H)
        r = torch.sigmoid(xr + hr)
        z = torch.sigmoid(xz + hz)
        n = tanh(xn + r * hn)
        return ((1 - z) * n + z * h,)


class LSTMCell(RNNCell):
    """i, f, g, o = σ, σ, tanh, σ of (x W_x + h W_h + b); c' = f ⊙ c + i ⊙ g; h' = o ⊙ tanh(c')"""
    gates = 4
    n_state = 2             # the state is (h, c)

    def step(self, xw, state, fast=False):
        h, c = state                                                     # (B, H), (B, H)
        tanh = tanh_by_sigmoid if fast else torch.tanh
        i, f, g, o = self.recurrent(xw, h, fast).chunk(4, dim=-1)        # 4 x (B, H)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * tanh(g)
        h = torch.sigmoid(o) * tanh(c)
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


class Recurrent(SequenceModel):
    """The recurrent net around a cell; the subclasses below name theirs (`Cell`)."""
    Config = RecurrentConfig
    Cell: type[RNNCell]

    def __init__(self, config: RecurrentConfig):
        super().__init__()
        check_positive(config, "n_embd", "n_hidden", "n_layer")
        check_fraction(config, "dropout")
        self.config = config
        self.drop = nn.Dropout(config.dropout)
        H = config.n_hidden
        self.wte = nn.Embedding(config.vocab_size, config.n_embd)
        self.cells = nn.ModuleList(self.Cell(config.n_embd if l == 0 else H, H) for l in range(config.n_layer))
        self.start = nn.Parameter(torch.zeros(config.n_layer, self.Cell.n_state, H))  # learned start state
        self.lm_head = nn.Linear(H, config.vocab_size)

    def init_state(self, batch_size: int, device=None):
        # per layer, a tuple of (B, H) tensors, all starting at the learned start state
        return [tuple(s.expand(batch_size, -1) for s in layer) for layer in self.start.to(device)]

    def forward(self, idx, targets=None):
        B, T = idx.shape
        x = self.wte(idx.long())                                         # (B, T, n_embd)
        for cell, start in zip(self.cells, self.start):
            state = tuple(s.expand(B, -1) for s in start)                # (B, H) each
            xw = cell.x2h(self.drop(x))                                  # (B, T, gates*H): all steps at once
            hs = []
            for t in range(T):
                state = cell.step(xw[:, t], state)
                hs.append(state[0])
            x = torch.stack(hs, dim=1)                                   # (B, T, H)
        logits = self.lm_head(self.drop(x))                              # (B, T, V)
        return logits, sequence_loss(logits, targets)

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
