"""Write outputs so that a failed or interrupted run never leaves a partial or damaged file.

Files are written to a temporary name beside the target and renamed into place; a whole
output directory is built beside the target and swapped in only when complete. Swapping
replaces the whole directory, so it is only done to a directory the planner wrote (it holds
OUTPUT_MARKER) and no one has changed since (planner/output_marker.py), or an empty one: `--out`
pointed at a scenario or a home folder deleted it.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import shutil
import tempfile
from pathlib import Path

from models.runs import some_of
from planner.output_marker import MARKER_TEXT, OUTPUT_MARKER, changed_since_written, marker_with_record
from planner.stop_signals import stops_held

# The outputs this process has put in place, each complete: a command stopped or failing after one
# of them says so, not that nothing was written (planner/cli.py). Cleared as each command starts.
WRITTEN: list[Path] = []


class OutputError(Exception):
    """An --out the planner must not or cannot write; raised before any work where it can be."""


class UnsafeOutputError(OutputError):
    """An output directory that holds files the planner did not write: replacing it would delete them."""


def check_meant(target: str) -> None:
    """Raise OutputError for an --out no one means as a name: '~' the shell did not expand (it was
    quoted, or came from a script), which made a folder named '~' here, one `rm -rf ~` away from
    the home folder; '-', which elsewhere means standard output; a name with spaces at its ends
    (or only spaces), which shows like another."""
    first, name = Path(target).parts[:1], Path(target).name
    if first and first[0].startswith("~"):
        expanded = os.path.expanduser(target)  # unchanged for a user this machine does not know
        full = f" ({expanded})" if expanded != target else ""
        raise OutputError(f"{target!r} starts with '~', which the shell did not expand (was it quoted?): this would "
                          f"make a folder named {first[0]!r} here; give the path in full{full}")
    if target == "-":
        raise OutputError("'-' would be a file or folder named '-', not standard output; give a name")
    if name != name.strip():
        raise OutputError(f"{target!r} has spaces at the start or end of its name, which show like another name; "
                          "give it without them")


def check_writable(target: str | Path) -> None:
    """Raise OutputError unless `target` can be created: its nearest existing ancestor is a
    directory the planner can create entries in (the writers make the missing parents and stage
    beside the target). Found before a long solve, not after it; nothing is left behind."""
    parent = Path(target).resolve().parent
    existing = next(path for path in (parent, *parent.parents) if path.exists())
    if not existing.is_dir():
        raise OutputError(f"cannot write {target}: {existing} is a file, not a directory")
    try:
        os.rmdir(tempfile.mkdtemp(prefix=".planner-probe-", dir=existing))
    except OSError as error:
        raise OutputError(f"cannot write {target}: {error.strerror or error} in {existing}") from None


def check_replaceable(target: str | Path) -> None:
    """Raise UnsafeOutputError unless `target` is new, empty, or a directory the planner wrote in
    which no file has changed and none has been added since."""
    target = Path(target)
    if not target.exists():
        return
    if not target.is_dir():
        raise UnsafeOutputError(f"{target} is a file, not a directory")
    entries = sorted(path.name for path in target.iterdir())
    if entries and not (target / OUTPUT_MARKER).is_file():
        raise UnsafeOutputError(f"{target} already holds files the planner did not write ({some_of(entries, 5)}), "
                                "and an output directory is replaced whole; choose a new or empty directory for --out")
    changed = changed_since_written(target) if entries else []
    if changed:
        raise UnsafeOutputError(f"{target} was written by the planner, but files in it have been changed or added "
                                f"since: {some_of(changed, 5)}; an output directory is replaced whole, so move what you "
                                "want to keep elsewhere, or choose another directory for --out")


def clear_orphans(target: str | Path, directory: bool = True) -> list[str]:
    """Put right what a killed run left beside --out `target`, and say what was done. Only with
    --out's lock held (planner/out_lock.py): no other run can be writing there then, so these are
    a killed run's. SIGKILL (or a power cut) stops a run where no clean-up runs:
    - between the swap's two renames, `target` is gone and its previous output sits beside it as
      `.NAME.previous-*`: it is put back, where the next run's failure would have lost it for good;
    - after them, that copy of the previous output is superseded: it is removed, as the run would have;
    - before them, its unfinished staging `.NAME.partial-*` (a whole plan's files) is removed.
    An output file (`directory` False: `diff --out`, `backtest --out`) is put in place by one rename,
    so all a killed run leaves is its unfinished `.NAME.partial-*` file, which is removed."""
    target = Path(target).resolve()
    if not target.parent.is_dir():
        return []
    if not directory:
        return [f"removed {path.name} beside {target}: the unfinished file of a run killed before it was put in place"
                for path in _orphans(target, "partial", directory=False) if _unlinked(path)]
    notes, missing = [], not target.exists()
    previous = _orphans(target, "previous")
    if missing and len(previous) == 1:
        os.replace(previous[0], target)
        notes.append(f"{target} was missing, its previous output beside it as {previous[0].name}, where a run killed "
                     "while swapping its output in left it: it is back in place")
    elif missing and previous:
        notes.append(f"{target} is missing, and beside it are {len(previous)} earlier outputs left by killed runs "
                     f"({some_of([path.name for path in previous])}): move the one to keep to {target}")
    else:
        for path in previous:
            shutil.rmtree(path, ignore_errors=True)
            notes.append(f"removed {path.name} beside {target}: a copy of an earlier output, superseded, left by a "
                         "run killed after swapping its own in")
    for path in _orphans(target, "partial"):
        shutil.rmtree(path, ignore_errors=True)
        notes.append(f"removed {path.name} beside {target}: the output of a run killed before it was put in place")
    return notes


def _orphans(target: Path, kind: str, directory: bool = True) -> list[Path]:
    """The directories `atomic_directory` names for `target`, or the files `atomic_file` does
    (mkdtemp's and NamedTemporaryFile's 8 random characters): not another --out's whose name
    merely starts with this one's, nor what the other kind of output left."""
    named = re.compile(rf"^{re.escape(_aside(target, kind))}[a-z0-9_]{{8}}$")
    return sorted(path for path in target.parent.iterdir()
                  if named.match(path.name) and not path.is_symlink() and (path.is_dir() if directory else path.is_file()))


def _unlinked(path: Path) -> bool:
    """Remove the file `path`; False if it went meanwhile."""
    try:
        path.unlink()
    except FileNotFoundError:
        return False
    return True


def _aside(target: Path, kind: str) -> str:
    """The name before the random part of what a write keeps beside `target`: its staging
    ('partial', a directory or a file) or the previous output's copy ('previous')."""
    return f".{target.name}.{kind}-"


def check_not_holding_inputs(target: str | Path, *inputs: str | Path) -> None:
    """Raise UnsafeOutputError if `target` is or contains one of the paths the command reads:
    a previous output holding a rolled scenario passes check_replaceable, and replacing it whole
    would delete that scenario (`planner plan q1/scenario --out q1`)."""
    target = Path(target).resolve()
    for source in inputs:
        source = Path(source).resolve()
        if target in source.parents or target == source:
            raise UnsafeOutputError(f"{target} {'is' if target == source else 'holds'} {source}, which this command "
                                    "reads, and an output directory is replaced whole; choose another directory for --out")


def check_not_around_the_working_directory(target: str | Path) -> None:
    """Raise UnsafeOutputError if `target` is the current directory or holds it: the swap puts a new
    directory in its place, and a shell left in the old one (`cd q1; planner plan ... --out .`)
    lists nothing there, as if the plan were lost."""
    resolved, here = Path(target).resolve(), Path.cwd().resolve()
    if resolved == here or resolved in here.parents:
        raise UnsafeOutputError(f"{target} {'is' if resolved == here else 'holds'} the directory this command runs "
                                "in, and an output directory is replaced whole: the shell would be left in a deleted "
                                f"directory that lists nothing; cd {resolved.parent} and give --out {resolved.name}")


def check_not_overwriting_inputs(target: str | Path, *inputs: str | Path) -> None:
    """Raise UnsafeOutputError if the output file `target` is a file the command reads, or a file
    already in a directory it reads: `planner backtest SCEN --out SCEN/demand_history.csv` replaced
    the scenario's history, `planner diff A B --out A/orders.csv` plan A's orders."""
    target = Path(target).resolve()
    for source in inputs:
        source = Path(source).resolve()
        if target == source or (target.exists() and source in target.parents):
            raise UnsafeOutputError(f"{target} is a file this command reads (in {source}); choose another path for --out")


@contextlib.contextmanager
def atomic_directory(target: str | Path):
    """Yield a fresh staging directory; on success it replaces `target`, on error it is removed
    and `target` keeps its previous contents. Raises UnsafeOutputError first if `target` holds
    files the planner did not write."""
    target = Path(target).resolve()
    check_replaceable(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=_aside(target, "partial"), dir=target.parent))
    os.chmod(staging, 0o777 & ~_umask())  # mkdtemp makes it private; the result should look like any directory
    try:
        with _write_failure_named(target):
            (staging / OUTPUT_MARKER).write_text(MARKER_TEXT)
            yield staging
            (staging / OUTPUT_MARKER).write_text(marker_with_record(staging))
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    with stops_held():  # a stop waits for the swap and its clearing up (planner/stop_signals.py)
        old = None
        try:
            with _write_failure_named(target):
                if target.exists():
                    old = Path(tempfile.mkdtemp(prefix=_aside(target, "previous"), dir=target.parent))
                    os.rmdir(old)
                    os.replace(target, old)
                os.replace(staging, target)
        except BaseException:
            if old is not None and not target.exists():
                os.replace(old, target)  # the swap failed halfway: the previous output goes back, not lost
            shutil.rmtree(staging, ignore_errors=True)
            raise
        WRITTEN.append(target)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)


@contextlib.contextmanager
def atomic_file(target: str | Path, mode: str = "w", **kwargs):
    """Open a temporary file beside `target` (creating missing parents); rename it over `target`
    only when the block succeeds. Named like a directory's staging, so the next run into `target`
    knows what a killed run left (clear_orphans)."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    handle = tempfile.NamedTemporaryFile(mode, dir=target.parent, prefix=_aside(target, "partial"), delete=False,
                                         **kwargs)
    try:
        with _write_failure_named(target):
            with handle:
                os.chmod(handle.name, 0o666 & ~_umask())  # private to its owner as made; a CSV anyone may read
                yield handle
            with stops_held():
                os.replace(handle.name, target)
                WRITTEN.append(target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(handle.name)
        raise


def _umask() -> int:
    """The process's umask (read by setting it, then put back)."""
    umask = os.umask(0)
    os.umask(umask)
    return umask


# Failures of the storage itself, whichever file they came from; any other OSError counts as the
# write's only when it names a file beside or under `target` (a re-forecast solves inside its block).
STORAGE_ERRORS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS, errno.EIO}


@contextlib.contextmanager
def _write_failure_named(target: Path):
    """An OSError while writing (a full disk, a quota, a drive gone) as an OutputError naming --out:
    it is the machine's, not a bug of the planner's to report."""
    try:
        yield
    except OSError as error:
        named = isinstance(error.filename, str)
        beside = named and target.parent.resolve() in Path(error.filename).resolve().parents
        if error.errno not in STORAGE_ERRORS and not beside:
            raise
        where = f" (writing {Path(error.filename).name})" if named else ""
        kept = ", and its previous contents are kept" if target.exists() else ""
        raise OutputError(f"cannot write {target}: {error.strerror or error}{where}{kept}") from error
