"""A run as a folder of static files that generates in the browser: the Generate and Type & watch
views of `makemore serve`'s page (the same modules), over an api.js that answers in the page
itself with onnxruntime-web instead of asking a server.

    api.js, sampler.js, constraints.js,         what answers the page's questions in the browser
    automaton.js, trie.js
    index.html                                  the served page's, with its two views and a
                                                content-security policy
    main.js, dom.js, colours.js, generate.js,   the served page's own modules, copied
    watch.js, state.js, style.css, favicon.svg
    model/model.json, init.onnx, step.onnx      the graphs (graphs.py) and what the page needs
    model/items.txt.gz                          the file's items, marked train or held out (new/train marks, surely new)
    model/guide0.bin, ...                       the count chains that guide constrained sampling
    ort/                                        onnxruntime-web's WebAssembly build and its package.json (version, MIT licence)
    refa/                                       refa, which compiles the pattern field's regular expression to an
                                                automaton (MIT), as an ES module

The page asks for nothing outside its folder and runs under a strict content-security policy (no
inline script, no eval; WebAssembly compiles under 'wasm-unsafe-eval'), so any static file host
serves it, and it works offline. onnxruntime-web's files (about 15 MB) are not in the package:
the first web export fetches the pinned release from the npm registry, checks its SHA-512
against the registry's integrity value pinned here, and keeps the few files the page needs in a
cache folder; `runtime=DIR` takes them from a folder instead (docs/export.md says why). refa
(1 MB) comes the same way; without it (offline, never fetched) the page says patterns need the
Python sampler.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
import math
import os
import re
import shutil
import tarfile
import tempfile
import urllib.request
from html import escape
from importlib import resources
from pathlib import Path

import torch

from ..errors import DataError, UsageError
from ..constraints.exact import chains
from ..explore import summary
from ..models import build_model
from ..models.counts import Bigram, NGram
from ..runs.run import normalized
from .graphs import manifest, write_graphs

ORT_VERSION = "1.31.1"
ORT_TARBALL = f"https://registry.npmjs.org/onnxruntime-web/-/onnxruntime-web-{ORT_VERSION}.tgz"
ORT_INTEGRITY = "sha512-5GeH+bWQ+HxM10z7erGlsWqryrwMbSvm/1tkIsKTT48g0fI19VXVVC435t4t7VsPdSQeS7NmuZPXrQ73k82URw=="
ORT_FILES = ("ort.wasm.min.mjs", "ort-wasm-simd-threaded.mjs", "ort-wasm-simd-threaded.wasm")
REFA_VERSION = "0.12.1"
REFA_TARBALL = f"https://registry.npmjs.org/refa/-/refa-{REFA_VERSION}.tgz"
REFA_INTEGRITY = "sha512-J8rn6v4DBb2nnFqkqwy6/NnTYMcgLA+sLr0iIO41qpv0n+ngb7ksag2tMRl0inb1bbO/esUwzW1vbJi7K0sI0g=="
SERVED = ("main.js", "inside.js", "runs.js", "dom.js", "colours.js", "generate.js", "watch.js", "state.js", "style.css", "favicon.svg")
PAGE = ("api.js", "sampler.js", "constraints.js", "automaton.js", "trie.js")
CSP = ("default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'")


def cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "makemore"


def runtime_folder(runtime: str | None = None) -> Path:
    """The folder holding ORT_FILES: `runtime`, or the cache (filled from the npm registry on first use)."""
    if runtime is not None:
        missing = [f for f in ORT_FILES if not (Path(runtime) / f).is_file()]
        if missing:
            raise UsageError(f"--runtime {runtime}: no {missing[0]} there (give onnxruntime-web's dist folder, "
                             f"e.g. node_modules/onnxruntime-web/dist of `npm install onnxruntime-web@{ORT_VERSION}`)")
        return Path(runtime)
    folder = cache_root() / f"onnxruntime-web-{ORT_VERSION}"
    if not all((folder / f).is_file() for f in ORT_FILES):
        try:
            files = npm_files(ORT_TARBALL, ORT_INTEGRITY, {f: f"package/dist/{f}" for f in ORT_FILES}
                              | {"package.json": "package/package.json"})     # its name, version and licence (MIT)
        except OSError as e:
            raise UsageError(f"cannot fetch onnxruntime-web {ORT_VERSION} from {ORT_TARBALL} ({getattr(e, 'reason', e)}); "
                             f"pass --runtime DIR, its dist folder from `npm install onnxruntime-web@{ORT_VERSION}`") from None
        keep(folder, files)
    return folder


def regex_folder() -> Path | None:
    """The folder holding refa.mjs (refa, which compiles a JavaScript regular expression into an
    automaton, as an ES module) and its licence: the cache, filled from the npm registry on first
    use; None if it cannot be fetched (the page then says patterns need the Python sampler)."""
    folder = cache_root() / f"refa-{REFA_VERSION}"
    if not (folder / "refa.mjs").is_file():
        try:
            files = npm_files(REFA_TARBALL, REFA_INTEGRITY, {"index.js": "package/index.js", "LICENSE": "package/LICENSE"})
        except OSError:
            return None
        # its CommonJS build (one self-contained file) as an ES module: the same code, given `module`
        files["refa.mjs"] = (f"// refa {REFA_VERSION} (MIT License, Copyright (c) 2020 Michael Schmidt; see LICENSE), "
                             "its CommonJS build as an ES module\nconst module = {exports: {}};\nconst exports = "
                             "module.exports;\n").encode() + files.pop("index.js") + b"\nexport default module.exports;\n"
        keep(folder, files)
    return folder


def npm_files(tarball: str, integrity: str, members: dict[str, str]) -> dict[str, bytes]:
    """Files of a package release from the npm registry (name -> its path in the tarball), the
    tarball checked against the registry's integrity value pinned here. OSError if it cannot be fetched."""
    with urllib.request.urlopen(tarball, timeout=120) as r:
        data = r.read()
    digest = "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()
    if digest != integrity:
        raise UsageError(f"{tarball}: its SHA-512 is not the registry's published integrity value; not used")
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        return {name: tar.extractfile(tar.getmember(path)).read() for name, path in members.items()}


def keep(folder: Path, files: dict[str, bytes]) -> None:
    """Write files into a cache folder whole: into a new folder beside it, renamed into place."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}."))
    try:
        for name, data in files.items():
            (tmp / name).write_bytes(data)
        if folder.exists():
            shutil.rmtree(folder)
        os.rename(tmp, folder)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def items_file(run) -> bytes:
    """The data file's items, gzipped, one a line: "t<TAB>item" (training split) or "h<TAB>item"
    (val or test only), in the order the model reads them; empty without the data file."""
    try:
        data = run.data
    except DataError:                     # the data file is gone: no marks, no surely-new
        return gzip.compress(b"", mtime=0)
    train = set(data.split("train").words)
    held = {w for s in ("val", "test") for w in data.split(s).words} - train
    lines = [f"t\t{w}" for w in sorted(train)] + [f"h\t{w}" for w in sorted(held)]
    return gzip.compress(("\n".join(lines) + "\n").encode("utf-8"), mtime=0)


def page_html(served: str, title: str) -> str:
    """The served page's index.html for a folder: the content-security policy in a meta tag, and
    only the Generate and Type & watch tabs (the other views need the server's Python)."""
    html = served.replace('<meta charset="utf-8">',
                          f'<meta charset="utf-8">\n<meta http-equiv="Content-Security-Policy" content="{CSP}">', 1)
    html = html.replace("<title>makemore</title>", f"<title>makemore · {escape(title)}</title>", 1)
    html = re.sub(r'\s*<button role="tab" data-view="(inside|runs)"[^\n]*</button>', "", html)
    html = re.sub(r'<section class="view" id="view-(inside|runs)".*?</section>\n', "", html, flags=re.S)
    if "view-inside" in html or 'data-view="runs"' in html or "Content-Security-Policy" not in html:
        raise RuntimeError("the served page's index.html is not laid out as page_html expects")
    return html


GUIDE_CELLS = 2 ** 22     # contexts x vocabulary x tags of a guide, at most (its tables: 8 bytes a cell or less)


def guide_tables(run) -> tuple[list[dict], dict[str, bytes], bool]:
    """The chains that guide the page's constrained sampling, as sample_constrained chooses them: a
    count model's own (its particles are then exact), else the run's twist models (a Kneser-Ney
    4-gram, a bigram), those small enough to ship. Returns (model.json's "guides", file -> bytes,
    whether the guide is the model itself). A tagged run whose per-tag tables are all too large
    gets a bigram of all its training items, one table for every tag: any guide keeps the particles
    correct, a closer one makes 16 of them closer."""
    own = isinstance(run.model, (Bigram, NGram)) and chains(run.model, 1, None if not run.tags else [0], {}) is not None
    models = [run.model] if own else (run.twist() or [])
    if models and run.tags and not own:
        data = run.data
        models.append(build_model("bigram", run.vocab.size, run.max_len + 1).fit(*data.train.examples(1)))
    entries, files = [], {}
    for i, g in enumerate(models):
        if entries and g.config.n_tags == 0 and run.tags:
            break                                                        # the pooled bigram: only where no tagged one fits
        K = g.config.n_tags
        first = chains(g, run.max_len, [0] if K else None, {})          # the contexts, and one tag's table
        if first is None or first[0].next.numel() * max(K, 1) > GUIDE_CELLS:
            continue
        found = chains(g, run.max_len, list(range(K)), {}) if K else first
        name = f"guide{i}.bin"
        files[name] = b"".join(c.logP.float().numpy().tobytes() for c in found) + \
            found[0].next.to(torch.int32).numpy().tobytes()
        entries.append({"file": name, "contexts": found[0].next.size(0), "tags": len(found), "start": found[0].start,
                        "type": type(g).__name__})
    return entries, files, own and bool(entries)


def write_web(run, folder: Path, runtime: str | None = None) -> None:
    if run.two_way:
        raise UsageError("--format web: a mixture of both reading directions has no next-character step to run")
    ort = runtime_folder(runtime)
    regex = regex_folder()
    model = folder / "model"
    model.mkdir()
    m = manifest(run, write_graphs(run.model, model, forward=False))
    m["run"] = summary(run, run.path.name)
    m["tags_train"] = run.config["data"].get("tags_train")
    m["nfc"] = normalized(run.config["data"])
    m["regex"] = regex is not None
    m["guides"], guide_files, m["guide_is_model"] = guide_tables(run)
    for name, data in guide_files.items():
        (model / name).write_bytes(data)
    (model / "model.json").write_text(json.dumps(m, ensure_ascii=False) + "\n", encoding="utf-8")
    (model / "items.txt.gz").write_bytes(items_file(run))
    for name, package, sub in [(n, "makemore.serve", "web") for n in SERVED] + [(n, "makemore.export", "page") for n in PAGE]:
        (folder / name).write_bytes(resources.files(package).joinpath(sub, name).read_bytes())
    served = resources.files("makemore.serve").joinpath("web", "index.html").read_text(encoding="utf-8")
    (folder / "index.html").write_text(page_html(served, run.path.name), encoding="utf-8")
    (folder / "ort").mkdir()
    for name in ORT_FILES + (("package.json",) if (ort / "package.json").exists() else ()):
        shutil.copyfile(ort / name, folder / "ort" / name)
    if regex is not None:
        shutil.copytree(regex, folder / "refa")


class PageStream:
    """The exported page's stream of uniform draws (sampler.js PageStream), bit for bit: xorshift128
    over four 32-bit words seeded by a 32-bit integer hash. `exponentials` hands its variates to
    sampling.generate, which then draws the items the page draws for the same seed."""

    def __init__(self, seed: int):
        s, self.x = seed & 0xFFFFFFFF, []
        for _ in range(4):
            s = (s + 0x9E3779B9) & 0xFFFFFFFF
            z = ((s ^ (s >> 16)) * 0x85EBCA6B) & 0xFFFFFFFF
            z = ((z ^ (z >> 13)) * 0xC2B2AE35) & 0xFFFFFFFF
            self.x.append(z ^ (z >> 16))
        if not any(self.x):
            self.x[0] = 1

    def next(self) -> int:
        x = self.x
        t = (x[0] ^ (x[0] << 11)) & 0xFFFFFFFF
        x[0], x[1], x[2] = x[1], x[2], x[3]
        x[3] = x[3] ^ (x[3] >> 19) ^ t ^ (t >> 8)
        return x[3]

    def uniform(self) -> float:
        return (self.next() + 0.5) / 2 ** 32

    def exponentials(self, rows: int, V: int) -> torch.Tensor:
        return torch.tensor([-math.log(self.uniform()) for _ in range(rows * V)], dtype=torch.float64).view(rows, V).float()
