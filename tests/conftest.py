import json
import os

import pytest
import torch

from makemore.data import build_dataset, read_words

torch.set_num_threads(2)
os.environ.setdefault("MAKEMORE_MAX_MEMORY", str(4 * 2 ** 30))   # no test may take more than 4 GiB to train


@pytest.fixture(scope="session")
def names():
    return read_words()


@pytest.fixture(scope="session")
def names_data(names):
    return build_dataset(names)


@pytest.fixture
def small_file(tmp_path):
    """A small names file, so end-to-end CLI tests train in a second."""
    words = read_words()[:600]
    p = tmp_path / "small.txt"
    p.write_text("\n".join(words) + "\n")
    return p


@pytest.fixture
def record():
    """record(what, tried, survived, **outcomes): what a reliability test tried and what held. With
    MAKEMORE_RELIABILITY=FILE (benchmarks/reliability.py sets it) each call appends a JSON line to
    FILE, which the script turns into docs/reliability.md; otherwise it does nothing."""
    path = os.environ.get("MAKEMORE_RELIABILITY")

    def write(what, tried, survived, **outcomes):
        if path:
            with open(path, "a") as f:
                f.write(json.dumps({"what": what, "tried": tried, "survived": survived,
                                    "outcomes": {k: int(v) for k, v in outcomes.items()}}) + "\n")
    return write


@pytest.fixture(scope="module")
def one_thread():
    """These tensors are tiny: one intra-op thread is faster, and on a 2-core machine with another job
    running, two threads spin on each other (the LSTM overfit test took 100 s instead of 2 s)."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)
