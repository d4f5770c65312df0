"""Constrained sampling for a model: the exact path where the model has one, else sequential
Monte Carlo; the constraints given as a dict (the Python API, the CLI and the web API)."""

from __future__ import annotations

import math

import torch

from ..data import BOUNDARY, Vocab
from ..errors import UsageError
from .automaton import Automaton
from .exact import exact_samplers
from .smc import Guide, smc
from .trie import Trie

PARTICLES = 16       # particles per item by default (results.md, "Constraints": how many it takes)
CONSTRAINTS = ("suffix", "contains", "excludes", "min_len", "max_len", "regex", "new")


def sample_constrained(model, vocab: Vocab, n: int, automaton: Automaton, tag_weights: torch.Tensor | None = None,
                       prefix: str = "", seed: int | None = None, particles: int = PARTICLES, device="cpu",
                       trie: Trie | None = None, twist=None, **options) -> list[dict]:
    """n items meeting the automaton's constraints (and, with a trie, none of its items), each
    {"item", "tag" (an index, or None), "logp" (its log-probability under the model),
    "p_constraint" (the share of the model's items that meet the constraints, among those that
    start with the prefix: exact, or the particles' estimate), "exact" (True for a count model
    drawn exactly)}. tag_weights (K,): each item's tag drawn from it first, as sample_tagged does.
    twist: a count model of the same items, a list of them (the first whose exact path fits), or a
    function that builds either; its exact beta guides the particles of any other model
    (smc.Guide); None: plain masking. options: temperature, top_k, top_p."""
    from ..models.ensemble import TwoWay
    from ..sampling import check_count, check_sampling_options
    check_count("-n", n, 1)
    check_count("--particles", particles, 1, 100_000)
    check_sampling_options(options.get("temperature", 1.0), options.get("top_k"), options.get("top_p"))
    if isinstance(model, TwoWay):
        raise UsageError("constraints: this mixture reads items in both directions, so it has no next character "
                         "to constrain; sample from its left-to-right members instead")
    unknown = vocab.unknown_chars([prefix])
    if unknown:
        raise UsageError(f"--prefix {prefix!r}: character {unknown[0]!r} is not in the model's vocabulary")
    prefix_ids = vocab.encode(prefix) if prefix else []
    ok = None
    if trie is not None:
        ok = torch.from_numpy(trie.reachable(automaton))
        node = trie.walk(prefix_ids)
        if node >= 0 and not bool(ok[node]):
            raise UsageError("--new: every item that " + ("starts with the prefix and " if prefix else "")
                             + f"meets the constraints is in the training file ({automaton.describe()})")
    generator = torch.Generator().manual_seed(seed) if seed is not None else None
    tags = None if tag_weights is None else torch.multinomial(tag_weights, n, replacement=True, generator=generator)
    groups = None if tags is None else tags.unique().tolist()
    exact = exact_samplers(model, automaton, groups, options, trie)
    ids, logp, est = torch.zeros(n, automaton.max_len, dtype=torch.long), torch.zeros(n, dtype=torch.float64), torch.zeros(n, dtype=torch.float64)
    if exact is not None:                                            # a count model: exactly, a tag at a time
        for k, sampler in zip(groups or [None], exact):
            rows = torch.arange(n) if k is None else (tags == k).nonzero().squeeze(1)
            ids[rows], logp[rows], est[rows] = sampler.draw(len(rows), prefix_ids, generator)
    else:
        twist = twist() if callable(twist) and not isinstance(twist, torch.nn.Module) else twist
        guide = Guide(automaton, trie, ok, twists(twist, automaton, groups, trie))
        step = max(1, 4096 // particles)                             # at most 4,096 particles stepped together
        for a in range(0, n, step):
            b = min(n, a + step)
            ids[a:b], logp[a:b], est[a:b] = smc(model, guide, b - a, particles, prefix_ids, generator=generator,
                                                device=device, tags=None if tags is None else tags[a:b], **options)
    out = []
    for k, row in enumerate(ids.tolist()):
        item = vocab.decode(row[:row.index(BOUNDARY)] if BOUNDARY in row else row)
        out.append({"item": item, "tag": None if tags is None else int(tags[k]), "logp": logp[k].item(),
                    "p_constraint": math.exp(est[k].item()), "exact": exact is not None})
    return out


def twists(models, automaton: Automaton, groups: list[int] | None, trie: Trie | None) -> dict | None:
    """{tag (None: every tag): Exact} of the first count model (of one or a list) whose exact path
    fits, to guide SMC; None without one."""
    for model in models if isinstance(models, (list, tuple)) else [models] if models is not None else []:
        keys = groups if groups is not None and model.config.n_tags else None
        found = exact_samplers(model, automaton, keys, {}, trie)
        if found is not None:
            return dict(zip(keys or [None], found))
    return None


def sample_under(model, vocab: Vocab, model_max_len: int, n: int, constraints: dict, tag_weights=None,
                 particles: int | None = None, unique: bool = False, read=lambda text: text, trie=None,
                 twist=None, **options) -> list[dict]:
    """sample_constrained with the constraints as a dict of CONSTRAINTS ("contains" and "excludes"
    lists of strings, "new" True to leave out the items of `trie`, a Trie or a function that
    builds it), each string first read as the model reads text (`read`, e.g. to NFC); twist: a
    count model (or a function that builds it) to guide SMC; unique: drawn again until n distinct
    items (or 50 draws)."""
    for k in constraints:
        if k not in CONSTRAINTS:
            raise UsageError(f"constraints: unknown {k!r}; choose among {', '.join(CONSTRAINTS)}")
    c = {"suffix": read(constraints.get("suffix") or ""), "contains": [read(s) for s in constraints.get("contains") or ()],
         "excludes": [read(s) for s in constraints.get("excludes") or ()], "min_len": constraints.get("min_len") or 0,
         "max_len": constraints.get("max_len"), "regex": constraints.get("regex") or ""}
    automaton = Automaton(vocab, model_max_len, **c)
    if constraints.get("new"):
        if trie is None:
            raise UsageError("--new: the training items are not known here")
        trie = trie() if callable(trie) else trie
    else:
        trie = None
    drawn, seen = [], set()
    for _ in range(50 if unique else 1):
        for d in sample_constrained(model, vocab, n - len(drawn), automaton, tag_weights,
                                    particles=particles or PARTICLES, trie=trie, twist=twist, **options):
            if not unique or d["item"] not in seen:
                seen.add(d["item"])
                drawn.append(d)
        if len(drawn) >= n:
            break
        options["seed"] = None if options.get("seed") is None else options["seed"] + 1
    return drawn
