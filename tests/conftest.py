import contextlib
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


class Record:
    """What reliability tests tried and what held, counted case by case as they run: a case is
    tried when its block starts and survived only when the block ends without an error, so a
    failing case shows as tried and not survived (a skipped one is not counted at all).

        with record.case("what was tried") as case:
            ...                      # the attack and the assertions that it was withstood
            case.held("how")         # the way it held, counted in the table's last column
    """

    def __init__(self):
        self.rows: dict[str, dict] = {}

    @contextlib.contextmanager
    def case(self, what: str):
        row = self.rows.setdefault(what, {"tried": 0, "survived": 0, "outcomes": {}})
        row["tried"] += 1
        held = Held()
        try:
            yield held
        except pytest.skip.Exception:
            row["tried"] -= 1
            raise
        except BaseException:
            row["outcomes"]["failed"] = row["outcomes"].get("failed", 0) + 1
            raise
        row["survived"] += 1
        for how in held.ways:
            row["outcomes"][how] = row["outcomes"].get(how, 0) + 1

    def lines(self) -> list[str]:
        return [json.dumps({"what": what, **row}) + "\n" for what, row in self.rows.items() if row["tried"]]


class Held:
    def __init__(self):
        self.ways: list[str] = []

    def held(self, *ways: str) -> None:
        self.ways += ways


@pytest.fixture
def record():
    """A Record of the test's cases. With MAKEMORE_RELIABILITY=FILE (benchmarks/reliability.py sets
    it) its counts are appended to FILE as JSON lines when the test ends, passed or failed; the
    script turns them into docs/reliability.md."""
    r = Record()
    yield r
    path = os.environ.get("MAKEMORE_RELIABILITY")
    if path:
        with open(path, "a") as f:
            f.writelines(r.lines())


@pytest.fixture(scope="module")
def one_thread():
    """These tensors are tiny: one intra-op thread is faster, and on a 2-core machine with another job
    running, two threads spin on each other (docs/results.md says by how much)."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def run_in_process(capsys, *argv):
    """makemore ARGV in this process: (exit status, stderr)."""
    from makemore.cli import main
    try:
        code = main([str(a) for a in argv])
    except SystemExit as e:                      # argparse's own errors
        code = e.code
    return code, capsys.readouterr().err
