"""Export: how fast the exported models generate, how big the exports are, how soon the page shows
its first item.

    python benchmarks/export.py --lstm runs/names --transformer runs/tf    # trained default runs
    python benchmarks/export.py            # trains both first (about 3 + 6 minutes on 2 cores)
    python benchmarks/export.py --table    # only rewrite the docs table from the JSON

Items per minute of the default LSTM and the default Transformer, in one run, rounds interleaved:
- torch: makemore's sampler (sampling.sample_items, its default batch) on the torch model;
- ONNX Runtime: the same sampler over the ONNX export (export.runtime.OnnxModel, its CPU provider);
- browser: the exported page in headless Chromium (onnxruntime-web's WebAssembly build, one
  thread, as a static host without cross-origin isolation runs it), asking its own api for 1,000
  items at a time, as its Generate button does; timed inside the page.
Then, for the LSTM, the same under the constraint --suffix son (16 particles, guided). Sizes: the
ONNX folder and the web folder (onnxruntime-web's files apart). Time to first item: a fresh
browser profile opening the page from a local static server until its first 20 items show
(median of 3). Saves docs/export-page.png: the LSTM's page, 20 new items ending in "son". Goal: the browser at least
50,000 items a minute for the default LSTM on 2 cores.
"""

from __future__ import annotations

import functools
import http.server
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import DOCS, machine, parser, publish  # noqa: E402

ROUNDS = 3
ITEMS = 20_000          # per timing, torch and ONNX Runtime
PAGE_ITEMS = 5_000      # per timing, in the browser (5 calls of 1,000)
GOAL = 50_000
CHROMIUM = "/usr/bin/chromium"


class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def serve(root: Path):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(root)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/"


def folder_bytes(path: Path, skip: str | None = None) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and (skip is None or skip not in f.parts))


PAGE_TIMING = """async ([n, shape]) => {
  const {api} = await import('./api.js');
  const t = performance.now();
  let got = 0;
  for (let i = 0; got < n; i++) got += (await api('sample', {n: 1000, seed: i, ...shape})).items.length;
  return [got, (performance.now() - t) / 1000];
}"""


def measure(runs: dict) -> dict:
    import torch
    from playwright.sync_api import sync_playwright

    import makemore as mm
    from makemore.export import export
    from makemore.export.runtime import OnnxModel
    from makemore.sampling import sample_items

    tmp = Path(tempfile.mkdtemp())
    out = {"machine": machine(), "models": {}}
    server, url = serve(tmp)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        for name, path in runs.items():
            run = mm.load_run(path)
            t = time.perf_counter()
            export(run, "onnx", tmp / f"{name}-onnx")
            export_s = time.perf_counter() - t
            export(run, "web", tmp / name)
            onnx = OnnxModel(tmp / f"{name}-onnx")
            page = browser.new_page(viewport={"width": 1240, "height": 860})
            page.goto(url + name + "/")
            page.wait_for_function("() => document.querySelectorAll('#gen-items li').length === 20", timeout=120_000)
            speeds = {"torch": [], "onnxruntime": [], "browser": []}
            for r in range(ROUNDS):
                for which, model in (("torch", run.model), ("onnxruntime", onnx)):
                    t = time.perf_counter()
                    sample_items(model, run.vocab, ITEMS, run.max_len, seed=r)
                    speeds[which].append(ITEMS / (time.perf_counter() - t) * 60)
                got, seconds = page.evaluate(PAGE_TIMING, [PAGE_ITEMS, {}])
                speeds["browser"].append(got / seconds * 60)
            row = {k: statistics.median(v) for k, v in speeds.items()}
            if name == "lstm":
                shaped = []
                for r in range(ROUNDS):
                    t = time.perf_counter()
                    run.sample(1000, marks=False, constraints={"suffix": "son"}, seed=r)
                    py = 1000 / (time.perf_counter() - t) * 60
                    got, seconds = page.evaluate(PAGE_TIMING, [1000, {"suffix": "son"}])
                    shaped.append((py, got / seconds * 60))
                row["suffix_son"] = {"torch": statistics.median(s[0] for s in shaped),
                                     "browser": statistics.median(s[1] for s in shaped)}
                page.fill("#gen-form [name=suffix]", "son")
                page.check("#gen-form [name=new]")
                page.click("#gen-go")
                page.wait_for_function("() => document.querySelector('#gen-summary').textContent.includes('meet')")
                page.set_viewport_size({"width": 1240, "height": 600})
                page.screenshot(path=str(DOCS / "export-page.png"))
            page.close()
            firsts = []
            for _ in range(3):
                context = browser.new_context()
                fresh = context.new_page()
                t = time.perf_counter()
                fresh.goto(url + name + "/")
                fresh.wait_for_function("() => document.querySelectorAll('#gen-items li').length === 20", timeout=120_000)
                firsts.append(time.perf_counter() - t)
                context.close()
            row.update(first_item_s=statistics.median(firsts), export_s=export_s,
                       onnx_bytes=folder_bytes(tmp / f"{name}-onnx"), web_bytes=folder_bytes(tmp / name),
                       web_model_bytes=folder_bytes(tmp / name, skip="ort"), ort_bytes=folder_bytes(tmp / name / "ort"),
                       params=sum(q.numel() for q in run.model.parameters()), threads=torch.get_num_threads())
            out["models"][name] = row
        browser.close()
    server.shutdown()
    return out


def table(r: dict) -> str:
    if not r:
        return "(not measured yet: python benchmarks/export.py)"
    mb = lambda b: f"{b / 2 ** 20:.1f} MB"  # noqa: E731
    lines = [f"Measured on {r['machine']}; items per minute (median of {ROUNDS} interleaved rounds); torch and ONNX "
             "Runtime on 2 threads, the browser on one (WebAssembly, no cross-origin isolation).", "",
             "| model | torch | ONNX Runtime | browser (onnxruntime-web) | browser vs goal | ONNX folder | web folder "
             "(model + page) | page: first item |", "|---|---|---|---|---|---|---|---|"]
    for name, m in r["models"].items():
        goal = f"{m['browser'] / GOAL:.1f}× the {GOAL:,} goal" if name == "lstm" else "–"
        lines.append(f"| default {name} ({m['params']:,} parameters) | {m['torch']:,.0f} | {m['onnxruntime']:,.0f} | "
                     f"{m['browser']:,.0f} | {goal} | {mb(m['onnx_bytes'])} | {mb(m['web_model_bytes'])} "
                     f"(+ {mb(m['ort_bytes'])} onnxruntime-web) | {m['first_item_s']:.1f} s |")
    s = r["models"].get("lstm", {}).get("suffix_son")
    if s:
        lines += ["", f"Under `--suffix son` (16 guided particles an item), the default LSTM: {s['torch']:,.0f} items a "
                  f"minute in Python, {s['browser']:,.0f} in the browser."]
    return "\n".join(lines)


def main():
    ap = parser(__doc__)
    ap.add_argument("--lstm", help="a trained default LSTM run (default: train one)")
    ap.add_argument("--transformer", help="a trained default Transformer run (default: train one)")
    a = ap.parse_args()
    if a.table:
        publish("export", table)
        return
    import makemore as mm
    runs = {}
    for name, given in (("lstm", a.lstm), ("transformer", a.transformer)):
        if given is None:
            given = Path(tempfile.mkdtemp()) / name
            mm.create_run(given, type=name).train(progress=False)
        runs[name] = given
    publish("export", table, lambda: measure(runs))


if __name__ == "__main__":
    main()
