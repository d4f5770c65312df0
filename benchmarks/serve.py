"""Load test of `makemore serve`: many clients at once asking for the next-character distribution
(what the page asks at every keystroke) and for samples, on the default LSTM run.

    python benchmarks/serve.py --run runs/names       # a trained default LSTM run
    python benchmarks/serve.py                        # trains one first (about 3 minutes on 2 cores)
    python benchmarks/serve.py --table                # only rewrite the docs table from the JSON

The server runs as `python -m makemore.serve RUN` in its own process on 127.0.0.1 (a free port),
as a user starts it. The clients are threads of this process, each on its own keep-alive
connection, each sending its requests one after the other (a closed loop: with 20 clients, 20
requests are always in flight). `next` asks for the distribution after a prefix of a name (0 to 8
characters, drawn once, the same for every round); `sample` for 20 items with a fresh seed. Bounded: at most
CLIENTS x REQUESTS requests per route, and no more than --time-limit seconds. Target: `next` p99
under 50 ms with 20 clients on 2 cores, and no errors.
"""

from __future__ import annotations

import http.client
import json
import math
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine, parser, publish  # noqa: E402


def trained_run(tmp: str) -> Path:
    """The default run: `makemore train` with no options (an LSTM with dropout)."""
    import makemore as mm
    out = Path(tmp) / "lstm"
    mm.create_run(out, type="lstm").train(progress=False)
    return out


class ServerProcess:
    """`python -m makemore.serve RUN` on 127.0.0.1 and a free port, stopped with Ctrl-C (SIGINT)."""

    def __init__(self, run_dir: Path, threads: int):
        self.proc = subprocess.Popen([sys.executable, "-m", "makemore.serve", str(run_dir), "--host", "127.0.0.1",
                                      "--port", "0", "--threads", str(threads)],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline().strip()
        if not line.startswith("serving "):
            self.stop()
            raise SystemExit(f"the server did not start: {line} {self.proc.stderr.read()}")
        self.port = int(line.rsplit(":", 1)[1].strip("/"))

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def client(port: int, route: str, bodies: list[dict], deadline: float, out: list, errors: list):
    """One client: its requests in turn on one keep-alive connection; latencies (s) into out."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    for body in bodies:
        if time.perf_counter() > deadline:
            break
        data = json.dumps(body).encode()
        t0 = time.perf_counter()
        try:
            conn.request("POST", f"/api/{route}", body=data, headers={"Content-Type": "application/json"})
            r = conn.getresponse()
            payload = r.read()
            dt = time.perf_counter() - t0
            if r.status != 200 or "error" in json.loads(payload):
                errors.append(f"{r.status} {payload[:200]!r}")
            else:
                out.append(dt)
        except (OSError, http.client.HTTPException) as e:
            errors.append(f"{type(e).__name__}: {e}")
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.close()


def requests_for(route: str, clients: int, per_client: int, seed: int = 0) -> list[list[dict]]:
    """Each client's request bodies: prefixes of names for `next`, 20 items with a seed for `sample`."""
    from makemore.data import read_words
    rng = random.Random(seed)
    names = read_words()
    if route == "next":
        return [[{"prefix": (w := rng.choice(names))[:rng.randint(0, min(8, len(w)))]} for _ in range(per_client)]
                for _ in range(clients)]
    return [[{"n": 20, "seed": rng.randrange(2 ** 31)} for _ in range(per_client)] for _ in range(clients)]


def load(port: int, route: str, clients: int, per_client: int, time_limit: float) -> dict:
    """All the clients at once on one route; latency percentiles in milliseconds."""
    bodies = requests_for(route, clients, per_client)
    latencies, errors = [], []
    deadline = time.perf_counter() + time_limit
    threads = [threading.Thread(target=client, args=(port, route, b, deadline, latencies, errors)) for b in bodies]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    ms = sorted(x * 1000 for x in latencies)
    rank = lambda q: ms[max(0, math.ceil(q * len(ms)) - 1)] if ms else float("nan")  # noqa: E731 (nearest rank)
    print(f"{route}: {len(ms):,} answered, {len(errors)} errors in {wall:.1f} s; p50 {rank(0.5):.1f} ms, "
          f"p99 {rank(0.99):.1f} ms, max {ms[-1] if ms else float('nan'):.1f} ms", flush=True)
    for e in errors[:5]:
        print(f"  error: {e}", flush=True)
    return {"clients": clients, "per_client": per_client, "answered": len(ms), "errors": len(errors),
            "p50_ms": rank(0.5), "p99_ms": rank(0.99), "max_ms": ms[-1] if ms else None,
            "mean_ms": statistics.fmean(ms) if ms else None, "per_s": len(ms) / wall, "wall_s": wall}


def measure(run_dir: Path, clients: int, per_client: int, time_limit: float, threads: int) -> dict:
    from makemore.runs import load_run
    run = load_run(run_dir)
    server = ServerProcess(run_dir, threads)
    try:
        load(server.port, "next", 2, 20, time_limit)                  # warm up: caches, first-call costs
        load(server.port, "sample", 2, 5, time_limit)
        routes = {route: load(server.port, route, clients, per_client, time_limit) for route in ("next", "sample")}
    finally:
        server.stop()
    return {"type": run.type, "preset": run.config.get("preset"), "params": sum(p.numel() for p in run.model.parameters()),
            "server_threads": threads, "routes": routes, "machine": machine()}


def table(results: dict) -> str:
    if not results:
        return "(not measured yet)"
    rows = ["| route | request | clients × requests | p50 | p99 | max | answers/s | errors |",
            "|---|---|---:|---:|---:|---:|---:|---:|"]
    what = {"next": "the distribution after a prefix of 0–8 characters", "sample": "20 items, a fresh seed each"}
    for route, r in results["routes"].items():
        rows.append(f"| `{route}` | {what[route]} | {r['clients']} × {r['per_client']} | {r['p50_ms']:.1f} ms | "
                    f"{r['p99_ms']:.1f} ms | {r['max_ms']:.1f} ms | {r['per_s']:,.0f} | {r['errors']} |")
    return "\n".join(rows) + (
        f"\n\nServer: `python -m makemore.serve` on the default `{results['type']}` run ({results['params']:,} "
        f"parameters), one process, `--threads {results['server_threads']}`; clients: threads of another process, "
        f"one keep-alive connection each, all on 127.0.0.1. Latency: from sending the request to reading the "
        f"whole answer. Machine: {results['machine']}.")


def main():
    ap = parser(__doc__)
    ap.add_argument("--run", type=Path, help="a default LSTM run (default: train one first)")
    ap.add_argument("--clients", type=int, default=20, help="clients at once (default 20)")
    ap.add_argument("--requests", type=int, default=100, help="requests per client and route (default 100)")
    ap.add_argument("--time-limit", type=float, default=120.0, help="seconds per route at most (default 120)")
    ap.add_argument("--threads", type=int, default=1, help="the server's torch threads (default 1, its default)")
    args = ap.parse_args()

    def measure_once():
        with tempfile.TemporaryDirectory() as tmp:
            run_dir = args.run or trained_run(tmp)
            return measure(run_dir, args.clients, args.requests, args.time_limit, args.threads)
    publish("serve", table, None if args.table else measure_once)


if __name__ == "__main__":
    main()
