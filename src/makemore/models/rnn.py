"""Recurrent language models over the item, one character at a time, with a learned start state:
- RNN: the vanilla recurrent net of Mikolov et al. (2010), "Recurrent neural network based language model"
- GRU: the gated recurrent unit of Cho et al. (2014), "Learning Phrase Representations using RNN Encoder-Decoder"
- LSTM: Hochreiter & Schmidhuber (1997), with the forget gate, as used by Graves (2013), "Generating
  Sequences With Recurrent Neural Networks"
The cells are written out gate by gate; the input's share of every gate is computed for all time
steps in one matmul before the loop, which then only adds the recurrent part. Dropout (`--dropout`)
acts on the non-recurrent connections only, as in Zaremba et al. (2014), "Recurrent Neural Network
Regularization": on the embeddings, between layers and before the head, never on h -> h.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn

from .base import SequenceModel, check_fraction, check_positive, option, sequence_loss


class RNNCell(nn.Module):
    """h' = tanh(x W_x + h W_h + b)"""
    gates = 1
    n_state = 1             # the state is (h,)

    def __init__(self, n_in, n_hidden):
        super().__init__()
        self.x2h = nn.Linear(n_in, self.gates * n_hidden)              # input part, with the bias
        self.h2h = nn.Linear(n_hidden, self.gates * n_hidden, bias=False)

    def step(self, xw, state):
        (h,) = state                                                     # (B, H)
        return (torch.tanh(xw + self.h2h(h)),)


class GRUCell(RNNCell):
    """r = σ(x W_xr + h W_hr), z = σ(x W_xz + h W_hz), n = tanh(x W_xn + r ⊙ (h W_hn + b_hn)),
    h' = (1 - z) ⊙ n + z ⊙ h"""
    gates = 3

    def __init__(self, n_in, n_hidden):
        super().__init__(n_in, n_hidden)
        self.h2h = nn.Linear(n_hidden, 3 * n_hidden)                     # b_hn sits inside the reset gate

    def step(self, xw, state):
        (h,) = state                                                     # (B, H)
        xr, xz, xn = xw.chunk(3, dim=-1)                                 # 3 x (B, H)
        hr, hz, hn = self.h2h(h).chunk(3, dim=-1)                        # 3 x (B, H)
        r = torch.sigmoid(xr + hr)
        z = torch.sigmoid(xz + hz)
        n = torch.tanh(xn + r * hn)
        return ((1 - z) * n + z * h,)


class LSTMCell(RNNCell):
    """i, f, g, o = σ, σ, tanh, σ of (x W_x + h W_h + b); c' = f ⊙ c + i ⊙ g; h' = o ⊙ tanh(c')"""
    gates = 4
    n_state = 2             # the state is (h, c)

    def step(self, xw, state):
        h, c = state                                                     # (B, H), (B, H)
        i, f, g, o = (xw + self.h2h(h)).chunk(4, dim=-1)                 # 4 x (B, H)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        h = torch.sigmoid(o) * torch.tanh(c)
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

    def step(self, tokens, state):
        x = self.wte(tokens.long())                                      # (B, n_embd)
        new_state = []
        for cell, s in zip(self.cells, state):
            s = cell.step(cell.x2h(x), s)
            new_state.append(s)
            x = s[0]                                                     # (B, H)
        return self.lm_head(x), new_state                                # (B, V)


class RNN(Recurrent):
    Cell = RNNCell


class GRU(Recurrent):
    Cell = GRUCell


class LSTM(Recurrent):
    Cell = LSTMCell
