"""`python -m makemore.serve`: the serve command on its own, with the command line's one-line errors."""

import sys

from .command import standalone

sys.exit(standalone())
