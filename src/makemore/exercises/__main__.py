"""makemore exercise list | show N [--write FILE] | check N [FILE]: the lectures' exercises, checked."""

from __future__ import annotations

import sys

from . import check, listing, show, write_template
from ..commandline import Parser, guarded


def main(argv=None) -> int:
    p = Parser(prog="makemore exercise", description=__doc__)
    p.add_argument("action", choices=["list", "show", "check"], help="list them, show one, or check your answer")
    p.add_argument("number", type=int, nargs="?", help="the exercise's number")
    p.add_argument("file", nargs="?", help="check: the file with your function(s) (default: exercise_N.py)")
    p.add_argument("--write", metavar="FILE", help="show: also write FILE to fill in (never overwrites)")
    a = p.parse_args(argv)
    if a.action == "list":
        print(listing())
        return 0
    if a.number is None:
        p.error(f"{a.action} needs the exercise's number, e.g. makemore exercise {a.action} 1")
    if a.action == "show":
        print(show(a.number))
        if a.write:
            print(f"\nwrote {write_template(a.number, a.write)}; check it with: "
                  f"makemore exercise check {a.number} {a.write}")
        return 0
    result = check(a.number, a.file or f"exercise_{a.number}.py")
    print(result)
    return 0 if result.passed else 1


if __name__ == "__main__":
    sys.exit(guarded("exercise", main))
