"""`makemore serve`: every API route checked against the library's own numbers (the model's full
forward, run.score, run.sample, the cells' own steps, the bigram model's counts), every kind of bad
request, the static files, the command line, and that the run directories are never written.

The server runs in a thread on 127.0.0.1 and a free port, over small runs trained once per session
on 600 names (tests/test_browser.py uses the same runs)."""

from __future__ import annotations

import argparse
import copy
import hashlib
import http.client
import json
import math
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from makemore import explore, serve
from makemore.data import BOUNDARY, read_words
from makemore.diagnostics import health as health_check
from makemore.errors import RunError
from makemore.runs import create_run, ensemble, load_run

SPECS = {
    "transformer": dict(type="transformer", preset="tiny", max_steps=30, eval_interval=10),
    "lstm": dict(type="lstm", n_hidden=32, max_steps=30, eval_interval=10),
    "gru": dict(type="gru", n_embd=16, n_hidden=24, n_layer=2, max_steps=10, eval_interval=5),
    "mlp": dict(type="mlp", max_steps=30, eval_interval=10),
    "bigram": dict(type="bigram"),
}
_TRAINED: dict = {}


def trained_runs(root: Path) -> Path:
    """A directory of small runs, one per family, plus an ensemble of the LSTM and the MLP; trained
    once per session (the first caller's root is kept)."""
    if "dir" not in _TRAINED:
        words = root / "names600.txt"
        words.write_text("\n".join(read_words()[:600]) + "\n")
        runs = root / "runs"
        for name, options in SPECS.items():
            create_run(runs / name, words, seed=1, **options).train(progress=False)
        ensemble(runs / "mix", [runs / "lstm", runs / "mlp"])
        _TRAINED["dir"] = runs
    return _TRAINED["dir"]


def start_server(runs_dir: Path):
    """A server over every run in runs_dir, serving in a daemon thread; stop with stop_server."""
    server = serve.make_server(serve.load_runs([runs_dir]), "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server, thread


def stop_server(server, thread):
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)


def snapshot(root: Path) -> dict:
    """Every file under root: its bytes' SHA-256, size and modification time."""
    return {str(p.relative_to(root)): (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_size, p.stat().st_mtime_ns)
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="session")
def runs_dir(tmp_path_factory):
    return trained_runs(tmp_path_factory.mktemp("serve"))


@pytest.fixture(scope="module")
def before(runs_dir):
    return snapshot(runs_dir)


@pytest.fixture(scope="module")
def server(runs_dir, before):
    srv, thread = start_server(runs_dir)
    yield srv
    stop_server(srv, thread)


@pytest.fixture(scope="module")
def ref(runs_dir):
    """Reference runs, loaded apart from the server's."""
    return {d.name: load_run(d) for d in sorted(runs_dir.iterdir())}


def request(server, method, path, body=None, raw: bytes | None = None, headers=None):
    """(status, headers, parsed JSON or raw bytes) of one request on a fresh connection."""
    host, port = server.server_address[:2]
    conn = http.client.HTTPConnection(host, port, timeout=30)
    data = raw if raw is not None else None if body is None else json.dumps(body).encode()
    conn.request(method, path, body=data, headers={"Content-Type": "application/json", **(headers or {})})
    r = conn.getresponse()
    payload = r.read()
    conn.close()
    kind = r.getheader("Content-Type", "")
    return r.status, dict(r.getheaders()), json.loads(payload) if kind.startswith("application/json") else payload


def api(server, route, **body):
    status, _, data = request(server, "POST", f"/api/{route}", body)
    assert status == 200, data
    return data


def full_forward_probs(run, text: str) -> torch.Tensor:
    """(T+1, V) next-character probabilities of the model's full forward over the boundary and text."""
    idx = torch.tensor([[BOUNDARY] + run.vocab.encode(text)])
    with torch.no_grad():
        logits, _ = run.model(idx)
    return F.softmax(logits[0].double(), -1)


ALL = ["transformer", "lstm", "gru", "mlp", "bigram", "mix"]


# --- the routes ----------------------------------------------------------------------------------

def test_runs_lists_every_run_with_its_views(server, ref):
    runs = {r["name"]: r for r in api(server, "runs")["runs"]}
    assert set(runs) == set(ALL)
    for name, r in runs.items():
        run = ref[name]
        assert r["type"] == run.type
        assert r["params"] == sum(p.numel() for p in run.model.parameters())
        assert r["vocab"] == [run.vocab.show(i) for i in range(run.vocab.size)]
        assert r["final"]["val"] == pytest.approx(run.metrics[-1]["val"] if run.type != "ensemble" else run.config["val"])
    views = {name: r["views"] for name, r in runs.items()}
    assert [n for n in ALL if views[n]["attention"]] == ["transformer"]
    assert [n for n in ALL if views[n]["trace"]] == ["lstm", "gru"]
    assert [n for n in ALL if views[n]["health"]] == ["mlp"]
    assert not views["bigram"]["embeddings"] and not views["mix"]["embeddings"] and views["lstm"]["embeddings"]
    assert [m["run"].split("/")[-1] for m in runs["mix"]["members"]] == ["lstm", "mlp"] and runs["mix"]["mix"] == "fit"


@pytest.mark.parametrize("name", ALL)
def test_next_is_the_softmax_of_the_full_forward(server, ref, name):
    run = ref[name]
    for prefix in ["", "em", "xyz"]:
        d = api(server, "next", run=name, prefix=prefix)
        p = full_forward_probs(run, prefix)[-1]                          # (V,)
        index = {run.vocab.show(i): i for i in range(1, run.vocab.size)}
        listed = [index[t["char"]] for t in d["top"]]
        assert len(set(listed)) == 10
        assert [t["p"] for t in d["top"]] == pytest.approx([p[i].item() for i in listed], rel=1e-5, abs=1e-9)
        others = [p[i].item() for i in range(1, run.vocab.size) if i not in listed]
        assert min(t["p"] for t in d["top"]) >= max(others) - 1e-6           # a top 10 (ties in any order)
        assert [t["p"] for t in d["top"]] == sorted((t["p"] for t in d["top"]), reverse=True)
        assert d["end"] == pytest.approx(p[BOUNDARY].item(), rel=1e-5)
        assert d["rest"] == pytest.approx(sum(others), abs=1e-6)
        assert d["entropy"] == pytest.approx(-(p * p.log()).sum().item(), rel=1e-5)
    every = api(server, "next", run=name, prefix="an", k=100)
    assert len(every["top"]) == run.vocab.size - 1
    assert sum(t["p"] for t in every["top"]) + every["end"] == pytest.approx(1.0, abs=1e-6)


@pytest.mark.parametrize("name", ALL)
def test_score_is_run_score_and_the_surprises_sum_to_it(server, ref, name):
    run = ref[name]
    items = ["emma", "x", "zzzzqj", "annabelle"]
    d = api(server, "score", run=name, items=items)["scores"]
    for got, want in zip(d, run.score(items)):
        assert got["item"] == want["item"] and got["chars"] == want["chars"]
        assert got["nll"] == pytest.approx(want["nll"], rel=1e-5)
        assert got["nll_per_char"] == pytest.approx(want["nll_per_char"], rel=1e-5)
        steps = got["surprise"]
        assert [s["char"] for s in steps] == list(got["item"]) + [""] and steps[-1]["end"]
        assert sum(s["nll"] for s in steps) == pytest.approx(got["nll"], rel=1e-9)
        p = full_forward_probs(run, got["item"])                          # (T+1, V)
        targets = run.vocab.encode(got["item"]) + [BOUNDARY]
        assert [s["p"] for s in steps] == pytest.approx([p[t, c].item() for t, c in enumerate(targets)], rel=1e-4)
        assert all(s["p"] == pytest.approx(math.exp(-s["nll"])) for s in steps)


@pytest.mark.parametrize("name", ["transformer", "lstm", "mix", "bigram"])
def test_sample_is_what_the_cli_draws(server, ref, name):
    run = ref[name]
    for options in [dict(seed=3), dict(seed=4, temperature=0.7, top_k=5), dict(seed=5, top_p=0.8, prefix="ka")]:
        got = api(server, "sample", run=name, n=20, **options)["items"]
        assert got == run.sample(20, **options)                          # the items and their marks
    greedy = api(server, "sample", run=name, n=5, temperature=0)["items"]
    assert len({x["item"] for x in greedy}) == 1
    assert api(server, "sample", run=name, n=5, top_k=1, seed=9)["items"] == greedy
    unique = [x["item"] for x in api(server, "sample", run=name, n=30, unique=True, seed=1)["items"]]
    assert len(unique) == len(set(unique)) == 30
    assert all(w.startswith("ka") for w in (x["item"] for x in api(server, "sample", run=name, n=10, prefix="ka")["items"]))


def test_sample_marks_novelty_against_the_split(server, ref):
    run = ref["lstm"]
    train, held = set(run.data.train.words), set(run.data.val.words + run.data.test.words)
    for x in api(server, "sample", run="lstm", n=200, seed=0)["items"]:
        assert x["novelty"] == ("train" if x["item"] in train else "val/test" if x["item"] in held else "new")


def reference_beam(run, prefix: str, beam: int, max_chars: int) -> list[tuple[float, str]]:
    """Beam search written plainly over the full forward: (log p of the completion, completion)."""
    live, done = [(0.0, "")], []
    for length in range(max_chars + 1):
        cands = []
        for score, w in live:
            logp = full_forward_probs(run, prefix + w)[-1].log()          # (V,)
            done.append((score + logp[BOUNDARY].item(), w))
            cands += [(score + logp[c].item(), w + run.vocab.show(c)) for c in range(1, run.vocab.size)]
        done = sorted(done, key=lambda d: -d[0])[:beam]
        if length == max_chars:
            break
        live = sorted(cands, key=lambda d: -d[0])[:beam]
        if len(done) == beam and live[0][0] < done[-1][0]:
            break
    return done


@pytest.mark.parametrize("name", ALL)
def test_completions_are_a_beam_search_scored_like_run_score(server, ref, name):
    run = ref[name]
    d = api(server, "complete", run=name, prefix="ma", beam=4)["completions"]
    want = reference_beam(run, "ma", 4, run.max_len - 2)
    assert [c["completion"] for c in d] == [w for _, w in want]
    assert [c["p"] for c in d] == pytest.approx([math.exp(s) for s, _ in want], rel=1e-4)
    ps = [c["p"] for c in d]
    assert ps == sorted(ps, reverse=True) and len(d) == 4
    prefix_nll = -sum(math.log(full_forward_probs(run, "ma")[t, c].item()) for t, c in enumerate(run.vocab.encode("ma")))
    for c, s in zip(d, run.score([c["item"] for c in d])):
        assert c["item"] == "ma" + c["completion"]
        assert c["nll"] == pytest.approx(s["nll"], rel=1e-4)
        assert c["nll"] == pytest.approx(prefix_nll - math.log(c["p"]), rel=1e-4)
    short = api(server, "complete", run=name, prefix="", beam=3, max_chars=2)["completions"]
    assert all(len(c["item"]) <= 2 for c in short)


def test_attention_is_the_weights_the_model_uses(server, ref):
    run = ref["transformer"]
    item = "emily"
    d = api(server, "attention", run="transformer", item=item)
    cfg = run.model.config
    W = torch.tensor(d["layers"], dtype=torch.float64)                    # (n_layer, n_head, T, T)
    T = len(item) + 1
    assert W.shape == (cfg.n_layer, cfg.n_head, T, T) and d["tokens"] == ["."] + list(item)
    assert torch.allclose(W.sum(-1), torch.ones(cfg.n_layer, cfg.n_head, T, dtype=torch.float64), atol=1e-5)
    assert (W.triu(1) == 0).all()                                          # causal: nothing from the future
    seen = []                                                               # each block's input and output

    def keep(module, args, out):
        seen.append((args[0], args[2] if len(args) > 2 else None, out))

    handles = [b.attn.register_forward_hook(keep) for b in run.model.blocks]
    try:
        with torch.no_grad():
            run.model(torch.tensor([[BOUNDARY] + run.vocab.encode(item)]))
    finally:
        for h in handles:
            h.remove()
    for layer, (attn, (x, rot, out)) in enumerate(zip([b.attn for b in run.model.blocks], seen)):
        with torch.no_grad():
            _, _, v = attn.heads(x, rot)                                   # (1, nh, T, hs)
            y = W[layer].float()[None] @ v                                  # (1, nh, T, hs): the served weights applied
            assert torch.allclose(attn.merge(y), out, atol=1e-5)           # = the block's own attention output


@pytest.mark.parametrize("name", ["lstm", "gru"])
def test_trace_is_the_cells_own_steps(server, ref, name):
    run = ref[name]
    item = "olivia"
    d = api(server, "trace", run=name, item=item)
    model = run.model
    assert len(d["layers"]) == model.config.n_layer and d["n_hidden"] == model.config.n_hidden
    x = model.wte(torch.tensor([[BOUNDARY] + run.vocab.encode(item)]))
    with torch.no_grad():
        for cell, start, layer in zip(model.cells, model.start, d["layers"]):
            state = tuple(s[None] for s in start)
            xw = cell.x2h(x)
            hs = []
            for t in range(xw.size(1)):
                prev = state
                state = cell.step(xw[:, t], state)                          # the model's own step
                hs.append(state[0])
                assert torch.allclose(torch.tensor(layer["h"][t]), state[0][0], atol=1e-5)
                g = {k: torch.tensor(v[t]) for k, v in layer["gates"].items()}
                if name == "lstm":
                    assert torch.allclose(torch.tensor(layer["c"][t]), state[1][0], atol=1e-5)
                    assert torch.allclose(g["forget"] * prev[1][0] + g["input"] * g["cell"], state[1][0], atol=1e-5)
                    assert torch.allclose(g["output"] * state[1][0].tanh(), state[0][0], atol=1e-5)
                else:
                    assert torch.allclose((1 - g["update"]) * g["candidate"] + g["update"] * prev[0][0], state[0][0], atol=1e-5)
                assert all(0 <= v.min() and v.max() <= 1 for k, v in g.items() if k not in ("cell", "candidate"))
            x = torch.stack(hs, dim=1)
    p = full_forward_probs(run, item)[:, BOUNDARY]
    assert d["p_end"] == pytest.approx(p.tolist(), rel=1e-4, abs=1e-7)


def test_bigram_counts_are_the_bigram_models(server, ref):
    counts = ref["bigram"].model.counts.long().tolist()
    for name in ["bigram", "lstm", "mix"]:                                  # every run of this data: the same table
        d = api(server, "bigram", run=name)
        assert d["counts"] == counts
        assert d["chars"] == [ref["bigram"].vocab.show(i) for i in range(ref["bigram"].vocab.size)]
        assert d["items"] == len(ref[name].data.train.words)
        for row, prow in zip(d["counts"], d["probs"]):
            total = sum(row)
            assert prow == pytest.approx([c / total for c in row]) and sum(prow) == pytest.approx(1.0)


def test_bigram_top_keeps_each_rows_probabilities_over_all_characters(server, ref):
    d = api(server, "bigram", run="bigram", top=6)
    counts = ref["bigram"].model.counts
    full = [ref["bigram"].vocab.show(i) for i in range(ref["bigram"].vocab.size)]
    assert len(d["chars"]) == 6 and d["chars"][0] == "."
    for i, c in enumerate(d["chars"]):
        r = full.index(c) if i else 0
        assert d["probs"][i] == pytest.approx([counts[r, full.index(k) if j else 0].item() / counts[r].sum().item()
                                               for j, k in enumerate(d["chars"])])


def test_embeddings_are_the_tables_principal_plane(server, ref):
    for name in ["mlp", "lstm", "transformer"]:
        d = api(server, "embeddings", run=name)
        emb = next(m.weight for m in ref[name].model.modules() if type(m).__name__ == "Embedding").detach().double()
        pts = torch.tensor(d["points"], dtype=torch.float64)                # (V, 2)
        assert d["chars"] == [ref[name].vocab.show(i) for i in range(ref[name].vocab.size)]
        centered = emb - emb.mean(0)
        _, S, Vh = torch.linalg.svd(centered, full_matrices=False)
        want = centered @ Vh[:2].T                                          # (V, 2), up to the sign of each axis
        for k in range(2):
            assert torch.allclose(pts[:, k].abs(), want[:, k].abs(), atol=1e-4)


def test_health_checks_a_copy_of_the_model(server, ref):
    app_model = server.app.runs["mlp"].model
    weights = copy.deepcopy(app_model.state_dict())
    d = api(server, "health", run="mlp", batch_size=16, seed=3)
    want = health_check(copy.deepcopy(ref["mlp"].model), ref["mlp"].data, 16, 3)
    assert d["loss"] == pytest.approx(want["loss"], rel=1e-5)
    assert [t["saturated_pct"] for t in d["tanh"]] == pytest.approx([t["saturated_pct"] for t in want["tanh"]])
    assert [w["grad_data_ratio"] for w in d["weights"]] == pytest.approx([w["grad_data_ratio"] for w in want["weights"]], rel=1e-4)
    assert not app_model.training and all(p.grad is None for p in app_model.parameters())
    assert all(torch.equal(v, app_model.state_dict()[k]) for k, v in weights.items())


def test_metrics_are_the_runs_curves(server, runs_dir):
    for name in ["lstm", "transformer", "bigram"]:
        records = [json.loads(line) for line in (runs_dir / name / "metrics.jsonl").read_text().splitlines()]
        d = api(server, "metrics", run=name)
        assert d["train"] == [[r["step"], r["loss"]] for r in records if "loss" in r]
        assert d["val"] == [[r["step"], r["val"]] for r in records if "val" in r and not r.get("final")]
        assert d["final"] == {k: records[-1][k] for k in ("train", "val", "test")}
    mix = api(server, "metrics", run="mix")
    config = json.loads((runs_dir / "mix" / "config.json").read_text())
    assert mix["train"] == mix["val"] == [] and mix["final"] == {"val": config["val"], "test": config["test"]}


def test_run_defaults_to_the_first_served(server):
    first = api(server, "runs")["runs"][0]["name"]
    assert api(server, "next", prefix="a")["run"] == first


def test_concurrent_requests_agree_with_serial_ones(server):
    want = {name: api(server, "next", run=name, prefix="jo") for name in ALL}
    errors, results = [], []

    def client(i):
        try:
            for j in range(6):
                name = ALL[(i + j) % len(ALL)]
                results.append(api(server, "next", run=name, prefix="jo") == want[name])
        except Exception as e:      # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors and len(results) == 48 and all(results)


def test_the_model_lock_serves_waiters_in_arrival_order():
    lock, order = serve.FifoLock(), []

    def wait(i):
        with lock:
            order.append(i)

    threads = []
    with lock:
        for i in range(8):                        # each waits in turn, queued behind the one before
            threads.append(threading.Thread(target=wait, args=(i,)))
            threads[-1].start()
            while len(lock._waiters) < i + 1:
                threading.Event().wait(0.001)
    for t in threads:
        t.join(10)
    assert order == list(range(8))
    with lock:                                    # and it is free again
        pass


def fake_app(monkeypatch, fn, size=serve.CACHE_SIZE):
    """An App over one stand-in run, with a cached route /api/fake answered by fn(run, **args)."""
    monkeypatch.setitem(serve.ROUTES, "/api/fake", (("key", "run"), (), lambda app, run, **a: fn(run, **a), True, True))
    return serve.App({"only": object()}, cache_size=size)


def test_the_cache_is_bounded_and_drops_the_least_recently_used(monkeypatch):
    calls = []
    app = fake_app(monkeypatch, lambda run, key: calls.append(key) or {"key": key}, size=4)
    for key in range(3):
        assert app.call("/api/fake", {"key": key}) == {"run": "only", "key": key}
    app.call("/api/fake", {"key": 0})                       # 0 used again: 1 is now the oldest
    for key in range(3, 40):                                # client-chosen keys (a health seed) keep coming
        app.call("/api/fake", {"key": key})
        assert len(app._cache) <= 4
    assert calls == list(range(40))                         # each computed once, the repeat of 0 cached
    app.call("/api/fake", {"key": 39})
    app.call("/api/fake", {"key": 0})                       # dropped long ago: computed again
    assert calls == list(range(40)) + [0]
    assert len(serve.App({"only": object()})._cache) == 0 and serve.CACHE_SIZE == 256


def test_a_slow_cached_answer_does_not_hold_up_other_keys(monkeypatch):
    release, calls, answers = threading.Event(), [], []

    def fn(run, key):
        calls.append(key)
        if key == "slow":
            assert release.wait(30)
        return {"key": key}

    app = fake_app(monkeypatch, fn)
    app.call("/api/fake", {"key": "fast"})
    slow = [threading.Thread(target=lambda: answers.append(app.call("/api/fake", {"key": "slow"}))) for _ in range(3)]
    for t in slow:
        t.start()
    while calls.count("slow") < 1:
        threading.Event().wait(0.001)
    hit = threading.Thread(target=lambda: answers.append(app.call("/api/fake", {"key": "fast"})))
    hit.start()
    hit.join(5)
    waited = hit.is_alive()
    release.set()
    assert not waited and answers[0] == {"run": "only", "key": "fast"}          # answered while "slow" computes
    for t in slow:
        t.join(10)
    assert calls == ["fast", "slow"] and answers[1:] == [{"run": "only", "key": "slow"}] * 3   # computed once for 3


def test_a_failed_cached_computation_is_not_kept(monkeypatch):
    fails = [False, True]                                   # the first call fails, the next does not

    def fn(run, key):
        if fails.pop():
            raise explore.FieldError("key", "not today")
        return {"key": key}

    app = fake_app(monkeypatch, fn)
    with pytest.raises(explore.FieldError):
        app.call("/api/fake", {"key": 1})
    assert len(app._cache) == 0 and app.call("/api/fake", {"key": 1}) == {"run": "only", "key": 1}


# --- bad requests --------------------------------------------------------------------------------

BAD = [
    ("score", {}, "items"),                                     # missing
    ("score", {"items": "emma"}, "items"),                      # wrong type
    ("score", {"items": []}, "items"),
    ("score", {"items": ["emma"] * 101}, "items"),              # too many
    ("score", {"items": ["emma", 3]}, "items[1]"),
    ("score", {"items": [""]}, "items[0]"),
    ("score", {"items": ["EMMA"]}, "items[0]"),                 # a character the model has not seen
    ("sample", {"n": "20"}, "n"),
    ("sample", {"n": True}, "n"),
    ("sample", {"n": 1001}, "n"),                               # over the limit
    ("sample", {"n": 0}, "n"),
    ("sample", {"temperature": -1}, "temperature"),
    ("sample", {"temperature": "hot"}, "temperature"),
    ("sample", {"top_k": 0}, "top_k"),
    ("sample", {"top_k": 2.5}, "top_k"),
    ("sample", {"top_p": 0}, "top_p"),
    ("sample", {"top_p": 1.5}, "top_p"),
    ("sample", {"seed": -1}, "seed"),
    ("sample", {"unique": "yes"}, "unique"),
    ("sample", {"prefix": 5}, "prefix"),
    ("sample", {"prefix": "ab#"}, "prefix"),
    ("sample", {"prefix": "a" * 257}, "prefix"),                # over the length limit
    ("next", {"prefix": "a" * 300}, "prefix"),
    ("next", {"prefix": "em!"}, "prefix"),
    ("next", {"prefix": None}, "prefix"),
    ("next", {"k": 0}, "k"),
    ("next", {"run": "nope"}, "run"),                           # unknown run
    ("next", {"run": 3}, "run"),
    ("next", {"prefx": "em"}, "prefx"),                         # unknown field
    ("complete", {"beam": 21}, "beam"),
    ("complete", {"max_chars": 0}, "max_chars"),
    ("attention", {"run": "lstm", "item": "em"}, "run"),        # not a transformer
    ("attention", {"run": "transformer", "item": ["em"]}, "item"),
    ("trace", {"run": "transformer"}, "run"),
    ("trace", {"run": "mix"}, "run"),
    ("embeddings", {"run": "bigram"}, "run"),
    ("embeddings", {"run": "mix"}, "run"),
    ("health", {"run": "lstm"}, "run"),
    ("health", {"run": "mlp", "batch_size": 1}, "batch_size"),
    ("bigram", {"top": 1}, "top"),
    ("metrics", {"step": 3}, "step"),
    ("runs", {}, "run"),                                        # the list of runs takes no run
]


@pytest.mark.parametrize("route,body,field", BAD, ids=[f"{r}-{f}-{i}" for i, (r, _, f) in enumerate(BAD)])
def test_bad_requests_get_400_naming_the_field(server, route, body, field):
    status, headers, d = request(server, "POST", f"/api/{route}", {"run": "lstm", **body})
    assert status == 400, d
    assert headers["Content-Type"] == "application/json"
    assert set(d) == {"error", "field"} and d["field"] == field
    assert d["error"].startswith(f"{field}: ") and "\n" not in d["error"] and "Traceback" not in d["error"]


@pytest.mark.parametrize("raw,why", [(b"{", "not valid JSON"), (b"[1, 2]", "must be a JSON object"),
                                     (b"\xff\xfe{}", "not valid JSON"), (b'{"temperature": NaN}', "temperature: must be a number in")])
def test_bad_bodies_get_400(server, raw, why):
    status, _, d = request(server, "POST", "/api/sample", raw=raw)
    assert status == 400 and why in d["error"] and d["field"] in ("body", "temperature")


def test_an_oversized_body_gets_413_and_is_not_read_as_json(server):
    raw = json.dumps({"items": ["emma"] * 20000}).encode()
    assert len(raw) > serve.MAX_BODY
    status, _, d = request(server, "POST", "/api/score", raw=raw)
    assert status == 413 and d["field"] == "body" and str(serve.MAX_BODY) in d["error"]
    assert api(server, "next", prefix="e")["prefix"] == "e"                 # and the server goes on


def test_a_chunked_body_is_refused(server):
    status, _, d = request(server, "POST", "/api/next", raw=b"", headers={"Transfer-Encoding": "chunked"})
    assert status == 411 and "Content-Length" in d["error"]


@pytest.mark.parametrize("path", ["/../../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd", "/%2e%2e/", "/web/../serve.py",
                                  "/main.js/../../serve.py", "/..%2f..%2fetc%2fpasswd", "//etc/passwd", "/serve.py",
                                  "/web/index.html", "/resources/names.txt", "/.%2e/runs.py", "/index.html/"])
def test_static_files_only_by_name(server, path):
    status, headers, d = request(server, "GET", path)
    assert status == 404 and headers["Content-Type"] == "application/json"
    assert d["error"].startswith("not found") and b"root:" not in json.dumps(d).encode()


def test_methods_and_unknown_routes(server):
    assert request(server, "GET", "/api/next")[0] == 405
    assert request(server, "PUT", "/")[0] == 405
    assert request(server, "DELETE", "/api/next")[0] == 405
    status, _, d = request(server, "POST", "/api/nope", {})
    assert status == 404 and d["error"] == "not found: /api/nope"
    assert request(server, "POST", "/index.html", {})[0] == 404


def test_a_foreign_host_name_is_refused(server):
    status, _, d = request(server, "POST", "/api/runs", {}, headers={"Host": "attacker.example"})
    assert status == 403 and d["field"] == "host"
    assert request(server, "POST", "/api/runs", {}, headers={"Host": f"localhost:{server.server_address[1]}"})[0] == 200


def test_an_internal_error_is_json_without_a_traceback(server, monkeypatch, capsys):
    def broken(run):
        raise RuntimeError("a secret detail")
    monkeypatch.setattr(explore, "curves", broken)
    status, _, d = request(server, "POST", "/api/metrics", {})
    assert status == 500 and d == {"error": "internal error (RuntimeError); see the server's log", "field": None}
    assert "a secret detail" in capsys.readouterr().err                     # the log has it, the client not


def test_the_page_and_its_files(server):
    status, headers, html = request(server, "GET", "/")
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert "default-src 'none'" in headers["Content-Security-Policy"] and headers["X-Content-Type-Options"] == "nosniff"
    assert b'<script type="module" src="main.js">' in html and b'href="style.css"' in html
    web = Path(serve.__file__).parent / "web"
    for path, (name, kind) in serve.STATIC.items():
        status, headers, body = request(server, "GET", path)
        assert status == 200 and headers["Content-Type"] == kind and body == (web / name).read_bytes()
    assert request(server, "GET", "/main.js?v=1")[0] == 200                 # a query string is ignored
    for f in web.iterdir():                                                 # offline: nothing from elsewhere
        text = f.read_text()
        assert "http://" not in text.replace('"http://www.w3.org/2000/svg"', "") and "https://" not in text, f.name
        assert "@import" not in text and "cdn" not in text.lower(), f.name
    assert {n for n, _ in serve.STATIC.values()} == {f.name for f in web.iterdir()}


def test_keep_alive_serves_several_requests_on_one_connection(server):
    host, port = server.server_address[:2]
    conn = http.client.HTTPConnection(host, port, timeout=30)
    for prefix in ["a", "an", "ann"]:
        conn.request("POST", "/api/next", body=json.dumps({"prefix": prefix}))
        r = conn.getresponse()
        assert r.status == 200 and json.loads(r.read())["prefix"] == prefix
    conn.request("POST", "/api/next", body=b"{")                           # an error keeps the connection too
    r = conn.getresponse()
    assert r.status == 400 and json.loads(r.read())["field"] == "body"
    conn.request("POST", "/api/next", body=json.dumps({"prefix": "b"}))
    assert conn.getresponse().status == 200
    conn.close()


# --- the library functions, loading and the command line -----------------------------------------

def test_explore_checks_its_arguments_in_python(ref):
    run = ref["lstm"]
    with pytest.raises(explore.FieldError, match="^prefix: character 'Q'") as e:
        explore.next_distribution(run, "Q")
    assert e.value.field == "prefix"
    with pytest.raises(explore.FieldError, match="^n: must be between 1 and 1000"):
        explore.sample(run, n=10_000)
    with pytest.raises(explore.FieldError, match="^item: is empty"):
        explore.surprise(run, "")
    assert explore.surprise(run, "emma")["nll"] == pytest.approx(run.score(["emma"])[0]["nll"], rel=1e-5)


def test_load_runs_finds_runs_and_directories_of_runs(runs_dir, tmp_path):
    runs = serve.load_runs([runs_dir])
    assert list(runs) == sorted(ALL) and runs["mix"].type == "ensemble"
    assert list(serve.load_runs([runs_dir / "lstm", runs_dir / "mlp"])) == ["lstm", "mlp"]
    twice = serve.load_runs([runs_dir / "lstm", runs_dir])                 # the same directory once
    assert len(twice) == len(ALL)
    (tmp_path / "empty").mkdir()
    with pytest.raises(RunError, match="neither a run directory nor a directory of runs"):
        serve.find_runs([tmp_path / "empty"])
    with pytest.raises(RunError, match="no such directory"):
        serve.find_runs([tmp_path / "missing"])


def test_host_warning_and_parser():
    for host in ["127.0.0.1", "localhost", "::1", "127.0.0.2"]:
        assert serve.exposure_warning(host) is None
    for host in ["0.0.0.0", "192.168.1.5", "::", ""]:
        assert "reachable from other machines" in serve.exposure_warning(host or "0.0.0.0")
    a = serve.add_arguments(argparse.ArgumentParser(prog="makemore serve")).parse_args(["runs/a", "runs/b", "--port", "8000"])
    assert a.runs == ["runs/a", "runs/b"] and a.port == 8000 and a.host == "127.0.0.1" and a.threads == 1


@pytest.mark.parametrize("host", ["0.0.0.0", "127.0.0.1"])
def test_the_command_prints_the_warning_for_another_host(runs_dir, monkeypatch, capsys, host):
    """main() on --host 0.0.0.0 warns before serving; the server is bound to 127.0.0.1 all the same
    (make_server is wrapped) and stops at once (serve_forever is patched), so nothing listens beyond
    this machine."""
    asked, handlers = [], {}
    make_server = serve.make_server

    def loopback_server(runs, host, port, verbose):
        asked.append(host)
        return make_server(runs, "127.0.0.1", 0, verbose)

    def serve_forever(self, *a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(serve.command, "make_server", loopback_server)
    monkeypatch.setattr(serve.Server, "serve_forever", serve_forever)
    monkeypatch.setattr(signal, "signal", lambda s, h: handlers.setdefault(s, h))
    args = serve.add_arguments(argparse.ArgumentParser()).parse_args([str(runs_dir / "lstm"), "--host", host])
    assert serve.main(args) == 0
    out, err = capsys.readouterr()
    assert asked == [host] and out.startswith("serving 1 run at http://127.0.0.1:") and err.endswith("stopped\n")
    assert set(handlers) == {signal.SIGINT, signal.SIGTERM}
    if host == "0.0.0.0":
        assert err.startswith(f"warning: --host {host} makes the server reachable from other machines")
    else:
        assert "warning" not in err


def test_the_command_serves_until_interrupted(runs_dir):
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "makemore.serve", str(runs_dir / "lstm"), str(runs_dir / "bigram")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        line = proc.stdout.readline().strip()
        assert line.startswith("serving 2 runs at http://127.0.0.1:"), line
        port = int(line.rsplit(":", 1)[1].strip("/"))
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.request("POST", "/api/runs", body=b"{}")
        assert [r["name"] for r in json.loads(conn.getresponse().read())["runs"]] == ["lstm", "bigram"]
        conn.close()
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    bad = subprocess.run([sys.executable, "-m", "makemore.serve", str(runs_dir / "nope")], capture_output=True,
                         text=True, timeout=60)
    assert bad.returncode == 2 and bad.stderr.startswith("makemore serve: error: ") and "Traceback" not in bad.stderr


def test_run_directories_are_untouched(server, runs_dir, before):
    """Last: after every request above, every file of every run is byte for byte what it was."""
    api(server, "sample", run="mix", n=50)
    api(server, "health", run="mlp")
    assert snapshot(runs_dir) == before
