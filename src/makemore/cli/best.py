"""makemore best: the best-quality recipe, several members trained side by side, then mixed."""

from __future__ import annotations

from .. import presets
from ..commandline import add
from .ensemble import report

HELP = "train the best-quality recipe: several models, then their ensemble"
DESCRIPTION = (f"Train the members of presets.BEST ({', '.join(presets.BEST)}) side by side, one process per CPU core, "
               "into DIR/members/, then mix them into an ensemble in DIR (a product mixture, fitted on val); its time "
               "and loss are in docs/results.md.")


def add_arguments(bs) -> None:
    add(bs, "out", required=True)
    add(bs, "input", "device", "force")
    bs.add_argument("--jobs", type=int, help="members trained at once (default: one per CPU core; 1 on a GPU)")


def main(a) -> int:
    from ..runs import best
    return report(best(a.out, a.input, a.jobs, a.device, a.force))
