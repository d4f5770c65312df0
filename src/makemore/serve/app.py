"""The server's answers, without HTTP: the API's routes (one function of explore.py each), the cache
of the answers that depend only on the run and the arguments, and App, which checks a request's
fields, picks the run and calls its route, one model computation at a time in arrival order."""

from __future__ import annotations

import collections
import json
import threading

from .. import explore
from ..errors import UsageError

CACHE_SIZE = 256                       # answers of the cached routes kept, the least recently used dropped first

ROUTES: dict = {}                      # path -> (fields, required fields, function, cached, per run)


def route(path: str, *fields: str, required: tuple = (), cache: bool = False, per_run: bool = True):
    """Register an API route taking the JSON fields `fields` (and, per_run, `run`: always optional),
    of which `required` must be given. cache: the answer depends only on the run and the arguments,
    so it is computed once."""
    def register(fn):
        ROUTES[path] = (fields + (("run",) if per_run else ()), required, fn, cache, per_run)
        return fn
    return register


@route("/api/runs", per_run=False)
def api_runs(app, run):
    return {"runs": [explore.summary(r, name) for name, r in app.runs.items()]}


@route("/api/sample", "n", "temperature", "top_k", "top_p", "prefix", "seed", "unique", "tag", "suffix", "contains",
       "excludes", "min_len", "max_len", "regex", "new", "particles")
def api_sample(app, run, **args):
    return {"items": explore.sample(run, **args)}


@route("/api/score", "items", "tag", required=("items",))
def api_score(app, run, **args):
    return {"scores": explore.score(run, **args)}


@route("/api/next", "prefix", "k", "tag")
def api_next(app, run, **args):
    return explore.next_distribution(run, **args)


@route("/api/complete", "prefix", "beam", "max_chars", "tag")
def api_complete(app, run, **args):
    return {"completions": explore.completions(run, **args)}


@route("/api/classify", "item", required=("item",))
def api_classify(app, run, **args):
    return explore.tag_posterior(run, **args)


@route("/api/bigram", "top", cache=True)
def api_bigram(app, run, **args):
    return explore.bigram(run, **args)


@route("/api/embeddings", cache=True)
def api_embeddings(app, run, **args):
    return explore.embeddings(run)


@route("/api/attention", "item", "tag")
def api_attention(app, run, **args):
    return explore.attention(run, **args)


@route("/api/trace", "item", "tag")
def api_trace(app, run, **args):
    return explore.recurrent_trace(run, **args)


@route("/api/health", "batch_size", "seed", cache=True)
def api_health(app, run, **args):
    return explore.run_health(run, **args)


@route("/api/metrics")
def api_metrics(app, run, **args):
    return explore.curves(run)


class FifoLock:
    """A lock handed to its waiters in the order they came (threading.Lock wakes any of them, and
    under load some requests would wait far longer than others)."""

    def __init__(self):
        self._mutex = threading.Lock()
        self._waiters: collections.deque = collections.deque()
        self._busy = False

    def __enter__(self):
        with self._mutex:
            if not self._busy:
                self._busy = True
                return self
            turn = threading.Lock()
            turn.acquire()
            self._waiters.append(turn)
        turn.acquire()                      # released by the holder before us: the lock is ours
        return self

    def __exit__(self, *exc):
        with self._mutex:
            if self._waiters:
                self._waiters.popleft().release()
            else:
                self._busy = False


class CacheEntry:
    """One key's answer: `done` is set once it is computed (ok) or its computation failed."""

    def __init__(self):
        self.done, self.ok, self.value = threading.Event(), False, None


class Cache:
    """The answers of the cached routes: at most `size`, the least recently used dropped first. Each
    key is computed once however many ask for it at once, and by its first asker alone, with no lock
    held meanwhile: answers already cached are given out while another key is computed. A failed
    computation is not kept (the next asker tries again)."""

    def __init__(self, size: int = CACHE_SIZE):
        self.size = size
        self._entries: collections.OrderedDict = collections.OrderedDict()   # key -> Entry, oldest use first
        self._lock = threading.Lock()                                        # held only to look up and insert

    def __len__(self):
        return len(self._entries)

    def get(self, key, compute):
        """The answer for key: cached, awaited from the thread computing it, or compute()."""
        while True:
            with self._lock:
                entry = self._entries.get(key)
                mine = entry is None
                if mine:
                    entry = self._entries[key] = CacheEntry()
                    while len(self._entries) > self.size:
                        self._entries.popitem(last=False)
                else:
                    self._entries.move_to_end(key)
            if mine:
                try:
                    entry.value, entry.ok = compute(), True
                finally:
                    if not entry.ok:
                        with self._lock:
                            if self._entries.get(key) is entry:
                                del self._entries[key]
                    entry.done.set()
                return entry.value
            entry.done.wait()
            if entry.ok:
                return entry.value


class App:
    """The runs a server answers for (name -> Run, the first is the default), and the answers of
    the cached routes."""

    def __init__(self, runs: dict, cache_size: int = CACHE_SIZE):
        if not runs:
            raise UsageError("no runs to serve")
        self.runs = dict(runs)
        self._cache = Cache(cache_size)
        self._model_lock = FifoLock()       # one model computation at a time, in arrival order

    def run(self, name):
        if name is None:
            return next(iter(self.runs.values())), next(iter(self.runs))
        if not isinstance(name, str):
            raise explore.FieldError("run", f"must be a run name (a string), got {explore.kind_of(name)}")
        if name not in self.runs:
            raise explore.FieldError("run", f"no run named {name!r}; serving: {', '.join(self.runs)}")
        return self.runs[name], name

    def call(self, path: str, body: dict) -> dict:
        """Answer one API request: check its fields, pick the run, call the route."""
        fields, required, fn, cache, per_run = ROUTES[path]
        for key in body:
            if key not in fields:
                takes = f"takes: {', '.join(fields)}" if fields else "takes no fields"
                raise explore.FieldError(key, f"unknown field; {path} {takes}")
        for key in required:
            if key not in body:
                raise explore.FieldError(key, "missing")
        if not per_run:
            with self._model_lock:
                return fn(self, None)
        run, name = self.run(body.get("run"))
        args = {k: v for k, v in body.items() if k != "run"}
        if not cache:
            with self._model_lock:
                return {"run": name, **fn(self, run, **args)}
        def compute():
            with self._model_lock:
                return {"run": name, **fn(self, run, **args)}
        return self._cache.get((path, name, json.dumps(args, sort_keys=True)), compute)
