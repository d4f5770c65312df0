"""Several runs as one model: an ensemble of runs trained on the same data (its weights fitted
on val), and `best`, whose members are trained side by side first."""

from __future__ import annotations

import contextlib
import os
import time

from .. import presets
from ..data import head_rows, read_words, reverse_split
from ..errors import DataError, RunError, UsageError
from ..evaluation import token_logp, token_nll
from ..files import create_file
from ..models.ensemble import build_mixture, directions, fit_mixture, fit_product, mixture_loss
from ..train import resolve_device
from .directory import RunDir, check_new
from .resources import set_threads
from .run import Run, create_run, load_model, run_data
from .schema import MIXES

FIT_BYTES = 2 ** 30             # the members' distributions a product mixture is fitted on, at most (the first val items)


def ensemble(path, runs: list, mix: str = "fit", weights: str = "best", force: bool = False, device="auto") -> Run:
    """Mix several runs trained on the same data into an ensemble directory that evaluates,
    samples and scores like any run. The weights are fitted on val by EM (never on test), or equal.
    Runs of one reading direction mix their next-character distributions; when some read right to
    left (`train --reverse`) and some left to right, each direction is mixed so, and the two
    mixtures are mixed over whole items (a TwoWay mixture, its two weights fitted on val's items).
    mix "product": the members' distributions multiplied within each direction, each raised to an
    exponent fitted on val (from the first val items whose distributions fit FIT_BYTES), instead.
    The returned run's config holds each member's and the mixture's val and test loss."""
    if mix not in MIXES:
        raise UsageError(f"--mix must be one of {', '.join(MIXES)}, got {mix!r}")
    rundir = check_new(path, force)
    device = resolve_device(device)
    if not runs:
        raise UsageError("an ensemble needs at least one run")
    members = [RunDir(r) for r in runs]
    if any(m.path.resolve() == rundir.path.resolve() for m in members):
        raise UsageError(f"{rundir.path}: the ensemble cannot be one of its own members")
    configs = [m.read_config() for m in members]
    reverse = check_members(configs, runs)
    models = [load_model(m, weights, device, c) for m, c in zip(members, configs)]
    forward = {**configs[0]["data"], "reverse": False}                          # the items as they are in the file
    data = run_data({**configs[0], "data": forward}, beside=members[0].path).data
    ways = {s: (data.split(s), reverse_split(data.split(s)) if any(reverse) else None) for s in ("val", "test")}
    nll = {s: [token_nll(m, split[r], device) for m, r in zip(models, reverse)]
           for s, split in ways.items()}                                        # each member reads its own way
    w, v = fit_mixture(nll["val"], reverse, data.val.lengths, equal=mix == "equal")
    if mix == "product":                           # started from the linear fit
        k = max(1, FIT_BYTES // (8 * len(models) * data.vocab.size * (data.max_len + 1)))
        head = [split and head_rows(split, k) for split in ways["val"]]            # the first val items, each way read
        logp = [token_logp(m, head[r], device) for m, r in zip(models, reverse)]
        w, v = fit_product([x for x, _ in logp], [y for _, y in logp], reverse, head[0].lengths, w, v)
        mixture = build_mixture(models, reverse, w, v, product=True)
        parts = [mixture] if v is None else [mixture.ltr, mixture.rtl]             # each direction's product, one model
        way = [reverse[g[0]] for g in directions(reverse)]
        part_nll = {s: [token_nll(p, split[r], device) for p, r in zip(parts, way)] for s, split in ways.items()}
        loss = {s: mixture_loss(part_nll[s], way, data.split(s).lengths, [1.0] * len(way), v) for s in nll}
    else:
        mixture = build_mixture(models, reverse, w, v)
        loss = {s: mixture_loss(nll[s], reverse, data.split(s).lengths, w, v) for s in nll}
    config = {"type": "ensemble", "members": [os.path.relpath(m.path.resolve(), rundir.path.resolve()) for m in members],
              "member_types": [c["type"] for c in configs], "member_reverse": reverse, "weights": w, "mix": mix,
              "member_loss": {s: [x.mean().item() for x in xs] for s, xs in nll.items()},
              "data": {**forward, "reverse": v is None and reverse[0]}, "model": {},
              **{s: x for s, (x, _) in loss.items()}}
    if v is not None:
        config.update({"direction_weights": v, "direction_loss": {s: d for s, (_, d) in loss.items()}})
    with rundir.lock():                            # a writer, like train: never while another writes here
        check_new(path, force)                    # checked again under the lock: nobody took it meanwhile
        if force:
            rundir.clear()
        rundir.write_config(config)
    return Run(path, config, mixture.eval(), device, data=data.reversed() if config["data"]["reverse"] else data)


def check_members(configs: list[dict], runs: list) -> list[bool]:
    """Runs that can be mixed: trained on the same file, split and tags, none a mixture of both
    directions already, and tagged ones all of one direction. Returns each one's direction."""
    for config, name in zip(configs, runs):
        for k in ("vocab", "max_len", "split_seed", "sha256", "dedupe", "tags", "normalize", "unit"):
            default = "char" if k == "unit" else None                  # runs from before --unit read characters
            if config["data"].get(k, default) != configs[0]["data"].get(k, default):
                raise DataError(f"{name}: its data differs from {runs[0]}'s ({k}); ensemble members must be "
                                "trained on the same file with the same split" + (" and tags" if k == "tags" else ""))
        if "direction_weights" in config:
            raise UsageError(f"{name}: mixes both reading directions already; use its members instead")
    reverse = [bool(c["data"].get("reverse")) for c in configs]
    if configs[0]["data"].get("tags") and len(set(reverse)) > 1:
        raise UsageError("a mixture of both reading directions of tagged runs is not supported: its right-to-left half "
                         "gives no next-character distribution to sample a tag's items from; mix one direction")
    return reverse


def train_member(path: str, options: dict, input, device: str, threads: int, log_file: str) -> None:
    """One member of `best`, in a worker process: its own thread count, its output to a log."""
    set_threads(threads)
    with create_file(log_file, buffering=1) as log, contextlib.redirect_stdout(log), contextlib.redirect_stderr(log):
        run = create_run(path, input, force=True, device=device, **options)
        print(run.describe())
        run.train(progress=False)


def best(path, input=None, jobs: int | None = None, device="auto", force: bool = False,
         members: dict | None = None, mix: str | None = None, log=print) -> Run:
    """The best-quality recipe: train the members (presets.BEST) side by side, one process per
    CPU core, into path/members/NAME, then mix them into an ensemble in path (mix: as ensemble's,
    presets.BEST_MIX by default)."""
    from concurrent.futures import ProcessPoolExecutor, as_completed
    from multiprocessing import get_context
    members = presets.BEST if members is None else members
    rundir = check_new(path, force)
    if input is not None:
        read_words(input)                          # bad input: one error now, not one per member
    dev = resolve_device(device)
    jobs = jobs or (1 if dev.type != "cpu" else max(1, os.cpu_count() or 1))
    if jobs < 1:
        raise UsageError(f"--jobs must be at least 1, got {jobs}")
    for name, options in members.items():         # every member's options checked before any trains
        try:
            presets.resolve(**{("preset_name" if k == "preset" else k): v for k, v in options.items() if k != "reverse"})
        except UsageError as e:
            raise UsageError(f"best: {name}: {e}") from None
    threads = max(1, (os.cpu_count() or 1) // jobs)
    (rundir.path / "members").mkdir(parents=True, exist_ok=True)
    log(f"training {len(members)} members, {jobs} at a time, {threads} thread(s) each; "
        f"logs in {rundir.path / 'members'}/NAME/train.log")
    failed, t0 = [], time.perf_counter()
    with ProcessPoolExecutor(max_workers=jobs, mp_context=get_context("spawn")) as pool:
        futures = {}
        for name, options in members.items():
            d = rundir.path / "members" / name
            d.mkdir(parents=True, exist_ok=True)
            futures[pool.submit(train_member, str(d), options, input, device, threads, str(d / "train.log"))] = name
        for future in as_completed(futures):
            name, error = futures[future], future.exception()
            log(f"  {name:<12} {'done' if error is None else f'FAILED ({error})'} at {time.perf_counter() - t0:5.0f} s")
            if error is not None:
                failed.append(name)
    if failed:
        raise RunError(f"members {', '.join(failed)} failed; see {rundir.path / 'members'}/NAME/train.log")
    log(f"members trained in {time.perf_counter() - t0:.0f} s")
    return ensemble(path, [str(rundir.path / "members" / name) for name in members], mix=mix or presets.BEST_MIX, force=True,
                    device=device)
