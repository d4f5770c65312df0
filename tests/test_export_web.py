"""The exported web page in a real browser: `makemore export --format web` of trained runs, served
as plain files from 127.0.0.1, opened in Debian's Chromium under Playwright. It generates items with
nothing but its own folder, draws the items Python draws for the same seed, gives torch's
log-probabilities to 1e-4, shows the next-character bars, and meets the shape constraints.

Skips, saying why, only where Chromium, playwright, the export extra, or onnxruntime-web's and
refa's files (fetched from the npm registry once) cannot be had."""

from __future__ import annotations

import functools
import http.server
import importlib.util
import math
import re
import threading

import pytest
import torch

import makemore as mm
from makemore import explore
from makemore.constraints.automaton import Automaton
from makemore.constraints.exact import exact_samplers
from makemore.errors import UsageError
from test_browser import browser_for
from test_serve import trained_runs

if importlib.util.find_spec("onnxruntime") is None:
    pytest.skip("the export extra is not installed (pip install 'makemore[export]')", allow_module_level=True)

from makemore.export import export  # noqa: E402
from makemore.export.web import REFA_TARBALL, PageStream, regex_folder, runtime_folder  # noqa: E402
from makemore.sampling import generate  # noqa: E402


class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The web exports of the LSTM, the Transformer and the bigram, served as static files from 127.0.0.1."""
    try:
        runtime_folder()
    except UsageError as e:
        pytest.skip(f"onnxruntime-web's files cannot be had here: {e}")
    if regex_folder() is None:
        pytest.skip(f"refa's files cannot be had here: {REFA_TARBALL} cannot be fetched")
    runs = trained_runs(tmp_path_factory.mktemp("serve"))
    root = tmp_path_factory.mktemp("site")
    for name in ("lstm", "transformer", "bigram"):
        export(runs / name, "web", root / name)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/", runs
    server.shutdown()
    server.server_close()


def call(page, expr: str):
    """Evaluate `expr` in the page with its api() and modules at hand."""
    return page.evaluate("async () => { const {api} = await import('./api.js'); const sampler = await "
                         "import('./sampler.js'); return " + expr + "; }")


@pytest.mark.parametrize("name", ["lstm", "transformer"])
def test_exported_page_generates_as_python_does(site, name):
    url, runs = site
    run = mm.load_run(runs / name)
    with browser_for(url + name + "/") as (page, log):
        page.goto(url + name + "/")
        page.wait_for_function("() => document.querySelectorAll('#gen-items li').length === 20", timeout=60_000)
        assert page.locator("#gen-items .badge.new").count() + page.locator("#gen-items .badge.train").count() \
            + page.locator("#gen-items .badge.heldout").count() == 20
        csp = page.get_attribute("meta[http-equiv=Content-Security-Policy]", "content")
        assert "script-src 'self' 'wasm-unsafe-eval'" in csp and "unsafe-inline" not in csp
        assert page.locator("script:not([src])").count() == 0
        # the same seed: the same items as sampling.generate given the page's stream
        items = [x["item"] for x in call(page, "(await api('sample', {n: 40, seed: 11, temperature: 0.9})).items")]
        ids = generate(run.model, 40, run.max_len, temperature=0.9, exponentials=PageStream(11).exponentials)
        assert items == [run.vocab.decode([t for t in row if t]) for row in ids.tolist()]
        stream = PageStream(7)
        assert call(page, "(() => { const s = new sampler.PageStream(7); return [s.next(), s.next(), s.next()]; })()") \
            == [stream.next() for _ in range(3)]
        # the log-probabilities after each character of a typed item: torch's to 1e-4
        tokens = run.vocab.encode("emma")
        got = call(page, f"(await (await sampler.Model.load('model/')).logProbs([{tokens}], [0]))[0].map((r) => [...r])")
        with torch.no_grad():
            want = torch.log_softmax(run.model(torch.tensor([[0] + tokens]))[0][0].double(), -1)
        assert (torch.tensor(got) - want).abs().max() < 1e-4
        # Type & watch: the bars of the typed prefix
        page.click("#tab-watch")
        page.type("#watch-input", "em", delay=20)
        page.wait_for_function("() => document.querySelector('#watch-next-sub').textContent.includes('“em”')")
        nxt = explore.next_distribution(run, "em")
        tip = page.get_attribute("#watch-bars .bar.char", "data-tip")
        assert tip.startswith(f"p('{nxt['top'][0]['char']}' next)")
        assert page.locator("#watch-bars .bar").count() in (11, 12)
        assert page.locator("#watch-item .chip").count() == 3
        assert not log["elsewhere"] and not log["errors"]


def test_exported_page_meets_the_shape_constraints(site):
    url, runs = site
    run = mm.load_run(runs / "lstm")
    words = set(run.data.split("train").words) | set(run.data.split("val").words) | set(run.data.split("test").words)
    with browser_for(url + "lstm/") as (page, log):
        page.goto(url + "lstm/")
        page.wait_for_selector("#gen-items li", timeout=60_000)
        got = call(page, "(await api('sample', {n: 40, seed: 2, suffix: 'a', contains: 'n', min_len: 4, new: true})).items")
        assert len(got) == 40
        for x in got:
            assert x["item"].endswith("a") and "n" in x["item"] and len(x["item"]) >= 4 and x["novelty"] == "new"
            assert x["item"] not in words and 0 < x["p_constraint"] < 1
        got = call(page, "(await api('sample', {n: 20, seed: 5, regex: '[a-k]+(ley|lee|n)', max_len: 7})).items")
        assert len(got) == 20 and all(re.fullmatch("[a-k]+(ley|lee|n)", x["item"]) and len(x["item"]) <= 7 for x in got)
        err = call(page, "await api('sample', {regex: '(a'}).then(() => null, (e) => [e.field, e.message])")
        assert err[0] == "regex" and "cannot be compiled" in err[1]
        err = call(page, "await api('sample', {suffix: 'q', excludes: 'q'}).then(() => null, (e) => [e.field, e.message])")
        assert "no item can meet" in err[1]
        page.fill("#gen-form [name=suffix]", "son")
        page.click("#gen-go")
        page.wait_for_function("() => document.querySelector('#gen-summary').textContent.includes('meet the shape')")
        assert all(t.endswith("son") for t in page.locator("#gen-items .item").all_text_contents())
        assert not log["elsewhere"] and not log["errors"]


def test_a_count_model_page_draws_exactly(site):
    """A count model's page is guided by its own chain: every particle then weighs the same, and each
    item's estimate of p(constraints) is the exact one, which Python's exact path computes."""
    url, runs = site
    run = mm.load_run(runs / "bigram")
    automaton = Automaton(run.vocab, run.max_len, suffix="an", min_len=3, regex="[a-m]+[aeiou][a-z]*")
    p = math.exp(exact_samplers(run.model, automaton, None, {}, run.trie())[0].log_z([]))
    with browser_for(url + "bigram/") as (page, log):
        page.goto(url + "bigram/")
        page.wait_for_selector("#gen-items li", timeout=60_000)
        got = call(page, "(await api('sample', {n: 30, seed: 4, suffix: 'an', min_len: 3, regex: '[a-m]+[aeiou][a-z]*', "
                         "new: true})).items")
        assert all(x["exact"] and x["item"].endswith("an") and x["novelty"] == "new" for x in got)
        assert all(re.fullmatch("[a-m]+[aeiou][a-z]*", x["item"]) for x in got)
        assert all(abs(x["p_constraint"] - p) < 1e-4 * p for x in got)       # the page's automaton and beta: Python's
        assert not log["elsewhere"] and not log["errors"]
