"""config.json, the record of a run: the keys this version writes and the type of each value,
checked key by key when a run is read (a one-line RunError naming the file and the key)."""

from __future__ import annotations

import codecs
import json
from dataclasses import fields

from ..errors import RunError
from ..models import MODELS
from ..models.base import fits, option_type
from ..train import TrainConfig

CONFIG_KEYS = ("type", "model", "data")
DATA_KEYS = ("input", "sha256", "encoding", "max_len_limit", "split_seed", "vocab", "max_len")
DATA_TYPES = {"input": str, "sha256": str, "encoding": str, "max_len_limit": int, "split_seed": int, "vocab": list,
              "max_len": int, "max_bytes": int, "dedupe": bool, "dedupe_dropped": int, "items": dict, "targets": dict,
              "reverse": bool, "tags": dict, "tags_train": dict, "normalize": str, "unit": str}
MIXES = ("fit", "equal", "product")   # an ensemble's: linear weights fitted on val, equal ones, or a product's exponents
JSON_TYPES = {int: "an integer", float: "a number", str: "a string", bool: "true or false", list: "a list", dict: "a JSON object"}


def check_config(config, where) -> None:
    """A run's config.json as this version writes it: the keys there, each value of its type (the
    model's and the training's options of their fields' types), else a one-line RunError naming
    the file and the key. Values in range are checked where they are used (build_model, TrainConfig)."""
    if not isinstance(config, dict):
        raise RunError(f"{where}: not a makemore run config (a JSON object is expected)")
    ensemble = config.get("type") == "ensemble"
    need(config, where, CONFIG_KEYS + (("members", "weights") if ensemble else ("train",)))
    if not ensemble and (not isinstance(config["type"], str) or config["type"] not in MODELS):
        bad(where, "type", f"a model type ({', '.join(MODELS)}) or ensemble", config["type"])
    for key in ("model", "data") + (() if ensemble else ("train",)):
        if not isinstance(config[key], dict):
            bad(where, key, dict, config[key])
    need(config, where, [f"data.{k}" for k in DATA_KEYS])         # an ensemble's: its members' data
    check_data(config["data"], where)
    if ensemble:
        check_members(config, where)
    else:
        check_options(config, where)
        n_tags = len(config["data"].get("tags") or ())
        if config["model"].get("n_tags", 0) != n_tags:
            bad(where, "model.n_tags", f"the number of data.tags ({n_tags})", config["model"].get("n_tags", 0))


def bad(where, key, want, got):
    """The one-line error for a value of the wrong type or out of range."""
    want = JSON_TYPES.get(want, want)
    raise RunError(f"{where}: {key} must be {want}, got {json.dumps(got)[:60]}; not a config this version "
                   "of makemore wrote (train the run again, or mend the file)")


def need(config, where, keys):
    """Each of `keys` (data.KEY: in config["data"]) is there, else the error naming the missing ones."""
    missing = [k for k in keys if (k[5:] not in config["data"] if k.startswith("data.") else k not in config)]
    if missing:
        raise RunError(f"{where}: not a makemore run config (missing {', '.join(missing)})")


def check_data(d, where):
    """config["data"]: what was read and how."""
    for k, v in d.items():
        if k in DATA_TYPES and not fits(v, DATA_TYPES[k]):
            bad(where, f"data.{k}", DATA_TYPES[k], v)
    one = (lambda c: len(c) == 1) if d.get("unit", "char") == "char" else (lambda c: len(c) >= 1)   # grapheme: a cluster
    if not (all(isinstance(c, str) and one(c) for c in d["vocab"]) and d["vocab"] == sorted(set(d["vocab"]))):
        bad(where, "data.vocab", "a sorted list of distinct characters", d["vocab"])
    for k in ("max_len", "max_len_limit", "max_bytes"):
        if k in d and d[k] < 1:
            bad(where, f"data.{k}", "at least 1", d[k])
    try:
        codecs.lookup(d["encoding"])
    except LookupError:
        bad(where, "data.encoding", "a known text encoding", d["encoding"])
    if d.get("normalize", "none") not in ("NFC", "none"):
        bad(where, "data.normalize", '"NFC" or "none"', d["normalize"])
    if d.get("unit", "char") not in ("char", "grapheme"):
        bad(where, "data.unit", '"char" or "grapheme"', d["unit"])
    if d.get("tags"):                      # tagged items: the tags (sorted) and their counts, in train too
        if list(d["tags"]) != sorted(d["tags"]) or not all(fits(n, int) and n >= 0 for n in d["tags"].values()):
            bad(where, "data.tags", "tags in sorted order with their item counts", d["tags"])
        train = d.get("tags_train")
        if not isinstance(train, dict) or list(train) != list(d["tags"]) or not all(fits(n, int) and n >= 0 for n in train.values()) \
                or not sum(train.values()):
            bad(where, "data.tags_train", "the training split's count of each of data.tags", train)


def check_members(config, where):
    """An ensemble's members, their weights (or exponents) and reading directions."""
    members, weights = config["members"], config["weights"]
    if not (isinstance(members, list) and members and all(isinstance(m, str) for m in members)):
        bad(where, "members", "a non-empty list of run directories", members)
    if not (isinstance(weights, list) and len(weights) == len(members) and all(fits(w, float) for w in weights)):
        bad(where, "weights", f"a list of {len(members)} numbers, one per member", weights)
    if config.get("mix", "fit") not in MIXES:
        bad(where, "mix", f"one of {', '.join(MIXES)}", config["mix"])
    if config.get("mix") != "product" and any(w < 0 for w in weights):
        bad(where, "weights", "non-negative numbers (only a product mixture's exponents may be negative)", weights)
    reverse = config.get("member_reverse", [False] * len(members))
    if not (isinstance(reverse, list) and len(reverse) == len(members) and all(isinstance(r, bool) for r in reverse)):
        bad(where, "member_reverse", f"a list of {len(members)} booleans, one per member", reverse)
    if "direction_weights" in config:
        v = config["direction_weights"]
        if not (isinstance(v, list) and len(v) == 2 and all(fits(x, float) for x in v)):
            bad(where, "direction_weights", "a list of 2 numbers (left to right, right to left)", v)
        if all(reverse) or not any(reverse):
            bad(where, "member_reverse", "members of both directions (the config has direction_weights)", reverse)


def check_options(config, where):
    """A model run's options: each a field of its model's Config or of TrainConfig, of that field's type."""
    sections = {"model": (fields(MODELS[config["type"]].Config), f"the {config['type']} model"),
                "train": (fields(TrainConfig), "training")}
    for section, (known, whose) in sections.items():
        known = {f.name: option_type(f) for f in known}
        for k, v in config[section].items():
            if k not in known:
                raise RunError(f"{where}: {section}.{k}: not an option of {whose}; not a config this version of makemore wrote")
            if not fits(v, known[k]):
                bad(where, f"{section}.{k}", known[k], v)
    missing = [f"model.{k}" for k in ("vocab_size", "seq_len") if k not in config["model"]]
    if missing:
        raise RunError(f"{where}: not a makemore run config (missing {', '.join(missing)})")
