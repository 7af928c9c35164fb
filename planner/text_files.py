"""What a file the planner reads as text turned out to be, when it is not what was asked for.

A planner saves scenario files from a spreadsheet or an editor on Windows or macOS: the file may
be in another encoding, a workbook under the CSV's name, or the right file under another case or
extension. A link whose target has moved, or a folder under the file's name, is there to look at
but not to read. Each is named with how to mend it, for the CSV tables (planner/tables.py) and for
scenario.yaml (planner/config.py) alike.
"""

from __future__ import annotations

import re
from pathlib import Path

from planner.problems import Problem

SAVE_AS_UTF8 = "save it as 'CSV UTF-8 (Comma delimited)'"
# What a file browser leaves in a folder it shows: no one's work.
BROWSER_LITTER = re.compile(r"^(\.DS_Store|Thumbs\.db|desktop\.ini|\._.*)$", re.IGNORECASE)
# The lock file Excel (~$roadmap.xlsx) or LibreOffice (.~lock.roadmap.xlsx#) keeps beside a file it
# has open: no one's work either, but a sign that the file may have changes not yet saved.
SPREADSHEET_LOCK = re.compile(r"^(~\$|\.~lock\.)")
SPREADSHEET_SUFFIXES = (".xlsx", ".xls", ".ods", ".txt", ".tsv")
WORKBOOK_SIGNATURES = {
    b"PK\x03\x04": "a workbook (.xlsx or .ods: a zip file)",
    b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1": "an Excel 97-2003 workbook (.xls)",
}


def not_utf8(path: Path, file: str, save_as: str = SAVE_AS_UTF8) -> Problem:
    """Name the row of the first byte that is not UTF-8, and the likely cause: Excel's plain 'CSV'
    saves in the machine's code page (a 'ä' as one byte), its 'Unicode Text' as UTF-16. The
    whole file is decoded again here: a decoding error from the text stream counts from its
    buffer, not from the start of the file."""
    data = path.read_bytes()
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return Problem(file, None, None, f"is UTF-16 (Excel's 'Unicode Text'); {save_as}")
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as error:
        row = data[:error.start].count(b"\n") + 1
        return Problem(file, row, None, f"byte 0x{data[error.start]:02x} is not UTF-8 text (a character such "
                                        f"as an accented letter saved in another encoding); {save_as}")
    return Problem(file, None, None, f"cannot be read as UTF-8 text; {save_as}")


def workbook_kind(path: Path) -> str | None:
    """What kind of workbook `path` is, by its first bytes; None for text. A workbook given for a
    CSV (renamed, or chosen by mistake) was reported as 'byte 0x87 is not UTF-8 text (a character
    such as an accented letter...)', or as every column missing."""
    with path.open("rb") as handle:
        start = handle.read(8)
    return next((kind for signature, kind in WORKBOOK_SIGNATURES.items() if start.startswith(signature)), None)


def not_a_file(path: Path, file: str) -> Problem | None:
    """The problem with `path` when it is there but is not a file to read: a link to a file that has
    moved (a sites.csv shared between scenarios), or a folder. Both read as 'file not found' while
    `ls` showed the file, and an optional one (orders.csv: the orders already placed) was taken as
    empty without a word. None for a file, or for nothing there at all."""
    if path.is_symlink() and not path.exists():
        return Problem(file, None, None, f"is a link to {path.readlink()}, which does not exist; point the link at "
                                         "the file, or copy the file here")
    if path.exists() and not path.is_file():
        kind = "a folder" if path.is_dir() else "a device or pipe"
        return Problem(file, None, None, f"is {kind}, not a file, in {path.parent}")
    return None


def open_in_a_spreadsheet(path: Path) -> str | None:
    """A warning when the lock file a spreadsheet keeps beside a file it has open is there:
    LibreOffice's `.~lock.sites.csv#`, Excel's `~$sites.csv`, and `~$tes.csv` too: Word drops the
    first two characters of a long name, and I could not check whether Excel does. A planner who
    edits racks.csv and runs the plan before saving plans on the file as it was, without a word;
    None where there is no lock file."""
    names = (f".~lock.{path.name}#", f"~${path.name}", f"~${path.name[2:]}")  # each matches SPREADSHEET_LOCK
    lock = next((name for name in names if (path.parent / name).is_file()), None)
    if lock is None:
        return None
    return (f"{path.name} is open in a spreadsheet ({lock} is beside it): changes not yet saved there are not in this "
            "run; save them and run again")


def namesake(directory: Path, file: str, suffixes: tuple[str, ...]) -> str | None:
    """A file in `directory` that is most likely `file` under another name: another case (Windows
    and macOS do not tell Sites.csv from sites.csv; Linux does), an extension added where Explorer
    hides them (sites.csv.txt), or its stem with one of `suffixes` (sites.xlsx, scenario.yml)."""
    wanted, stem = file.lower(), Path(file).stem.lower()
    try:
        names = sorted(path.name for path in directory.iterdir() if path.is_file())
    except OSError:
        return None
    return next((name for name in names if name.lower() in (wanted, wanted + ".txt")  # not .bak: a backup is meant
                 or (Path(name).stem.lower() == stem and Path(name).suffix.lower() in suffixes)), None)


def under_another_name(directory: Path, file: str, suffixes: tuple[str, ...]) -> Problem | None:
    """The problem for `file`, missing from `directory` but there under another name (see
    `namesake`), with how to make that file into it; None where there is no such file."""
    other = namesake(directory, file, suffixes)
    if other is None:
        return None
    if Path(other).suffix.lower() in (".xlsx", ".xls", ".ods"):
        advice = f"open it in the spreadsheet and {SAVE_AS_UTF8} named {file}"
    else:
        advice = f"rename it {file} (file names are case-sensitive here, and the extension must be {Path(file).suffix} alone)"
    return Problem(file, None, None, f"not found in {directory}, but {other} is: {advice}")
