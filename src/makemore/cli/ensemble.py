"""makemore ensemble: mix runs trained on the same data into one model, a directory like any run's."""

from __future__ import annotations

from ..commandline import add
from ..errors import UsageError

HELP = "mix several trained runs into one model"
DESCRIPTION = ("Mix the next-character distributions of several runs trained on the same data into an ensemble "
               "directory that eval, sample and score use like any run. The mixture weights are fitted on val by EM "
               "(or, with --mix product, the exponents of a product of experts).")


def add_arguments(en) -> None:
    add(en, "out", required=True)
    en.add_argument("runs", nargs="+", metavar="RUN", help="run directories to mix")
    en.add_argument("--mix", default="fit", choices=["fit", "equal", "product"], help="fit the weights on val (default), "
                    "weigh all equally, or multiply the distributions, each to an exponent fitted on val")
    add(en, "weights", help="which checkpoint of each run (default: best by val)")
    add(en, "force", "device")


def members_table(run) -> str:
    """An ensemble's members, each with its weight, val and test loss, then the mixture's."""
    c = run.config
    if c["type"] != "ensemble":
        raise UsageError(f"{run.path}: a {c['type']} run is not an ensemble")
    lines = [f"{'run':<32} {'type':<12} {'weight':>7} {'val':>8} {'test':>8}"]
    reverse = c.get("member_reverse", [False] * len(c["members"]))
    for name, kind, w, v, t, r in zip(c["members"], c["member_types"], c["weights"], c["member_loss"]["val"],
                                      c["member_loss"]["test"], reverse):
        lines.append(f"{name:<32} {kind + (' (rtl)' if r else ''):<12} {w:7.3f} {v:8.4f} {t:8.4f}")
    if "direction_weights" in c:              # the two directions' mixtures, then the mixture of the two
        for d, name in enumerate(("left to right", "right to left")):
            lines.append(f"{name:<32} {'':<12} {c['direction_weights'][d]:7.3f} {c['direction_loss']['val'][d]:8.4f} "
                         f"{c['direction_loss']['test'][d]:8.4f}")
    lines.append(f"{'ensemble':<32} {'':<12} {1.0:7.3f} {c['val']:8.4f} {c['test']:8.4f}")
    return "\n".join(lines)


def report(run) -> int:
    print(f"{members_table(run)}\nsaved {run.path}: use it with eval, sample and score like any run")
    return 0


def main(a) -> int:
    from ..runs import ensemble
    return report(ensemble(a.out, a.runs, a.mix, a.weights, a.force, a.device))
