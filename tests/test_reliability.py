"""A run directory that survives kills, races, planted symlinks and bad input; every failure one line.

Each test counts what it tried and what held through `record` (tests/conftest.py); run through
`python benchmarks/reliability.py`, those counts become the table of docs/reliability.md.
"""

import contextlib
import io
import json
import multiprocessing
import os
import random
import signal
import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from hypothesis import HealthCheck, given, settings, strategies as st

import makemore as mm
from makemore.cli import main
from makemore.data import Split, encode_words
from makemore.runs import RunDir

pytestmark = pytest.mark.usefixtures("one_thread")


def cli(*argv) -> tuple[int, str]:
    """Run the command line in this process: (exit status, what it printed on stderr)."""
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            code = main([str(a) for a in argv])
        except SystemExit as e:          # argparse's own errors
            code = e.code
    return code, err.getvalue()


def one_line(err: str, command: str = "train") -> bool:
    """A refusal as promised: one line, the command named, no traceback."""
    lines = [line for line in err.splitlines() if line.strip() and "|" not in line]
    return len(lines) == 1 and lines[0].startswith(("makemore", "usage")) and "Traceback" not in err \
        and f"{command}" in lines[0]


def snapshot(d: Path) -> dict:
    return {f.name: f.read_bytes() for f in sorted(d.iterdir()) if f.is_file() and f.name != ".lock"}


def hidden_dirs(d: Path) -> list:
    """Directories a run keeps out of sight (an old run set aside by --force)."""
    return [f.name for f in d.iterdir() if f.name.startswith(".") and f.is_dir()]


@pytest.fixture
def trained(tmp_path, small_file):
    """A small finished MLP run, the arguments that made it, and those that resume it."""
    d = tmp_path / "run"
    args = ["train", "-i", small_file, "-o", d, "--type", "mlp", "--max-steps", 20, "--eval-interval", 10,
            "--no-progress", "--samples", 0]
    assert cli(*args)[0] == 0
    return d, args, ["train", "-o", d, "--resume", "--max-steps", 30, "--no-progress", "--samples", 0]


# --- kill -9 at random moments ---------------------------------------------------------------------

KILL_SETUPS = {   # name -> (create_run options, trials)
    "mlp": (dict(type="mlp", n_hidden=64, max_steps=60), 14),
    "transformer": (dict(type="transformer", preset="tiny", dropout=0.1, ema=0.9, max_steps=30), 8),
}


def _train_child(d, small_file, options):
    import threading
    from tqdm.auto import tqdm
    tqdm.set_lock(threading.RLock())   # not the lock shared with the parent: a kill may leave that one held
    torch.set_num_threads(1)
    mm.create_run(d, small_file, eval_interval=1, log_interval=1, **options).train(progress=False)
    os._exit(0)


@pytest.mark.parametrize("name", list(KILL_SETUPS))
def test_kill_9_at_random_moments_then_resume_is_bit_exact(tmp_path, small_file, record, name):
    """A run saving a checkpoint at every step, killed with SIGKILL at a random moment, then
    resumed: its weights, and its metrics, are those of a run never killed."""
    options, trials = KILL_SETUPS[name]
    ctx, rng = multiprocessing.get_context("fork"), random.Random(0)
    mm.create_run(tmp_path / "straight", small_file, eval_interval=1, log_interval=1, **options).train(progress=False)
    want = torch.load(tmp_path / "straight" / "state.pt", weights_only=True)["weights"]
    timed = ctx.Process(target=_train_child, args=(tmp_path / "timed", small_file, options))
    t0 = time.perf_counter()
    timed.start()
    timed.join()
    duration = time.perf_counter() - t0                  # start to end of a run, as the killed ones live it
    assert timed.exitcode == 0
    resumed = 0
    for trial in range(trials):
        with record.case(f"kill -9 at a random moment while saving every step ({name}), then resume") as case:
            d = tmp_path / f"k{trial}"
            child = ctx.Process(target=_train_child, args=(d, small_file, options))
            child.start()
            time.sleep(rng.uniform(0.0, duration))
            os.kill(child.pid, signal.SIGKILL)
            child.join()
            how = ["finished before the kill"] if child.exitcode == 0 else []
            err = io.StringIO()
            with contextlib.redirect_stderr(err):
                if (d / "state.pt").exists():
                    mm.resume_run(d).train(progress=False)
                    how += ["resumed bit-exact"] if child.exitcode != 0 else []
                    how += ["torn checkpoint noticed"] if "cut short" in err.getvalue() else []
                else:
                    mm.create_run(d, small_file, eval_interval=1, log_interval=1, force=True, **options).train(progress=False)
                    how += ["killed before the first checkpoint: started over"]
            got = torch.load(d / "state.pt", weights_only=True)["weights"]
            assert got.keys() == want.keys()
            for k in want:
                assert torch.equal(got[k], want[k]), (trial, k)
            steps = [r["step"] for r in RunDir(d).read_metrics() if "val" in r and not r.get("final")]
            assert steps == sorted(set(steps)) == list(range(1, options["max_steps"] + 1)), trial   # no duplicates
            assert not list(d.glob(".*.tmp"))
            case.held(*how)
            resumed += "resumed bit-exact" in how
    assert resumed >= trials // 2, resumed


def test_sigterm_saves_and_resumes(tmp_path, small_file, record):
    with record.case("SIGTERM during training") as case:
        sigterm_saves(tmp_path / "run", small_file)
        case.held("saved its step and exited 143")


def sigterm_saves(d, small_file):
    cmd = [sys.executable, "-m", "makemore", "train", "-i", str(small_file), "-o", str(d), "--type", "mlp",
           "--max-steps", "100000", "--eval-interval", "1000", "--no-progress", "--samples", "0"]
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
    while not (d / "metrics.jsonl").exists() or (d / "metrics.jsonl").stat().st_size < 100:
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signal.SIGTERM, err
    assert "saved" in err and "--resume" in err
    step = int(RunDir(d).load_state()["step"])
    assert RunDir(d).weights_step("last") == step > 0


# --- property tests: input files and option values -------------------------------------------------

ENCODINGS = ["utf-8", "utf-16", "latin-1", "cp1252", "utf-8-sig"]
texts = st.lists(st.text(min_size=0, max_size=12), min_size=0, max_size=40)


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_any_input_file_trains_or_is_refused_in_one_line(tmp_path_factory, small_file, record, data):
    """Random bytes, or random text in a random encoding with random line endings: `train` either
    trains or exits 2 with one line, and the run it would replace is untouched then."""
    tmp = tmp_path_factory.mktemp("prop")
    d = tmp / "run"
    assert cli("train", "-i", small_file, "-o", d, "--type", "bigram", "--samples", 0, "--no-progress")[0] == 0
    before = snapshot(d)
    kind = data.draw(st.sampled_from(["bytes", "text", "names"]), label="kind")
    if kind == "bytes":
        raw = data.draw(st.binary(max_size=600), label="bytes")
        encoding = "utf-8"
    elif kind == "names":                     # mostly plausible items, now and then an odd character
        alphabet = st.sampled_from("abcdefghij") | st.characters(codec="utf-8", exclude_categories=("Cc", "Cs", "Zs"))
        lines = data.draw(st.lists(st.text(alphabet, min_size=1, max_size=8), min_size=5, max_size=60), label="names")
        ending = data.draw(st.sampled_from(["\n", "\r\n", "\r"]), label="line ending")
        raw, encoding = ending.join(lines).encode("utf-8", "surrogatepass"), "utf-8"
    else:
        encoding = data.draw(st.sampled_from(ENCODINGS), label="encoding")
        ending = data.draw(st.sampled_from(["\n", "\r\n", "\r"]), label="line ending")
        try:
            raw = ending.join(data.draw(texts, label="lines")).encode(encoding)
        except UnicodeEncodeError:
            raw = b"\xff\xfe\xfd"
    f = tmp / "input.txt"
    f.write_bytes(raw)
    with record.case("random input files (bytes, encodings, line endings)") as case:
        code, err = cli("train", "-i", f, "-o", d, "--force", "--type", "bigram", "--encoding", encoding,
                        "--samples", 0, "--no-progress")
        assert code in (0, 2), err
        if code == 2:
            assert one_line(err), err
            assert snapshot(d) == before
        case.held("trained" if code == 0 else "refused in one line")


GOOD_LINE = st.tuples(st.sampled_from(["it", "es", "de", "é"]), st.text(st.sampled_from("abcé"), min_size=1, max_size=6)) \
    .map(lambda t: f"{t[0]}\t{t[1]}")
TAGGED_LINE = st.one_of(
    GOOD_LINE, GOOD_LINE, GOOD_LINE, GOOD_LINE, GOOD_LINE, GOOD_LINE,                  # mostly good lines, and now and then
    st.tuples(st.sampled_from([" ", "", "a,b", "x=1"]), st.text(st.sampled_from("abcé \t"), max_size=6))
    .map(lambda t: f"{t[0]}\t{t[1]}"),                                # an odd tag or item,
    st.text(st.sampled_from("abc "), max_size=6),                      # no tab, or a blank line
)


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(lines=st.one_of(st.lists(GOOD_LINE, min_size=10, max_size=60), st.lists(TAGGED_LINE, max_size=60)),
       ending=st.sampled_from(["\n", "\r\n"]))
def test_any_tagged_file_trains_or_is_refused_in_one_line(tmp_path_factory, small_file, record, lines, ending):
    """Random TAG<TAB>ITEM files (tabs missing, tags empty or holding a blend's separators, blank
    items): `train --tagged` trains or exits 2 with one line naming the file and line, and the run
    it would replace is untouched then."""
    tmp = tmp_path_factory.mktemp("tagged")
    d = tmp / "run"
    assert cli("train", "-i", small_file, "-o", d, "--type", "bigram", "--samples", 0, "--no-progress")[0] == 0
    before = snapshot(d)
    f = tmp / "tagged.tsv"
    f.write_text(ending.join(lines), encoding="utf-8")
    with record.case("random tagged files (tabs missing, empty or odd tags, blank items)") as case:
        code, err = cli("train", "-i", f, "--tagged", "-o", d, "--force", "--type", "bigram", "--samples", 0, "--no-progress")
        assert code in (0, 2), err
        if code == 2:
            assert one_line(err) and str(f) in err, err
            assert snapshot(d) == before
        case.held("trained" if code == 0 else "refused in one line")


def test_bad_tags_are_refused_in_one_line(tmp_path, record):
    """--tag values a tagged run cannot take (unknown tags, bad blends), and a tag for an untagged
    run: one line each, exit 2, and the run unchanged."""
    tagged = tmp_path / "t.tsv"
    tagged.write_text("".join(f"{t}\t{w}\n" for t in ("it", "es") for w in ("ana", "bea", "carla", "dora", "eva", "fia")))
    d = tmp_path / "run"
    assert cli("train", "-i", tagged, "--tagged", "-o", d, "--type", "bigram", "--samples", 0, "--no-progress")[0] == 0
    before = snapshot(d)
    for spec in ("fr", "it=0", "it=-1", "it=nan", "it=inf", "it=x", "it,es", "=1", "it=1,fr=1", ""):
        with record.case("bad --tag values (unknown tags, weights that are not positive numbers)") as case:
            code, err = cli("sample", "-o", d, "--tag", spec)
            assert code == 2 and one_line(err, "sample"), (spec, err)
            assert snapshot(d) == before
            case.held("refused in one line, run byte-identical")


NUMBERS = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-10, 10 ** 13),
                    st.sampled_from(["nan", "inf", "-inf", "1e400", "", "x", "0x10", "3.", "-0"]))
OPTIONS = ["lr", "min-lr-ratio", "decay-factor", "decay-at", "weight-decay", "grad-clip", "warmup-steps", "batch-size",
           "bucket", "ema", "eval-interval", "log-interval", "seed", "n-hidden", "n-embd", "block-size",
           "max-len", "split-seed", "max-bytes", "schedule", "optimizer", "dtype", "encoding", "recipe", "preset"]


@settings(max_examples=80, deadline=None, suppress_health_check=list(HealthCheck))
@given(option=st.sampled_from(OPTIONS), value=NUMBERS)
def test_any_option_value_trains_or_is_refused_in_one_line(tmp_path_factory, small_file, record, option, value):
    tmp = tmp_path_factory.mktemp("opt")
    d = tmp / "run"
    assert cli("train", "-i", small_file, "-o", d, "--type", "mlp", "--max-steps", 2, "--no-progress", "--samples", 0)[0] == 0
    before = snapshot(d)
    with record.case("random option values (numbers, NaN, infinities, text)") as case:
        code, err = cli("train", "-i", small_file, "-o", d, "--force", "--type", "mlp", f"--{option}", str(value),
                        "--max-steps", 2, "--eval-interval", 1, "--no-progress", "--samples", 0)
        assert code in (0, 2), err
        if code == 2 and "training stopped" in err:     # it started, then diverged: the old run back, or the new one's checkpoint
            assert one_line(err), err
            assert snapshot(d) == before if "no checkpoint" in err else (d / "state.pt").exists(), err
            assert not hidden_dirs(d)
        elif code == 2:                                 # refused before anything was touched
            assert one_line(err), err
            assert snapshot(d) == before
        else:
            cfg = json.loads((d / "config.json").read_text())
            assert all(v == v and v not in (float("inf"), float("-inf")) for v in cfg["train"].values() if isinstance(v, float))
        case.held("trained" if code == 0 else "refused in one line")


@pytest.mark.parametrize("argv", [
    ["--resume", "--lr", "nan"], ["--resume", "--lr", "inf"], ["--resume", "--max-steps", "-1"],
    ["--force", "--lr", "nan"], ["--force", "--max-steps", "-5"], ["--force", "--min-lr-ratio", "-5"],
    ["--force", "--decay-factor", "-1"], ["--force", "--weight-decay", "nan"], ["--force", "--batch-size", "100000000"],
    ["--force", "--n-hidden", "100000000"], ["--force", "--n-layer", "100000000", "--type", "bnmlp"],
])
def test_a_bad_option_changes_nothing(trained, argv, record):
    d, args, _ = trained
    before = snapshot(d)
    with record.case("bad options on an existing run (--resume / --force with NaN, infinity, out of range, too large)") as case:
        code, err = cli(*args, *argv)
        assert code == 2 and one_line(err), err
        assert snapshot(d) == before
        case.held("refused in one line, run byte-identical")


# --- --force: the old run kept until the new one has a checkpoint -----------------------------------

FORCE = "--force whose new run fails before its first checkpoint (diverges, is killed): the old run kept"


def test_a_forced_run_that_diverges_before_its_first_checkpoint_keeps_the_old_run(trained, record):
    d, args, resume = trained
    before = snapshot(d)
    with record.case(FORCE) as case:
        code, err = cli(*args, "--force", "--lr", "1e30")
        assert code == 2 and one_line(err) and "training stopped" in err, err
        assert "was kept" not in err and "no checkpoint" in err and "back" in err, err
        assert snapshot(d) == before and not hidden_dirs(d)
        assert cli(*resume)[0] == 0                     # the old run, whole: it resumes
        case.held("the old run back, byte-identical, resumable")


def test_a_forced_run_killed_before_its_first_checkpoint_is_rolled_back(trained, record):
    d, args, resume = trained
    before = snapshot(d)
    with record.case(FORCE) as case:
        cmd = [sys.executable, "-m", "makemore", *map(str, args), "--force", "--max-steps", "1000000",
               "--eval-interval", "1000000"]
        proc = subprocess.Popen(cmd, stderr=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                env={**os.environ, "OMP_NUM_THREADS": "1"})
        try:
            deadline = time.time() + 60
            while not (hidden_dirs(d) and (d / "metrics.jsonl").exists()):     # the old run aside, the new one logging
                assert time.time() < deadline and proc.poll() is None, "the old run was never set aside"
                time.sleep(0.02)
        finally:
            proc.kill()
            proc.wait()
        assert len(hidden_dirs(d)) == 1 and not (d / "state.pt").exists()   # the old run aside, the new one unsaved
        code, err = cli(*resume)                        # the next writer puts the old run back, then resumes it
        assert code == 0 and "back" in err, err
        assert not hidden_dirs(d) and json.loads((d / "config.json").read_text())["train"]["max_steps"] == 30
        case.held("put back by the next writer, then resumed")
    assert set(before) <= set(snapshot(d))


def test_a_divergence_says_whether_a_checkpoint_was_kept(tmp_path, trained, record):
    d, args, resume = trained
    with record.case("a run that diverges: the message says what was kept") as case:
        code, err = cli(*[tmp_path / "fresh" if a == d else a for a in args], "--lr", "1e30")
        assert code == 2 and one_line(err) and "no checkpoint" in err and "was kept" not in err, err
        case.held("a fresh run: no checkpoint, said so")
    with record.case("a run that diverges: the message says what was kept") as case:
        state = (d / "state.pt").read_bytes()
        code, err = cli(*resume, "--lr", "1e30")
        assert code == 2 and one_line(err) and "last good checkpoint was kept" in err, err
        assert (d / "state.pt").read_bytes() == state
        assert cli(*resume, "--lr", "1e-3")[0] == 0
        case.held("a resumed run: its checkpoint kept, said so")


# --- planted symlinks, a second writer, the disk ---------------------------------------------------

SYMLINKS = "symbolic links planted at a run's file names (metrics.jsonl, config.json, a figure, train.log)"


def test_no_write_follows_a_planted_symlink(trained, tmp_path, record):
    d, args, resume = trained
    outside = tmp_path / "outside.txt"
    outside.write_text("keep me\n")
    with record.case(SYMLINKS) as case:
        (d / "metrics.jsonl").unlink()
        (d / "metrics.jsonl").symlink_to(outside)
        code, err = cli(*resume)
        assert code == 2 and one_line(err) and "symbolic link" in err, err
        assert outside.read_text() == "keep me\n"
        case.held("refused in one line")
    with record.case(SYMLINKS) as case:
        (d / "loss.png").symlink_to(outside)                                 # a figure's name
        (d / "metrics.jsonl").unlink()
        (d / "metrics.jsonl").write_text('{"step": 1, "loss": 3.0}\n')
        assert cli("plot", "loss", "-o", d)[0] == 0
        assert outside.read_text() == "keep me\n" and not (d / "loss.png").is_symlink()
        case.held("link replaced, its target untouched")
    with record.case(SYMLINKS) as case:
        (d / "config.json").rename(d / "config.real")
        (d / "config.json").symlink_to(outside)                              # a run's own file
        code, err = cli(*args, "--force")
        assert code == 0, err
        assert outside.read_text() == "keep me\n" and not (d / "config.json").is_symlink()
        case.held("link replaced, its target untouched")


def test_train_log_is_never_written_through_a_link(tmp_path, small_file, record):
    """The logs of `best`'s members and of a sweep's trials replace a link planted at their name."""
    from makemore import sweep
    from makemore.runs import mixtures
    outside = tmp_path / "outside.txt"
    outside.write_text("keep me\n")
    threads = torch.get_num_threads()
    with record.case(SYMLINKS) as case:
        member = tmp_path / "best" / "members" / "bigram"
        member.mkdir(parents=True)
        (member / "train.log").symlink_to(outside)
        try:
            mixtures.train_member(str(member), {"type": "bigram"}, str(small_file), "cpu", 1, str(member / "train.log"))
        finally:
            torch.set_num_threads(threads)
        assert outside.read_text() == "keep me\n" and not (member / "train.log").is_symlink()
        assert "bigram" in (member / "train.log").read_text()
        case.held("link replaced, its target untouched")
    with record.case(SYMLINKS) as case:
        trial = tmp_path / "sweep" / "trials" / "0000"
        trial.mkdir(parents=True)
        (trial / "train.log").symlink_to(outside)
        with contextlib.redirect_stdout(io.StringIO()):
            sweep.run_sweep(tmp_path / "sweep", small_file, type="ngram", trials=1, threads=1, log=lambda *a: None)
        assert outside.read_text() == "keep me\n" and not (trial / "train.log").is_symlink()
        assert "ngram" in (trial / "train.log").read_text()
        case.held("link replaced, its target untouched")


READS = "run files read by eval, resume and diagnose: a link, a FIFO, far too large (config.json, updates.json)"


@pytest.mark.parametrize("kind", ["a link", "a link to /dev/zero", "a FIFO", "too large"])
@pytest.mark.parametrize("name", ["config.json", "updates.json"])
def test_run_files_are_read_only_whole_regular_and_bounded(trained, tmp_path, monkeypatch, name, kind, record):
    from makemore.runs import directory
    d, _, resume = trained
    f = d / name
    real = tmp_path / name
    real.write_text(f.read_text() if f.exists() else json.dumps({"steps": [0], "ratios": {}}))
    with record.case(READS) as case:
        if f.exists():
            f.unlink()
        if kind == "a link":
            f.symlink_to(real)
        elif kind == "a link to /dev/zero":
            f.symlink_to("/dev/zero")
        elif kind == "a FIFO":
            os.mkfifo(f)
        else:
            monkeypatch.setattr(directory, "CONFIG_BYTES" if name == "config.json" else "UPDATES_BYTES", 4096)
            f.write_text(real.read_text() + " " * 5000)
        commands = [["eval", "-o", d], resume] if name == "config.json" else [["diagnose", "-o", d, "--png", tmp_path / "x.png"]]
        for command in commands:
            t0 = time.perf_counter()
            code, err = cli(*command)
            assert code == 2 and one_line(err, command[0]) and name in err, err
            assert time.perf_counter() - t0 < 30
        case.held("refused in one line")


def test_a_second_writer_is_refused(trained, record):
    d, args, resume = trained
    other = d.parent / "other"
    assert cli("train", "-i", args[2], "-o", other, "--type", "bigram", "--no-progress", "--samples", 0)[0] == 0
    before = snapshot(d)
    with RunDir(d).lock():
        for argv in (resume, [*args, "--force"], ["ensemble", "-o", d, "--force", other]):
            with record.case("a second writer (--resume, --force, ensemble --force) while one holds the run") as case:
                code, err = cli(*argv)
                assert code == 2 and one_line(err, argv[0]) and "another process" in err and str(os.getpid()) in err, err
                assert snapshot(d) == before
                case.held("refused in one line naming the holder, run byte-identical")


def test_two_trainings_at_once_one_is_refused(tmp_path, small_file, record):
    d = tmp_path / "run"
    cmd = [sys.executable, "-m", "makemore", "train", "-i", str(small_file), "-o", str(d), "--type", "mlp",
           "--max-steps", "3000", "--eval-interval", "500", "--no-progress", "--samples", "0"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    with record.case("two `train -o SAME` at once") as case:
        first = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True, env=env)
        while not (d / "config.json").exists():
            time.sleep(0.05)
        second = subprocess.run(cmd + ["--force"], capture_output=True, text=True, env=env)
        first.send_signal(signal.SIGINT)
        first.communicate(timeout=60)
        assert second.returncode == 2 and "another process" in second.stderr, second.stderr
        case.held("the second refused in one line")


@contextlib.contextmanager
def tmpfs(where: Path, size: str, readonly: bool = False):
    """A small tmpfs mounted at `where` (root on Linux only; the test skips otherwise)."""
    where.mkdir()
    opts = f"size={size}" + (",ro" if readonly else "")
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", opts, "tmpfs", str(where)], capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({r.stderr.strip() or 'mount failed'}); needs root on Linux")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], capture_output=True)


def test_full_disk_and_read_only_directory(tmp_path, small_file, record):
    what = "a full disk (tmpfs), a read-only file system, a path through a file"
    with record.case(what) as case:
        code, err = cli("train", "-i", small_file, "-o", small_file / "run", "--type", "bigram")   # ENOTDIR
        assert code == 2 and one_line(err), err
        case.held("one line, no temporary file left")
    with record.case(what) as case, tmpfs(tmp_path / "small", "96k") as small:
        code, err = cli("train", "-i", small_file, "-o", small / "run", "--type", "mlp", "--n-hidden", 2000,
                        "--max-steps", 4, "--eval-interval", 2, "--no-progress", "--samples", 0)
        assert code == 2 and one_line(err), err
        assert not list((small / "run").glob(".*.tmp"))
        case.held("one line, no temporary file left")
    with record.case(what) as case, tmpfs(tmp_path / "ro", "1m", readonly=True) as ro:
        code, err = cli("train", "-i", small_file, "-o", ro / "run", "--type", "bigram", "--no-progress", "--samples", 0)
        assert code == 2 and one_line(err) and "Read-only" in err, err
        case.held("one line, no temporary file left")


# --- crafted files in a run directory ---------------------------------------------------------------

def _header(tensors: dict) -> bytes:
    h = json.dumps(tensors).encode()
    return struct.pack("<Q", len(h)) + h


CRAFTED = {
    "empty file": lambda good: b"",
    "truncated": lambda good: good[: len(good) // 2],
    "garbage": lambda good: os.urandom(300),
    "header length 2^60": lambda good: struct.pack("<Q", 2 ** 60) + good[8:],
    "header longer than the file": lambda good: struct.pack("<Q", len(good)) + good[8:],
    "header not JSON": lambda good: struct.pack("<Q", 6) + b"{not j" + good[8:],
    "no tensors": lambda good: _header({}),
    "wrong shape": lambda good: _header({"wte.weight": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]}}) + bytes(16),
    "offsets past the end": lambda good: _header({"wte.weight": {"dtype": "F32", "shape": [27, 10], "data_offsets": [0, 10 ** 9]}}),
    "wrong dtype": lambda good: good.replace(b'"F32"', b'"I64"', 1),
    "another model's weights": None,
    "a directory": None,
    "a symbolic link to /dev/zero": None,
}


@pytest.mark.parametrize("kind", list(CRAFTED))
def test_crafted_weights_are_refused_in_one_line(trained, tmp_path, kind, record):
    d, _, _ = trained
    f = d / "best.safetensors"
    good = f.read_bytes()
    f.unlink()
    if kind == "another model's weights":
        other = mm.build_model("mlp", 27, 16, n_hidden=7)
        from safetensors.torch import save_model
        save_model(other, str(f))
    elif kind == "a directory":
        f.mkdir()
    elif kind == "a symbolic link to /dev/zero":
        f.symlink_to("/dev/zero")
    else:
        f.write_bytes(CRAFTED[kind](good))
    for command in (["eval", "-o", d], ["sample", "-o", d, "-n", 3], ["score", "-o", d, "emma"]):
        with record.case("crafted or broken weights files (13 kinds) under eval, sample, score") as case:
            code, err = cli(*command)
            assert code == 2 and one_line(err, command[0]), (kind, err)
            case.held("refused in one line")


@pytest.mark.parametrize("kind", ["truncated", "a pickled object", "missing keys", "empty", "other weights"])
def test_a_broken_state_is_refused_in_one_line(trained, kind, record):
    d, _, resume = trained
    f = d / "state.pt"
    state = torch.load(f, weights_only=True)
    if kind == "truncated":
        f.write_bytes(f.read_bytes()[:500])
    elif kind == "a pickled object":
        torch.save({"step": 1, "evil": contextlib.nullcontext()}, f)
    elif kind == "missing keys":
        torch.save({"step": torch.tensor(3)}, f)
    elif kind == "empty":
        f.write_bytes(b"")
    else:
        torch.save({**state, "weights": {"x": torch.zeros(2)}}, f)
    before = snapshot(d)
    with record.case("broken state.pt (truncated, a pickle, missing keys, empty, other weights) on --resume") as case:
        code, err = cli(*resume)
        assert code == 2 and one_line(err) and "weights_only" not in err, err
        assert snapshot(d) == before
        case.held("refused in one line, run byte-identical")


@pytest.mark.parametrize("kind", ["missing keys", "not JSON", "a list", "data file changed", "data file is /dev/zero"])
def test_a_broken_config_is_refused_in_one_line(trained, tmp_path, kind, record):
    d, _, _ = trained
    cfg = json.loads((d / "config.json").read_text())
    if kind == "missing keys":
        del cfg["model"]
        text = json.dumps(cfg)
    elif kind == "not JSON":
        text = "{"
    elif kind == "a list":
        text = "[]"
    elif kind == "data file changed":
        changed = tmp_path / "changed.txt"
        changed.write_text(Path(cfg["data"]["input"]).read_text() + "zzz\n")
        text = json.dumps({**cfg, "data": {**cfg["data"], "input": str(changed)}})
    else:
        text = json.dumps({**cfg, "data": {**cfg["data"], "input": "/dev/zero", "max_bytes": 10 ** 6}})
    (d / "config.json").write_text(text)
    with record.case("broken or misleading config.json (missing keys, not JSON, a list, changed data, /dev/zero) under eval") as case:
        code, err = cli("eval", "-o", d)
        assert code == 2 and one_line(err, "eval"), err
        case.held("refused in one line")


WRONG = {   # what is done to a run's config.json -> the key the error must name
    "model.n_hidden a string": (lambda c: c["model"].update(n_hidden="x"), "model.n_hidden"),
    "model a list": (lambda c: c.update(model=[1]), "model"),
    "model.n_hidden negative": (lambda c: c["model"].update(n_hidden=-3), "n-hidden"),
    "model.n_hidden huge": (lambda c: c["model"].update(n_hidden=10 ** 9), "model"),
    "an unknown model option": (lambda c: c["model"].update(n_head=2), "model.n_head"),
    "type a number": (lambda c: c.update(type=5), "type"),
    "type a list": (lambda c: c.update(type=["mlp"]), "type"),
    "an unknown type": (lambda c: c.update(type="gpt9"), "type"),
    "data.vocab a number": (lambda c: c["data"].update(vocab=5), "data.vocab"),
    "data.vocab of strings": (lambda c: c["data"].update(vocab=["ab", "c"]), "data.vocab"),
    "data.max_len a string": (lambda c: c["data"].update(max_len="x"), "data.max_len"),
    "data.split_seed a float": (lambda c: c["data"].update(split_seed=4.5), "data.split_seed"),
    "data.encoding unknown": (lambda c: c["data"].update(encoding="no-such-codec"), "data.encoding"),
    "no train": (lambda c: c.pop("train"), "train"),
    "train a string": (lambda c: c.update(train="fast"), "train"),
    "train.lr a string": (lambda c: c["train"].update(lr="x"), "train.lr"),
    "train.lr NaN": (lambda c: c["train"].update(lr=float("nan")), "lr"),
    "an unknown train option": (lambda c: c["train"].update(speed=9), "train.speed"),
}


@pytest.mark.parametrize("kind", list(WRONG))
def test_a_config_of_wrong_types_is_refused_in_one_line_naming_the_key(trained, kind, record):
    d, _, resume = trained
    cfg = json.loads((d / "config.json").read_text())
    change, key = WRONG[kind]
    change(cfg)
    (d / "config.json").write_text(json.dumps(cfg))
    before = snapshot(d)
    for command in (["eval", "-o", d], ["sample", "-o", d, "-n", 3], ["score", "-o", d, "emma"], resume):
        if kind == "train.lr NaN" and command is not resume:
            continue                                   # a value only training reads: checked when it trains
        with record.case(f"config.json of wrong types or values ({len(WRONG)} kinds) under eval, sample, score, --resume") as case:
            code, err = cli(*command)
            assert code == 2 and one_line(err, command[0]), (kind, err)
            assert "config.json" in err and key in err, (kind, err)
            assert snapshot(d) == before
            case.held("refused in one line naming file and key")


def test_an_ensemble_config_of_wrong_types_is_refused_in_one_line(trained, record):
    d, _, _ = trained
    mix = d.parent / "mix"
    mm.ensemble(mix, [d], device="cpu")
    good = json.loads((mix / "config.json").read_text())
    for change, key in [(lambda c: c.pop("members"), "members"), (lambda c: c.update(members="run"), "members"),
                        (lambda c: c.update(weights=[0.5, 0.5]), "weights"), (lambda c: c.update(members=[]), "members")]:
        cfg = json.loads(json.dumps(good))
        change(cfg)
        (mix / "config.json").write_text(json.dumps(cfg))
        for command in (["eval", "-o", mix], ["sample", "-o", mix, "-n", 3], ["score", "-o", mix, "emma"]):
            with record.case("an ensemble's config.json of wrong types (4 kinds) under eval, sample, score") as case:
                code, err = cli(*command)
                assert code == 2 and one_line(err, command[0]) and "config.json" in err and key in err, err
                case.held("refused in one line naming file and key")


# --- input that is too big, and memory -----------------------------------------------------------

def test_unbounded_and_odd_inputs(tmp_path, small_file, record):
    cases = {
        "/dev/zero": (["-i", "/dev/zero"], "larger than --max-bytes"),
        "a FIFO": (None, None),
        "NUL bytes": (["-i", tmp_path / "nul.txt"], "NUL character"),
        "UTF-16 without --encoding": (["-i", tmp_path / "u16.txt"], "utf-16"),
        "escape sequences": (["-i", tmp_path / "esc.txt"], "control character U+001B"),
    }
    (tmp_path / "nul.txt").write_bytes(b"anna\x00bob\n" * 20)
    (tmp_path / "u16.txt").write_bytes("anna\nbob\n".encode("utf-16") * 10)
    (tmp_path / "esc.txt").write_bytes(b"anna\nbo\x1b[31mb\n" * 10)
    what = "unbounded or odd inputs (/dev/zero, a FIFO, NUL bytes, UTF-16, escape sequences)"
    for name, (argv, message) in cases.items():
        if argv is None:
            continue
        with record.case(what) as case:
            t0 = time.perf_counter()
            code, err = cli("train", *argv, "-o", tmp_path / "r", "--type", "bigram", "--max-bytes", 10 ** 7)
            assert code == 2 and one_line(err) and message in err, (name, err)
            assert time.perf_counter() - t0 < 30
            case.held("refused in one line naming file and line")
    with record.case(what) as case:
        fifo = tmp_path / "fifo"
        os.mkfifo(fifo)
        text = small_file.read_bytes()
        writer = multiprocessing.get_context("fork").Process(target=lambda: (fifo.write_bytes(text), os._exit(0)))
        writer.start()
        code, err = cli("train", "-i", fifo, "-o", tmp_path / "f", "--type", "bigram", "--no-progress", "--samples", 0)
        writer.join()
        assert code == 0, err
        import hashlib
        cfg = json.loads((tmp_path / "f" / "config.json").read_text())
        assert cfg["data"]["sha256"] == hashlib.sha256(text).hexdigest()                 # read once, hashed as read
        case.held("FIFO read once, hashed as read")


def test_relative_input_is_recorded_absolute(tmp_path, small_file, monkeypatch, record):
    with record.case("a relative -i path, then eval from another directory") as case:
        monkeypatch.chdir(small_file.parent)
        assert cli("train", "-i", small_file.name, "-o", tmp_path / "r", "--type", "bigram", "--samples", 0)[0] == 0
        monkeypatch.chdir(tmp_path.parent)
        assert json.loads((tmp_path / "r" / "config.json").read_text())["data"]["input"] == str(small_file)
        code, err = cli("eval", "-o", tmp_path / "r")
        assert code == 0, err
        case.held("recorded absolute, eval works")


def test_a_100000_character_vocabulary_within_a_memory_budget(tmp_path, record):
    """A vocabulary of 100,000 characters: a bigram table would need 40 GB and is refused at
    once; an MLP trains and is evaluated in chunks of a fixed byte budget, its peak memory far
    under the 26 GB that one chunk of 65,536 positions would take."""
    rng = random.Random(0)
    chars = [chr(0x10000 + i) for i in range(100_000)]
    rng.shuffle(chars)
    words = ["".join(chars[i:i + 5]) for i in range(0, len(chars), 5)]
    f = tmp_path / "wide.txt"
    f.write_text("\n".join(words) + "\n", encoding="utf-8")
    what = "a 100,000-character vocabulary (evaluation chunked by a 16 MiB budget)"
    with record.case(what) as case:
        code, err = cli("train", "-i", f, "-o", tmp_path / "bigram", "--type", "bigram")
        assert code == 2 and one_line(err) and "GiB" in err, err
        case.held("bigram (40 GB) refused at once")
    script = f"""
import torch, makemore as mm
torch.set_num_threads(1)
run = mm.create_run({str(tmp_path / 'mlp')!r}, {str(f)!r}, type="mlp", n_embd=2, n_hidden=4, max_steps=2, batch_size=64)
r = run.train(progress=False)
peak = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print(r["losses"]["val"], peak * 1024)
"""
    with record.case(what) as case:
        out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
        assert out.returncode == 0, out.stderr
        val, peak = map(float, out.stdout.splitlines()[-1].split())
        assert abs(val - __import__("math").log(100_001)) < 1.0             # about uniform over the vocabulary
        assert peak < 1.5 * 2 ** 30, peak                                    # the whole process, torch included
        case.held(f"MLP trained and evaluated (the whole process peaked at {peak / 2**20:,.0f} MiB)")


def test_out_of_memory_is_one_line(capsys, record):
    from makemore.commandline import guarded

    def raising(e):
        raise e
    for error in (MemoryError(), RuntimeError("[enforce fail at alloc_cpu.cpp:117] data. DefaultCPUAllocator: not "
                                                "enough memory: you tried to allocate 4000000000000 bytes.")):
        with record.case("out of memory (a MemoryError, torch's allocator failing)") as case:
            assert guarded("eval", raising, error) == 2
            err = capsys.readouterr().err
            assert one_line(err, "eval") and "out of memory" in err, err
            assert not err.rstrip().endswith("error:")
            case.held("one line saying so")


# --- the Python API ------------------------------------------------------------------------------

def test_python_api_checks_its_arguments(tmp_path, small_file, record):
    data = mm.build_dataset(mm.read_words(small_file))
    model = mm.build_model("mlp", data.vocab.size, data.max_len + 1)
    checks = [
        (TypeError, "list of strings", lambda: mm.build_dataset("emma")),
        (ValueError, "words is empty", lambda: mm.build_dataset([])),
        (TypeError, "list of strings", lambda: mm.score_items(model, data.vocab, "emma", data.max_len)),
        (ValueError, "empty split", lambda: mm.evaluate(model, Split([], *encode_words([], data.vocab, 4)))),
        (ValueError, r"-n must be in", lambda: mm.sample_items(model, data.vocab, 0, data.max_len)),
        (ValueError, "vocab_size must be at least 2", lambda: mm.build_model("mlp", 0, 11)),
        (ValueError, "--weights must be best or last", lambda: mm.load_run(tmp_path / "x", weights="middle")),
        (TypeError, "file path", lambda: mm.read_words(123)),
    ]
    mm.create_run(tmp_path / "x", small_file, type="bigram").train(progress=False)
    for error, message, call in checks:
        with record.case("Python API calls with wrong arguments (strings for lists, empty, zero, unknown names)") as case:
            with pytest.raises(error, match=message):
                call()
            case.held("TypeError or ValueError naming the argument")


def test_every_run_file_gets_the_same_mode(trained, record):
    """Files written by rename start as mkstemp's 0600; they get the mode an ordinary new file
    gets here (the umask's), the same as metrics.jsonl, so a run is readable like any other file."""
    d, _, _ = trained
    modes = {f.name: f.stat().st_mode & 0o777 for f in d.iterdir() if f.is_file() and f.name != ".lock"}
    umask = os.umask(0)
    os.umask(umask)
    for name, mode in modes.items():
        with record.case("file modes of a run's files (config, weights, state, metrics)") as case:
            assert mode == 0o666 & ~umask, (name, oct(mode))
            case.held("all the umask's mode")


# --- the table's counts ------------------------------------------------------------------------------

def test_the_table_counts_what_really_survived(tmp_path):
    """A case that fails is counted as tried and not survived, and a failing test's counts are
    written too: the table's "survived" comes from what happened, not from the test passing."""
    (tmp_path / "conftest.py").write_text((Path(__file__).parent / "conftest.py").read_text())
    (tmp_path / "test_fake.py").write_text("""
def test_two_cases(record):
    with record.case("attack") as case:
        case.held("refused")
    with record.case("attack") as case:
        assert False, "this one got through"
""")
    log = tmp_path / "records.jsonl"
    out = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", tmp_path,
                          tmp_path / "test_fake.py"], cwd=tmp_path, capture_output=True, text=True,
                         env={**os.environ, "MAKEMORE_RELIABILITY": str(log)})
    assert out.returncode == 1, out.stdout + out.stderr          # the test failed ...
    rows = [json.loads(line) for line in log.read_text().splitlines()]
    assert rows == [{"what": "attack", "tried": 2, "survived": 1, "outcomes": {"refused": 1, "failed": 1}}]   # ... and says so
    import importlib.util
    spec = importlib.util.spec_from_file_location("benchmark_reliability", Path(__file__).parents[1] / "benchmarks" / "reliability.py")
    reliability = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(reliability)
    table = reliability.table({"rows": {r["what"]: r for r in rows}, "tests": "1 failed", "machine": "here"})
    assert "| attack | 2 | 1 | refused: 1, failed: 1 |" in table and "1 of 2 cases survived" in table
