"""Sweeps (makemore.sweep): workers sharing one study on the journal file and on a real PostgreSQL
server, pruning, a killed worker's trial failed and replaced, one-line errors for bad search spaces,
and the trials table and figures. Tiny models on 600 names, so the whole file takes seconds."""

import argparse
import glob
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

optuna = pytest.importorskip("optuna")
from optuna.storages.journal import JournalFileBackend  # noqa: E402
from optuna.trial import TrialState  # noqa: E402

from makemore import presets, sweep  # noqa: E402
from makemore.errors import DataError, UsageError  # noqa: E402
from makemore.runs import load_run  # noqa: E402

# an MLP of a few thousand weights, 30 steps: a trial trains in well under a second
MLP = {"block_size": 3, "n_embd": ["int", 8, 16, 8], "n_hidden": ["int", 16, 48, 16]}
TINY = dict(max_steps=30, threads=1, heartbeat=1, grace=3)


def journal_study(out: Path):
    storage = optuna.storages.JournalStorage(JournalFileBackend(str(out / "study.journal")))
    return optuna.load_study(study_name=out.name, storage=storage)


class Rendezvous(optuna.pruners.BasePruner):
    """Prunes nothing. A worker process's first evaluation waits (up to a minute) until `n` worker
    processes have reached one, so every worker runs a trial however late it starts (spawned, a
    worker imports torch: on a busy machine another could meanwhile finish every trial)."""

    def __init__(self, where: Path, n: int):
        self.where, self.n = str(where), n

    def prune(self, study, trial) -> bool:
        Path(self.where, str(os.getpid())).touch()
        deadline = time.monotonic() + 60
        while len(os.listdir(self.where)) < self.n and time.monotonic() < deadline:
            time.sleep(0.05)
        return False


def rendezvous(tmp_path: Path, n: int = 2) -> Rendezvous:
    (tmp_path / "arrived").mkdir()
    return Rendezvous(tmp_path / "arrived", n)


def check_study(out: Path, study, n: int, workers: int = 2):
    """Exactly n trials, numbered 0..n-1, none running, each a finished run directory whose config
    has the trial's options and whose best val is the trial's value, run by `workers` worker
    processes (none of them this one) each of which ran some; out/best is the lowest."""
    trials = study.get_trials()
    assert sorted(t.number for t in trials) == list(range(n))
    assert all(t.state == TrialState.COMPLETE for t in trials), [t.state for t in trials]
    for t in trials:
        run = load_run(out / "trials" / f"{t.number:04d}")
        options = {**run.config["model"], **run.config["train"]}
        assert {k: options[k] for k in t.params} == t.params
        final = [r for r in run.metrics if r.get("final")]
        assert len(final) == 1 and abs(final[0]["val"] - t.value) < 1e-6
        assert t.user_attrs["worker"] != f"{socket.gethostname()}:{os.getpid()}"     # a worker process ran it
        assert t.user_attrs["run"] == str((out / "trials" / f"{t.number:04d}").resolve())
    assert len({t.user_attrs["worker"] for t in trials}) == workers                  # and every worker ran some
    best = min(trials, key=lambda t: t.value)
    assert os.readlink(out / "best") == f"trials/{best.number:04d}"
    assert abs(load_run(out / "best").evaluate(["val"])["val"] - best.value) < 1e-6
    assert json.loads((out / "best.json").read_text())["number"] == best.number
    return trials


def test_two_worker_processes_share_the_journal_file(tmp_path, small_file):
    out = tmp_path / "s"
    lines = []
    summary = sweep.run_sweep(out, small_file, type="mlp", trials=5, workers=2, space=MLP, log=lines.append,
                              pruner=rendezvous(tmp_path), **TINY)
    trials = check_study(out, journal_study(out), 5)
    pids = {int(t.user_attrs["worker"].rsplit(":", 1)[1]) for t in trials}
    assert pids == {int(p.name) for p in (tmp_path / "arrived").iterdir()}      # the two that met ran them all
    assert [r["number"] for r in summary["rows"]] == list(range(5))
    assert summary["best"]["val"] == min(t.value for t in trials) and lines[0].startswith("sweep 's': 5 mlp trials")
    record = json.loads((out / "sweep.json").read_text())
    assert record["type"] == "mlp" and record["storage"] == "study.journal"
    assert record["input"] == str(small_file.resolve())
    assert record["space"]["n_hidden"] == ["int", 16, 48, 16] and "block_size" not in record["space"]
    assert record["fixed"] == {"block_size": 3, "max_steps": 30}


@pytest.fixture(scope="module")
def postgres():
    """A PostgreSQL server of Debian's package in a temporary directory, on 127.0.0.1 and a free port,
    with a password; stopped at the end. Skips when the binaries are missing or it cannot start."""
    initdb = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not initdb:
        pytest.skip("PostgreSQL is not installed (Debian: apt-get install postgresql; .ci/run does)")
    psycopg2 = pytest.importorskip("psycopg2")
    bin_dir = Path(initdb[-1]).parent
    as_user = []
    root = Path(tempfile.mkdtemp(prefix="makemore-pg-"))
    if os.geteuid() == 0:                                   # initdb refuses root: run the server as postgres
        import pwd
        try:
            user = pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root and there is no postgres user to run the server as")
        os.chown(root, user.pw_uid, user.pw_gid)
        as_user = ["runuser", "-u", "postgres", "--"]
    password = "s3cret-pw"
    (root / "pw").write_text(password + "\n")
    if as_user:
        os.chown(root / "pw", user.pw_uid, user.pw_gid)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    data = root / "data"

    def run(*cmd):
        return subprocess.run([*as_user, *cmd], capture_output=True, text=True, timeout=60)

    made = run(str(bin_dir / "initdb"), "-D", str(data), "-U", "sweeper", f"--pwfile={root / 'pw'}",
               "-A", "scram-sha-256")
    options = f"-c listen_addresses=127.0.0.1 -p {port} -c unix_socket_directories={root} -c fsync=off"
    started = made.returncode == 0 and run(str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(root / "log"), "-w",
                                           "-t", "30", "-o", options, "start").returncode == 0
    try:
        if not started:
            log = (root / "log").read_text()[-500:] if (root / "log").exists() else made.stderr[-500:]
            pytest.skip(f"PostgreSQL did not start: {log}")
        conn = psycopg2.connect(host="127.0.0.1", port=port, user="sweeper", password=password, dbname="postgres")
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("CREATE DATABASE sweeps")
        conn.close()
        yield {"url": f"postgresql://sweeper:{password}@127.0.0.1:{port}/sweeps", "password": password,
               "psycopg2": f"postgresql+psycopg2://sweeper:{password}@127.0.0.1:{port}/sweeps"}
    finally:
        if started:
            run(str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop")
        shutil.rmtree(root, ignore_errors=True)


def test_two_workers_share_a_study_on_postgresql(tmp_path, small_file, postgres):
    out = tmp_path / "pg"
    sweep.run_sweep(out, small_file, type="mlp", trials=4, workers=2, storage=postgres["url"], space=MLP,
                    pruner=rendezvous(tmp_path), **TINY)
    study = optuna.load_study(study_name="pg", storage=postgres["psycopg2"])
    check_study(out, study, 4)
    record = (out / "sweep.json").read_text()
    assert postgres["password"] not in record and "sweeper:***@127.0.0.1" in record
    assert not (out / "study.journal").exists()
    import sqlalchemy
    with sqlalchemy.create_engine(postgres["psycopg2"]).connect() as c:      # the workers beat their heartbeats there
        assert c.execute(sqlalchemy.text("select count(*) from trial_heartbeats")).scalar() == 4
    with pytest.raises(UsageError, match="pass --storage with its password"):
        sweep.show(out)
    assert [r["number"] for r in sweep.show(out, postgres["url"])["rows"]] == [0, 1, 2, 3]


def test_a_trial_behind_the_median_is_pruned_and_stops_early(tmp_path, small_file):
    out = tmp_path / "p"
    out.mkdir()
    storage = optuna.storages.JournalStorage(JournalFileBackend(str(out / "study.journal")))
    study = optuna.create_study(study_name="p", storage=storage)
    study.enqueue_trial({"lr": 1e-2})
    study.enqueue_trial({"lr": 1e-5})                        # hardly moves: behind the first at its first evaluation
    space = {"lr": ["log", 1e-5, 1e-2], "block_size": 3, "n_embd": 8, "n_hidden": 32, "weight_decay": None}
    sweep.run_sweep(out, small_file, type="mlp", trials=2, space=space, max_steps=60, eval_interval=10, warmup_steps=0,
                    pruner=optuna.pruners.MedianPruner(n_startup_trials=1, n_warmup_steps=0), threads=1)
    good, bad = journal_study(out).get_trials()
    assert good.state == TrialState.COMPLETE and bad.state == TrialState.PRUNED
    assert sorted(good.intermediate_values) == [10, 20, 30, 40, 50, 60] and list(bad.intermediate_values) == [10]
    metrics = load_run(out / "trials" / "0001").metrics
    assert max(r["step"] for r in metrics) == 10 and not any(r.get("final") for r in metrics)
    assert (out / "trials" / "0001" / "best.safetensors").exists()             # its checkpoint is kept
    assert os.readlink(out / "best") == "trials/0000"


def test_a_killed_workers_trial_is_failed_and_the_study_goes_on(tmp_path, small_file):
    out = tmp_path / "k"
    out.mkdir()
    study = optuna.create_study(study_name="k", storage=optuna.storages.JournalStorage(
        JournalFileBackend(str(out / "study.journal"))))
    for steps in (100_000, 30, 30, 30):                      # the first runs until it is killed
        study.enqueue_trial({"max_steps": steps})
    # evaluations far apart: a kill -9 between two is unlikely to find the journal's lock taken (which
    # would hold the others off for its 30 s grace)
    options = dict(type="mlp", trials=3, space={**MLP, "max_steps": ["choice", 30, 100_000]}, eval_interval=500,
                   threads=1, heartbeat=1, grace=3)
    code = (f"from makemore import sweep; sweep.run_sweep({str(out)!r}, {str(small_file)!r}, "
            + ", ".join(f"{k}={v!r}" for k, v in options.items()) + ")")
    worker = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        metrics = out / "trials" / "0000" / "metrics.jsonl"
        deadline = time.monotonic() + 60
        while not (metrics.exists() and '"val"' in metrics.read_text()):     # training, between evaluations
            assert worker.poll() is None and time.monotonic() < deadline, "the worker never started its trial"
            time.sleep(0.1)
        time.sleep(0.2)                                       # halfway to the next evaluation
        os.kill(worker.pid, signal.SIGKILL)
    finally:
        if worker.poll() is None:
            worker.kill()
        worker.wait()
    assert journal_study(out).get_trials()[0].state == TrialState.RUNNING   # nobody says otherwise yet
    lines = []
    sweep.run_sweep(out, log=lines.append, threads=1, heartbeat=1, grace=3)    # again: its settings from the study
    trials = journal_study(out).get_trials()
    assert [t.state for t in trials] == [TrialState.FAIL] + [TrialState.COMPLETE] * 3
    assert "error" not in trials[0].user_attrs and sweep.trial_row(trials[0])["note"] == "lost: its worker stopped"
    assert any("trial    0  FAIL" in line and "heartbeat" in line for line in lines)
    assert os.readlink(out / "best") in {f"trials/{n:04d}" for n in (1, 2, 3)}


@pytest.mark.parametrize("override, match", [
    ({"lr": ["log", 0, 1e-2]}, "space: lr: a log range needs a low end > 0"),
    ({"n_hidden": ["log", 64, 512]}, "space: n_hidden: takes whole numbers: use int"),
    ({"n_hidden": ["int", 64, 512, 100]}, r"the step \(100\) must be > 0 and divide"),
    ({"dropout": ["float", 0.0, 1.5]}, r"dropout=1.5: --dropout must be in \[0, 1\)"),
    ({"n_head": ["int", 1, 4]}, "n_head is not an option of --type lstm"),
    ({"lr": ["cubic", 1, 2]}, "expected \\[kind, low, high\\] with kind one of log, float, int, choice"),
    ({"lr": ["choice", 0.1]}, "a choice needs two or more distinct values"),
    ({"lr": -1.0}, "--lr must be > 0"),
])
def test_a_bad_search_space_is_one_line_naming_it(tmp_path, small_file, override, match):
    with pytest.raises(UsageError, match=match) as e:
        sweep.run_sweep(tmp_path / "bad", small_file, type="lstm", trials=2, space=override)
    assert "\n" not in str(e.value) and str(e.value).startswith("search space: ")
    assert not (tmp_path / "bad").exists()                   # nothing written


def test_bad_options_and_files_are_one_line(tmp_path, small_file):
    bad_json = tmp_path / "space.json"
    bad_json.write_text("{lr: log}")

    def new(**options):
        return sweep.run_sweep(tmp_path / "b", small_file, **options)

    cases = [(lambda: sweep.load_space(bad_json), "--space .*space.json: not JSON"),
             (lambda: sweep.load_space(params=["lr"]), "--param lr: expected NAME=KIND:LOW:HIGH"),
             (lambda: new(type="nope"), "--type: unknown model type 'nope'"),
             (lambda: new(trials=0), "--trials must be"),
             (lambda: new(storage="names.db"), "--storage must be a database URL"),
             (lambda: new(type="bigram"), "nothing to search for --type bigram"),
             (lambda: new(type="transformer", space=sweep.load_space(params=["n_embd=int:60:100:20"])),
              "--rope turns pairs"),
             (lambda: new(type="lstm", max_steps=-1), "--max-steps must be >= 0"),
             (lambda: sweep.show(tmp_path / "b"), "not a sweep directory")]
    for call, match in cases:
        with pytest.raises((UsageError, DataError, ValueError), match=match) as e:
            call()
        assert "\n" not in str(e.value)
    assert sweep.load_space(params=["lr=log:1e-4:1e-2", "dropout=0.1", "n-embd=default", "block_size=choice:8:16"]) == \
        {"lr": ["log", 1e-4, 1e-2], "dropout": 0.1, "n_embd": None, "block_size": ["choice", 8, 16]}
    assert not (tmp_path / "b").exists()


def test_every_search_space_holds_its_types_defaults():
    for kind in ("lstm", "gru", "rnn", "transformer", "mlp", "bnmlp", "wavenet"):
        assert kind in presets.SEARCH
    for kind in presets.SEARCH:
        space, fixed = sweep.resolve_space(kind)
        assert space and not fixed
        r = presets.resolve(kind)
        defaults = {**vars(r.train), **r.model}
        for name, (how, *args) in space.items():
            from makemore.models import config_fields
            value = defaults.get(name, getattr(config_fields(kind).get(name), "default", None))
            assert (value in args) if how == "choice" else args[0] <= value <= args[1], (kind, name, value, args)
            if how == "int" and len(args) == 3:
                assert (value - args[0]) % args[2] == 0, (kind, name, value, args)        # on the grid


def test_the_docs_show_every_search_space():
    assert sweep.space_table() in (Path(__file__).resolve().parents[1] / "docs" / "sweeps.md").read_text()


def test_show_writes_both_figures_and_the_command_prints_every_trial(tmp_path, small_file, capsys):
    out = tmp_path / "cmd"
    p = argparse.ArgumentParser()
    sweep.add_arguments(p)
    argv = ["-o", str(out), "-i", str(small_file), "--type", "mlp", "--trials", "3", "--max-steps", "20",
            "--param", "n_hidden=int:16:32:16", "--param", "block_size=3", "--param", "n_embd=8"]
    assert sweep.main(p.parse_args(argv)) == 0
    printed = capsys.readouterr().out
    for name in ("history.png", "importance.png"):
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    rows = sweep.show(out)["rows"]
    assert [r["number"] for r in rows] == [0, 1, 2] and all(r["state"] == "COMPLETE" for r in rows)
    table = printed[printed.index("trial  state"):]
    for r in rows:
        assert any(line.split()[0].rstrip("*") == str(r["number"]) and f"{r['val']:.4f}" in line
                   for line in table.splitlines()[1:4])
    assert "use it: makemore eval -o" in printed
    from makemore import cli                                   # the best trial is a run for every command
    assert cli.main(["eval", "-o", str(out / "best"), "--json"]) == 0
    assert abs(json.loads(capsys.readouterr().out)["val"] - min(r["val"] for r in rows)) < 1e-6
    # the sweep again with more trials: the study goes on; with another type or file: refused, one line
    sweep.run_sweep(out, trials=4, threads=1, log=lambda line: None)
    assert len(sweep.show(out)["rows"]) == 4
    with pytest.raises(UsageError, match="--type: the study 'cmd' was started with \"mlp\""):
        sweep.run_sweep(out, type="gru")
    other = tmp_path / "other.txt"
    other.write_text("\n".join(f"item{i}" for i in range(50)))
    with pytest.raises(DataError, match="not the file the study 'cmd' searches"):
        sweep.run_sweep(out, other)
