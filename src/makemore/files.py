"""Writing and reading files safely: a new file of an unpredictable name, created exclusively
beside its target, renamed into place. A kill leaves the old file or the new one, never half of
one, and no write follows a symbolic link planted at the target's name. A log written as it goes
is a new file in place of whatever was at its name; a run's file is read only if it is a regular
file (not a link, a FIFO or a device) of a bounded size."""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path

from .errors import RunError, first_line

UMASK = os.umask(0o022)
os.umask(UMASK)                    # read once: files get the mode any other file here would (0644 usually)
NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


def atomic_write(path: Path, write) -> None:
    """Call write(tmp_path) on a new, exclusively created file of an unpredictable name beside
    path, then rename it onto path (replacing a symbolic link there, never writing through it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, 0o666 & ~UMASK)      # after writing: some writers replace the file they are given
        os.replace(tmp, path)
    except OSError:
        raise
    except Exception as e:         # torch.save and safetensors report a full disk in errors of their own
        raise RunError(f"{path}: cannot write ({first_line(e, 160)})") from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def create_file(path, buffering: int = -1):
    """A new text file at path, open for writing (a log written as it goes). Whatever was at the name,
    an old file or a planted symbolic link, is removed first (the link, never its target), and the
    file is created exclusively, so a link planted in between makes this fail instead of being
    written through."""
    with contextlib.suppress(FileNotFoundError):
        if os.path.islink(path) or os.path.isfile(path):
            os.unlink(path)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | NOFOLLOW, 0o666 & ~UMASK)
    return os.fdopen(fd, "w", buffering=buffering)


def read_bounded(path, limit: int) -> bytes:
    """The bytes of a file a run wrote, read without following a symbolic link, only if it is a
    regular file (a FIFO would block, a device never end) of at most `limit` bytes; otherwise a
    one-line RunError naming it."""
    try:
        fd = os.open(path, os.O_RDONLY | NOFOLLOW | getattr(os, "O_NONBLOCK", 0))
    except OSError as e:
        if os.path.islink(path):
            raise RunError(f"{path}: is a symbolic link; a run's files are never links, so it is not read") from None
        raise
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise RunError(f"{path}: not a regular file (a FIFO, a device or a directory), so it is not read")
        data = f.read(limit + 1)
    if len(data) > limit:
        raise RunError(f"{path}: larger than {limit:,} bytes, far more than a run writes there; not read")
    return data


@contextlib.contextmanager
def locked(path, wait: bool = True):
    """Hold an exclusive lock on the file `path` (created if missing, never through a symbolic link)
    while the block runs; the holder's pid is written in it. wait=False: if another process holds
    it, raise BlockingIOError whose `holder` is that process's pid as it wrote it. Without fcntl
    (Windows), no lock is taken."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT | NOFOLLOW, 0o666 & ~UMASK)
    try:
        try:
            import fcntl
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except ImportError:
            pass
        except BlockingIOError as e:
            e.holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
            raise
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        yield
    finally:
        os.close(fd)                    # closing releases the lock
