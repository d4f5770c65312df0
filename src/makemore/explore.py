"""Looking inside a trained run, one question at a time: what the model writes, what it expects
next, how surprised it is by each character of an item, how a prefix may end, where the
Transformer's heads look, what the recurrent gates do, and the statistics of the lectures.

    run = load_run("runs/names")
    next_distribution(run, "em")        # p(next char | "em"): the 10 likeliest characters + the end
    surprise(run, "emma")               # -log p of each character and of the end; sums to run.score
    completions(run, "em", beam=5)      # the likeliest whole items starting with "em" (beam search)
    attention(run, "emma")              # Transformer: every layer's and head's attention weights
    recurrent_trace(run, "emma")        # RNN / GRU / LSTM: hidden state and gates at every step
    bigram(run); embeddings(run); health(run); curves(run); summary(run, "names")
    tag_posterior(run, "giulia")        # a run of tagged items: p(tag | item) for every tag

A run of tagged items answers each question under one tag (`tag`), or with none under the mixture
over tags: the next-character distribution is then sum_T p(T | prefix) p(next | prefix, T), so a
character's surprise is its -log under the marginal and they still sum to the item's score. Beam
search and the views inside the model take one tag: the given one, else the prefix's likeliest.

Every argument is checked; a bad one raises FieldError (a UsageError) whose message starts with
the name of the argument, so a caller (the web server among them) can say which field is wrong.
Nothing here writes to the run directory.
"""

from __future__ import annotations

import copy
import math

import torch
import torch.nn.functional as F

from .data import BOUNDARY
from .diagnostics import bigram_table, embedding_points, tanh_modules
from .diagnostics import health as health_check
from .errors import UsageError
from .models import TITLES
from .models.ensemble import Ensemble, TwoWay
from .models.rnn import Recurrent
from .models.transformer import Transformer
from .tagging import tag_weights

MAX_CHARS = 256         # longest prefix or item accepted
MAX_N = 1000            # most items sampled at once
MAX_SCORED = 100        # most items scored at once
MAX_BEAM = 20           # widest beam
MAX_TOP = 100           # most characters listed by next_distribution
MAX_TEMPERATURE = 100.0


class FieldError(UsageError):
    """A bad argument: `field` names it, the message says what is wrong ("n: must be ...")."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field


# --- checking arguments ------------------------------------------------------------------------

def check_int(value, field: str, lo: int, hi: int) -> int:
    """An integer (not a bool) in [lo, hi]."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise FieldError(field, f"must be an integer, got {kind_of(value)}")
    if not lo <= value <= hi:
        raise FieldError(field, f"must be between {lo} and {hi}, got {value}")
    return value


def check_float(value, field: str, lo: float, hi: float, open_lo: bool = False) -> float:
    """A finite number in [lo, hi] (or (lo, hi] with open_lo)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise FieldError(field, f"must be a number, got {kind_of(value)}")
    value = float(value)
    if not math.isfinite(value) or value > hi or value < lo or (open_lo and value == lo):
        bounds = f"{'(' if open_lo else '['}{lo:g}, {hi:g}]"
        raise FieldError(field, f"must be a number in {bounds}, got {value:g}")
    return value


def check_bool(value, field: str) -> bool:
    """true or false (not 0 or 1)."""
    if not isinstance(value, bool):
        raise FieldError(field, f"must be true or false, got {kind_of(value)}")
    return value


def check_text(run, value, field: str, empty: bool = True, longest: int | None = None) -> str:
    """A string of the run's characters, at most `longest` (default: the run's longest item) and
    MAX_CHARS characters; empty only if `empty`. Returned as the run reads text (in NFC if it normalizes)."""
    if not isinstance(value, str):
        raise FieldError(field, f"must be a string, got {kind_of(value)}")
    value = run.as_read(value)                     # in NFC, if the run reads its text so
    longest = min(MAX_CHARS, run.max_len if longest is None else longest)
    if run.vocab.length(value) > longest:
        raise FieldError(field, f"is {run.vocab.length(value)} characters; at most {longest} here")
    if not value and not empty:
        raise FieldError(field, "is empty")
    unknown = run.vocab.unknown_chars([value])
    if unknown:
        raise FieldError(field, f"character {unknown[0]!r} is not in the model's vocabulary")
    return value


def check_items(run, value, field: str = "items") -> list[str]:
    """A non-empty list of at most MAX_SCORED items, each checked by check_text."""
    if not isinstance(value, list):
        raise FieldError(field, f"must be a list of strings, got {kind_of(value)}")
    if not 1 <= len(value) <= MAX_SCORED:
        raise FieldError(field, f"must hold 1 to {MAX_SCORED} items, got {len(value)}")
    return [check_text(run, v, f"{field}[{i}]", empty=False) for i, v in enumerate(value)]


def check_tag(run, value, field: str = "tag") -> int | None:
    """A tag of the run (its index), or None; a tag for an untagged run, or an unknown one, is an error."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise FieldError(field, f"must be a string, got {kind_of(value)}")
    if not run.tags:
        raise FieldError(field, "this run was trained on untagged items")
    if value not in run.tags:
        raise FieldError(field, f"{value!r} is not one of the run's tags ({', '.join(run.tags)})")
    return run.tags.index(value)


def check_blend(run, value, field: str = "tag"):
    """What sample takes as its tag: a tag, a blend {tag: weight > 0} or "it=0.7,es=0.3", or None,
    checked as tagging.tag_weights checks it."""
    if not (isinstance(value, dict) or isinstance(value, str) and ("=" in value or "," in value)):
        check_tag(run, value, field)
        return value
    if not run.tags:
        raise FieldError(field, "this run was trained on untagged items")
    try:
        tag_weights(value, run.tags, run.config["data"]["tags_train"])
    except UsageError as e:
        raise FieldError(field, str(e).removeprefix("--tag ")) from None
    return value


def kind_of(value) -> str:
    """What a JSON value is, in words, for error messages."""
    names = {bool: "a boolean", int: "an integer", float: "a number", str: "a string", list: "a list", dict: "an object"}
    return "null" if value is None else names.get(type(value), type(value).__name__)


# --- what the model predicts ---------------------------------------------------------------------

def _tokens(run, text: str) -> torch.Tensor:
    """(1, T) the boundary, then the characters of text."""
    return torch.tensor([[BOUNDARY] + run.vocab.encode(text)], dtype=torch.long, device=run.device)


def _left_to_right(run, what: str) -> None:
    """A FieldError unless the run's model reads items left to right (only then has it `what`)."""
    if run.two_way:
        raise FieldError("run", f"this ensemble mixes both reading directions over whole items: it has no {what}")
    if run.reverse:
        raise FieldError("run", f"this run reads items right to left: it has no {what}")


@torch.inference_mode()
def _logits(run, text: str, tag: int | None = None) -> torch.Tensor:
    """(T, V) float32 logits of the full forward over the boundary and text: row t predicts the
    character after the first t characters of text (the last row: what follows all of it). A run
    of tagged items: under `tag`, or else the log-probabilities of the mixture over tags,
    log sum_T p(T | the first t characters) p(next | them, T)."""
    if not run.tags:
        logits, _ = run.model(_tokens(run, text))                                   # (1, T, V)
        return logits[0].float().cpu()                                              # (T, V)
    if tag is not None:
        logits, _ = run.model(_tokens(run, text), tags=torch.tensor([tag], device=run.device))
        return logits[0].float().cpu()
    logp, joint = _under_every_tag(run, text)                                       # (K, T, V), (K, T)
    weights = joint - torch.logsumexp(joint, 0)                                     # (K, T) log p(T | first t)
    return torch.logsumexp(weights[..., None] + logp, 0).float()                    # (T, V)


@torch.inference_mode()
def _under_every_tag(run, text: str) -> tuple[torch.Tensor, torch.Tensor]:
    """A run of tagged items over the boundary and text, once per tag: the log-probabilities
    (K, T, V) float64 and log p(T) p(the first t characters | T) for each t (K, T)."""
    K = len(run.tags)
    logits, _ = run.model(_tokens(run, text).expand(K, -1), tags=torch.arange(K, device=run.device))  # (K, T, V)
    logp = F.log_softmax(logits.double().cpu(), -1)                                 # (K, T, V)
    seen = torch.tensor(run.vocab.encode(text), dtype=torch.long)                   # (T-1,)
    so_far = logp[:, :-1].gather(2, seen.expand(K, -1)[..., None])[..., 0].cumsum(1)   # (K, T-1) log p(first t | T)
    return logp, run.tag_log_prior[:, None] + torch.cat([torch.zeros(K, 1, dtype=torch.float64), so_far], 1)


def _likeliest_tag(run, prefix: str, tag: int | None) -> int | None:
    """The given tag; else, for a run of tagged items, the tag under which the prefix is likeliest
    (times the tag's prior)."""
    if tag is not None or not run.tags:
        return tag
    return int(_under_every_tag(run, prefix)[1][:, -1].argmax())


def _tag_args(run, tag: int | None, rows: int = 1) -> dict:
    return {} if tag is None else {"tags": torch.full((rows,), tag, dtype=torch.long, device=run.device)}


def tag_posterior(run, item: str) -> dict:
    """p(tag | item) for every tag of a run of tagged items (Bayes' rule, as `classify`), likeliest first."""
    item = check_text(run, item, "item", empty=False)
    if not run.tags:
        raise FieldError("run", "this run was trained on untagged items: it has no tags to tell")
    return run.classify([item])[0]


def next_distribution(run, prefix: str = "", k: int = 10, tag: str | None = None) -> dict:
    """p(next character | prefix), from the model's full forward over the prefix: the k likeliest
    characters (not counting the end), the end of the item, and what the rest share.
    Returns {"prefix", "top": [{"char", "p"}], "end", "rest", "entropy" (nats)}."""
    prefix = check_text(run, prefix, "prefix")
    k = check_int(k, "k", 1, MAX_TOP)
    tag = check_tag(run, tag)
    _left_to_right(run, "next-character distribution")
    probs = F.softmax(_logits(run, prefix, tag)[-1].double(), dim=-1)               # (V,)
    chars = probs[1:]                                                               # (V-1,) all but the end
    top = chars.topk(min(k, chars.numel()))
    vocab = run.vocab
    listed = [{"char": vocab.show(i + 1), "p": p} for p, i in zip(top.values.tolist(), top.indices.tolist())]
    end = probs[BOUNDARY].item()
    entropy = -(probs * probs.clamp_min(1e-300).log()).sum().item()
    return {"prefix": prefix, "top": listed, "end": end, "rest": max(0.0, 1.0 - end - top.values.sum().item()),
            "entropy": entropy}


def surprise(run, item: str, tag: str | None = None) -> dict:
    """How surprised the model is by each character of item and by its end: -log p in nats.
    Returns run.score's record {"item", "nll", "nll_per_char", "chars"} (chars counts the end)
    and "surprise": [{"char", "nll", "p"}] for each character, then the end ("char": "", "end": true).
    A right-to-left run's surprise at a character is given the characters after it, and its end is
    the item's start; a mixture of both directions has only the whole item's ("surprise": [])."""
    item = check_text(run, item, "item", empty=False)
    k = check_tag(run, tag)
    if run.two_way:
        return {**run.score([item], tag=tag)[0], "surprise": []}
    read = item[::-1] if run.reverse else item
    logits = _logits(run, read, k)                                                  # (T+1, V)
    targets = torch.tensor(run.vocab.encode(read) + [BOUNDARY])                     # (T+1,)
    nll = F.cross_entropy(logits, targets, reduction="none").double()               # (T+1,)
    if run.reverse:                                                                 # back in the item's order
        nll = torch.cat([nll[:-1].flip(0), nll[-1:]])
    steps = [{"char": c, "nll": x, "p": math.exp(-x)} for c, x in zip(run.vocab.split(item), nll.tolist())]
    steps.append({"char": "", "end": True, "nll": nll[-1].item(), "p": math.exp(-nll[-1].item())})
    total = nll.sum().item()
    n = run.vocab.length(item)
    return {"item": item, "nll": total, "nll_per_char": total / (n + 1), "chars": n + 1,
            "surprise": steps}


def score(run, items, tag: str | None = None) -> list[dict]:
    """surprise() of each of a list of items."""
    return [surprise(run, w, tag) for w in check_items(run, items)]


@torch.inference_mode()
def completions(run, prefix: str = "", beam: int = 5, max_chars: int | None = None, tag: str | None = None) -> list[dict]:
    """The likeliest whole items that start with prefix, by beam search on the incremental path:
    `beam` partial items are kept at each step; an item ends when the end token is chosen, after
    at most max_chars more characters (default: up to the run's longest item).
    Returns up to `beam` of {"item", "completion", "p" (of the completion given the prefix),
    "nll" (of the whole item, end included, in nats: what run.score gives)}, likeliest first.
    A run of tagged items: under one tag (the given one, else the prefix's likeliest), each
    completion then with "tag", and "nll" the item's given that tag."""
    prefix = check_text(run, prefix, "prefix", longest=run.max_len - 1)
    beam = check_int(beam, "beam", 1, MAX_BEAM)
    k = check_tag(run, tag)
    _left_to_right(run, "completions of a prefix")
    k = _likeliest_tag(run, prefix, k)
    room = run.max_len - run.vocab.length(prefix)
    max_chars = room if max_chars is None else check_int(max_chars, "max_chars", 1, room)
    model, vocab, dev = run.model, run.vocab, run.device
    V = vocab.size
    state = model.init_state(1, dev, **_tag_args(run, k))
    tokens = [BOUNDARY] + vocab.encode(prefix)
    prefix_nll = 0.0
    for t, tok in enumerate(tokens):                        # feed the boundary and the prefix
        logits, state = model.step(torch.tensor([tok], device=dev), state)          # (1, V)
        logp = F.log_softmax(logits.float(), -1).double().cpu()                     # (1, V)
        if t + 1 < len(tokens):
            prefix_nll -= logp[0, tokens[t + 1]].item()
    scores = torch.zeros(1, dtype=torch.float64)            # (B,) log p of each partial completion
    texts, done = [""], []
    for length in range(max_chars + 1):
        cand = scores[:, None] + logp                                               # (B, V)
        done += [(s, w) for s, w in zip(cand[:, BOUNDARY].tolist(), texts)]        # each partial item ends here
        done = sorted(done, key=lambda d: -d[0])[:beam]
        if length == max_chars:
            break
        top = cand[:, 1:].flatten().topk(min(beam, cand[:, 1:].numel()))           # continue with a character
        if len(done) == beam and top.values[0].item() < done[-1][0]:
            break                                           # no partial item can still beat the beam
        rows, chars = top.indices // (V - 1), top.indices % (V - 1) + 1             # (B',), (B',)
        scores = top.values
        texts = [texts[r] + vocab.show(c) for r, c in zip(rows.tolist(), chars.tolist())]
        logits, state = model.step(chars.to(dev), model.select_rows(state, rows.to(dev)))  # (B', V)
        logp = F.log_softmax(logits.float(), -1).double().cpu()
    tagged = {} if k is None else {"tag": run.tags[k]}
    return [{"item": prefix + w, "completion": w, "p": math.exp(s), "nll": prefix_nll - s, **tagged} for s, w in done]


def sample(run, n: int = 20, temperature: float = 1.0, top_k: int | None = None, top_p: float | None = None,
           prefix: str = "", seed: int | None = None, unique: bool = False, tag=None, suffix: str = "",
           contains: str = "", excludes: str = "", min_len: int | None = None, max_len: int | None = None,
           regex: str = "", new: bool = False, particles: int | None = None) -> list[dict]:
    """n items from the model, as `makemore sample` draws them, each {"item", "novelty"}: new,
    train or val/test (as the command marks them; '?' when the run's data file is gone). A run of
    tagged items: tag a tag, a blend {tag: weight}, or None (the training frequencies); each item
    then has its "tag". Constraints (every item meets them, drawn from the model's distribution
    given them): suffix, contains and excludes (one string each, "" for none), min_len, max_len,
    regex, new (none of the data file's items); each item then has "logp" and "p_constraint" (the share of the model's items that meet them)."""
    n = check_int(n, "n", 1, MAX_N)
    temperature = check_float(temperature, "temperature", 0.0, MAX_TEMPERATURE)
    top_k = None if top_k is None else check_int(top_k, "top_k", 1, run.vocab.size)
    top_p = None if top_p is None else check_float(top_p, "top_p", 0.0, 1.0, open_lo=True)
    prefix = check_text(run, prefix, "prefix", longest=run.max_len - 1)
    seed = None if seed is None else check_int(seed, "seed", 0, 2 ** 63 - 1)
    unique = check_bool(unique, "unique")
    tag = check_blend(run, tag)
    constraints = {k: check_text(run, v, k, longest=MAX_CHARS) for k, v in
                   (("suffix", suffix), ("contains", contains), ("excludes", excludes)) if v != ""}
    constraints = {k: [v] if k != "suffix" else v for k, v in constraints.items()}
    for k, v in (("min_len", min_len), ("max_len", max_len)):
        if v is not None:
            constraints[k] = check_int(v, k, 0 if k == "min_len" else 1, run.max_len)
    if not isinstance(regex, str) or len(regex) > MAX_CHARS:
        raise FieldError("regex", f"must be a string of at most {MAX_CHARS} characters")
    if regex:
        constraints["regex"] = regex
    if check_bool(new, "new"):
        constraints["new"] = True
    particles = None if particles is None else check_int(particles, "particles", 1, 4096)
    if particles is not None and not constraints:
        raise FieldError("particles", "give a constraint first (suffix, contains, excludes, min_len, max_len, regex, new)")
    if not constraints:
        return run.sample(n, temperature=temperature, top_k=top_k, top_p=top_p, prefix=prefix, seed=seed,
                          unique=unique, tag=tag)
    try:
        return run.sample(n, temperature=temperature, top_k=top_k, top_p=top_p, prefix=prefix, seed=seed,
                          unique=unique, tag=tag, constraints=constraints, particles=particles)
    except UsageError as e:                        # the constraints together: say which field
        fields = ("new", "regex", "suffix", "contains", "excludes", "min_len", "max_len", "prefix")
        field = next((k for k in fields if str(e).startswith(f"--{k.replace('_', '-')}")), None) or \
            next((k for k in fields if f"--{k.replace('_', '-')}" in str(e)), "suffix")
        raise FieldError(field, str(e)) from None


# --- inside the model ----------------------------------------------------------------------------

def _model_of(run, cls, what: str):
    if not isinstance(run.model, cls):
        raise FieldError("run", f"a {run.type} run has no {what}")
    return run.model


@torch.inference_mode()
def attention(run, item: str = "", tag: str | None = None) -> dict:
    """The Transformer's attention weights over the boundary and item, for every layer and head:
    each block's own queries and keys (captured by a forward hook on its attention, rotary turn
    included), softmax(q k^T / sqrt(hs)) under the causal mask. Row t holds where position t looks.
    Returns {"item", "tokens", "n_layer", "n_head", "layers": [layer][head][t][s]}."""
    model = _model_of(run, Transformer, "attention (only the transformer has)")
    item = check_text(run, item, "item")
    k = _likeliest_tag(run, item, check_tag(run, tag))
    weights = []

    def keep(module, args, kwargs, output):
        x = args[0]                                                                 # (1, T, C) after ln_1
        rot = args[2] if len(args) > 2 else kwargs.get("rot")
        weights.append(module.attention_weights(x, rot)[0])                        # (nh, T, T)

    handles = [block.attn.register_forward_hook(keep, with_kwargs=True) for block in model.blocks]
    try:
        model(_tokens(run, item), **_tag_args(run, k))
    finally:
        for h in handles:
            h.remove()
    return {"item": item, "tokens": [run.vocab.show(BOUNDARY)] + list(item), "n_layer": len(weights),
            "n_head": model.config.n_head, "layers": [w.tolist() for w in weights]}


@torch.inference_mode()
def recurrent_trace(run, item: str = "", tag: str | None = None) -> dict:
    """An RNN, GRU or LSTM read over the boundary and item, step by step, from its cells' own
    weights: at every step of every layer the hidden state h (and the LSTM's cell state c) and
    the gate activations. Returns {"item", "tokens", "cell", "n_hidden", "layers": [{"h": [t][unit],
    "c": ..., "gates": {name: [t][unit]}}], "p_end": p(end) after each step}."""
    model = _model_of(run, Recurrent, "recurrent state (rnn, gru and lstm have)")
    item = check_text(run, item, "item")
    k = _likeliest_tag(run, item, check_tag(run, tag))
    x = model.wte(_tokens(run, item))                                               # (1, T, n_embd)
    layers = []
    for cell, state in zip(model.cells, model.start_states(1, _tag_args(run, k).get("tags"), run.device)):
        xw = cell.x2h(x)                                                            # (1, T, gates*H)
        steps = []
        for t in range(xw.size(1)):
            gates = {}
            state = cell.step(xw[:, t], state, gates=gates)                        # the cell's own equations
            steps.append((state, gates))
        x = torch.stack([s[0] for s, _ in steps], dim=1)                            # (1, T, H)
        layer = {"h": x[0].tolist(), "gates": {g: torch.cat([gs[g] for _, gs in steps]).tolist() for g in steps[0][1]}}
        if len(state) > 1:
            layer["c"] = torch.cat([s[1] for s, _ in steps]).tolist()               # (T, H)
        layers.append(layer)
    p_end = F.softmax(model.lm_head(x)[0].float(), -1)[:, BOUNDARY]                # (T,)
    return {"item": item, "tokens": [run.vocab.show(BOUNDARY)] + list(item), "cell": type(model.cells[0]).__name__,
            "n_hidden": model.config.n_hidden, "layers": layers, "p_end": p_end.tolist()}


def bigram(run, top: int = 40) -> dict:
    """The first lecture's bigram counts over the run's training items (what a bigram model of the
    run counts), and each row normalized: p(next | previous) = N[prev, next] / N[prev].sum().
    With more than `top` characters, the boundary and the top - 1 most frequent are shown (each
    row's probabilities still over all characters). Returns bigram_table()'s dict and "probs"."""
    top = check_int(top, "top", 2, 1000)
    words = run.data.train.words
    shown = bigram_table(words, top)
    V = len(set("".join(words))) + 1
    full = shown if V <= top else bigram_table(words, V)
    totals = [sum(row) for row in full["counts"]]
    where = [0] + [full["chars"].index(c, 1) for c in shown["chars"][1:]]          # shown row -> full row
    probs = [[c / totals[r] if totals[r] else 0.0 for c in row] for r, row in zip(where, shown["counts"])]
    return {**shown, "probs": probs, "items": len(words)}


def embeddings(run) -> dict:
    """The character embedding table in 2-D (a PCA above 2 dimensions): {"chars", "points", "title"}."""
    try:
        return embedding_points(run.model, run.vocab, run.type)
    except UsageError as e:
        raise FieldError("run", str(e)) from None


def run_health(run, batch_size: int = 32, seed: int = 1337) -> dict:
    """`makemore diagnose` on the run: tanh saturation and gradient statistics of one training batch,
    on a copy of the model (the check runs it in training mode; the run's own model is untouched)."""
    batch_size = check_int(batch_size, "batch_size", 2, 4096)
    seed = check_int(seed, "seed", 0, 2 ** 63 - 1)
    if isinstance(run.model, (Ensemble, TwoWay)) or not tanh_modules(run.model):
        raise FieldError("run", f"a {run.type} run has no tanh layers to check (mlp, bnmlp, wavenet and bow have)")
    return health_check(copy.deepcopy(run.model), run.data, batch_size, seed, run.device)


def curves(run) -> dict:
    """The run's learning curves from metrics.jsonl: "train" [[step, loss]], "val" [[step, loss]],
    and "final" {"train", "val", "test"} (an ensemble has no curves: its final val and test only)."""
    records = run.metrics
    train = [[r["step"], r["loss"]] for r in records if "loss" in r]
    val = [[r["step"], r["val"]] for r in records if "val" in r and not r.get("final")]
    final = next((r for r in reversed(records) if r.get("final")), None)
    if final is None and run.type == "ensemble":
        final = run.config
    final = {s: final[s] for s in ("train", "val", "test") if final and s in final}
    return {"train": train, "val": val, "final": final}


def views(run) -> dict:
    """Which of the views above the run's model has."""
    model, one = run.model, not isinstance(run.model, (Ensemble, TwoWay))
    return {"attention": isinstance(model, Transformer) and not run.reverse, "trace": isinstance(model, Recurrent) and not run.reverse,
            "embeddings": one and any(type(m).__name__ == "Embedding" for m in model.modules()),
            "health": one and bool(tanh_modules(model))}


def summary(run, name: str) -> dict:
    """One run as the server lists it: its name, type, size, vocabulary, scores and views."""
    config, vocab = run.config, run.vocab
    out = {"name": name, "type": run.type, "title": TITLES.get(run.type, run.type), "preset": config.get("preset"),
           "params": sum(p.numel() for p in run.model.parameters()),
           "vocab": [vocab.show(i) for i in range(vocab.size)], "max_len": run.max_len,
           "final": curves(run)["final"], "views": views(run),
           "reads": "both" if run.two_way else "right to left" if run.reverse else "left to right",
           "tags": run.tags}
    if run.type == "ensemble":
        out["mix"] = config.get("mix", "fit")
        out["members"] = [{"run": m, "type": t, "weight": w}
                          for m, t, w in zip(config["members"], config["member_types"], config["weights"])]
    return out
