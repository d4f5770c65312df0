"""The one contract every model follows, for sampling, training and evaluation alike.

Sampling and scoring:
    forward(idx, targets=None, tags=None) -> (logits, loss)
                                                    idx (B, T) -> logits (B, T, V); loss ignores targets == -1
    init_state(batch_size, device, tags=None) -> state
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
    example_tags(split) -> tags          (N,) the tag of each example (row or target), None if untagged
A model with `packable = True` (the Transformer) also trains on packed rows: `extra` then holds `pos`
and `seg` (B, T), each token's position in its own item and the item it belongs to.

Tags: a model built with `n_tags > 0` learned from tagged items and conditions every prediction
on a tag, `tags` (B,) (one per row; for packed rows, one per token (B, T)), passed to `forward`,
`logits` and `loss` (in `extra`) and to `init_state` (the incremental state then carries it). How
each family takes its tag is in its own file; its tag parameters start at zero, so a tagged model
starts out as the untagged one. A tagged model asked without tags, or an untagged one given them,
is an error.

Each model class names its config dataclass `Config`: plain scalars, with `vocab_size`, `seq_len`
(= longest item + 1) and `n_tags` (0: untagged) taken from the data (DATA_FIELDS). `option(default,
help)` declares a config field with the help text the command line shows for it.
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


DATA_FIELDS = ("vocab_size", "seq_len", "n_tags")     # config fields that come from the data, never options
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


def check_tags(model, tags) -> None:
    """A tagged model needs tags; an untagged one takes none."""
    n_tags = getattr(model.config, "n_tags", 0)
    if n_tags and tags is None:
        raise UsageError(f"this {type(model).__name__} learned from tagged items: give a tag (one of its {n_tags})")
    if not n_tags and tags is not None:
        raise UsageError(f"this {type(model).__name__} learned from untagged items: it takes no tag")


def tag_table(config, width: int) -> nn.Parameter | None:
    """A tagged model's (n_tags, width) vectors, one per tag, starting at zero (the model then
    starts as the untagged one); None for an untagged model. No random draw, so an untagged
    model's initial weights are what they were before tags existed."""
    return nn.Parameter(torch.zeros(config.n_tags, width)) if config.n_tags else None


def per_position(vectors: torch.Tensor, tags: torch.Tensor) -> torch.Tensor:
    """A tag's vectors to add to (B, T, D) inputs: tags (B,) -> (B, 1, D); packed rows' tags
    (B, T) -> (B, T, D)."""
    v = vectors[tags.long()]
    return v[:, None] if tags.dim() == 1 else v


def tagged_forward(net, wtag, ctx, tags):
    """A lecture-layer Sequential whose first layer embeds the characters: with tags, the tag's
    vector (wtag (n_tags, n_embd)) is added to every character's embedding before the rest."""
    if tags is None:
        return net(ctx)
    x = net.layers[0](ctx) + wtag[tags.long()][:, None]          # (N, block_size, n_embd)
    for layer in net.layers[1:]:
        x = layer(x)
    return x


class LanguageModel(nn.Module):
    """The contract above; subclasses are window models or sequence models."""
    packable = False

    def select_rows(self, state, rows: torch.Tensor):
        return select_rows(state, rows)

    def example_tags(self, split):
        return split.tags

    def examples(self, split):
        raise NotImplementedError

    def logits(self, x, **extra) -> torch.Tensor:
        raise NotImplementedError

    def loss(self, x, y, **extra) -> torch.Tensor:
        return sequence_loss(self.logits(x, **extra), y)

    def fit(self, x, y, tags=None):
        return self


class WindowModel(LanguageModel):
    """A model that predicts the next character from the last `block_size` characters only
    (bigram, n-gram, MLP, BatchNorm MLP, WaveNet). Subclasses write `next_logits`.

    They train on single next-character examples, as the lectures do: a batch is a (B, block_size)
    context and a (B,) target, and BatchNorm sees B examples.
    """
    block_size: int

    def next_logits(self, ctx: torch.Tensor, tags: torch.Tensor | None = None) -> torch.Tensor:
        """(N, block_size) context (and (N,) tags, for a tagged model) -> (N, V) logits for the next character."""
        raise NotImplementedError

    def examples(self, split):
        ctx, y = split.examples(self.block_size)                              # (N, block_size), (N,)
        return ctx, y, None

    def example_tags(self, split):
        return split.example_tags()                                           # (N,) each target's

    def logits(self, x, tags=None, **extra):
        check_tags(self, tags)
        return self.next_logits(x.long(), tags)                               # (N, V)

    def forward(self, idx, targets=None, tags=None):
        check_tags(self, tags)
        B, T = idx.shape
        ctx = context_windows(idx.long(), self.block_size)                     # (B, T, block_size)
        if tags is not None:
            tags = tags.long().repeat_interleave(T)                            # (B*T,) each position's item's
        logits = self.next_logits(ctx.reshape(B * T, self.block_size), tags)    # (B*T, V)
        logits = logits.view(B, T, -1)                                         # (B, T, V)
        return logits, self.loss_of(logits, targets)

    def loss_of(self, logits, targets):
        """The loss `forward` reports: the mean NLL (plus a regularizer, where the model has one)."""
        return sequence_loss(logits, targets)

    def loss(self, x, y, tags=None, **extra):
        return self.loss_of(self.logits(x, tags), y)

    def init_state(self, batch_size: int, device=None, tags=None):
        # the window before the first token: all boundary, like the lectures' [0] * block_size
        check_tags(self, tags)
        window = torch.zeros(batch_size, self.block_size, dtype=torch.long, device=device)
        return window if tags is None else (window, tags.long().to(device))   # tagged: ((B, block_size), (B,))

    def step(self, tokens, state):
        window, tags = state if isinstance(state, tuple) else (state, None)
        window = torch.cat([window[:, 1:], tokens.long()[:, None]], dim=1)     # (B, block_size)
        return self.next_logits(window, tags), window if tags is None else (window, tags)


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
