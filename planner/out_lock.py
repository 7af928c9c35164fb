"""One run at a time into an --out directory or file.

Two runs into the same --out (a scheduled re-plan and a planner at the terminal, or the same
command started twice) each built their staging directory and swapped it in; the second to finish
replaced the first's output and both said it was written. A run now holds a lock on a file beside
--out, `.NAME.planner-lock`, from its checks to its end, and a second run is refused at once,
naming the first. The lock is the kernel's (flock), so a run killed even by SIGKILL releases it;
the file is removed when the run ends (an unlinked file's lock is detected and taken again), so it
is left behind only by a killed run, where the next run takes it over, and puts right what else
that run left beside --out (planner/atomic.py clear_orphans: its previous output put back, its
staging removed). An output file (`diff --out`, `backtest --out`) is locked the same way: two
runs into it each said they wrote it, and a killed run left its unfinished copy beside it for
good. filelock would do the locking, but it leaves its lock file beside --out for
good, litter next to every plan.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import socket
from pathlib import Path

from planner.atomic import OutputError, clear_orphans

try:
    import fcntl
except ImportError:  # Windows: no flock; runs there are not locked against each other
    fcntl = None

LOCK_SUFFIX = ".planner-lock"


class OutputBusyError(OutputError):
    """Another planner run is writing the same --out."""


def lock_path(target: str | Path) -> Path:
    target = Path(target).resolve()
    return target.parent / f".{target.name}{LOCK_SUFFIX}"


@contextlib.contextmanager
def output_locked(target: str | Path, directory: bool = True):
    """Hold the lock on --out `target` (an output directory, or file if not `directory`) for the
    block, yielding what was put right of a killed run's leavings beside it (planner/atomic.py
    clear_orphans: none without the lock, on Windows); raise OutputBusyError if another run holds
    it. Makes the folders --out goes in where missing, and removes those it made if the run leaves
    them empty."""
    if fcntl is None:
        yield []
        return
    path = lock_path(target)
    made = _make_parents(path.parent)
    try:
        handle = _acquire(path, Path(target))
        try:
            yield clear_orphans(target, directory)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)  # while still held: a run waiting on this file takes it again (_acquire)
            handle.close()
    finally:
        for folder in reversed(made):
            with contextlib.suppress(OSError):  # not empty: the run wrote there
                folder.rmdir()


def _acquire(path: Path, target: Path):
    while True:
        handle = open(path, "a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip()
            handle.close()
            raise OutputBusyError(f"another planner run is writing {target} ({holder or 'starting'}); wait for it to "
                                  "end, or give another --out") from None
        try:
            same = os.stat(path).st_ino == os.fstat(handle.fileno()).st_ino
        except FileNotFoundError:
            same = False
        if same:
            handle.seek(0)
            handle.truncate()
            started = dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M:%S %Z")
            handle.write(f"process {os.getpid()} on {socket.gethostname()}, started {started}")
            handle.flush()
            return handle
        handle.close()  # the previous holder removed the file as we opened it: lock the new one


def _make_parents(folder: Path) -> list[Path]:
    """Make `folder` and any missing parent; return those made, outermost first."""
    missing = []
    while not folder.exists():
        missing.append(folder)
        folder = folder.parent
    made = []
    for path in reversed(missing):
        try:
            path.mkdir()
        except FileExistsError:
            continue  # another run made it meanwhile: not ours to remove
        made.append(path)
    return made
