"""HTTP: the request handler (the page's files by name, the API as JSON, every error a JSON answer)
and the threaded server that listens on 127.0.0.1 unless told otherwise."""

from __future__ import annotations

import ipaddress
import json
import math
import socket
import sys
import threading
import traceback
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from urllib.parse import urlsplit

from .. import explore
from ..errors import DataError, RunError, UsageError
from .app import ROUTES, App

MAX_BODY = 64 * 1024                   # bytes of a request body
DRAIN = 4 * 1024 * 1024                # a refused body up to this size is read and dropped
LOOPBACK_NAMES = {"localhost", "127.0.0.1", "::1"}

# the page's JavaScript modules (web/NAME.js): main.js imports the others
PAGE_MODULES = ("main", "api", "dom", "state", "colours", "generate", "watch", "inside", "runs")

# the page's files: URL path -> (file in makemore/serve/web, content type); nothing else is served
STATIC = {
    "/": ("index.html", "text/html; charset=utf-8"),
    "/index.html": ("index.html", "text/html; charset=utf-8"),
    **{f"/{name}.js": (f"{name}.js", "text/javascript; charset=utf-8") for name in PAGE_MODULES},
    "/style.css": ("style.css", "text/css; charset=utf-8"),
    "/favicon.svg": ("favicon.svg", "image/svg+xml"),
}
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "base-uri 'none'; form-action 'none'; frame-ancestors 'none'")


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
            body = resources.files("makemore.serve").joinpath("web", name).read_bytes()
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
