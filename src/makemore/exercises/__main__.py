"""makemore exercise list | show ID [--write FILE] | check ID [FILE]: the lectures' exercises, checked."""

from __future__ import annotations

import sys

from . import check, listing, show, write_template
from ..commandline import Parser, guarded


def main(argv=None) -> int:
    p = Parser(prog="makemore exercise", description=__doc__)
    p.add_argument("action", choices=["list", "show", "check"], help="list them, show one, or check your answer")
    p.add_argument("exercise", nargs="?", help="the exercise, e.g. p1-e01 (the first lecture's E01)")
    p.add_argument("file", nargs="?", help="check: the file with your function(s) (default: ID.py)")
    p.add_argument("--write", metavar="FILE", help="show: also write FILE to fill in (never overwrites)")
    a = p.parse_args(argv)
    if a.action == "list":
        print(listing())
        return 0
    if a.exercise is None:
        p.error(f"{a.action} needs the exercise, e.g. makemore exercise {a.action} p1-e01")
    if a.action == "show":
        print(show(a.exercise))
        if a.write:
            print(f"\nwrote {write_template(a.exercise, a.write)}; check it with: "
                  f"makemore exercise check {a.exercise} {a.write}")
        return 0
    result = check(a.exercise, a.file or f"{a.exercise}.py")
    print(result)
    return 0 if result.passed else 1


if __name__ == "__main__":
    sys.exit(guarded("exercise", main))
