"""The file that marks a directory as the planner's output, and the record in it of what was written.

An output directory is replaced whole by the next run given it as --out. A re-forecast's `--out`
holds the rolled scenario that the next quarter starts from, and it is natural to edit it there
(a new deal in demand_overrides.csv, a supply cap) or to drop a note beside the plan; rerunning
that quarter into the same --out deleted such edits without a word. The marker records the
SHA-256 of every file the planner wrote, so a file changed or added since can be named, and the
directory left alone, before any work.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from planner.text_files import BROWSER_LITTER, SPREADSHEET_LOCK

OUTPUT_MARKER = ".planner-output"
MARKER_TEXT = ("Written by the AI-factory capacity planner. The next run with this directory as its --out\n"
               "replaces the whole directory; keep your own files elsewhere (it refuses while a file listed\n"
               "below has changed or another has been added).\n")
_LISTED = "\nSHA-256 of each file written:\n"
_LINE = re.compile(r"^([0-9a-f]{64})  (.+)$")


def _digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _files(directory: Path) -> dict[str, Path]:
    """The files below `directory` by their path relative to it ('/'-separated), less the marker
    and a file browser's litter."""
    return {path.relative_to(directory).as_posix(): path for path in sorted(directory.rglob("*"))
            if path.is_file() and path.name != OUTPUT_MARKER and not BROWSER_LITTER.match(path.name)}


def marker_with_record(directory: Path) -> str:
    """The marker's text for `directory` as it now stands: MARKER_TEXT and each file's SHA-256."""
    lines = [f"{_digest(path)}  {name}" for name, path in _files(directory).items() if "\n" not in name]
    return MARKER_TEXT + _LISTED + "".join(line + "\n" for line in lines)


def changed_since_written(directory: Path) -> list[str]:
    """The files below `directory` changed or added since the planner wrote it ('scenario/orders.csv
    (changed)', 'notes.md (added)'); none for a marker written before the record was kept."""
    text = (directory / OUTPUT_MARKER).read_text(encoding="utf-8", errors="replace")
    if _LISTED not in text:
        return []
    written = {match[2]: match[1] for match in map(_LINE.match, text.split(_LISTED, 1)[1].splitlines()) if match}
    found = []
    for name, path in _files(directory).items():
        if name not in written and SPREADSHEET_LOCK.match(path.name):
            found.append(f"{name} (a spreadsheet's lock file: the workbook is open; close it first)")
        elif name not in written:
            found.append(f"{name} (added)")
        elif _digest(path) != written[name]:
            found.append(f"{name} (changed)")
    return found
