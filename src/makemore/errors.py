"""The kinds of user error. The command line prints each as one line and exits with status 2."""


class DataError(ValueError):
    """Bad input data: a file that cannot be read, decoded or split, or that differs from a run's."""


class UsageError(ValueError):
    """A bad option or argument: out of range, contradicting another, or not for this model type."""


class RunError(ValueError):
    """A run directory that is missing, incomplete, already taken, or not what a command needs."""


def first_line(e: BaseException, limit: int = 300) -> str:
    """An exception's message for a one-line error: its first line (torch's run over several), at
    most `limit` characters; its type's name when it has no message."""
    text = str(e).strip()
    return text.split("\n", 1)[0][:limit] if text else type(e).__name__
