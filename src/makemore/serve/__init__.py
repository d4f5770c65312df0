"""`makemore serve`: a local web page and a JSON API over trained runs.

    makemore serve runs/names                 # one run
    makemore serve runs/                      # every run directory directly inside runs/
    python -m makemore.serve runs/ --port 8000

The server is the standard library's ThreadingHTTPServer: it listens on 127.0.0.1 and a free port
unless told otherwise, loads each run once at start, and answers

    GET  /, /main.js (and the modules it imports), /style.css, /favicon.svg
                                                   the page (the files of web/, by name)
    POST /api/NAME with a JSON object              the API; each route calls one function of explore.py

Every answer of the API is JSON. A bad request gets 400 and {"error": "...", "field": "..."} naming
the field; a body over MAX_BODY bytes 413; an unknown path 404; never a traceback. The run
directories are only read. docs/serve.md documents every route.

    app.py       the routes, the cache of answers, App (a request's fields -> its route's answer)
    server.py    HTTP: the handler, the page's files, the threaded server
    command.py   the command: finding and loading runs, its options, main
    web/         the page: index.html, style.css and its JavaScript modules
"""

from .app import CACHE_SIZE, ROUTES, App, Cache, FifoLock, route
from .command import DESCRIPTION, HELP, add_arguments, find_runs, load_runs, main
from .server import CSP, MAX_BODY, STATIC, Handler, Server, exposure_warning, is_loopback, make_server

__all__ = ["CACHE_SIZE", "ROUTES", "App", "Cache", "FifoLock", "route", "DESCRIPTION", "HELP", "add_arguments",
           "find_runs", "load_runs", "main", "CSP", "MAX_BODY", "STATIC", "Handler", "Server", "exposure_warning",
           "is_loopback", "make_server"]
