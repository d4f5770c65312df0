"""Data-parallel training on CPU with torch.distributed (gloo), launched by torchrun as a user would:
two processes follow one process's loss curve at the same global batch, rank 0 alone writes, two
launchers on localhost act as two machines, and a distributed run resumes (exactly on as many
processes, and on one)."""

import json
import os
import socket
import subprocess
import sys

import pytest
import torch

from makemore import cli, distributed
from makemore.runs import Run, RunDir

TOLERANCE = 0.05       # nats: val of 2 processes vs 1 at the same global batch (other batches, same expectation)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def torchrun(*argv, nproc=2, extra=(), timeout=240):
    cmd = [sys.executable, "-m", "torch.distributed.run", *extra, "--nproc-per-node", str(nproc),
           "-m", "makemore", "train", *map(str, argv), "--no-progress", "--samples", "0"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env) if timeout is None \
        else subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout)


def single(*argv):
    cmd = [sys.executable, "-m", "makemore", "train", *map(str, argv), "--no-progress", "--samples", "0", "--threads", "1"]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=240)


def one_and_two(tmp_path, common):
    """The same training in one process (tmp_path/one) and in two under torchrun (tmp_path/two):
    both finished processes and both runs' val losses by step."""
    one = single("-o", tmp_path / "one", *common)
    assert one.returncode == 0, one.stderr
    two = torchrun("-o", tmp_path / "two", *common, extra=["--standalone"])
    assert two.returncode == 0, two.stderr
    return one, two, vals(tmp_path / "one"), vals(tmp_path / "two")


def vals(d):
    return {r["step"]: r["val"] for r in RunDir(d).read_metrics() if "val" in r and not r.get("final")}


@pytest.mark.parametrize("model", [["--type", "mlp"], ["--type", "lstm", "--n-hidden", "48", "--bucket", "0"]])
def test_two_processes_follow_one_at_the_same_global_batch(tmp_path, small_file, model):
    common = ["-i", small_file, *model, "--batch-size", 32, "--total-batch", 64, "--max-steps", 150,
              "--eval-interval", 50, "--seed", 3]
    one, two, a, b = one_and_two(tmp_path, common)
    assert list(a) == list(b) == [50, 100, 150]
    assert all(abs(a[s] - b[s]) < TOLERANCE for s in a), (a, b)
    assert a[150] < a[50] - 0.3 and b[150] < b[50] - 0.3              # both learned
    cfg = json.loads((tmp_path / "two" / "config.json").read_text())
    assert cfg["train"]["total_batch"] == 64
    records = RunDir(tmp_path / "two").read_metrics()                  # rank 0 alone wrote: one line each
    assert [r["step"] for r in records if "val" in r and not r.get("final")] == [50, 100, 150]
    assert sum(1 for r in records if r.get("final")) == 1 and sum(1 for r in records if "init_loss" in r) == 1
    steps = [r["step"] for r in records if "loss" in r]
    assert steps == sorted(set(steps))
    assert len(two.stdout.splitlines()) == len(one.stdout.splitlines())    # rank 1 printed no evaluations
    assert one.stderr.count(" parameters | vocab ") == two.stderr.count(" parameters | vocab ") == 1   # nor described it


@pytest.mark.parametrize("rank", [0, 1])
def test_only_rank_0_prints(tmp_path, small_file, monkeypatch, capsys, rank):
    """The description, --dedupe's count and the interrupt messages: rank 0 prints them, other ranks
    nothing (in process: the process group and the training are stood in for)."""
    monkeypatch.setenv("RANK", str(rank))
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setattr(distributed, "launch", lambda device: device)
    argv = ["train", "-o", str(tmp_path / "run"), "-i", str(small_file), "--type", "mlp", "--dedupe", "--samples", "0"]
    ends = {"finished": {"step": 7, "best_val": 2.0, "interrupted": 0, "losses": None},
            "stopped": {"step": 7, "best_val": 2.0, "interrupted": 2, "losses": None}, "interrupted": None}
    printed = {}
    for end, result in ends.items():
        def train(self, **options):
            if result is None:
                raise KeyboardInterrupt
            return result
        monkeypatch.setattr(Run, "train", train)
        code = cli.main(argv)
        assert code == {"finished": 0, "stopped": 130, "interrupted": 130}[end]
        printed[end] = capsys.readouterr()
    if rank:
        assert all(p.out == p.err == "" for p in printed.values()), printed
    else:
        err = {end: p.err for end, p in printed.items()}
        assert all(e.startswith("--dedupe: dropped ") and " parameters | vocab " in e for e in err.values()), err
        assert "stopped at step 7; saved" in err["stopped"] and err["interrupted"].endswith("interrupted\n")


def test_two_launchers_on_localhost_are_two_machines(tmp_path, small_file):
    port = free_port()
    launch = ["--nnodes", "2", "--master-addr", "127.0.0.1", "--master-port", str(port)]
    args = ["-o", tmp_path / "run", "-i", small_file, "--type", "mlp", "--max-steps", 60, "--eval-interval", 30]
    nodes = [torchrun(*args, nproc=1, extra=[*launch, "--node-rank", str(r)], timeout=None) for r in (0, 1)]
    outs = [n.communicate(timeout=240) for n in nodes]
    assert [n.returncode for n in nodes] == [0, 0], [o[1][-2000:] for o in outs]
    assert RunDir(tmp_path / "run").exists() and list(vals(tmp_path / "run")) == [30, 60]


def test_a_distributed_run_resumes_exactly_and_on_one_process(tmp_path, small_file):
    common = ["-i", small_file, "--type", "transformer", "--preset", "tiny", "--dropout", "0.1", "--schedule", "constant",
              "--warmup-steps", 0, "--eval-interval", 20, "--seed", 5]
    straight = torchrun("-o", tmp_path / "straight", *common, "--max-steps", 60, extra=["--standalone"])
    assert straight.returncode == 0, straight.stderr
    first = torchrun("-o", tmp_path / "resumed", *common, "--max-steps", 40, extra=["--standalone"])
    assert first.returncode == 0, first.stderr
    state = torch.load(tmp_path / "resumed" / "state.pt", weights_only=True)
    assert len(state["ranks"]) == 2                                  # every process's batch stream is saved
    again = torchrun("-o", tmp_path / "resumed", "--resume", "--max-steps", 60, extra=["--standalone"])
    assert again.returncode == 0, again.stderr
    want = torch.load(tmp_path / "straight" / "state.pt", weights_only=True)["weights"]
    got = torch.load(tmp_path / "resumed" / "state.pt", weights_only=True)["weights"]
    assert all(torch.equal(got[k], want[k]) for k in want)          # as if never stopped, bit for bit
    alone = single("-o", tmp_path / "resumed", "--resume", "--max-steps", 80)
    assert alone.returncode == 0, alone.stderr
    assert "resuming a run of 2 process(es) on 1" in alone.stderr
    assert list(vals(tmp_path / "resumed")) == [20, 40, 60, 80]


def test_two_processes_train_on_tagged_items(tmp_path):
    """torchrun on a tagged file: each process's batches carry their rows' tags, and two processes
    follow one at the same global batch."""
    from makemore.data import bundled_locales
    lines = bundled_locales().read_text(encoding="utf-8").splitlines()[::12]          # every locale, 770 lines
    tagged = tmp_path / "tagged.tsv"
    tagged.write_text("\n".join(lines) + "\n", encoding="utf-8")
    common = ["-i", tagged, "--tagged", "--type", "mlp", "--batch-size", 32, "--total-batch", 64, "--max-steps", 100,
              "--eval-interval", 50, "--seed", 3]
    one, two, a, b = one_and_two(tmp_path, common)
    assert list(a) == list(b) == [50, 100] and all(abs(a[s] - b[s]) < TOLERANCE for s in a), (a, b)
    assert json.loads((tmp_path / "two" / "config.json").read_text())["model"]["n_tags"] == 16
