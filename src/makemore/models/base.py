"""The one contract every model follows, for sampling, training and evaluation alike.

Sampling and scoring:
    forward(idx, targets=None) -> (logits, loss)   idx (B, T) -> logits (B, T, V); loss ignores targets == -1
    init_state(batch_size, device) -> state
    step(tokens, state) -> (logits, state)          tokens (B,) -> logits (B, V) for the next character
    select_rows(state, rows) -> state               the state of the batch rows `rows` (B',) only, in that
                                                    order (sampling drops the rows that have ended, beam
                                                    search repeats rows); by default every tensor in the
                                                    state is indexed on its first (batch) dimension

Training and evaluation (what the loop, the evaluation and the diagnostics call, for every model):
    examples(split) -> (x, y, lengths)   what batches are drawn from: window models give one next-character
                                         example per row, (N, block_size) contexts and (N,) targets, with
                                         lengths None; sequence models give whole items, (N, T) rows of
                                         inputs and targets and (N,) targets per row
    logits(x, **extra) -> logits         (..., V), one row per target of y (evaluation)
    loss(x, y, **extra) -> loss          the training loss of a batch of examples, regularizers included;
                                         sequence models also take soft=(B, T, V) target distributions
                                         (distillation) in place of the one-hot targets of y
    fit(x, y) -> self                    a closed-form fit on all the training examples before any step:
                                         the count models count here; for the rest it does nothing
A model with `packable = True` (the Transformer) also trains on packed rows: `extra` then holds `pos`
and `seg` (B, T), each token's position in its own item and the item it belongs to.

Each model class names its config dataclass `Config`: plain scalars, with `vocab_size` and `seq_len`
(= longest item + 1) taken from the data. `option(default, help)` declares a config field with the
help text the command line shows for it.
"""

from __future__ import annotations

from dataclasses import field

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..data import context_windows
from ..errors import UsageError


def option(default, help: str):
    """A config field with its command-line help."""
    return field(default=default, metadata={"help": help})


def option_type(f) -> type:
    """The type of a config field's values: its default's (bool, int, float or str)."""
    return type(f.default)


def fits(value, kind: type) -> bool:
    """Whether a value (from JSON, or a caller) is of a config field's type: an integer is a float
    too; a bool is neither."""
    if kind in (int, float):
        return isinstance(value, (int, float) if kind is float else int) and not isinstance(value, bool)
    return isinstance(value, kind)


MAX_COUNT = 1024          # layers, heads, context characters: beyond this a model is a typo, not a plan


def check_positive(config, *names) -> None:
    """Sizes must be at least 1, and counts of layers, heads or context characters at most
    MAX_COUNT: a clear error naming the command-line option otherwise."""
    for k in names:
        v = getattr(config, k)
        if v < 1:
            raise UsageError(f"--{k.replace('_', '-')} must be at least 1, got {v}")
        if k in ("n_layer", "n_head", "block_size") and v > MAX_COUNT:
            raise UsageError(f"--{k.replace('_', '-')} must be at most {MAX_COUNT}, got {v}")


def check_fraction(config, name: str) -> None:
    """A probability such as dropout: in [0, 1)."""
    v = getattr(config, name)
    if not 0 <= v < 1:
        raise UsageError(f"--{name.replace('_', '-')} must be in [0, 1), got {v}")


def sequence_loss(logits: torch.Tensor, targets: torch.Tensor | None) -> torch.Tensor | None:
    """Mean NLL over the positions that have a target (targets == -1 are skipped)."""
    if targets is None:
        return None
    V = logits.size(-1)
    return F.cross_entropy(logits.reshape(-1, V), targets.reshape(-1).long(), ignore_index=-1)


def soft_loss(logits: torch.Tensor, targets: torch.Tensor, soft: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy against target distributions `soft` (..., V) (distillation: the mix of the
    true character and a teacher's distribution), over the positions whose `targets` are not -1.
    With one-hot distributions it is the plain cross-entropy (up to float rounding)."""
    logp = F.log_softmax(logits.float(), dim=-1)                           # (..., V)
    has = (targets != -1).to(logp.dtype)                                   # (...)
    return -((soft * logp).sum(-1) * has).sum() / has.sum()


def select_rows(state, rows: torch.Tensor):
    """A model's incremental state with its batch rows picked by `rows` (B',): every tensor in the
    state is indexed on its first (batch) dimension; lists, tuples and dicts are walked, and other
    values (a position) are kept."""
    if isinstance(state, torch.Tensor):
        return state.index_select(0, rows)
    if isinstance(state, (list, tuple)):
        return type(state)(select_rows(s, rows) for s in state)
    if isinstance(state, dict):
        return {k: select_rows(v, rows) for k, v in state.items()}
    return state


class LanguageModel(nn.Module):
    """The contract above; subclasses are window models or sequence models."""
    packable = False

    def select_rows(self, state, rows: torch.Tensor):
        return select_rows(state, rows)

    def examples(self, split):
        raise NotImplementedError

    def logits(self, x, **extra) -> torch.Tensor:
        raise NotImplementedError

    def loss(self, x, y, **extra) -> torch.Tensor:
        return sequence_loss(self.logits(x, **extra), y)

    def fit(self, x, y):
        return self


class WindowModel(LanguageModel):
    """A model that predicts the next character from the last `block_size` characters only
    (bigram, n-gram, MLP, BatchNorm MLP, WaveNet). Subclasses write `next_logits`.

    They train on single next-character examples, as the lectures do: a batch is a (B, block_size)
    context and a (B,) target, and BatchNorm sees B examples.
    """
    block_size: int

    def next_logits(self, ctx: torch.Tensor) -> torch.Tensor:
        """(N, block_size) context -> (N, V) logits for the next character."""
        raise NotImplementedError

    def examples(self, split):
        ctx, y = split.examples(self.block_size)                              # (N, block_size), (N,)
        return ctx, y, None

    def logits(self, x, **extra):
        return self.next_logits(x.long())                                     # (N, V)

    def forward(self, idx, targets=None):
        B, T = idx.shape
        ctx = context_windows(idx.long(), self.block_size)                     # (B, T, block_size)
        logits = self.next_logits(ctx.reshape(B * T, self.block_size))          # (B*T, V)
        logits = logits.view(B, T, -1)                                         # (B, T, V)
        return logits, self.loss_of(logits, targets)

    def loss_of(self, logits, targets):
        """The loss `forward` reports: the mean NLL (plus a regularizer, where the model has one)."""
        return sequence_loss(logits, targets)

    def loss(self, x, y, **extra):
        return self.loss_of(self.logits(x), y)

    def init_state(self, batch_size: int, device=None):
        # the window before the first token: all boundary, like the lectures' [0] * block_size
        return torch.zeros(batch_size, self.block_size, dtype=torch.long, device=device)

    def step(self, tokens, state):
        state = torch.cat([state[:, 1:], tokens.long()[:, None]], dim=1)       # (B, block_size)
        return self.next_logits(state), state


class SequenceModel(LanguageModel):
    """A model that reads the whole item up to each position (RNNs, bag-of-words, Transformer,
    ensembles): it trains and evaluates on rows of whole items through `forward`."""

    def examples(self, split):
        return split.X, split.Y, split.lengths                                # (N, T), (N, T), (N,)

    def logits(self, x, **extra):
        return self(x, **extra)[0]                                            # (B, T, V)

    def loss(self, x, y, soft=None, **extra):
        if soft is not None:                      # distillation: target distributions (B, T, V)
            return soft_loss(self.logits(x, **extra), y, soft)
        return self(x, y, **extra)[1]
