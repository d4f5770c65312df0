"""ONNX export against torch: every model type (and the tags, an ensemble of each mixture) written
as graphs, checked by onnx.checker, run by ONNX Runtime, and held to the torch model on random items
drawn by Hypothesis: the full forward and the step path to 1e-4 in log-probability, and the same
exponential draws giving the same items through sampling.generate."""

from __future__ import annotations

import importlib.util
import json
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

if importlib.util.find_spec("onnxruntime") is None or importlib.util.find_spec("onnxscript") is None:
    pytest.skip("the export extra is not installed (pip install 'makemore[export]')", allow_module_level=True)

from makemore.data import context_windows  # noqa: E402
from makemore.errors import UsageError  # noqa: E402
from makemore.export.graphs import write_graphs  # noqa: E402
from makemore.export.runtime import OnnxModel  # noqa: E402
from makemore.export.steppers import stepper  # noqa: E402
from makemore.export.web import PageStream  # noqa: E402
from makemore.models import build_model  # noqa: E402
from makemore.models.ensemble import Ensemble  # noqa: E402
from makemore.sampling import generate  # noqa: E402

V, SEQ, K = 9, 8, 3         # vocabulary (the boundary included), positions, tags
SMALL = {
    "bigram": {}, "ngram": dict(n=3), "add-k": dict(n=4, method="add-k", smoothing=0.3), "nnbigram": {},
    "mlp": dict(n_embd=4, n_hidden=12, block_size=3),
    "bnmlp": dict(n_embd=4, n_hidden=12, block_size=3, n_layer=2), "wavenet": dict(n_embd=4, n_hidden=8),
    "rnn": dict(n_embd=4, n_hidden=8, n_layer=2), "gru": dict(n_embd=4, n_hidden=8),
    "lstm": dict(n_embd=4, n_hidden=8, n_layer=2), "bow": dict(n_embd=8),
    "transformer": dict(n_embd=8, n_head=2, n_layer=2, rope=True),
}
TAGGED = ["ngram", "add-k", "wavenet", "gru", "bow", "transformer"]       # one of each way a family takes its tag


def items(seed: int, n: int = 200) -> torch.Tensor:
    """(n, SEQ) rows as the data has them: the boundary, characters, the boundary, then padding."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randint(1, V, (n, SEQ), generator=g)
    x[:, 0] = 0
    for i, length in enumerate(torch.randint(1, SEQ, (n,), generator=g).tolist()):
        x[i, length:] = 0
    return x


def make(name: str, n_tags: int = 0):
    torch.manual_seed(len(name) + n_tags)
    model = build_model("ngram" if name == "add-k" else name, V, SEQ, n_tags=n_tags, **SMALL[name])
    if name in ("bigram", "ngram", "add-k"):         # counts: fitted on random items
        x = items(1)
        y = torch.cat([x[:, 1:], torch.zeros(len(x), 1, dtype=torch.long)], 1)
        tags = torch.randint(0, max(n_tags, 1), (len(x),)).repeat_interleave(SEQ) if n_tags else None
        model.fit(context_windows(x, model.block_size).reshape(-1, model.block_size), y.reshape(-1), tags)
    elif name == "bnmlp":                            # running statistics that are not the initial ones
        model.train()
        model.logits(context_windows(items(2), 3).reshape(-1, 3))
    return model.eval()


CASES = [(name, 0) for name in SMALL] + [(name, K) for name in TAGGED] + [("linear mix", 0), ("product mix", 0)]


def build(case):
    name, n_tags = case
    if name.endswith("mix"):
        return Ensemble([make("lstm"), make("ngram"), make("transformer")],
                        [0.5, 0.3, 0.2] if name[0] == "l" else [0.7, 0.6, 0.4], product=name[0] == "p").eval()
    return make(name, n_tags)


def export_case(case, folder: str) -> None:
    """Export a case's model into folder (in a worker process: the models are built the same way there)."""
    torch.set_num_threads(1)
    graphs = write_graphs(build(case), Path(folder))
    tags = [str(k) for k in range(case[1])] or None
    (Path(folder) / "model.json").write_text(json.dumps({"format": "makemore-onnx", "vocab_size": V, "seq_len": SEQ,
                                                          "tags": tags, **graphs}))


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """case -> (torch model, the ONNX Runtime model of its export), exported once, two at a time."""
    folders = [str(tmp_path_factory.mktemp(f"{name.replace(' ', '-')}{n_tags}")) for name, n_tags in CASES]
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:
        list(pool.map(export_case, CASES, folders))
    return {case: (build(case), OnnxModel(folder)) for case, folder in zip(CASES, folders)}


def logp(logits: torch.Tensor) -> torch.Tensor:
    return torch.log_softmax(logits.double(), -1)


@pytest.mark.parametrize("case", CASES, ids=[f"{n}{'-tagged' if k else ''}" for n, k in CASES])
def test_forward_and_steps_match_torch(case, exported):
    model, onnx_model = exported[case]
    n_tags = case[1]

    @settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(seed=st.integers(0, 2 ** 31), B=st.integers(1, 6), T=st.integers(1, SEQ))
    def check(seed, B, T):
        x = items(seed, B)[:, :T]
        tags = torch.randint(0, n_tags, (B,), generator=torch.Generator().manual_seed(seed)) if n_tags else None
        extra = {"tags": tags} if n_tags else {}
        # the positions inside each item (its characters and its end): past the end is padding,
        # which a count model's chain does not read on (it starts the next item)
        inside = (torch.arange(T) <= (x[:, 1:] != 0).sum(1, keepdim=True))[..., None]    # (B, T, 1)
        with torch.no_grad():
            ref = logp(model(x, **extra)[0])                                   # (B, T, V)
        got = logp(onnx_model(x, **extra)[0])                                  # the forward graph (counts: the steps)
        assert ((got - ref).abs() * inside).max() < 1e-4
        state, ours = onnx_model.init_state(B, tags=tags), model.init_state(B, tags=tags)
        for t in range(T):
            got, state = onnx_model.step(x[:, t], state)
            with torch.no_grad():
                want, ours = model.step(x[:, t], ours)
            assert ((logp(got) - logp(want)).abs() * inside[:, t]).max() < 1e-4
            assert ((logp(got) - ref[:, t]).abs() * inside[:, t]).max() < 1e-4
    check()


@pytest.mark.parametrize("case", [("lstm", 0), ("transformer", K), ("ngram", 0), ("product mix", 0)],
                         ids=["lstm", "transformer-tagged", "ngram", "product-mix"])
def test_same_draws_same_items(case, exported):
    """The same exponential variates (the web page's stream) give the same items from torch and
    from ONNX Runtime, rows dropping out as they end."""
    model, onnx_model = exported[case]
    tags = torch.arange(60) % K if case[1] else None
    for seed in (0, 1):
        a = generate(model, 60, SEQ - 1, prefix=[1], temperature=0.9, tags=tags, exponentials=PageStream(seed).exponentials)
        b = generate(onnx_model, 60, SEQ - 1, prefix=[1], temperature=0.9, tags=tags, exponentials=PageStream(seed).exponentials)
        assert torch.equal(a, b)
        assert len({tuple(r) for r in a.tolist()}) > 10                        # draws, not one item repeated


def _xorshift_reference(seed: int, n: int) -> list[int]:
    """xorshift128 (Marsaglia 2003) seeded by the page's 32-bit hash, written out independently."""
    def mix(z):
        z = ((z ^ (z >> 16)) * 0x85EBCA6B) % 2 ** 32
        z = ((z ^ (z >> 13)) * 0xC2B2AE35) % 2 ** 32
        return z ^ (z >> 16)
    words = [mix((seed + 0x9E3779B9 * (k + 1)) % 2 ** 32) for k in range(4)]
    out = []
    for _ in range(n):
        t = (words[0] ^ (words[0] << 11)) % 2 ** 32
        words = words[1:] + [words[3] ^ (words[3] >> 19) ^ t ^ (t >> 8)]
        out.append(words[3])
    return out


def test_page_stream_is_xorshift128():
    """PageStream (the page's generator, sampler.js) against an independent writing-out of it; the
    browser test checks the page's own words for the same seed against PageStream."""
    s = PageStream(7)
    assert [s.next() for _ in range(1000)] == _xorshift_reference(7, 1000)
    s = PageStream(3)
    u = [s.uniform() for _ in range(1000)]
    assert all(0 < x < 1 for x in u) and 0.45 < sum(u) / len(u) < 0.55


def test_refusals():
    from makemore.models.ensemble import TwoWay
    with pytest.raises(UsageError, match="both reading directions"):
        stepper(TwoWay(make("lstm"), make("gru"), [0.5, 0.5]))
