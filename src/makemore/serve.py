"""`makemore serve`: a local web page and a JSON API over trained runs.

    makemore serve runs/names                 # one run
    makemore serve runs/                      # every run directory directly inside runs/
    python -m makemore.serve runs/ --port 8000

The server is the standard library's ThreadingHTTPServer: it listens on 127.0.0.1 and a free port
unless told otherwise, loads each run once at start, and answers

    GET  /, /app.js, /style.css, /favicon.svg      the page (the files of makemore/web, by name)
    POST /api/NAME with a JSON object              the API; each route calls one function of explore.py

Every answer of the API is JSON. A bad request gets 400 and {"error": "...", "field": "..."} naming
the field; a body over MAX_BODY bytes 413; an unknown path 404; never a traceback. The run
directories are only read. docs/serve.md documents every route.
"""

from __future__ import annotations

import argparse
import collections
import ipaddress
import json
import math
import signal
import socket
import sys
import threading
import traceback
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from urllib.parse import urlsplit

from . import explore
from .errors import DataError, RunError, UsageError

MAX_BODY = 64 * 1024                   # bytes of a request body
CACHE_SIZE = 256                       # answers of the cached routes kept, the least recently used dropped first
DRAIN = 4 * 1024 * 1024                # a refused body up to this size is read and dropped
LOOPBACK_NAMES = {"localhost", "127.0.0.1", "::1"}

# the page's files: URL path -> (file in makemore/web, content type); nothing else is served
STATIC = {
    "/": ("index.html", "text/html; charset=utf-8"),
    "/index.html": ("index.html", "text/html; charset=utf-8"),
    "/app.js": ("app.js", "text/javascript; charset=utf-8"),
    "/style.css": ("style.css", "text/css; charset=utf-8"),
    "/favicon.svg": ("favicon.svg", "image/svg+xml"),
}
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "base-uri 'none'; form-action 'none'; frame-ancestors 'none'")


# --- the API: one function per route, each given the run and the checked-by-explore arguments ------

ROUTES: dict = {}


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


@route("/api/sample", "n", "temperature", "top_k", "top_p", "prefix", "seed", "unique")
def api_sample(app, run, **args):
    return {"items": explore.sample(run, **args)}


@route("/api/score", "items", required=("items",))
def api_score(app, run, **args):
    return {"scores": explore.score(run, **args)}


@route("/api/next", "prefix", "k")
def api_next(app, run, **args):
    return explore.next_distribution(run, **args)


@route("/api/complete", "prefix", "beam", "max_chars")
def api_complete(app, run, **args):
    return {"completions": explore.completions(run, **args)}


@route("/api/bigram", "top", cache=True)
def api_bigram(app, run, **args):
    return explore.bigram(run, **args)


@route("/api/embeddings", cache=True)
def api_embeddings(app, run, **args):
    return explore.embeddings(run)


@route("/api/attention", "item")
def api_attention(app, run, **args):
    return explore.attention(run, **args)


@route("/api/trace", "item")
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


# --- HTTP ----------------------------------------------------------------------------------------

class HTTPError(Exception):
    def __init__(self, status: HTTPStatus, message: str, field: str | None = None):
        super().__init__(message)
        self.status, self.field = status, field


def to_json(obj) -> bytes:
    """UTF-8 JSON; NaN and infinities (not JSON) become null."""
    try:
        text = json.dumps(obj, ensure_ascii=False, allow_nan=False)
    except ValueError:
        text = json.dumps(_finite(obj), ensure_ascii=False, allow_nan=False)
    return text.encode("utf-8")


def _finite(obj):
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    return obj


class Handler(BaseHTTPRequestHandler):
    """GET serves the page's files by name; POST /api/... answers in JSON."""
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True           # small answers go out at once, not after the peer's delayed ACK
    server_version = "makemore-serve"
    sys_version = ""
    timeout = 60                             # an idle keep-alive connection is closed after this

    def do_GET(self):
        self._answer(self._get)

    def do_POST(self):
        self._answer(self._post)

    def do_HEAD(self):
        self._answer(self._get, head=True)

    def _other(self):
        self._answer(self._refuse)

    do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _other

    def _refuse(self):
        raise HTTPError(HTTPStatus.METHOD_NOT_ALLOWED, f"{self.command} is not supported: GET the page, POST to /api/")

    def _get(self):
        path = urlsplit(self.path).path
        if path in STATIC:
            name, kind = STATIC[path]
            body = resources.files("makemore").joinpath("web", name).read_bytes()
            extra = {"Content-Security-Policy": CSP} if kind.startswith("text/html") else {}
            return HTTPStatus.OK, kind, body, extra
        if path in ROUTES:
            raise HTTPError(HTTPStatus.METHOD_NOT_ALLOWED, f"{path}: POST a JSON object to it")
        raise HTTPError(HTTPStatus.NOT_FOUND, f"not found: {path}")

    def _post(self):
        path = urlsplit(self.path).path
        if path not in ROUTES:
            raise HTTPError(HTTPStatus.NOT_FOUND, f"not found: {path}")
        body = self._json_body()
        return HTTPStatus.OK, "application/json", to_json(self.server.app.call(path, body)), {}

    def _json_body(self) -> dict:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            self.close_connection = True
            raise HTTPError(HTTPStatus.LENGTH_REQUIRED, "send the body with a Content-Length")
        try:
            length = int(self.headers.get("Content-Length") or 0)
            if length < 0:
                raise ValueError
        except ValueError:
            self.close_connection = True
            raise HTTPError(HTTPStatus.BAD_REQUEST, "Content-Length: not a byte count", "body") from None
        if length > MAX_BODY:
            self._discard(length)
            raise HTTPError(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, f"body: {length} bytes; at most {MAX_BODY}", "body")
        raw = self.rfile.read(length) if length else b""
        self._unread = False
        if not raw.strip():
            return {}
        try:
            body = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            raise HTTPError(HTTPStatus.BAD_REQUEST, f"body: not valid JSON ({e})", "body") from None
        if not isinstance(body, dict):
            raise HTTPError(HTTPStatus.BAD_REQUEST, "body: must be a JSON object, e.g. {\"prefix\": \"em\"}", "body")
        return body

    def _discard(self, length: int):
        """Read and drop a refused body (up to DRAIN bytes), so that the client reads the answer
        rather than a reset connection; a larger one is left and the connection closed."""
        self.close_connection = True
        if length <= DRAIN:
            while length > 0:
                chunk = self.rfile.read(min(length, 65536))
                if not chunk:
                    break
                length -= len(chunk)
            self._unread = False

    def _answer(self, handle, head: bool = False):
        """Run handle() -> (status, type, body, headers); turn every error into a JSON answer."""
        self._unread = self.headers.get("Content-Length", "0").strip() not in ("", "0")
        try:
            self._check_host()
            status, kind, body, extra = handle()
        except HTTPError as e:
            status, kind, body, extra = e.status, "application/json", to_json({"error": str(e), "field": e.field}), {}
        except explore.FieldError as e:
            status, kind, body, extra = HTTPStatus.BAD_REQUEST, "application/json", \
                to_json({"error": str(e), "field": e.field}), {}
        except (UsageError, DataError, RunError) as e:
            status, kind, body, extra = HTTPStatus.BAD_REQUEST, "application/json", \
                to_json({"error": str(e), "field": None}), {}
        except Exception as e:                  # a bug: the traceback goes to the server's log only
            traceback.print_exc(file=sys.stderr)
            status, kind, body, extra = HTTPStatus.INTERNAL_SERVER_ERROR, "application/json", \
                to_json({"error": f"internal error ({type(e).__name__}); see the server's log", "field": None}), {}
        if self._unread:                        # a body left unread cannot be followed by another request
            self.close_connection = True
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        for k, v in extra.items():
            self.send_header(k, v)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if not head:
            try:
                self.wfile.write(body)
            except ConnectionError:             # the client left (a reload, a closed tab): nothing to do
                self.close_connection = True

    def _check_host(self):
        """Bound to a loopback address, answer only requests addressed to it (a page elsewhere
        cannot reach this server through a name of its own that resolves to 127.0.0.1)."""
        if not self.server.loopback:
            return
        host = urlsplit("//" + self.headers.get("Host", "")).hostname or ""
        if host not in LOOPBACK_NAMES:
            raise HTTPError(HTTPStatus.FORBIDDEN, f"Host: {host or '(none)'} is not this machine's loopback name", "host")

    def log_message(self, format, *args):
        if self.server.verbose:
            super().log_message(format, *args)


class Server(ThreadingHTTPServer):
    """One thread per connection. Closing the server wakes every connection's thread (its socket is
    shut down, so an idle keep-alive connection stops waiting) and joins them all: the process then
    exits with no thread still inside torch."""
    daemon_threads = False
    block_on_close = True
    request_queue_size = 128                 # connections waiting to be accepted (socketserver's default: 5)

    def __init__(self, address, app: App, verbose: bool = False):
        host = address[0]
        if ":" in host:
            self.address_family = socket.AF_INET6
        super().__init__(address, Handler)
        self.app, self.verbose = app, verbose
        self.loopback = is_loopback(host)
        self.connections, self.connections_lock = set(), threading.Lock()

    def get_request(self):
        request, address = super().get_request()
        with self.connections_lock:
            self.connections.add(request)
        return request, address

    def shutdown_request(self, request):
        with self.connections_lock:
            self.connections.discard(request)
        super().shutdown_request(request)

    def server_close(self):
        with self.connections_lock:
            open_now = list(self.connections)
        for request in open_now:
            try:
                request.shutdown(socket.SHUT_RDWR)
            except OSError:                     # already closed by its thread
                pass
        super().server_close()                  # joins every connection's thread

    def handle_error(self, request, client_address):
        """A client that hangs up is no error; anything else goes to the log."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{f'[{host}]' if ':' in host else host}:{port}/"


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def exposure_warning(host: str) -> str | None:
    """The warning printed when the server listens beyond this machine, or None."""
    if is_loopback(host):
        return None
    return (f"warning: --host {host} makes the server reachable from other machines; it has no "
            "authentication, so anyone who can reach it can use the models (the run directories stay read-only)")


def make_server(runs: dict, host: str = "127.0.0.1", port: int = 0, verbose: bool = False) -> Server:
    """A server for the runs {name: Run}, listening (not yet serving: call serve_forever)."""
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        raise UsageError(f"--port must be between 0 and 65535, got {port}")
    try:
        return Server((host, port), App(runs), verbose)
    except OSError as e:
        raise UsageError(f"cannot listen on {host}:{port}: {e.strerror or e}") from None


# --- loading runs and the command line -----------------------------------------------------------

def find_runs(paths) -> list[Path]:
    """The run directories among `paths`: each that is a run, and every run directly inside each
    that is not (a directory of runs)."""
    from .runs import is_run
    found = []
    for p in map(Path, paths):
        if is_run(p):
            found.append(p)
        elif p.is_dir():
            inside = sorted(d for d in p.iterdir() if d.is_dir() and is_run(d))
            if not inside:
                raise RunError(f"{p}: neither a run directory nor a directory of runs (no config.json in it or "
                               "its subdirectories)")
            found += inside
        else:
            raise RunError(f"{p}: no such directory; train a run with `makemore train -o {p}`")
    return found


def load_runs(paths, weights: str = "best") -> dict:
    """{name: Run} of the run directories found in `paths`; a run is named after its directory
    (with its parent's name too where two would share a name)."""
    from .runs import load_run
    dirs = list(dict.fromkeys(p.resolve() for p in find_runs(paths)))
    names = [d.name for d in dirs]
    names = [f"{d.parent.name}/{d.name}" if names.count(d.name) > 1 else d.name for d in dirs]
    names = [n if names.count(n) == 1 else f"{n}-{i}" for i, n in enumerate(names)]
    return {name: load_run(d, weights, "cpu") for name, d in zip(names, dirs)}


HELP = "a local web page to explore runs"


def add_arguments(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """The options of `makemore serve` (also `python -m makemore.serve`)."""
    from .commandline import add
    p.add_argument("runs", nargs="*", metavar="RUN_DIR",
                   help="run directories, or directories of runs (default: ./runs)")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default: 127.0.0.1, this machine only; anything else prints a warning)")
    p.add_argument("--port", type=int, default=0, help="port (default: 0, a free one)")
    add(p, "weights")
    add(p, "threads", default=1, help="torch's CPU threads per request (default: 1; requests run side by side)")
    p.add_argument("--verbose", action="store_true", help="log every request to stderr")
    return p


DESCRIPTION = ("Serve a local web page to explore trained runs: generate items, type one and watch the "
               "next-character distribution and each character's surprise, look inside the model "
               "(bigram counts, embeddings, attention, gates, tanh statistics) and compare runs. A JSON "
               "API under /api/ answers the same questions (docs/serve.md).")


def main(args) -> int:
    """Load the runs, listen, print the URL, serve until Ctrl-C. Errors raise UsageError / RunError."""
    from .runs import set_threads
    set_threads(args.threads)
    runs = load_runs(args.runs or ["runs"], args.weights)
    warning = exposure_warning(args.host)
    server = make_server(runs, args.host, args.port, args.verbose)
    if warning:
        print(warning, file=sys.stderr)
    print(f"serving {len(runs)} run{'s' if len(runs) != 1 else ''} at {server.url}", flush=True)
    if threading.current_thread() is threading.main_thread():
        for s in (signal.SIGINT, signal.SIGTERM):           # `kill` stops it as Ctrl-C does; set even where
            signal.signal(s, _interrupt)                    # SIGINT came in ignored (a background job)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("stopped", file=sys.stderr)
    finally:
        server.server_close()
    return 0


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def _standalone(argv=None) -> int:
    """`python -m makemore.serve`: the same command, with the command line's one-line errors."""
    from .commandline import Parser, guarded
    args = add_arguments(Parser(prog="makemore serve", description=DESCRIPTION)).parse_args(argv)
    return guarded("serve", main, args)


if __name__ == "__main__":
    sys.exit(_standalone())
