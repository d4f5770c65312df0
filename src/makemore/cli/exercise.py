"""makemore exercise list | show ID [--write FILE] | check ID [FILE]: the lectures' own exercises, self-checking."""

from __future__ import annotations

HELP = "the lectures' own exercises, self-checking: list, show ID, check ID"
DESCRIPTION = ("The lectures' own exercises (p1-e01 is the first lecture's E01), each checked against torch or the "
               "package: list them, show one (and write a file to fill in), check your answer.")


def add_arguments(p) -> None:
    p.add_argument("action", choices=["list", "show", "check"], help="list them, show one, or check your answer")
    p.add_argument("exercise", nargs="?", help="the exercise, e.g. p1-e01 (the first lecture's E01)")
    p.add_argument("file", nargs="?", help="check: the file with your function(s) (default: ID.py)")
    p.add_argument("--write", metavar="FILE", help="show: also write FILE to fill in (never overwrites)")


def main(a) -> int:
    from ..errors import UsageError
    from ..exercises import check, listing, show, write_template
    if a.action == "list":
        print(listing())
        return 0
    if a.exercise is None:
        raise UsageError(f"{a.action} needs the exercise, e.g. makemore exercise {a.action} p1-e01")
    if a.action == "show":
        print(show(a.exercise))
        if a.write:
            print(f"\nwrote {write_template(a.exercise, a.write)}; check it with: "
                  f"makemore exercise check {a.exercise} {a.write}")
        return 0
    result = check(a.exercise, a.file or f"{a.exercise}.py")
    print(result)
    return 0 if result.passed else 1
