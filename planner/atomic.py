"""Write outputs so that a failed or interrupted run never leaves a partial or damaged file.

Files are written to a temporary name beside the target and renamed into place; a whole
output directory is built beside the target and swapped in only when complete.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path


@contextlib.contextmanager
def atomic_directory(target: str | Path):
    """Yield a fresh staging directory; on success it replaces `target`, on error it is removed
    and `target` keeps its previous contents."""
    target = Path(target).resolve()
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.partial-", dir=target.parent))
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(staging, 0o777 & ~umask)  # mkdtemp makes it private; the result should look like any directory
    try:
        yield staging
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    old = None
    if target.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{target.name}.previous-", dir=target.parent))
        os.rmdir(old)
        os.replace(target, old)
    os.replace(staging, target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


@contextlib.contextmanager
def atomic_file(target: str | Path, mode: str = "w", **kwargs):
    """Open a temporary file beside `target`; rename it over `target` only when the block succeeds."""
    target = Path(target)
    handle = tempfile.NamedTemporaryFile(mode, dir=target.parent, prefix=f".{target.name}.", delete=False, **kwargs)
    try:
        with handle:
            yield handle
        os.replace(handle.name, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(handle.name)
        raise
