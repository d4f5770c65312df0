"""Screenshots of the four views of `makemore serve`, for the README and docs/serve.md.

    python scripts/serve_screenshots.py /tmp/serve_runs            # a directory of trained runs
    python scripts/serve_screenshots.py /tmp/serve_runs --out docs

Starts the server on 127.0.0.1 over the runs, drives Debian's Chromium through Playwright as a
user would (types an item, generates, opens each view) and saves docs/serve-generate.png,
serve-watch.png, serve-inside.png and serve-runs.png. The runs used for the README: a default
LSTM (`type="lstm"`), a small Transformer (`preset="small", max_steps=3000`), a default MLP, a
bigram and an ensemble of the LSTM and the Transformer.

    python scripts/serve_screenshots.py runs/locales --tagged-run locales

With --tagged-run, only the two views of a run of tagged items instead (the README's: the default
LSTM on the bundled locales.tsv): serve-tags-generate.png (a blend of two tags) and
serve-tags-watch.png (p(tag | item) as an item is typed).
"""

from __future__ import annotations

import argparse
import contextlib
import shutil
import tempfile
import threading
from pathlib import Path

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def chromium() -> str:
    path = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).exists():
        raise SystemExit("needs Debian's chromium (apt-get install chromium)")
    return path


@contextlib.contextmanager
def browser_page(width: int):
    """A page of a fresh headless Chromium profile, 560 pixels high to start with."""
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p, tempfile.TemporaryDirectory() as profile:
        browser = p.chromium.launch_persistent_context(profile, executable_path=chromium(), headless=True,
                                                       args=CHROMIUM_ARGS, viewport={"width": width, "height": 560},
                                                       device_scale_factor=1)
        try:
            yield browser.new_page()
        finally:
            browser.close()


def shoot(url: str, out: Path, watch_run: str, inside_run: str, width: int = 1240) -> list[Path]:
    saved = []
    with browser_page(width) as page:
        _generate(page, url, watch_run, 20, seed="7")
        saved.append(_save(page, out / "serve-generate.png"))

        _watch(page, "jasmi", "document.querySelectorAll('#watch-item .chip').length === 6", 300)
        page.hover("#watch-bars .bar.char")
        saved.append(_save(page, out / "serve-watch.png"))

        page.select_option("#run", inside_run)
        page.click("#tab-inside")
        page.fill("#inside-input", "emily")
        page.wait_for_selector("#model-body .att-head")
        page.wait_for_selector("#bigram-svg")
        page.wait_for_selector("#emb-svg")
        page.wait_for_timeout(300)
        saved.append(_save(page, out / "serve-inside.png"))

        page.click("#tab-runs")
        page.wait_for_selector("#curves .series")
        page.fill("#compare-input", "jasmine")
        page.wait_for_selector("#compare .chips .chip")
        page.wait_for_timeout(300)
        saved.append(_save(page, out / "serve-runs.png"))
    return saved


def shoot_tagged(url: str, out: Path, run: str, width: int = 1240) -> list[Path]:
    saved = []
    with browser_page(width) as page:
        _generate(page, url, run, 12, tag="*blend", blend="it=0.5,ru=0.3,ko=0.2", n="12", seed="7")
        saved.append(_save(page, out / "serve-tags-generate.png"))
        _watch(page, "Giulio", "document.querySelectorAll('#watch-tags .row').length > 0", 500)
        saved.append(_save(page, out / "serve-tags-watch.png"))
    return saved


def _generate(page, url: str, run: str, count: int, tag: str | None = None, **fields) -> None:
    """The Generate view of a run, its fields filled (a tag chosen), and its `count` items drawn."""
    page.goto(f"{url}#view=generate&run={run}")
    page.wait_for_selector("body.ready")
    if tag is not None:
        page.select_option("#gen-tag", tag)
    for name, value in fields.items():
        page.fill(f"#gen-form [name={name}]", value)
    page.click("#gen-go")
    page.wait_for_function(f"() => document.querySelectorAll('#gen-items li').length === {count}")


def _watch(page, text: str, ready: str, settle_ms: int) -> None:
    """Type & watch: the text typed as a person would, until `ready` (a JS condition) holds."""
    page.click("#tab-watch")
    page.type("#watch-input", text, delay=60)
    page.wait_for_function(f"() => {ready}")
    page.wait_for_timeout(settle_ms)


def _save(page, path: Path) -> Path:
    if "watch" not in path.name:
        page.mouse.move(1, 1)
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(path), full_page=True)
    print(f"saved {path}")
    return path


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("runs", nargs="+", help="run directories or directories of runs")
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[1] / "docs")
    ap.add_argument("--watch-run", default="lstm", help="the run shown in Generate and Type & watch")
    ap.add_argument("--inside-run", default="transformer", help="the run shown in Inside")
    ap.add_argument("--tagged-run", help="only the views of this run of tagged items (serve-tags-*.png)")
    args = ap.parse_args()
    from makemore.serve import load_runs, make_server
    server = make_server(load_runs(args.runs))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        if args.tagged_run:
            shoot_tagged(server.url, args.out, args.tagged_run)
        else:
            shoot(server.url, args.out, args.watch_run, args.inside_run)
    finally:
        server.shutdown()
        server.server_close()


if __name__ == "__main__":
    main()
