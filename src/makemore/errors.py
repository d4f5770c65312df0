"""The kinds of user error. The command line prints each as one line and exits with status 2."""


class DataError(ValueError):
    """Bad input data: a file that cannot be read, decoded or split, or that differs from a run's."""


class UsageError(ValueError):
    """A bad option or argument: out of range, contradicting another, or not for this model type."""


class RunError(ValueError):
    """A run directory that is missing, incomplete, already taken, or not what a command needs."""
