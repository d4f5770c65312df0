import pytest
import torch

from makemore.data import build_dataset, read_words

torch.set_num_threads(2)


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


@pytest.fixture(scope="module")
def one_thread():
    """These tensors are tiny: one intra-op thread is faster, and on a 2-core machine with another job
    running, two threads spin on each other (the LSTM overfit test took 100 s instead of 2 s)."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)
