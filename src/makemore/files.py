"""Writing files safely: a new file of an unpredictable name, created exclusively beside its
target, renamed into place. A kill leaves the old file or the new one, never half of one, and no
write follows a symbolic link planted at the target's name."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from .errors import RunError

UMASK = os.umask(0o022)
os.umask(UMASK)                    # read once: files get the mode any other file here would (0644 usually)


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
        reason = str(e).splitlines()[0][:160] if str(e) else type(e).__name__
        raise RunError(f"{path}: cannot write ({reason})") from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
