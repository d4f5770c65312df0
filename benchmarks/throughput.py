"""Training throughput at makemore's default Transformer configuration (4 layers, 4 heads, n_embd 64,
batch 32, AdamW lr 5e-4, weight decay 0.01), lever by lever, in one process, A/B interleaved.

The baseline trains the way makemore.py does: a per-item Dataset that encodes and pads each name
in Python, a DataLoader drawing random items, rows padded to the longest name of the file,
attention and GELU written out (scores, mask, softmax; the tanh formula), the default (for-each)
AdamW, and the loss read back with .item() after every step. The DataLoader runs in the main
process (makemore.py starts 4 workers, which on 2 cores only compete with training). Each later
row switches one lever to what `makemore train` does; "packed rows" is our Transformer step,
"compiled" adds the opt-in torch.compile, and the last row serves length buckets instead of packed
rows (the recurrent nets' way). The speedup is the median over rounds of the baseline's time over
the row's time in the same round (paired, so that the machine's drift between rounds cancels).

    python benchmarks/throughput.py            # measure, print, write the docs table and JSON
    python benchmarks/throughput.py --table    # only rewrite the docs table from the JSON
"""

from __future__ import annotations

import math
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine, parser, publish  # noqa: E402

LEVERS = [  # name, what changes, settings (each row keeps the levers of the rows above it)
    ("baseline", "makemore.py's way: per-item DataLoader, full padding, attention and GELU written out, "
                 "for-each AdamW, .item() every step",
     dict(loader="items", trim=False, kernels=False, fused=False, sync=True)),
    ("pre-tensorized", "batches indexed from the encoded split (no per-item Python)",
     dict(loader="tensors", trim=False, kernels=False, fused=False, sync=True)),
    ("trimmed", "rows cut to the longest item drawn",
     dict(loader="tensors", trim=True, kernels=False, fused=False, sync=True)),
    ("fused kernels", "F.scaled_dot_product_attention and F.gelu",
     dict(loader="tensors", trim=True, kernels=True, fused=False, sync=True)),
    ("fused AdamW", "AdamW(fused=True)", dict(loader="tensors", trim=True, kernels=True, fused=True, sync=True)),
    ("no sync", "loss summed on the device, read at log intervals",
     dict(loader="tensors", trim=True, kernels=True, fused=True, sync=False)),
    ("packed rows", "the batch's items laid end to end in shared rows, attention kept within each item "
                    "(`--pack`; `makemore train`'s Transformer step)",
     dict(loader="tensors", trim=True, kernels=True, fused=True, sync=False, pack=True)),
    ("compiled (opt-in)", "torch.compile, dynamic shapes (`--compile`; first compiles for about half a minute)",
     dict(loader="tensors", trim=True, kernels=True, fused=True, sync=False, pack=True, compile=True)),
    ("length buckets, instead of packing", "64 batches drawn at once, served sorted by length (`--bucket 64 --no-pack`: "
                                           "the recurrent nets' default; the Transformer learns less per step with them)",
     dict(loader="tensors", trim=True, kernels=True, fused=True, sync=False, bucket=True)),
]


class ItemDataset(torch.utils.data.Dataset):
    """makemore.py's way of serving data: each item encoded and padded in Python when asked for."""

    def __init__(self, words, vocab, max_len):
        self.words, self.stoi, self.max_len = words, vocab.stoi, max_len

    def __len__(self):
        return len(self.words)

    def __getitem__(self, i):
        ix = torch.tensor([self.stoi[c] for c in self.words[i]], dtype=torch.long)
        x = torch.zeros(self.max_len + 1, dtype=torch.long)
        y = torch.zeros(self.max_len + 1, dtype=torch.long)
        x[1:1 + len(ix)] = ix
        y[:len(ix)] = ix
        y[len(ix) + 1:] = -1                     # no target after the end token
        return x, y


def written_out_gelu_mlp(self, x):
    """The MLP with GELU's tanh approximation written out in elementwise ops, as makemore.py has it."""
    h = self.c_fc(x)                                                                # (B, T, 4C)
    h = 0.5 * h * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (h + 0.044715 * torch.pow(h, 3.0))))
    return self.dropout(self.c_proj(h))                                             # (B, T, C)


def written_out_attention(self, x, mask=None):
    """Attention the long way: (B, nh, T, T) scores, causal mask, softmax, weighted sum (plain rows only)."""
    q, k, v = self.heads(x)                                                        # (B, nh, T, hs)
    T = q.size(2)
    att = (q @ k.transpose(-2, -1)) / (k.size(-1) ** 0.5)                           # (B, nh, T, T)
    mask = torch.ones(T, T, dtype=torch.bool, device=x.device).tril()
    att = att.masked_fill(~mask, float("-inf")).softmax(dim=-1)
    return self.merge(att @ v)                                                     # (B, nh, T, hs) -> (B, T, C)


class Trainer:
    """One lever setting: its own model (same initial weights), optimizer and batch source."""

    def __init__(self, data, settings, batch_size, lr, weight_decay, seed=0):
        from makemore.models import build_model
        from makemore.models.transformer import MLP, CausalSelfAttention
        from makemore.batches import Batches
        from makemore.train import TrainConfig, make_optimizer
        self.s = settings
        torch.manual_seed(seed)
        self.model = build_model("transformer", data.vocab.size, data.max_len + 1)  # makemore's size: 4L/4H/64
        if not settings["kernels"]:
            for m in self.model.modules():
                if isinstance(m, CausalSelfAttention):
                    m.forward = written_out_attention.__get__(m)
                if isinstance(m, MLP):
                    m.forward = written_out_gelu_mlp.__get__(m)
        self.forward = torch.compile(self.model, dynamic=True) if settings.get("compile") else self.model
        self.opt = make_optimizer(self.model, TrainConfig(lr=lr, weight_decay=weight_decay), torch.device("cpu"),
                                  fused=settings["fused"])
        g = torch.Generator().manual_seed(seed)
        self.batches = None
        if settings["loader"] == "items":
            ds = ItemDataset(data.train.words, data.vocab, data.max_len)
            sampler = torch.utils.data.RandomSampler(ds, replacement=True, num_samples=10**10, generator=g)
            self.it = iter(torch.utils.data.DataLoader(ds, batch_size=batch_size, sampler=sampler))
            self.next = lambda: (*next(self.it), {})
        else:
            b = Batches(data.train, self.model, "cpu", g, bucket=64 if settings.get("bucket") else 0,
                        pack=settings.get("pack", False))
            if not settings["trim"]:
                b.lengths = torch.full_like(b.lengths, b.x.size(1))
            self.next = lambda: b.sample(batch_size)
            self.batches, self.batch_size = b, batch_size
        self.loss_sum = torch.zeros(())
        self.targets = 0

    def steps(self, n):
        for _ in range(n):
            x, y, extra = self.next()                                               # extra: packed rows' pos, seg
            _, loss = self.forward(x, y, **extra)
            if self.batches is not None:
                loss = self.batches.weigh(loss, y, self.batch_size)
            self.opt.zero_grad(set_to_none=True)
            loss.backward()
            self.opt.step()
            if self.s["sync"]:
                self.loss_sum += loss.item()
            else:
                self.loss_sum += loss.detach()
            self.targets += int((y != -1).sum())
        return self.loss_sum.item()


def measure(steps: int, rounds: int, batch_size: int) -> dict:
    from makemore.data import build_dataset, read_words
    data = build_dataset(read_words())
    trainers = {name: Trainer(data, s, batch_size, lr=5e-4, weight_decay=0.01) for name, _, s in LEVERS}
    for t in trainers.values():
        t.steps(40)                                                                 # warm up (and compile)
    times = {name: [] for name in trainers}
    for r in range(rounds):                                                         # A/B interleaved
        for name, t in trainers.items():
            t0 = time.perf_counter()
            t.steps(steps)
            times[name].append((time.perf_counter() - t0) / steps)
        print(f"round {r}: " + "  ".join(f"{n} {times[n][-1] * 1000:.1f} ms" for n in trainers), flush=True)
    tokens_per_step = statistics.mean(t.targets for t in trainers.values()) / (40 + steps * rounds)
    rows = {}
    for name, what, _ in LEVERS:
        ms = statistics.median(times[name])
        paired = statistics.median(b / t for b, t in zip(times["baseline"], times[name]))
        rows[name] = {"what": what, "ms_per_step": ms * 1000, "tokens_per_sec": tokens_per_step / ms, "speedup": paired}
    return {"rows": rows, "batch_size": batch_size, "steps_per_round": steps, "rounds": rounds,
            "targets_per_step": tokens_per_step, "params": sum(p.numel() for p in trainers["baseline"].model.parameters()),
            "machine": machine()}


def table(res: dict) -> str:
    lines = ["| step | what changes | ms / step | target tokens / s | vs baseline |", "|---|---|---:|---:|---:|"]
    for name, r in res["rows"].items():
        lines.append(f"| {name} | {r['what']} | {r['ms_per_step']:.1f} | {r['tokens_per_sec']:,.0f} | {r['speedup']:.2f}x |")
    return "\n".join(lines) + (f"\n\nThe Transformer at makemore's size ({res['params']:,} parameters), batch {res['batch_size']}, "
                               f"{res['targets_per_step']:.0f} target characters per step on average; ms / step: median of "
                               f"{res['rounds']} interleaved rounds of {res['steps_per_round']} steps; vs baseline: median "
                               f"of the rounds' paired ratios. Machine: {res['machine']}.")


def main():
    ap = parser(__doc__)
    ap.add_argument("--steps", type=int, default=30, help="steps per lever per round (default 30)")
    ap.add_argument("--rounds", type=int, default=21)
    ap.add_argument("--batch-size", type=int, default=32)
    args = ap.parse_args()
    publish("throughput", table, None if args.table else lambda: measure(args.steps, args.rounds, args.batch_size))


if __name__ == "__main__":
    main()
