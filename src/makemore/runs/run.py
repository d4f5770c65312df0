"""A Run: a run directory with its config, model and data; creating one (every option checked,
nothing written until it trains), resuming one exactly, loading a trained one, and what is done
with it (train, evaluate, sample, score)."""

from __future__ import annotations

import contextlib
import sys
import unicodedata
from dataclasses import asdict, replace

import torch
from safetensors.torch import load_model as load_safetensors

from .. import cache, distributed, presets, tagging
from ..batches import Batches
from ..cache import Prepared
from ..data import (MAX_BYTES, SPLITS, UNITS, Dataset, ItemIndex, Split, Vocab, encode_words, read_tagged, read_words,
                    resolve_input, reverse_split)
from ..errors import DataError, RunError, UsageError, first_line
from ..evaluation import evaluate
from ..models import build_model, shape_model
from ..models.ensemble import build_mixture
from ..constraints import sample_under, trie_of
from ..sampling import items_split, sample_tagged, score_items
from ..train import TRAIN_FIELDS, TrainConfig, resolve_device, train
from .directory import ASIDE, RunDir, check_new
from .resources import check_memory, memory_available, memory_needed, tensorboard_writer


def config_model(rundir: RunDir, config: dict):
    """The untrained model a run's config describes. A value out of range there, or a model too large
    for the memory this machine has, is a RunError naming config.json (nothing is allocated first)."""
    try:
        meta = shape_model(config["type"], **config["model"])
    except UsageError as e:
        raise RunError(f"{rundir.config_file}: model: {e}") from None
    need = memory_needed(meta)
    free = memory_available()
    if free is not None and need > free:
        raise RunError(f"{rundir.config_file}: model: its {config['type']} model would need about {need / 2**30:,.1f} GiB "
                       f"to load, more than the {free / 2**30:,.1f} GiB available")
    return build_model(config["type"], **config["model"])


def load_model(rundir: RunDir, which: str = "best", device="cpu", config: dict | None = None):
    """Rebuild a run's model from its config and load its weights (on any device: CUDA runs load
    on the CPU). An ensemble directory loads each member run it names."""
    config = config or rundir.read_config()
    f = rundir.weights_file(which)
    if config["type"] == "ensemble":
        members = []
        for rel in config["members"]:
            member = RunDir(rundir.path / rel)
            if not member.exists():
                raise RunError(f"{rundir.path}: ensemble member {member.path} is gone")
            members.append(load_model(member, which, device))
        reverse = config.get("member_reverse", [False] * len(members))
        return build_mixture(members, reverse, config["weights"], config.get("direction_weights"),
                             product=config.get("mix") == "product").to(device).eval()
    model = config_model(rundir, config)
    if which == "best" and not f.exists():
        f = rundir.weights_file("last")
    if not f.exists():
        raise RunError(f"{rundir.path}: no weights saved yet ({f.name} missing)")
    try:
        load_safetensors(model, str(f), strict=True, device="cpu")
    except Exception as e:           # truncated, crafted, or another model's weights
        raise RunError(f"{f}: not the weights of this run's {config['type']} model "
                       f"({first_line(e, 160)})") from None
    return model.to(device).eval()


GUIDES = [("ngram", 3, {"n": 4}), ("bigram", 1, {})]     # what guides constrained sampling, the first that fits


def normalized(data: dict) -> bool:
    """Whether a run reads its text in Unicode NFC (a run of an earlier version, without the key, did not)."""
    return data.get("normalize", "none") == "NFC"


def run_data(config: dict, input: str | None = None, beside=None) -> Prepared:
    """The split a run was trained on, made again as it was made (or loaded from the cache beside
    the run directory `beside`): from the same bytes (checked by their SHA-256) or an error. With
    `input`, that file's items instead, knowingly, encoded the run's way."""
    d = config["data"]
    path = input or d["input"]
    if input is None and not resolve_input(path).exists():
        raise DataError(f"the run's data file {path} is gone; pass -i FILE")
    prepared = cache.prepare(path, encoding=d["encoding"], max_len=d["max_len_limit"],
                             max_bytes=d.get("max_bytes", MAX_BYTES), dedupe=bool(d.get("dedupe")),
                             split_seed=d["split_seed"], vocab=d["vocab"], data_max_len=d["max_len"],
                             cache=cache.cache_dir(beside), tagged=bool(d.get("tags")),
                             tag_names=list(d["tags"]) if d.get("tags") else None, normalize=normalized(d),
                             unit=d.get("unit", "char"))
    if input is None and prepared.sha256 != d["sha256"]:
        raise DataError(f"{path}: changed since the run was trained (its SHA-256 differs), so the run's split "
                        "cannot be rebuilt from it; pass -i FILE to use a file knowingly")
    return replace(prepared, data=prepared.data.reversed()) if d.get("reverse") else prepared


class Run:
    """A run directory and what it holds. Made by create_run / resume_run (to train) or load_run."""

    def __init__(self, path, config: dict, model=None, device="cpu", data: Dataset | None = None,
                 input: str | None = None, resume: dict | None = None, pending: bool = False, force: bool = False,
                 data_note: str | None = None):
        self.dir = RunDir(path)
        self.path = self.dir.path
        self.config = config
        self.model = model
        self.device = torch.device(device)
        self._data, self._input = data, input
        self._index = None                     # the split's ItemIndex (False: the data file is gone), on first use
        self._trie = None                      # the items as a Trie, for --new, on first use
        self._twist = None                     # a bigram of the training items, to guide constrained sampling
        self._resume, self._pending, self._force = resume, pending, force
        self.data_note = data_note             # what the cache did for the split, when training starts

    @property
    def type(self) -> str:
        return self.config["type"]

    @property
    def vocab(self) -> Vocab:
        return Vocab(self.config["data"]["vocab"], self.config["data"].get("unit", "char"))

    @property
    def max_len(self) -> int:
        return self.config["data"]["max_len"]

    @property
    def reverse(self) -> bool:
        """Whether the model reads items right to left (`train --reverse`); its data is the items
        turned around, and what it samples or scores is turned back."""
        return bool(self.config["data"].get("reverse"))

    @property
    def tags(self) -> list[str] | None:
        """The tag names (sorted) of a run of tagged items; None if untagged."""
        tags = self.config["data"].get("tags")
        return list(tags) if tags else None

    def _tagged(self, option: str) -> list[str]:
        if not self.tags:
            raise UsageError(f"{option}: {self.path} was trained on untagged items")
        return self.tags

    @property
    def tag_log_prior(self) -> torch.Tensor:
        """log p(T) (K,): each tag's share of the training split."""
        return tagging.tag_prior(self.config["data"]["tags_train"])

    @property
    def two_way(self) -> bool:
        """Whether this is an ensemble that mixes both reading directions (a TwoWay mixture)."""
        return "direction_weights" in self.config

    @property
    def data(self) -> Dataset:
        """The run's split, rebuilt from its data file (read once, on first use)."""
        if self._data is None:
            self._data = run_data(self.config, self._input, self.path).data
        return self._data

    @property
    def metrics(self) -> list[dict]:
        return self.dir.read_metrics()

    def describe(self) -> str:
        """One line: type, size, vocabulary, items per split, device."""
        n_params = sum(p.numel() for p in self.model.parameters())
        items = self.config["data"].get("items") or {s: len(self.data.split(s)) for s in SPLITS}
        tags = f" | {len(self.tags)} tags" if self.tags else ""
        return (f"{self.type}: {n_params:,} parameters | vocab {self.vocab.size}{tags} | items train/val/test "
                f"{items['train']:,}/{items['val']:,}/{items['test']:,} | device {self.device}")

    # --- training --------------------------------------------------------------------------
    def train(self, progress: bool = True, tensorboard: bool = False, track_updates: int = 0,
              stop_at: int | None = None, on_step=None, on_eval=None) -> dict:
        """Train (or continue) the run, checkpointing into its directory; then score the best
        checkpoint on every split. Returns {"step", "best_val", "interrupted", "losses"}.
        tensorboard: also write TensorBoard events into DIR/tensorboard; track_updates: record
        update:data ratios every this many steps into updates.json; on_eval(step, val): called
        after each evaluation and checkpoint (raising there ends training, as a sweep prunes)."""
        if not self._pending:
            raise RunError(f"{self.path}: a loaded run does not train again; use resume_run to continue it")
        if track_updates < 0:
            raise UsageError(f"--track-updates must be at least 1, got {track_updates}")
        SummaryWriter = tensorboard_writer() if tensorboard else None
        if not distributed.is_writer():               # under torchrun, rank 0 alone writes the run
            self._pending = False
            try:
                result = train(self.model, self.data, TrainConfig(**self.config["train"]), device=self.device,
                               resume=self._resume, progress=False, stop_at=stop_at)
            finally:
                distributed.finish()
            return {**result, "losses": None}
        with self.dir.lock(), contextlib.ExitStack() as finish:
            finish.callback(distributed.finish)
            self.dir.recover()                          # an old run a killed --force left aside comes back first
            if self._resume is None:
                check_new(self.path, self._force)      # checked again under the lock: nobody took it meanwhile
            if self._force:
                self.dir.set_aside()                    # every check passed: the old run waits aside for a checkpoint
            else:
                self.dir.clear_temporary()
            try:
                if self._resume is not None:
                    self.dir.rewind_metrics(int(self._resume["step"]))
                self.dir.write_config(self.config)
                self._pending = False
                writer = SummaryWriter(log_dir=str(self.path / "tensorboard")) if tensorboard else None
                if track_updates:
                    from ..diagnostics import UpdateTracker
                    on_step = UpdateTracker(self.model, every=track_updates)
                try:
                    result = train(self.model, self.data, TrainConfig(**self.config["train"]), checkpoints=self.dir,
                                   device=self.device, resume=self._resume, progress=progress, writer=writer,
                                   stop_at=stop_at, on_step=on_step, on_eval=on_eval)
                finally:
                    if writer is not None:
                        writer.close()
            except BaseException as e:                  # before the new run's first checkpoint: the old run back
                if self.dir.put_back() and isinstance(e, (DataError, RunError, UsageError)):
                    raise type(e)(f"{e}; {self.path}: the run it was to replace is back as it was") from None
                raise
            if track_updates:
                self.dir.write_json(self.dir.updates_file, on_step.to_dict())
            result["losses"] = None
            if not result["interrupted"]:
                self.model = load_model(self.dir, "best", self.device, self.config)
                result["losses"] = self.evaluate()
                self.dir.log({"step": result["step"], "final": True, **result["losses"]})
        return result

    # --- using a trained run ---------------------------------------------------------------
    def evaluate(self, splits=SPLITS) -> dict:
        """Mean NLL in nats per character of the run's model on each named split."""
        for s in splits:
            if s not in SPLITS:
                raise UsageError(f"--split must be one of {', '.join(SPLITS)}, got {s!r}")
        return {s: evaluate(self.model, self.data.split(s), self.device) for s in splits}

    def evaluate_file(self, input) -> dict:
        """{"input": mean NLL per character} of the items of another file, read as the run read its own
        (a tagged run's: TAG<TAB>ITEM lines or a directory, each item given its own tag)."""
        d = self.config["data"]
        tags = None
        if self.tags:
            read = read_tagged(input, encoding=d["encoding"], max_len=d["max_len"], normalize=normalized(d))[0]
            words = read.items.words()
            index = torch.tensor([tagging.check_tag(t, self.tags) for t in read.names], dtype=torch.long)
            tags = index[torch.from_numpy(read.tags)]
        else:
            words = read_words(input, encoding=d["encoding"], max_len=d["max_len"], normalize=normalized(d))
        unknown = self.vocab.unknown_chars(words)
        if unknown:
            raise DataError(f"{input}: characters not in the model's vocabulary: {''.join(unknown[:20])!r}")
        split = Split(words, *encode_words(words, self.vocab, d["max_len"]), tags=tags)
        return {"input": evaluate(self.model, reverse_split(split) if self.reverse else split, self.device)}

    def novelty(self, items: list[str]) -> list[str]:
        """Each item 'train' (in the training split), 'val/test' (only held out) or 'new'; all '?' if
        the run's data file is gone. The split's index is built on first use and kept."""
        if self._index is None:
            try:
                self._index = ItemIndex(self.data)
            except DataError:
                self._index = False
        if self._index is False:
            return ["?"] * len(items)
        found = self._index.where([w[::-1] for w in items] if self.reverse else items)
        return ["new" if f is None else "train" if f == "train" else "val/test" for f in found]

    def trie(self):
        """The trie of the run's items (every part of the split), for constraints' "new"."""
        if self._trie is None:
            try:
                self._trie = trie_of(self.data)
            except DataError as e:
                raise UsageError(f"--new needs the run's items: {first_line(e, 200)}") from None
        return self._trie

    def twist(self) -> list | None:
        """Count models of the run's training items (per tag, if tagged), to guide the particles
        of constrained sampling (constraints.smc.Guide): a Kneser-Ney 4-gram, and a bigram for when
        the 4-gram's contexts are too many; None if the data file is gone (the particles then see
        the constraints alone)."""
        if self._twist is None:
            try:
                data = self.data
            except DataError:
                self._twist = False
                return None
            tags, K = data.train.example_tags(), len(self.tags or ())
            self._twist = [build_model(kind, self.vocab.size, self.max_len + 1, n_tags=K, **options).fit(
                               *data.train.examples(block), tags=tags)
                           for kind, block, options in GUIDES]
        return self._twist or None

    def sample(self, n: int = 20, marks: bool = True, tag=None, constraints: dict | None = None,
               particles: int | None = None, **options) -> list[dict]:
        """n items from the model, each {"item", "novelty"}: new, train or val/test ('?' if the
        data file is gone), and for a run of tagged items "tag", the tag it was drawn under.
        tag (tagged runs): "it", a blend "it=0.7,es=0.3" or {"it": 0.7, "es": 0.3}, or None for the
        tags' training frequencies. options: prefix, unique, seed, temperature, top_k, top_p.
        constraints: {"suffix", "contains", "excludes", "min_len", "max_len", "regex", "new"}, every one
        met by every item ("new": True, none of the data file's items), drawn from p(item |
        constraints): exactly for a count model, else by sequential Monte Carlo with `particles` per
        item (the constraints package); each item then also has "logp" and "p_constraint"."""
        if self.reverse and (options.get("prefix") or constraints):
            what = "--prefix" if options.get("prefix") else "constraints"
            raise UsageError(f"{what}: {self.path} reads items right to left, so it cannot continue a prefix or "
                             "constrain what comes next")
        weights = None
        if tag is not None or self.tags:
            names = self._tagged("--tag")
            weights = tagging.tag_weights(tag, names, self.config["data"]["tags_train"])
        if isinstance(options.get("prefix"), str):
            options["prefix"] = self.as_read(options["prefix"])
        if constraints:
            drawn = sample_under(self.model, self.vocab, self.max_len, n, constraints, weights, particles, read=self.as_read,
                                 trie=self.trie, twist=self.twist, device=self.device, **options)
        else:
            drawn = [{"item": w, "tag": t} for w, t in
                     sample_tagged(self.model, self.vocab, n, self.max_len, weights, device=self.device, **options)]
        items = [d["item"][::-1] if self.reverse else d["item"] for d in drawn]
        novel = self.novelty(items) if marks else ["?"] * len(items)
        out = [{"item": w, "novelty": m} for w, m in zip(items, novel)]
        for o, d in zip(out, drawn):
            if weights is not None:
                o["tag"] = self.tags[d["tag"]]
            if constraints:
                o.update(logp=d["logp"], p_constraint=d["p_constraint"], exact=d["exact"])
        return out

    def as_read(self, text: str) -> str:
        """Text as the run reads its items: in Unicode NFC if it normalizes."""
        return unicodedata.normalize("NFC", text) if isinstance(text, str) and normalized(self.config["data"]) else text

    def _read_order(self, items: list[str]) -> list[str]:
        if isinstance(items, str):
            return items
        items = [self.as_read(w) for w in items]
        return [w[::-1] for w in items] if self.reverse else items

    def score(self, items: list[str], tag: str | None = None) -> list[dict]:
        """Each item's NLL: {"item", "nll" (nats), "nll_per_char", "chars"}. A run of tagged items:
        -log p(item | tag) with a tag, else the marginal -log sum_T p(T) p(item | T)."""
        seq = self._read_order(items)
        if tag is not None:
            k = tagging.check_tag(tag, self._tagged("--tag"))
            scored = score_items(self.model, self.vocab, seq, self.max_len, self.device,
                                 tags=torch.full((len(items),), k, dtype=torch.long))
        elif self.tags:
            nll = self._tag_nll(items_split(self.vocab, seq, self.max_len))
            scored = score_items(self.model, self.vocab, seq, self.max_len, self.device,
                                 totals=tagging.marginal_nll(nll, self.tag_log_prior))
        else:
            scored = score_items(self.model, self.vocab, seq, self.max_len, self.device)
        return [{**r, "item": w} for r, w in zip(scored, items)]

    def _tag_nll(self, split: Split) -> torch.Tensor:
        """-log p(item | T) (K, N) of a split's items."""
        return tagging.tag_nll(self.model, split, len(self.tags), self.device)

    def classify(self, items: list[str], top: int | None = None) -> list[dict]:
        """p(tag | item) by Bayes' rule: each {"item", "tags": [{"tag", "p"}, ...] most likely
        first (the `top` most likely, or all)}."""
        names = self._tagged("classify")
        if top is not None and top < 1:
            raise UsageError(f"--top must be at least 1, got {top}")
        split = items_split(self.vocab, self._read_order(items), self.max_len)
        post = tagging.posterior(self._tag_nll(split), self.tag_log_prior)                     # (N, K)
        out = []
        for w, p in zip(items, post.tolist()):
            order = sorted(range(len(names)), key=lambda k: -p[k])[:top]
            out.append({"item": w, "tags": [{"tag": names[k], "p": p[k]} for k in order]})
        return out

    def tag_report(self, split: str = "test") -> dict:
        """On a split of a tagged run: the conditional NLL per character (the metric, given each
        item's true tag), the marginal one (log sum_T p(T) p(item | T)), and how well the tags are
        told (accuracy, macro-F1, calibration, the confusion matrix: tagging.report)."""
        names = self._tagged("tags")
        if split not in SPLITS:
            raise UsageError(f"--split must be one of {', '.join(SPLITS)}, got {split!r}")
        s = self.data.split(split)
        nll = self._tag_nll(s)                                                           # (K, N)
        truth = s.tags
        conditional = nll.gather(0, truth[None]).sum().item() / s.n_targets
        marginal = tagging.marginal_nll(nll, self.tag_log_prior).sum().item() / s.n_targets
        post = tagging.posterior(nll, self.tag_log_prior)
        return {"split": split, "conditional": conditional, "marginal": marginal,
                **tagging.report(post, truth, names)}


def create_run(path, input=None, *, type: str | None = None, preset: str | None = None, recipe: str | None = None,
               encoding: str = "utf-8", max_len: int = 256, dedupe: bool = False, split_seed: int = 42,
               max_bytes: int = MAX_BYTES, reverse: bool = False, tagged: bool = False, normalize: bool = True,
               unit: str = "char", force: bool = False, device="auto", **options) -> Run:
    """A new run in `path`, ready to train: every option checked, the data read and split, the
    model built (after a check that it and its training fit in memory). Nothing is written until
    run.train() (with force, the old run is removed then).
    options: any model option of the type (n_embd=...) or TrainConfig field (max_steps=...).
    reverse: the model reads every item right to left (the split is the same items).
    tagged: the input's lines are TAG<TAB>ITEM (the bundled locales.tsv when input is None); a
    directory of text files, one per tag, is read as tagged items whatever this says.
    normalize: read the text in Unicode NFC (False: as it is, code point for code point).
    unit: a token per code point ("char") or per extended grapheme cluster ("grapheme").
    Under torchrun every process calls it; rank 0 alone checks and writes the directory."""
    device = distributed.launch(resolve_device(device))
    if distributed.is_writer():
        check_new(path, force)
    if unit not in UNITS:
        raise UsageError(f"--unit must be one of {', '.join(UNITS)}, got {unit!r}")
    if unit == "grapheme" and reverse:
        raise UsageError("--reverse reads items code point by code point; it does not go with --unit grapheme")
    resolved = presets.resolve(type, preset, recipe, **options)
    prepared = cache.prepare(input, encoding=encoding, max_len=max_len, max_bytes=max_bytes, dedupe=dedupe,
                             split_seed=split_seed, cache=cache.cache_dir(path), min_items=10, tagged=tagged,
                             normalize=normalize, unit=unit)
    data = prepared.data.reversed() if reverse else prepared.data
    check_memory(resolved.type, resolved.model, resolved.train, data)
    torch.manual_seed(resolved.train.seed)                     # the seed sets the initial weights too
    model = build_model(resolved.type, data.vocab.size, data.max_len + 1, len(data.tags or ()), **resolved.model)
    Batches.check(model, resolved.train.bucket, resolved.train.pack)
    config = {
        "type": resolved.type, "preset": resolved.preset, "recipe": resolved.recipe,
        "model": asdict(model.config),
        "data": {"input": prepared.path, "sha256": prepared.sha256, "encoding": encoding, "max_len_limit": max_len,
                 "max_bytes": max_bytes, "dedupe": dedupe, "reverse": bool(reverse),
                 "normalize": "NFC" if normalize else "none", "unit": unit,
                 "dedupe_dropped": prepared.dropped, "split_seed": split_seed, "vocab": data.vocab.chars,
                 "max_len": data.max_len, "items": {s: len(data.split(s)) for s in SPLITS},
                 "targets": {s: data.split(s).n_targets for s in SPLITS}},
        "train": asdict(resolved.train),
    }
    if data.tags:
        train_counts = torch.bincount(data.train.tags, minlength=len(data.tags)).tolist()
        config["data"]["tags"] = prepared.tags
        config["data"]["tags_train"] = dict(zip(data.tags, train_counts))
    return Run(path, config, model, device, data=data, pending=True, force=force, data_note=cache_note(prepared, path))


def cache_note(prepared: Prepared, path) -> str | None:
    """What the cache did for a run's split, in a line (None when it was not used)."""
    where = cache.cache_dir(path)
    return {"loaded": f"data: the encoded split loaded from the cache in {where}",
            "cached": f"data: the encoded split cached in {where} (the next run on this file loads it)"}.get(prepared.source)


def resume_run(path, input=None, device="auto", type: str | None = None, preset: str | None = None,
               recipe: str | None = None, **train_options) -> Run:
    """The run in `path`, ready to continue exactly where it stopped; training options (e.g. a
    larger max_steps) may change, the model may not. Nothing is written until run.train() (but an
    old run that a --force killed before its first checkpoint had set aside is put back first)."""
    rundir = RunDir(path)
    if distributed.is_writer() and any(rundir.path.glob(ASIDE + "*")):
        with rundir.lock():
            rundir.recover()                       # a --force killed before its first checkpoint: the old run back
    if not rundir.exists() or not rundir.state_file.exists():
        raise RunError(f"{rundir.path}: no run to resume (config.json or state.pt missing)")
    config = rundir.read_config()
    unknown = [k for k in train_options if k not in TRAIN_FIELDS]
    if unknown or preset or recipe or type not in (None, config["type"]):
        name = unknown[0].replace("_", "-") if unknown else "preset" if preset else "recipe" if recipe else "type"
        raise UsageError(f"--{name}: model options cannot change on --resume; they are read from the run's config.json")
    tcfg = _resumed_settings(rundir, config["train"], train_options)
    model = config_model(rundir, config)           # the model's values in range, and it fits in memory
    state = rundir.load_state()
    prepared = run_data(config, input, path)
    if prepared.chars != config["data"]["vocab"]:
        raise DataError(f"{input or config['data']['input']}: its vocabulary differs from the run's; cannot resume on other data")
    data = prepared.data
    check_memory(config["type"], config["model"], tcfg, data)
    device = distributed.launch(resolve_device(device))
    if "weights" in state:
        try:
            model.load_state_dict(state.pop("weights"))
        except (RuntimeError, KeyError) as e:
            raise RunError(f"{rundir.state_file}: its weights do not fit the run's model "
                           f"({first_line(e, 120)})") from None
        saved = rundir.weights_step("last")
        if saved is not None and saved != int(state["step"]) and distributed.is_writer():
            print(f"{rundir.path}: model.safetensors is from step {saved:,} but state.pt from step {int(state['step']):,} "
                  f"(a save was cut short); resuming from the whole checkpoint at step {int(state['step']):,}",
                  file=sys.stderr)
    else:                                          # a checkpoint of an earlier version: the weights beside it
        model = load_model(rundir, "last", "cpu", config).train()
    return Run(path, {**config, "train": asdict(tcfg)}, model, device, data=data, input=input, resume=state,
               pending=True, data_note=cache_note(prepared, path))


def _resumed_settings(rundir: RunDir, saved: dict, options: dict) -> TrainConfig:
    """The training settings of a resumed run: the saved ones, with `options` over them, validated.
    A setting out of range that comes from config.json, not from the options, is an error naming
    the file and the key (`config.json: train.lr must be > 0`), not the option."""
    try:
        return TrainConfig(**{**saved, **options}).validate()
    except UsageError as e:
        try:
            TrainConfig(**saved).validate()
        except UsageError as own:
            flag, _, rest = str(own).partition(" ")
            if str(own) == str(e) and flag.startswith("--") and flag[2:].replace("-", "_") not in options:
                raise RunError(f"{rundir.config_file}: train.{flag[2:].replace('-', '_')} {rest}") from None
        raise


def is_run(path) -> bool:
    """Whether `path` holds a run (a config.json)."""
    return RunDir(path).exists()


def load_run(path, weights: str | None = "best", device="cpu", input=None) -> Run:
    """A trained run: its config, vocabulary, data (rebuilt on first use; from `input` if given)
    and, unless weights is None, its model (`best` by val, or `last`)."""
    rundir = RunDir(path)
    config = rundir.read_config()
    device = resolve_device(str(device))
    model = None if weights is None else load_model(rundir, weights, device, config)
    return Run(path, config, model, device, input=input)
