"""Every default, as plain data, and the one function that turns a request into saved configs.

DEFAULT_TYPE         the model `makemore train` trains when --type is not given
MODEL_PRESETS[type]  named model sizes (`--preset NAME`); a type's `default` applies when none is named
TRAIN[type]          training defaults of each type (chosen for wall time on a laptop CPU)
LECTURE[type]        the "building makemore" lectures' own recipes (`--recipe lecture`)
PART3[type]          the activations lecture's own run, seed and batch draws included (`--recipe part3`)
AWD[type]            the wide regularized LSTM's recipe (`--recipe awd`, with the `awd` preset)
BEST                 the members of `makemore best`, each a set of train options
BEST_MIX             how `makemore best` mixes them (an ensemble --mix)
resolve()            type + preset + recipe + explicit options -> the model options and TrainConfig

What each preset and recipe measured is in docs/results.md.
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import UsageError
from .models import MODELS, config_fields
from .train import TRAIN_FIELDS, TrainConfig

DEFAULT_TYPE = "lstm"            # the best model per CPU minute on names.txt

MODEL_PRESETS = {
    "bnmlp": {
        "lecture": {},                                              # the lecture's sizes: the config's defaults
        "default": dict(block_size=5, n_embd=16, n_hidden=256, n_layer=2),
    },
    "wavenet": {
        "lecture": {},                                              # the lecture's sizes
        "default": {},                                              # the same: wider ones overfit names.txt
        "wide": dict(n_embd=32, n_hidden=192),
    },
    # the activations lecture's stages (part 3), one fix at a time, with --recipe part3
    "mlp": {
        "part3-original": dict(init="randn"),
        "part3-softmax": dict(init="randn", w2_scale=0.01, b2_scale=0.0),
        "part3-tanh": dict(init="randn", w1_scale=0.2, b1_scale=0.01, w2_scale=0.01, b2_scale=0.0),
        "part3-kaiming": dict(init="randn", kaiming=True, b1_scale=0.01, w2_scale=0.01, b2_scale=0.0),
        "part3-batchnorm": dict(init="randn", kaiming=True, batchnorm=True, w2_scale=0.01, b2_scale=0.0),
    },
    "lstm": {
        "default": dict(dropout=0.2),
        "none": dict(dropout=0.0),
        # wider, held back by DropConnect on h -> h (AWD-LSTM); with --recipe awd
        "awd": dict(n_hidden=512, dropout=0.3, weight_drop=0.25),
        # two layers of the default's width, held back the same way
        "deep": dict(n_layer=2, dropout=0.3, weight_drop=0.25),
    },
    "transformer": {
        "tiny": dict(n_layer=2, n_head=2, n_embd=32),
        "default": dict(n_layer=4, n_head=4, n_embd=96, dropout=0.15, rope=True),
        "small": dict(n_layer=4, n_head=4, n_embd=64, dropout=0.1, rope=True),   # makemore's size
        "makemore": dict(n_layer=4, n_head=4, n_embd=64),                        # as makemore.py: no dropout, no rope
        "medium": dict(n_layer=4, n_head=4, n_embd=128, dropout=0.1),
        "large": dict(n_layer=6, n_head=6, n_embd=192, dropout=0.2),
    },
}

_SGD_LECTURE = dict(optimizer="sgd", lr=0.1, schedule="step", decay_factor=0.1, max_steps=200_000,
                    batch_size=32, weight_decay=0.0, warmup_steps=0, eval_interval=10_000, log_interval=1000)

TRAIN = {
    "bigram": dict(max_steps=0),
    "ngram": dict(max_steps=0),
    "nnbigram": dict(optimizer="sgd", lr=50.0, batch_size=0, max_steps=300, schedule="constant",
                     weight_decay=0.0, eval_interval=100, log_interval=10),
    "mlp": dict(batch_size=256, lr=3e-3, max_steps=10_000, warmup_steps=200, weight_decay=0.01,
                eval_interval=2000),
    "bnmlp": dict(batch_size=256, lr=3e-3, max_steps=15_000, warmup_steps=200, weight_decay=0.01,
                  eval_interval=2500),
    # the lecture's own SGD recipe, cut to 130k steps, with a cosine decay and the lecture's calibration
    "wavenet": dict(_SGD_LECTURE, max_steps=130_000, schedule="cosine", min_lr_ratio=0.01, calibrate=True),
    # recurrent nets loop over time steps: length buckets cut the most padding there
    "rnn": dict(batch_size=64, lr=3e-3, max_steps=6000, warmup_steps=200, grad_clip=1.0, eval_interval=1000, bucket=64),
    "gru": dict(batch_size=64, lr=3e-3, max_steps=5000, warmup_steps=200, grad_clip=1.0, eval_interval=1000, bucket=64),
    "lstm": dict(batch_size=64, lr=3e-3, max_steps=8000, warmup_steps=200, grad_clip=1.0, eval_interval=1000, bucket=64),
    "bow": dict(batch_size=64, lr=3e-3, max_steps=6000, warmup_steps=200, eval_interval=1000),
    # the Transformer packs its rows instead (it learns less per step from length buckets), and is
    # scored on a moving average of its weights over about the last 2,000 steps
    "transformer": dict(batch_size=64, lr=4e-3, max_steps=20_000, warmup_steps=200, min_lr_ratio=0.01,
                        weight_decay=0.3, ema=0.9995, eval_interval=2000, log_interval=200, pack=True),
}

LECTURE = {
    "nnbigram": dict(optimizer="sgd", lr=50.0, batch_size=0, max_steps=200, schedule="constant",
                     weight_decay=0.0, eval_interval=50, log_interval=10),
    "mlp": dict(_SGD_LECTURE, decay_at=0.5),       # 100k steps at 0.1, then 0.01
    # evaluated on statistics over the whole training set, as the lecture does (--calibrate)
    "bnmlp": dict(_SGD_LECTURE, decay_at=0.5, calibrate=True),
    "wavenet": dict(_SGD_LECTURE, decay_at=0.75, calibrate=False),  # decay at step 150k; running statistics
}

# the activations lecture's own run (part 3): its seed, one stream for the initialization and the
# batches, 200k SGD steps, evaluated on training-set BatchNorm statistics
PART3 = {
    "mlp": dict(_SGD_LECTURE, decay_at=0.5, seed=2147483647, shared_rng=True, calibrate=True),
}

# the wide regularized LSTM (the `awd` preset): twice the default's steps, scored on a uniform
# average of its weights over the last 30% of them
AWD = {
    "lstm": dict(max_steps=16_000, eval_interval=2000, swa_start=0.7),
}

RECIPES = {"lecture": LECTURE, "part3": PART3, "awd": AWD}

# Models that err differently mix best: the same models reading items right to left (reverse) err
# most differently of all, so each direction gets two LSTMs of different seeds, a GRU and Kneser-Ney
# 5-, 6- and 8-grams (mixed per character within a direction, then over whole items across the
# two). The LSTMs average away each other's noise, the GRU errs a little differently, and the count
# models remember rare exact contexts; in a product their exponents (some negative) weigh what a
# longer context adds to a shorter one's estimate. Longest first, so the parallel jobs finish together.
BEST = {
    "lstm": dict(type="lstm"),
    "lstm-rtl": dict(type="lstm", reverse=True),
    "lstm-seed2": dict(type="lstm", seed=2),
    "lstm-seed2-rtl": dict(type="lstm", seed=2, reverse=True),
    "gru": dict(type="gru"),
    "gru-rtl": dict(type="gru", reverse=True),
    "ngram": dict(type="ngram", n=6),
    "ngram-rtl": dict(type="ngram", n=6, reverse=True),
    "ngram5": dict(type="ngram", n=5),
    "ngram5-rtl": dict(type="ngram", n=5, reverse=True),
    "ngram8": dict(type="ngram", n=8),
    "ngram8-rtl": dict(type="ngram", n=8, reverse=True),
}
# how the members of `best` are mixed within each direction: a product of their distributions, each
# to an exponent fitted on val (a linear mixture's weights, fitted by EM, are where it starts)
BEST_MIX = "product"



@dataclass
class Resolved:
    """What a run trains: its type, the names it was asked by, and the configs that are saved."""
    type: str
    preset: str | None
    recipe: str | None
    model: dict                  # model config options (vocab_size and seq_len come from the data)
    train: TrainConfig


def preset(type: str, name: str | None = None, recipe: str | None = None) -> tuple[str | None, dict]:
    """(name, model options) of the preset a model of this type gets. Unset, it is the preset a
    recipe was made for (the one of the same name), else the type's `default`, where there is one."""
    table = MODEL_PRESETS.get(type, {})
    if name is None:
        name = next((n for n in (recipe, "default") if n in table), None)
    if name is None:
        return None, {}
    if name not in table:
        raise UsageError(f"--preset: --type {type} has no preset {name!r}"
                         + (f"; choose one of: {', '.join(table)}" if table else ""))
    return name, table[name]


def resolve(type: str | None = None, preset_name: str | None = None, recipe: str | None = None,
            **options) -> Resolved:
    """The configs of a new run: the type's training defaults, then the recipe's, then the
    explicit options; the preset's model options, then the explicit ones. An option that is
    neither a training option nor one of this type's model options is an error."""
    type = type or DEFAULT_TYPE
    if type not in MODELS:
        raise UsageError(f"--type: unknown model type {type!r}; choose one of: {', '.join(MODELS)}")
    preset_name, model = preset(type, preset_name, recipe)
    recipe_options = {}
    if recipe is not None:
        if recipe not in RECIPES:
            raise UsageError(f"--recipe: unknown recipe {recipe!r}; choose one of: {', '.join(RECIPES)}")
        if type not in RECIPES[recipe]:
            raise UsageError(f"--recipe {recipe} has no settings for --type {type} "
                             f"(it has: {', '.join(RECIPES[recipe])})")
        recipe_options = RECIPES[recipe][type]
    train_options = {k: v for k, v in options.items() if k in TRAIN_FIELDS}
    model_options = {k: v for k, v in options.items() if k not in TRAIN_FIELDS}
    known = config_fields(type)
    for k in model_options:
        if k not in known:
            raise UsageError(f"option --{k.replace('_', '-')} does not apply to --type {type} "
                             f"(its model options: {', '.join('--' + f.replace('_', '-') for f in known) or 'none'})")
    train = TrainConfig(**{**TRAIN.get(type, {}), **recipe_options, **train_options}).validate()
    return Resolved(type, preset_name, recipe, {**model, **model_options}, train)


def presets_help() -> str:
    """The presets of every type, for --help."""
    return "; ".join(f"{t}: {', '.join(table)}" for t, table in MODEL_PRESETS.items())


# The search space of each type worth sweeping (`makemore sweep`, the sweep/ package): option -> one of
#   ("log", low, high)            a float drawn on a log scale (learning rates, weight decay)
#   ("float", low, high[, step])  a float drawn uniformly
#   ("int", low, high[, step])    an integer, low + k * step
#   ("choice", a, b, ...)         one of the values
# Each range sits around the type's defaults above (MODEL_PRESETS, TRAIN), which it contains; a
# trial trains for the type's own max_steps. `--space FILE.json` and `--param` replace, add, fix or
# drop dimensions.
_LR, _DECAY = ("log", 1e-3, 1e-2), ("log", 1e-3, 0.3)
_RECURRENT = {"lr": _LR, "dropout": ("float", 0.0, 0.4), "n_hidden": ("int", 128, 512, 64),
              "n_embd": ("int", 32, 128, 32), "weight_decay": _DECAY}

SEARCH = {
    "ngram": {"n": ("int", 3, 8)},
    "mlp": {"lr": _LR, "block_size": ("int", 3, 8), "n_embd": ("int", 6, 30, 4), "n_hidden": ("int", 100, 500, 50),
            "weight_decay": _DECAY},
    "bnmlp": {"lr": _LR, "block_size": ("int", 3, 8), "n_embd": ("int", 8, 32, 8), "n_hidden": ("int", 128, 512, 64),
              "n_layer": ("int", 1, 4), "weight_decay": _DECAY},
    # SGD, as its default recipe: no weight decay to search; the block must stay a power of two
    "wavenet": {"lr": ("log", 0.03, 0.3), "block_size": ("choice", 8, 16), "n_embd": ("int", 16, 48, 8),
                "n_hidden": ("int", 64, 256, 32), "batch_size": ("choice", 32, 64)},
    "rnn": _RECURRENT,
    "gru": _RECURRENT,
    "lstm": _RECURRENT,
    "bow": {"lr": _LR, "n_embd": ("int", 32, 128, 32), "n_hidden": ("int", 128, 512, 64), "weight_decay": _DECAY},
    # n_embd stays a multiple of the 4 heads with an even size per head (rotary embeddings)
    "transformer": {"lr": _LR, "dropout": ("float", 0.0, 0.3), "n_embd": ("int", 64, 160, 32), "n_layer": ("int", 2, 6),
                    "weight_decay": ("log", 0.01, 0.5)},
}
