"""The model registry: a plain dict from --type name to model class, simplest first."""

from __future__ import annotations

from dataclasses import fields

import torch
from torch.overrides import TorchFunctionMode

from ..errors import UsageError

from .base import DATA_FIELDS  # noqa: F401  (the config fields that come from the data)
from .counts import Bigram, NGram
from .bigram import NeuralBigram
from .mlp import MLP
from .bnmlp import BNMLP
from .wavenet import WaveNet
from .rnn import GRU, LSTM, RNN
from .bow import BoW
from .transformer import Transformer

MODELS = {
    "bigram": Bigram,
    "ngram": NGram,
    "nnbigram": NeuralBigram,
    "mlp": MLP,
    "bnmlp": BNMLP,
    "wavenet": WaveNet,
    "rnn": RNN,
    "gru": GRU,
    "lstm": LSTM,
    "bow": BoW,
    "transformer": Transformer,
}
TITLES = {    # what each type is called in prose (the web page's notes)
    "bigram": "bigram table", "ngram": "n-gram table", "nnbigram": "neural bigram", "mlp": "MLP",
    "bnmlp": "BatchNorm MLP", "wavenet": "WaveNet", "rnn": "RNN", "gru": "GRU", "lstm": "LSTM",
    "bow": "bag-of-words model", "transformer": "Transformer",
}


def model_class(name: str):
    try:
        return MODELS[name]
    except KeyError:
        raise UsageError(f"unknown model type {name!r}; choose one of: {', '.join(MODELS)}") from None


def config_fields(name: str) -> dict:
    """{field name: field} of a model type's config, without the data-derived ones."""
    return {f.name: f for f in fields(model_class(name).Config) if f.name not in DATA_FIELDS}


def build_model(name: str, vocab_size: int, seq_len: int, n_tags: int = 0, **options):
    """Build a model; options are config fields. An option the type does not have is an error.
    n_tags > 0: a model of tagged items, conditioned on one of n_tags tags."""
    cls = model_class(name)
    known = config_fields(name)
    for k in options:
        if k not in known:
            raise UsageError(f"option --{k.replace('_', '-')} does not apply to --type {name} "
                             f"(it takes: {', '.join('--' + f.replace('_', '-') for f in known) or 'none'})")
    if not isinstance(vocab_size, int) or vocab_size < 2:
        raise UsageError(f"vocab_size must be at least 2 (the boundary and one character), got {vocab_size!r}")
    if not isinstance(seq_len, int) or seq_len < 2:
        raise UsageError(f"seq_len must be at least 2 (the longest item + 1), got {seq_len!r}")
    if not isinstance(n_tags, int) or isinstance(n_tags, bool) or n_tags < 0:
        raise UsageError(f"n_tags must be a whole number >= 0, got {n_tags!r}")
    config = cls.Config(vocab_size=vocab_size, seq_len=seq_len, **options)
    if n_tags:
        config.n_tags = n_tags
    return cls(config)


class _NoInit(TorchFunctionMode):
    """Skips weight initialization (nn.init's functions and the in-place random fills), in this
    thread alone, as a mode does: no module state is patched."""
    SKIP = {v for k, v in vars(torch.nn.init).items() if k.endswith("_") and not k.startswith("_") and callable(v)} \
        | {torch.Tensor.normal_, torch.Tensor.uniform_}

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func in self.SKIP:
            return args[0] if args else kwargs["tensor"]
        return func(*args, **kwargs)


def shape_model(name: str, vocab_size: int, seq_len: int, n_tags: int = 0, **options):
    """The model on the meta device: its parameters' shapes and sizes, no memory. The weights are
    left uninitialized: on meta, nn.init's ops load torch's compiler stack, which is slow to import
    (the lectures' hand-written layers, which compute their initial weights, still do)."""
    with torch.device("meta"), _NoInit():
        return build_model(name, vocab_size, seq_len, n_tags, **options)
