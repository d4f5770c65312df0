"""Members per CPU-minute: several LSTMs of one size trained as one batched computation, against one
process per member, two at a time on the 2 cores (how `makemore best` trains its members).

Three ways to train a member, each timed on the default LSTM's training step (batch 64, AdamW,
gradient clipping per member, dropout 0.2) at three widths:
- processes: each member its own model and optimizer in its own process, one thread each, two
  processes at once (what `makemore best` does);
- vmap: K members of the library's LSTM stacked by torch.func.stack_module_state and trained as one
  call of functional_call under vmap (randomness "different": each member its own dropout masks);
- grouped: the same LSTM with every weight on a leading member axis (K, ...), so that each of the
  member matmuls is one batched matmul (baddbmm) and each elementwise op one call for all K.
The stacked ways run as two processes at once too, each with its own K members, and, for
grouped, as one process on both threads. A batch's length T is drawn from the real lengths of
`--bucket 64` batches of names.txt, the same sequence for every way; the tokens are random, as
speed depends on shapes alone. Member-steps per core-second become members per CPU-minute at the
default's 8,000 steps. Rounds interleave the ways; each figure is the median over rounds.

    python benchmarks/stacked.py            # measure, print, write the docs table and JSON
    python benchmarks/stacked.py --table    # only rewrite the docs table from the JSON
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine, parser, publish  # noqa: E402

WIDTHS = [128, 256, 512]
WAYS = [  # name, members per process, processes at once, threads per process
    ("processes", 1, 2, 1),
    ("vmap", 4, 2, 1),
    ("grouped", 4, 2, 1),
    ("grouped", 8, 2, 1),
    ("grouped", 8, 1, 2),
]
STEPS_PER_MEMBER = 8000          # the default LSTM's max_steps
SECONDS = 4.0                    # each timed loop runs at least this long (after warm-up)


class GroupedLSTM(torch.nn.Module):
    """K one-layer LSTMs of the library's design (learned start state, dropout on the embeddings and
    before the head), every weight stacked on a leading member axis: member k's weights are those
    of models[k] (`from_models`), and its logits equal that model's."""

    def __init__(self, K, vocab_size, n_embd, n_hidden, dropout):
        super().__init__()
        V, E, H = vocab_size, n_embd, n_hidden
        P = torch.nn.Parameter
        self.wte, self.w_x, self.b_x = P(torch.zeros(K, V, E)), P(torch.zeros(K, E, 4 * H)), P(torch.zeros(K, 1, 4 * H))
        self.w_h = P(torch.zeros(K, H, 4 * H))
        self.start = P(torch.zeros(K, 2, 1, H))
        self.w_out, self.b_out = P(torch.zeros(K, H, V)), P(torch.zeros(K, 1, V))
        self.dropout = dropout

    @classmethod
    def from_models(cls, models):
        c = models[0].config
        g = cls(len(models), c.vocab_size, c.n_embd, c.n_hidden, c.dropout)
        stack = lambda f: torch.stack([f(m) for m in models])  # noqa: E731
        with torch.no_grad():
            g.wte.copy_(stack(lambda m: m.wte.weight))
            g.w_x.copy_(stack(lambda m: m.cells[0].x2h.weight.T))
            g.b_x.copy_(stack(lambda m: m.cells[0].x2h.bias[None]))
            g.w_h.copy_(stack(lambda m: m.cells[0].h2h.weight.T))
            g.start.copy_(stack(lambda m: m.start[0][:, None]))
            g.w_out.copy_(stack(lambda m: m.lm_head.weight.T))
            g.b_out.copy_(stack(lambda m: m.lm_head.bias[None]))
        return g

    def forward(self, idx):
        """idx (K, B, T) -> logits (K, B, T, V)"""
        K, B, T = idx.shape
        member = torch.arange(K)[:, None]
        x = self.wte[member, idx.view(K, -1)]                                   # (K, B*T, E)
        x = F.dropout(x, self.dropout, self.training)
        xw = torch.baddbmm(self.b_x, x, self.w_x).view(K, B, T, -1)             # (K, B, T, 4H)
        h, c = (s.expand(K, B, -1) for s in self.start.unbind(1))               # (K, B, H) each
        hs = []
        for t in range(T):
            i, f, g, o = torch.baddbmm(xw[:, :, t], h, self.w_h).chunk(4, dim=-1)   # 4 x (K, B, H)
            c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
            h = torch.sigmoid(o) * torch.tanh(c)
            hs.append(h)
        h = F.dropout(torch.stack(hs, dim=2).view(K, B * T, -1), self.dropout, self.training)   # (K, B*T, H)
        return torch.baddbmm(self.b_out, h, self.w_out).view(K, B, T, -1)       # (K, B, T, V)

    def loss(self, idx, targets):
        """The sum over members of each member's mean cross-entropy (so each gets its own gradient)."""
        logits = self.forward(idx)                                               # (K, B, T, V)
        K, V = logits.size(0), logits.size(-1)
        nll = F.cross_entropy(logits.reshape(-1, V), targets.reshape(-1), ignore_index=-1, reduction="none")
        has = (targets != -1).view(K, -1)                                       # (K, B*T)
        return (nll.view(K, -1).sum(1) / has.sum(1).clamp(min=1)).sum()


def clip_per_member(params, max_norm):
    """clip_grad_norm_ for each member alone: params carry the member on their first axis."""
    norms = torch.stack([p.grad.flatten(1).pow(2).sum(1) for p in params]).sum(0).sqrt()   # (K,)
    scale = (max_norm / (norms + 1e-6)).clamp(max=1.0)
    for p in params:
        p.grad.mul_(scale.view(-1, *[1] * (p.dim() - 1)))


def lengths(n: int, seed: int = 0) -> list[int]:
    """The lengths of n bucketed training batches of names.txt, as `makemore train` draws them."""
    import makemore as mm
    from makemore.batches import Batches
    run = mm.create_run(Path("/nonexistent/stacked"), type="lstm", device="cpu")
    b = Batches(run.data.train, run.model, torch.device("cpu"), torch.Generator().manual_seed(seed), bucket=64)
    return [b.sample(64)[0].size(1) for _ in range(n)]


def worker(way: str, K: int, H: int, T_list: list[int]) -> float:
    """Seconds per step of K members, timed in this process after a warm-up."""
    from makemore.models.rnn import LSTM, RecurrentConfig
    from makemore.presets import resolve
    from makemore.train import make_optimizer
    cfg = resolve("lstm", n_hidden=H)
    tc = cfg.train
    mcfg = RecurrentConfig(vocab_size=27, seq_len=16, **cfg.model)
    models = [LSTM(mcfg) for _ in range(K)]
    B, V = tc.batch_size, mcfg.vocab_size
    if way == "processes":
        model = models[0]
        params = list(model.parameters())
        opt = make_optimizer(model, tc, torch.device("cpu"))

        def step(T):
            x, y = torch.randint(V, (B, T)), torch.randint(V, (B, T))
            loss = model.loss(x, y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, tc.grad_clip)
            opt.step()
    else:
        if way == "vmap":
            from torch.func import functional_call, stack_module_state, vmap
            stacked, buffers = stack_module_state(models)
            params = [torch.nn.Parameter(p.detach()) for p in stacked.values()]
            named = dict(zip(stacked, params))
            base = models[0].to("meta")
            loss_of = vmap(lambda p, b, x, y: functional_call(base, (p, b), (x, y))[1], randomness="different")
            loss_fn = lambda x, y: loss_of(named, buffers, x, y).sum()   # noqa: E731
        else:
            g = GroupedLSTM.from_models(models).train()
            params, loss_fn = list(g.parameters()), g.loss
        decay = [p for p in params if p.dim() >= 3]        # the members' matrices (one more axis)
        opt = torch.optim.AdamW([{"params": decay, "weight_decay": tc.weight_decay},
                                 {"params": [p for p in params if p.dim() < 3], "weight_decay": 0.0}],
                                lr=tc.lr, betas=(0.9, 0.99), fused=True)

        def step(T):
            x, y = torch.randint(V, (K, B, T)), torch.randint(V, (K, B, T))
            loss = loss_fn(x, y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            clip_per_member(params, tc.grad_clip)
            opt.step()
    for T in T_list[:5]:
        step(T)
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < SECONDS or n < 10:
        step(T_list[n % len(T_list)])
        n += 1
    return (time.perf_counter() - t0) / n


def run_way(way, K, procs, threads, H, T_file) -> float:
    """Core-seconds per member-step: `procs` workers at once, each `threads` threads and K members."""
    cmd = [sys.executable, __file__, "--worker", way, str(K), str(H), str(T_file)]
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    ps = [subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, env=env) for _ in range(procs)]
    per_step = [float(p.communicate()[0].split()[-1]) for p in ps]
    if any(p.returncode for p in ps):
        raise SystemExit(f"worker {way} K={K} H={H} failed")
    return statistics.mean(per_step) * threads / K


def table(res: dict) -> str:
    lines = ["| LSTM width | way | members per process | processes x threads | ms per member-step per core | "
             "members per CPU-minute | vs processes |", "|---:|---|---:|---|---:|---:|---:|"]
    for H, rows in res["widths"].items():
        base = rows[0]["core_s"]
        for r in rows:
            mpm = 60 / (r["core_s"] * STEPS_PER_MEMBER)
            lines.append(f"| {H} | {r['way']} | {r['K']} | {r['procs']} x {r['threads']} | {r['core_s'] * 1000:.2f} | "
                         f"{mpm:.3f} | {base / r['core_s']:.2f}x |")
    return ("\n".join(lines) + f"\n\nMedian of {res['rounds']} interleaved rounds; {STEPS_PER_MEMBER:,} steps of batch 64 "
            f"per member. Machine: {res['machine']}.")


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        way, K, H, T_file = sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
        torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
        print(worker(way, K, H, json.loads(Path(T_file).read_text())))
        return
    ap = parser(__doc__)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()

    def measure():
        import tempfile
        with tempfile.TemporaryDirectory() as tmp:
            T_file = Path(tmp) / "lengths.json"
            T_file.write_text(json.dumps(lengths(400)))
            res = {}
            for H in WIDTHS:
                times = {w: [] for w in WAYS}
                for r in range(args.rounds):
                    for w in WAYS:
                        times[w].append(run_way(*w, H, T_file))
                        print(H, w, f"{times[w][-1] * 1000:.2f} ms", file=sys.stderr)
                res[str(H)] = [{"way": w[0], "K": w[1], "procs": w[2], "threads": w[3],
                                "core_s": statistics.median(times[w])} for w in WAYS]
        return {"widths": res, "rounds": args.rounds, "machine": machine()}
    publish("stacked", table, None if args.table else measure)


if __name__ == "__main__":
    main()
