"""User-facing errors: each prints as one line with no traceback and carries its exit code."""


class ZooError(Exception):
    """An expected failure the user can fix: the CLI prints ``str(err)`` and exits with ``exit_code``."""

    exit_code = 1


class UsageError(ZooError):
    """A bad argument: unknown name, bad number, wrong shape (exit code 2, like click's own)."""

    exit_code = 2


class UnknownNameError(UsageError):
    """A name that is not in a known list; the message lists the accepted names."""

    def __init__(self, kind: str, name: str, known: list[str]):
        super().__init__(f"unknown {kind} {name!r}; known: {', '.join(known)}")


class DataNotFoundError(ZooError):
    """A dataset that is neither prepared nor downloadable."""


class ModelFileError(ZooError):
    """A missing, truncated, tampered or unreadable saved model."""
