"""`makemore serve` in a real browser: Playwright drives Debian's Chromium over the page, as a user
would: types an item and watches the bars and the coloured characters change, generates 20 items,
switches runs, opens Inside and Runs, and saves a screenshot of each view. Every number the page
shows is checked against the API (itself checked against the library in test_serve.py).

Skips, saying why, only where Chromium or the playwright package is missing."""

from __future__ import annotations

import contextlib
import importlib.util
import shutil
import tempfile
from pathlib import Path

import matplotlib.image
import numpy as np
import pytest

from test_serve import api, start_server, stop_server, trained_runs

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]

if importlib.util.find_spec("playwright") is None:
    pytest.skip("the playwright package is not installed (pip install 'makemore[test]')", allow_module_level=True)
if not Path(CHROMIUM).exists():
    pytest.skip("Chromium is not installed (Debian: apt-get install chromium; .ci/run does it)", allow_module_level=True)

from playwright.sync_api import sync_playwright  # noqa: E402


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    runs_dir = trained_runs(tmp_path_factory.mktemp("serve"))
    server, thread = start_server(runs_dir)
    yield server
    stop_server(server, thread)


@contextlib.contextmanager
def browser_for(url: str):
    """(page, log): one page of a fresh Chromium profile; every request that leaves `url` (or the
    other servers a test adds to log["allowed"]) is refused and recorded, as are the page's errors."""
    log = {"elsewhere": [], "errors": [], "allowed": [url]}
    with sync_playwright() as p, tempfile.TemporaryDirectory() as profile:
        context = p.chromium.launch_persistent_context(profile, executable_path=CHROMIUM, headless=True, args=ARGS,
                                                       viewport={"width": 1240, "height": 900}, accept_downloads=True)
        context.set_default_timeout(15_000)

        def only_here(route):
            if any(route.request.url.startswith(u) for u in log["allowed"]):
                route.continue_()
            else:
                log["elsewhere"].append(route.request.url)
                route.abort()
        context.route("**/*", only_here)
        page = context.new_page()
        page.on("pageerror", lambda e: log["errors"].append(str(e)))
        page.on("console", lambda m: log["errors"].append(m.text) if m.type == "error" else None)
        try:
            yield page, log
        finally:
            context.close()


@pytest.fixture(scope="module")
def browser_page(served):
    with browser_for(served.url) as page_and_log:
        yield page_and_log


@pytest.fixture(scope="module")
def shots(tmp_path_factory):
    return tmp_path_factory.mktemp("screenshots")


def open_view(page, served, view, run):
    page.goto(f"{served.url}#view={view}&run={run}")
    page.reload()                                    # the hash alone does not reload the page
    page.wait_for_selector("body.ready")


def generate_now(page):
    """Click Generate and wait for its items to be drawn."""
    with page.expect_response("**/api/sample"):
        page.click("#gen-go")
    page.wait_for_function("() => !document.querySelector('#gen-go').disabled")


def chip_labels(page):
    return page.eval_on_selector_all("#watch-item .chip", "cs => cs.map(c => [c.querySelector('.c').textContent, "
                                     "c.querySelector('.n').textContent, getComputedStyle(c).backgroundColor])")


def bar_tips(page):
    return page.eval_on_selector_all("#watch-bars .bar", "bs => bs.map(b => b.getAttribute('data-tip'))")


def pct(p):
    """As the page prints a probability."""
    return f"{100 * p:.0f}%" if p >= 0.1 else f"{100 * p:.1f}%" if p >= 0.001 else f"{100 * p:.2f}%"


def test_type_and_watch(served, browser_page, shots):
    page, log = browser_page
    open_view(page, served, "watch", "lstm")
    page.type("#watch-input", "em", delay=30)
    page.wait_for_function("() => document.querySelectorAll('#watch-item .chip').length === 3")
    page.wait_for_function("() => document.querySelector('#watch-next-sub').textContent.includes('“em”')")
    first_chips, first_bars = chip_labels(page), bar_tips(page)
    score = api(served, "score", run="lstm", items=["em"])["scores"][0]
    nxt = api(served, "next", run="lstm", prefix="em")
    assert [c[0] for c in first_chips] == ["e", "m", "⏎"]                   # each character, then the end
    assert [c[1] for c in first_chips] == [f"{s['nll']:.1f}" for s in score["surprise"]]
    assert len({c[2] for c in first_chips}) > 1                             # coloured by surprise, not all alike
    assert len(first_bars) in (11, 12) and page.locator("#watch-bars .bar.end").count() == 1
    assert first_bars[0] == f"p('{nxt['top'][0]['char']}' next) = {pct(nxt['top'][0]['p'])}"
    total = page.text_content("#watch-total")
    assert f"{score['nll']:.2f}" in total and f"{score['nll_per_char']:.3f}" in total
    completions = page.eval_on_selector_all("#watch-complete li .item", "ls => ls.map(l => l.textContent)")
    want = api(served, "complete", run="lstm", prefix="em", beam=5)["completions"]
    assert completions == [c["item"] if c["completion"] else "em ⏎ end here" for c in want]

    page.type("#watch-input", "m", delay=30)                                 # the bars and the chips change
    page.wait_for_function("() => document.querySelectorAll('#watch-item .chip').length === 4")
    page.wait_for_function("() => document.querySelector('#watch-next-sub').textContent.includes('“emm”')")
    assert bar_tips(page) != first_bars
    assert [c[0] for c in chip_labels(page)] == ["e", "m", "m", "⏎"]
    assert chip_labels(page)[-1] != first_chips[-1]                           # the end is less or more surprising now

    top = api(served, "next", run="lstm", prefix="emm")["top"][0]["char"]
    page.click("#watch-bars .bar.char >> nth=0")                              # a click types the likeliest character
    page.wait_for_function("() => document.querySelectorAll('#watch-item .chip').length === 5")
    assert page.input_value("#watch-input") == "emm" + top
    page.screenshot(path=str(shots / "serve-watch.png"), full_page=True)

    page.fill("#watch-input", "em#")                                          # a character the model has not seen
    page.wait_for_selector("#error:not([hidden])")
    assert "not in the model's vocabulary" in page.text_content("#error")
    assert "invalid" in page.get_attribute("#watch-input", "class")
    assert not log["elsewhere"] and not [e for e in log["errors"] if "400" not in e]


def test_generate_twenty_items(served, browser_page, shots):
    page, log = browser_page
    open_view(page, served, "generate", "transformer")
    page.wait_for_function("() => document.querySelector('#gen-summary').textContent.startsWith('20 items from')")
    page.fill("#gen-form [name=n]", "20")
    page.fill("#gen-form [name=seed]", "11")
    page.fill("#gen-form [name=temperature]", "0.8")
    generate_now(page)
    shown = page.eval_on_selector_all("#gen-items li", "ls => ls.map(l => [l.querySelector('.item').textContent, "
                                      "l.querySelector('.badge').textContent])")
    want = api(served, "sample", run="transformer", n=20, seed=11, temperature=0.8, prefix="", unique=False)["items"]
    assert shown == [[x["item"] or "(empty)", x["novelty"]] for x in want]
    with page.expect_download() as download:
        page.click("#gen-download")
    assert Path(download.value.path()).read_text() == "".join(x["item"] + "\n" for x in want)
    page.fill("#gen-form [name=top_p]", "1.5")                               # a bad field is marked
    page.click("#gen-go")
    page.wait_for_selector("#gen-form [name=top_p].invalid")
    assert page.text_content("#error").startswith("top_p: ")
    page.fill("#gen-form [name=top_p]", "")
    page.click("#gen-go")
    page.wait_for_selector("#error[hidden]", state="attached")
    page.screenshot(path=str(shots / "serve-generate.png"), full_page=True)
    page.fill("#gen-form [name=suffix]", "n")                               # a shape: every item ends in "n"
    page.fill("#gen-form [name=max_len]", "7")
    generate_now(page)
    shown = page.eval_on_selector_all("#gen-items li .item", "ls => ls.map(l => l.textContent)")
    assert len(shown) == 20 and all(w.endswith("n") and len(w) <= 7 for w in shown), shown
    assert "meet the shape" in page.text_content("#gen-summary")
    page.check("#gen-form [name=new]")                                       # and none of them in the file
    generate_now(page)
    badges = page.eval_on_selector_all("#gen-items li .badge:not(.tag)", "ls => ls.map(l => l.textContent)")
    assert len(badges) == 20 and set(badges) == {"new"}, badges
    page.uncheck("#gen-form [name=new]")
    page.fill("#gen-form [name=suffix]", "")
    page.fill("#gen-form [name=max_len]", "")
    assert not log["elsewhere"]


def test_switch_runs_and_look_inside(served, browser_page, shots):
    page, log = browser_page
    runs = {r["name"]: r for r in api(served, "runs")["runs"]}
    open_view(page, served, "inside", "transformer")
    tf = runs["transformer"]
    page.fill("#inside-input", "anna")
    page.wait_for_function("() => document.querySelectorAll('#model-body .att-head').length > 0 && "
                           "document.querySelector('#model-body svg').querySelectorAll('text').length === 10")
    att = api(served, "attention", run="transformer", item="anna")
    assert page.locator("#model-body .att-head").count() == att["n_layer"] * att["n_head"]
    cells = page.locator("#model-body .att-head >> nth=0").locator("rect").count()
    assert cells == 5 * 6 // 2                                               # causal: the lower triangle of 5 x 5
    page.wait_for_selector("#bigram-svg")
    V = len(tf["vocab"])
    assert page.locator("#bigram-svg rect").count() == V * V
    page.hover("#bigram-svg rect >> nth=1")                                   # start -> 'a'
    tip = page.text_content("#tooltip")
    counts = api(served, "bigram", run="transformer")
    assert tip == (f"start → 'a': count {counts['counts'][0][1]:,}, p(a | start) = {pct(counts['probs'][0][1])}")
    page.wait_for_selector("#emb-svg")
    assert page.locator("#emb-svg .pt").count() == V
    page.screenshot(path=str(shots / "serve-inside.png"), full_page=True)

    page.select_option("#run", "gru")                                         # switch: the recurrent trace
    page.wait_for_selector("#model-body canvas.trace")
    assert page.locator("#model-body .att-head").count() == 0
    assert "gru" in page.text_content("#run-info")
    buttons = page.eval_on_selector_all("#model-body .seg button", "bs => bs.map(b => b.textContent)")
    assert buttons[:4] == ["h", "reset gate", "update gate", "candidate n"] and "layer 2" in buttons
    page.click("text=update gate")
    page.wait_for_selector("#model-body .seg button[aria-pressed=true]:has-text('update gate')")

    page.select_option("#run", "mlp")                                         # the health check
    page.wait_for_selector("#health table")
    assert page.is_visible("#panel-health") and not page.is_visible("#inside-item")
    health = api(served, "health", run="mlp")
    assert f"{health['tanh'][0]['saturated_pct']:.1f}%" in page.text_content("#health")

    page.select_option("#run", "mix")                                         # an ensemble like any run
    page.wait_for_function("() => document.querySelector('#model-body').textContent.includes('weights fitted on val')")
    assert not page.is_visible("#panel-health")
    assert "no single embedding table" in page.text_content("#embeddings")
    assert not log["elsewhere"]


def test_runs_view(served, browser_page, shots):
    page, log = browser_page
    runs = api(served, "runs")["runs"]
    open_view(page, served, "runs", "lstm")
    page.wait_for_function(f"() => document.querySelectorAll('#curves .series').length === {len(runs)}")
    page.uncheck(f"#curve-toggles input[data-run=mlp]")                      # switch a run's curve off
    page.wait_for_function(f"() => document.querySelectorAll('#curves .series').length === {len(runs) - 1}")
    assert page.locator("#curves .series[data-run=mlp]").count() == 0
    page.check(f"#curve-toggles input[data-run=mlp]")
    page.wait_for_function(f"() => document.querySelectorAll('#curves .series').length === {len(runs)}")
    lstm = api(served, "metrics", run="lstm")
    assert page.locator("#curves .series[data-run=lstm] circle").count() == len(lstm["val"])
    rows = page.eval_on_selector_all("#runs-table tr", "rs => rs.slice(1).map(r => r.children[0].textContent)")
    assert rows == [r["name"] for r in runs]

    page.fill("#compare-input", "jasmine")                                   # the same item under every run
    page.wait_for_selector("#compare[data-item=jasmine] .chips >> nth=0")
    totals = page.eval_on_selector_all("#compare tr", "rs => rs.slice(1).map(r => r.children[2].textContent)")
    want = [api(served, "score", run=r["name"], items=["jasmine"])["scores"][0]["nll"] for r in runs]
    assert totals == [f"{x:.3f}" for x in want]
    best = page.text_content("#compare tr.best-row td:first-child")
    assert best == runs[min(range(len(runs)), key=lambda i: want[i])]["name"]
    page.screenshot(path=str(shots / "serve-runs.png"), full_page=True)
    assert not log["elsewhere"] and not [e for e in log["errors"] if "400" not in e]


def test_screenshots_were_saved(shots):
    names = sorted(p.name for p in shots.glob("*.png"))
    assert names == ["serve-generate.png", "serve-inside.png", "serve-runs.png", "serve-watch.png"]
    for p in shots.glob("*.png"):
        data = p.read_bytes()
        width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR" and width == 1240 and height >= 600
        rgb = matplotlib.image.imread(p)[..., :3]                 # (height, width, 3) in [0, 1]
        assert rgb.shape == (height, width, 3)
        colours = len(np.unique((rgb[::4, ::4] * 255).astype(np.uint8).reshape(-1, 3), axis=0))
        assert rgb.std() > 0.03 and colours > 64, (p.name, rgb.std(), colours)   # text and figures, not a blank page


def test_runs_that_do_not_read_left_to_right(tmp_path_factory, served, browser_page):
    """A right-to-left run and a mixture of both directions, on a second server: the watch view
    colours what it can and says why there are no bars, with no error."""
    from makemore.runs import create_run, ensemble
    from test_serve import SPECS
    page, log = browser_page
    before = len(log["errors"])
    runs_dir = trained_runs(tmp_path_factory.mktemp("unused"))       # the served runs (trained once)
    root = tmp_path_factory.mktemp("directions")
    create_run(root / "rtl", runs_dir.parent / "names600.txt", seed=1, reverse=True, **SPECS["lstm"]).train(progress=False)
    ensemble(root / "both", [runs_dir / "lstm", root / "rtl"], mix="product")
    server, thread = start_server(root)
    page.route(f"{server.url}**", lambda route: route.continue_())   # this server too (page routes go first)
    try:
        for run, chips in (("rtl", 3), ("both", 0)):
            open_view(page, server, "watch", run)
            page.type("#watch-input", "em", delay=30)
            page.wait_for_selector("#watch-no-next")
            score = api(server, "score", run=run, items=["em"])["scores"][0]
            # the answer for "em" (the one for "e" may show first)
            page.wait_for_function("(nll) => document.querySelector('#watch-total').textContent.includes(nll + ' nats in total')",
                                   arg=f"{score['nll']:.2f}")
            assert len(chip_labels(page)) == chips
            if chips:
                assert [c[1] for c in chip_labels(page)] == [f"{s['nll']:.1f}" for s in score["surprise"]]
            assert page.locator("#watch-bars .bar").count() == 0 and page.is_hidden("#error")
            assert ("both directions" if run == "both" else "right to left") in page.text_content("#watch-no-next")
        open_view(page, server, "inside", "both")                          # a product's exponents, not weights
        page.wait_for_function("() => document.querySelector('#model-body').textContent.includes('exponents fitted on val')")
        assert "within each reading direction" in page.text_content("#model-body")
    finally:
        page.unroute(f"{server.url}**")
        stop_server(server, thread)
    assert not log["elsewhere"] and not log["errors"][before:]


def test_a_tagged_run_on_the_page(tmp_path_factory, browser_page):
    """A run of tagged items: the Generate form's tag selector and blend, each item's tag, and the
    live p(tag | item) bars of Type & watch, as the API gives them."""
    from test_tags import tagged_runs
    page, log = browser_page
    server, thread = start_server(tagged_runs(tmp_path_factory.mktemp("tagged")))
    log["allowed"].append(server.url)
    errors_before = len(log["errors"])
    try:
        tagged_page(page, log, server, errors_before)
    finally:
        log["allowed"].remove(server.url)
        stop_server(server, thread)


def tagged_page(page, log, server, errors_before):
    """The checks of test_a_tagged_run_on_the_page, on its page."""
    open_view(page, server, "generate", "tagged")
    page.wait_for_function("() => document.querySelector('#gen-summary').textContent.startsWith('20 items from')")
    assert page.is_visible("#gen-tag") and page.is_hidden("#gen-blend-label")
    page.select_option("#gen-tag", "x")
    page.fill("#gen-form [name=seed]", "5")
    generate_now(page)
    shown = page.eval_on_selector_all("#gen-items li", "ls => ls.map(l => [l.querySelector('.item').textContent, "
                                      "l.querySelector('.badge.tag').textContent])")
    want = api(server, "sample", run="tagged", n=20, seed=5, tag="x", prefix="", unique=False)["items"]
    assert shown == [[x["item"], "x"] for x in want]
    page.select_option("#gen-tag", "*blend")
    assert page.is_visible("#gen-blend-label")
    page.fill("#gen-form [name=blend]", "a=1,x=-2")                  # a bad blend is marked
    page.click("#gen-go")
    page.wait_for_selector("#gen-form [name=blend].invalid")
    page.fill("#gen-form [name=blend]", "a=3,x=1")
    generate_now(page)
    tags = page.eval_on_selector_all("#gen-items .badge.tag", "bs => bs.map(b => b.textContent)")
    assert set(tags) == {"a", "x"}
    open_view(page, server, "watch", "tagged")
    page.fill("#watch-input", "xyz")
    page.wait_for_selector("#watch-tags .row")
    bars = page.eval_on_selector_all("#watch-tags .row", "rs => rs.map(r => r.dataset.tag)")
    want = api(server, "classify", run="tagged", item="xyz")["tags"]
    assert bars == [t["tag"] for t in want] and bars[0] == "x"
    open_view(page, server, "generate", "plain")                      # an untagged run: no tag controls
    page.wait_for_function("() => document.querySelector('#gen-summary').textContent.startsWith('20 items from')")
    assert page.is_hidden("#gen-tag") and not page.query_selector_all("#gen-items .badge.tag")
    bad = ["the server responded with a status of 400" in e for e in log["errors"][errors_before:]]
    assert not log["elsewhere"] and bad == [True], log        # the one bad blend, and nothing else
