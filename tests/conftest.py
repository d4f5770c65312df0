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
