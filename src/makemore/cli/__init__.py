"""The command line: `makemore COMMAND ...`. Each command is a module with HELP, DESCRIPTION,
add_arguments(parser) and main(args); COMMANDS lists them, once. A command parses its options
(the shared ones from commandline.OPTIONS), calls the library and prints: bad input ends in one
line `makemore COMMAND: error: ...` and exit status 2, never a traceback.

To add a command: write its module (the four names above), add it to COMMANDS.
"""

from __future__ import annotations

import importlib
import sys

from ..commandline import Parser, guarded
from ..version import __version__

COMMANDS = {    # command -> the module that defines it, in the order `makemore --help` lists them
    "train": "makemore.cli.train",
    "eval": "makemore.cli.evaluate",
    "sample": "makemore.cli.sample",
    "score": "makemore.cli.score",
    "classify": "makemore.cli.classify",
    "ensemble": "makemore.cli.ensemble",
    "best": "makemore.cli.best",
    "distill": "makemore.cli.distill",
    "plot": "makemore.cli.plot",
    "lr-find": "makemore.cli.lr_find",
    "diagnose": "makemore.cli.diagnose",
    "export": "makemore.cli.export",
    "serve": "makemore.serve.command",
    "sweep": "makemore.sweep.command",
    "exercise": "makemore.cli.exercise",
}


def command(name: str):
    return importlib.import_module(COMMANDS[name])


def build_parser() -> Parser:
    p = Parser(prog="makemore", description="Learn to generate more items like the ones in a text file "
               "(one item per line) with character-level language models, from a bigram table to a Transformer.",
               epilog="Run `makemore COMMAND --help` for each command's options.")
    p.add_argument("--version", action="version", version=f"makemore {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    sub.required = True
    for name in COMMANDS:
        module = command(name)
        module.add_arguments(sub.add_parser(name, help=module.HELP, description=module.DESCRIPTION))
    return p


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    return guarded(args.command, command(args.command).main, args)


if __name__ == "__main__":
    sys.exit(main())
