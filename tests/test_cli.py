"""The command line end to end, and every kind of bad input: one line, exit 2, nothing damaged."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from makemore.cli import build_parser, main


def run(capsys, *argv):
    try:
        code = main([str(a) for a in argv])
    except SystemExit as e:  # argparse's own errors
        code = e.code
    out, err = capsys.readouterr()
    return code, out, err


def test_train_eval_sample_score(tmp_path, small_file, capsys):
    d = tmp_path / "run"
    code, out, err = run(capsys, "train", "-i", small_file, "-o", d, "--type", "mlp", "--max-steps", 60,
                         "--eval-interval", 30, "--no-progress", "--samples", 3)
    assert code == 0, err
    assert "samples:" in out and re.search(r"val\s+\d\.\d{4}", out)
    assert {"config.json", "model.safetensors", "best.safetensors", "state.pt", "metrics.jsonl"} <= set(os.listdir(d))
    cfg = json.loads((d / "config.json").read_text())
    assert cfg["type"] == "mlp" and cfg["model"]["block_size"] == 3 and cfg["train"]["max_steps"] == 60
    assert cfg["data"]["split_seed"] == 42 and cfg["makemore_version"]

    code, out, _ = run(capsys, "eval", "-o", d, "--json")
    ev = json.loads(out)
    assert code == 0 and ev["unit"] == "nats/char" and set(ev) >= {"train", "val", "test", "bits_per_char"}
    final = [json.loads(line) for line in (d / "metrics.jsonl").read_text().splitlines()][-1]
    assert final["final"] and final["val"] == pytest.approx(ev["val"], abs=1e-9)

    code, out, _ = run(capsys, "sample", "-o", d, "-n", 8, "--seed", 3, "--json")
    a = json.loads(out)
    assert code == 0 and len(a) == 8 and all(x["novelty"] in ("new", "train", "val/test") for x in a)
    _, out2, _ = run(capsys, "sample", "-o", d, "-n", 8, "--seed", 3, "--json")
    assert json.loads(out2) == a

    code, out, _ = run(capsys, "sample", "-o", d, "-n", 5, "--prefix", "ma", "--top-k", 5, "--top-p", 0.9, "--seed", 1)
    assert code == 0 and all(line.startswith("ma") for line in out.splitlines())

    code, out, _ = run(capsys, "score", "-o", d, "emma", "qqqq", "--json")
    s = json.loads(out)
    assert code == 0 and s[0]["item"] == "emma" and s[1]["nll_per_char"] > s[0]["nll_per_char"]


def test_resume_continues_and_force_overwrites(tmp_path, small_file, capsys):
    d = tmp_path / "run"
    base = ["train", "-i", small_file, "-o", d, "--type", "mlp", "--no-progress", "--samples", 0, "--eval-interval", 10]
    assert run(capsys, *base, "--max-steps", 20)[0] == 0
    assert run(capsys, *base, "--max-steps", 40, "--resume")[0] == 0
    steps = [json.loads(x)["step"] for x in (d / "metrics.jsonl").read_text().splitlines() if '"val"' in x]
    assert steps[:2] == [10, 20] and 40 in steps
    assert run(capsys, *base, "--max-steps", 10, "--force", "--type", "bigram")[0] == 0
    assert json.loads((d / "config.json").read_text())["type"] == "bigram"


def test_seed_sets_the_initial_weights(tmp_path, small_file, capsys):
    """The same --seed gives the same run (initial weights included) whatever ran before it in the
    process; another seed gives other weights."""
    from safetensors.torch import load_file
    import torch

    def weights(name, seed):
        torch.manual_seed(len(name))                                # the global RNG differs before each run
        argv = ["train", "-i", small_file, "-o", tmp_path / name, "--type", "transformer", "--n-layer", 1,
                "--n-embd", 16, "--n-head", 2, "--max-steps", 3, "--eval-interval", 3, "--no-progress",
                "--samples", 0, "--seed", seed]
        assert run(capsys, *argv)[0] == 0
        return load_file(str(tmp_path / name / "model.safetensors"))

    a, b, c = weights("a", 7), weights("bb", 7), weights("ccc", 8)
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not torch.equal(a["wte.weight"], c["wte.weight"])


@pytest.mark.parametrize("extra,expect", [
    ((), dict(n_embd=96, dropout=0.15, rope=True)),                       # the default preset
    (("--no-rope",), dict(n_embd=96, rope=False)),                        # an option overrides its preset
    (("--preset", "makemore"), dict(n_embd=64, dropout=0.0, rope=False)),
])
def test_transformer_presets_and_options(tmp_path, small_file, capsys, extra, expect):
    argv = ["train", "-i", small_file, "-o", tmp_path / "run", "--type", "transformer", "--max-steps", 1,
            "--no-progress", "--samples", 0, *extra]
    code, _, err = run(capsys, *argv)
    assert code == 0, err
    cfg = json.loads((tmp_path / "run" / "config.json").read_text())
    assert {k: cfg["model"][k] for k in expect} == expect
    assert cfg["train"]["lr"] == 4e-3 and cfg["train"]["ema"] == 0.9995                # the recipe,
    assert cfg["train"]["max_steps"] == 1                                             # then the option


def _bad(capsys, tmp_path, *argv):
    code, out, err = run(capsys, *argv)
    assert code == 2, (code, err)
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    return err


@pytest.mark.parametrize("make,pattern", [
    (lambda p: None, "no such file"),
    (lambda p: p.mkdir(), "no text files"),
    (lambda p: p.write_bytes(b""), "file is empty"),
    (lambda p: p.write_bytes(b"\n \n"), "no items"),
    (lambda p: p.write_bytes(b"anna\nb\xe9a\n"), r"in\.txt:2: cannot decode"),
    (lambda p: p.write_bytes(b"anna\n" + b"y" * 300), r"in\.txt:2: item is 300 characters"),
])
def test_bad_input_file(tmp_path, capsys, make, pattern):
    p = tmp_path / "in.txt"
    make(p)
    err = _bad(capsys, tmp_path, "train", "-i", p, "-o", tmp_path / "r", "--no-progress")
    assert re.search(pattern, err), err
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("extra,pattern", [
    (["--type", "lstmm"], "unknown model type 'lstmm'"),
    (["--max-steps", "-5"], "--max-steps must be >= 0"),
    (["--n-hidden", "0"], "--n-hidden must be at least 1"),
    (["--batch-size", "-1"], "--batch-size must be >= 0"),
    (["--lr", "0"], "--lr must be > 0"),
    (["--ema", "1"], r"--ema must be in \[0, 1\)"),
    (["--n", "3"], "--n does not apply to --type mlp"),
    (["--optimizer", "lion"], "--optimizer must be adamw or sgd"),
    (["--no-such-flag"], "unrecognized arguments"),
    (["--max-len", "3"], r":1: item is \d+ characters long, over --max-len 3"),
    (["--pack"], "--pack applies to models that attend within packed rows"),
])
def test_bad_options(tmp_path, small_file, capsys, extra, pattern):
    err = _bad(capsys, tmp_path, "train", "-i", small_file, "-o", tmp_path / "r", "--no-progress", "--type", "mlp", *extra)
    assert re.search(pattern, err), err


def test_existing_runs_are_protected(tmp_path, small_file, capsys):
    d = tmp_path / "run"
    assert run(capsys, "train", "-i", small_file, "-o", d, "--type", "bigram", "--samples", 0)[0] == 0
    before = {f.name: f.read_bytes() for f in d.iterdir()}
    err = _bad(capsys, tmp_path, "train", "-i", small_file, "-o", d, "--type", "mlp")
    assert "holds a run of type bigram" in err and "--force" in err
    other = tmp_path / "other.txt"
    other.write_text("xyz\nqqq\nwww\n" * 5)
    err = _bad(capsys, tmp_path, "train", "-i", other, "-o", d, "--resume")
    assert "vocabulary differs" in err
    assert {f.name: f.read_bytes() for f in d.iterdir()} == before

    m = tmp_path / "mlp"
    assert run(capsys, "train", "-i", small_file, "-o", m, "--type", "mlp", "--max-steps", 5, "--samples", 0,
               "--no-progress")[0] == 0
    before = {f.name: f.read_bytes() for f in m.iterdir()}
    err = _bad(capsys, tmp_path, "train", "-i", other, "-o", m, "--resume", "--max-steps", 10)
    assert "vocabulary differs" in err
    err = _bad(capsys, tmp_path, "train", "-o", m, "--resume", "--n-hidden", "7")
    assert "cannot change on --resume" in err
    err = _bad(capsys, tmp_path, "sample", "-o", m, "--prefix", "é")
    assert "not in the model's vocabulary" in err
    err = _bad(capsys, tmp_path, "score", "-o", m, "ab1")
    assert "'1' is not in the model's vocabulary" in err
    err = _bad(capsys, tmp_path, "sample", "-o", m, "--top-p", "1.5")
    assert "--top-p must be in (0, 1]" in err
    err = _bad(capsys, tmp_path, "eval", "-o", tmp_path / "nothing")
    assert "not a run directory" in err
    assert {f.name: f.read_bytes() for f in m.iterdir()} == before


def test_force_removes_what_the_old_run_left(tmp_path, small_file, capsys):
    """--force clears the old run's updates.json (which `diagnose` would read) and any temporary
    file a kill left behind."""
    d = tmp_path / "run"
    base = ["train", "-i", small_file, "-o", d, "--type", "mlp", "--max-steps", 10, "--eval-interval", 10,
            "--no-progress", "--samples", 0]
    assert run(capsys, *base, "--track-updates", 5)[0] == 0 and (d / "updates.json").exists()
    (d / ".model.safetensors.abc123.tmp").write_bytes(b"left by a kill")
    assert run(capsys, *base, "--force")[0] == 0
    assert not (d / "updates.json").exists() and not list(d.glob(".*.tmp"))
    code, out, err = run(capsys, "diagnose", "-o", d, "--json", "--png", tmp_path / "d.png")
    assert code == 0, err
    assert json.loads(out)["updates"] is None


def test_python_m_and_help():
    out = subprocess.run([sys.executable, "-m", "makemore", "--help"], capture_output=True, text=True)
    assert out.returncode == 0 and all(c in out.stdout for c in ("train", "eval", "sample", "score"))
    out = subprocess.run([sys.executable, "-m", "makemore", "train", "--help"], capture_output=True, text=True)
    assert out.returncode == 0 and "--block-size" in out.stdout and "--resume" in out.stdout
    parser = build_parser()                    # every option of every command is explained
    sub = next(a for a in parser._actions if a.choices and "train" in a.choices)
    for name, sp in sub.choices.items():
        for action in sp._actions:
            assert action.help or action.choices, f"makemore {name} {action.option_strings}: no help"


def test_readme_python_example(tmp_path, monkeypatch):
    """The README's Python example runs as written."""
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", readme, re.S)
    assert blocks, "the README has a python example"
    monkeypatch.chdir(tmp_path)
    exec(compile(blocks[0], "README.md", "exec"), {})


def test_ci_runs_the_readme_test_command():
    root = Path(__file__).resolve().parents[1]
    commands = re.findall(r"```bash\n(.*?)\n```", (root / "README.md").read_text(), re.S)
    assert "pytest" in commands[1]
    assert commands[1] in (root / ".ci" / "run").read_text()


def test_ctrl_c_saves_and_resume_continues(tmp_path, small_file):
    import signal
    import time
    d = tmp_path / "run"
    cmd = [sys.executable, "-m", "makemore", "train", "-i", str(small_file), "-o", str(d), "--type", "mlp",
           "--max-steps", "1000000", "--eval-interval", "100000", "--log-interval", "50", "--no-progress", "--samples", "0"]
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 60
    log = d / "metrics.jsonl"
    while time.time() < deadline and not (log.exists() and '"loss"' in log.read_text()):   # a training step is
        time.sleep(0.1)                                                                      # logged: the loop runs
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=60)
    assert p.returncode == 130, err
    assert "Traceback" not in err and "--resume" in err
    from makemore.runs import RunDir
    state = RunDir(d).load_state()
    assert 0 < int(state["step"]) < 1000000
    code = main(["train", "-o", str(d), "--resume", "--max-steps", str(int(state["step"]) + 20), "--no-progress",
                 "--samples", "0"])
    assert code == 0
    assert int(RunDir(d).load_state()["step"]) == int(state["step"]) + 20


def test_chinese_names_end_to_end(tmp_path, capsys):
    names = ["王伟", "李娜", "张敏", "刘洋", "陈静", "杨帆", "赵磊", "黄丽", "周杰", "吴芳", "徐强", "孙悦",
             "王芳", "李伟", "张伟", "刘芳", "陈伟", "杨静", "赵敏", "黄伟"]
    p = tmp_path / "zh.txt"
    p.write_text("\n".join(names) + "\n", encoding="utf-8")
    d = tmp_path / "zh"
    code, out, err = run(capsys, "train", "-i", p, "-o", d, "--type", "bigram", "--samples", "0")
    assert code == 0, err
    code, out, _ = run(capsys, "sample", "-o", d, "-n", 30, "--seed", 0, "--json")
    items = [x["item"] for x in json.loads(out)]
    chars = set("".join(names))
    assert all(set(w) <= chars for w in items) and any(w for w in items)
    code, out, _ = run(capsys, "score", "-o", d, "王伟", "--json")
    assert code == 0 and json.loads(out)[0]["item"] == "王伟"


def test_dedupe_says_how_many(tmp_path, capsys):
    p = tmp_path / "dup.txt"
    p.write_text("anna\nbob\nanna\ncid\n" * 5)
    code, out, err = run(capsys, "train", "-i", p, "-o", tmp_path / "r", "--type", "bigram", "--dedupe", "--samples", "0")
    assert code == 2 and "only 3 items" in err      # 20 lines, 17 repeats: too few to split
    assert "dropped 17 repeated items, 3 left" in err


def test_tensorboard_without_the_package(tmp_path, small_file, capsys):
    try:
        import tensorboard  # noqa: F401
        pytest.skip("tensorboard is installed")
    except ImportError:
        pass
    err = _bad(capsys, tmp_path, "train", "-i", small_file, "-o", tmp_path / "r", "--tensorboard")
    assert "pip install 'makemore[tensorboard]'" in err
