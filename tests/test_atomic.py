"""Outputs written whole or not at all (planner/atomic.py): what is left when writing fails."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pandas as pd
import pytest

from planner import atomic
from planner.atomic import (OutputError, UnsafeOutputError, atomic_directory, check_meant,
                            check_not_around_the_working_directory, check_replaceable)
from planner.export import write_csv_file
from planner.output_marker import MARKER_TEXT, OUTPUT_MARKER
from tests.conftest import EXAMPLES


def _umask() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return umask


def test_a_single_csv_can_be_read_by_whoever_may_read_any_new_file(tmp_path):
    """backtest's and diff's --out came out private to their owner (mode 600, a temporary file's)
    where every other output follows the umask: a team's shared folder hid the scores."""
    write_csv_file(pd.DataFrame({"a": [1]}), tmp_path / "scores.csv")
    assert (tmp_path / "scores.csv").stat().st_mode & 0o777 == 0o666 & ~_umask()


def _previous_output(target: Path) -> None:
    target.mkdir()
    (target / OUTPUT_MARKER).write_text(MARKER_TEXT)
    (target / "orders.csv").write_text("previous plan\n")


def test_a_full_disk_while_writing_names_the_output_keeps_the_previous_one_and_leaves_nothing(tmp_path):
    target = tmp_path / "out"
    _previous_output(target)
    with pytest.raises(OutputError, match=r"cannot write .*out: No space left on device \(writing roadmap.xlsx\), "
                                          "and its previous contents are kept"):
        with atomic_directory(target) as staging:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(staging / "roadmap.xlsx"))
    assert (target / "orders.csv").read_text() == "previous plan\n"
    assert [path.name for path in tmp_path.iterdir()] == ["out"]


def test_an_oserror_that_is_not_the_writes_stays_what_it_was(tmp_path):
    """A re-forecast solves inside its block: a missing file elsewhere is not a failure to write --out."""
    with pytest.raises(FileNotFoundError):
        with atomic_directory(tmp_path / "out"):
            raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), "/nonexistent/solver")
    assert list(tmp_path.iterdir()) == []


def test_a_swap_that_fails_halfway_puts_the_previous_output_back(tmp_path, monkeypatch):
    """The previous output is moved aside before the new one takes its name: a failure between the
    two renames left --out missing and the previous plan in a hidden directory."""
    target = tmp_path / "out"
    _previous_output(target)
    replace = os.replace

    def fail_on_the_new_one(source, destination):
        if ".partial-" in str(source):
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(source))
        replace(source, destination)

    monkeypatch.setattr(atomic.os, "replace", fail_on_the_new_one)
    with pytest.raises(OutputError, match="Permission denied"):
        with atomic_directory(target) as staging:
            (staging / "orders.csv").write_text("new plan\n")
    assert (target / "orders.csv").read_text() == "previous plan\n"
    assert [path.name for path in tmp_path.iterdir()] == ["out"]


def _written(target: Path, files: dict[str, str]) -> None:
    """`target` as the planner writes an output directory: staged, recorded in its marker, swapped in."""
    with atomic_directory(target) as staging:
        for name, text in files.items():
            (staging / name).parent.mkdir(parents=True, exist_ok=True)
            (staging / name).write_text(text)


def test_an_output_with_a_file_changed_or_added_since_is_not_replaced(tmp_path):
    """A re-forecast's --out holds the rolled scenario the next quarter starts from; a deal added to
    its demand_overrides.csv, or a note beside the plan, was deleted without a word by a rerun of
    that quarter into the same --out."""
    target = tmp_path / "q1"
    _written(target, {"plan/orders.csv": "orders\n", "scenario/demand_overrides.csv": "quarter,region,workload,delta\n"})
    check_replaceable(target)  # as written: a rerun may replace it
    _written(target, {"plan/orders.csv": "orders\n"})  # and does
    assert sorted(_names(target)) == [OUTPUT_MARKER, "plan/orders.csv"]
    (target / "plan" / ".DS_Store").write_bytes(b"\0")  # a file browser's, not the user's work
    check_replaceable(target)
    (target / "plan" / "orders.csv").write_text("orders, edited\n")
    (target / "notes.md").write_text("why we moved the Frankfurt order\n")
    with pytest.raises(UnsafeOutputError, match=r"files in it have been changed or added since: notes\.md \(added\), "
                                                r"plan/orders\.csv \(changed\); an output directory is replaced whole"):
        check_replaceable(target)
    with pytest.raises(UnsafeOutputError):
        _written(target, {"plan/orders.csv": "orders\n"})
    assert (target / "notes.md").exists() and (target / "plan" / "orders.csv").read_text() == "orders, edited\n"
    (target / "notes.md").unlink()
    (target / "plan" / "orders.csv").write_text("orders\n")
    (target / "plan" / "~$roadmap.xlsx").write_bytes(b"\0")  # Excel has the workbook open
    with pytest.raises(UnsafeOutputError, match=r"since: plan/~\$roadmap\.xlsx \(a spreadsheet's lock file: the "
                                                r"workbook is open; close it first\)"):
        check_replaceable(target)


def test_an_output_written_before_the_record_was_kept_is_replaced_as_before(tmp_path):
    target = tmp_path / "out"
    _previous_output(target)  # a marker with no record of what was written
    check_replaceable(target)


def _names(directory: Path) -> list[str]:
    return [path.relative_to(directory).as_posix() for path in directory.rglob("*") if path.is_file()]


def test_an_output_that_is_or_holds_the_working_directory_is_refused(tmp_path, monkeypatch):
    """`cd q1; planner plan ... --out .` swapped a new q1 in under the shell, which then listed
    nothing: the plan looked lost."""
    target = tmp_path / "q1"
    _written(target, {"orders.csv": "orders\n"})
    (target / "scenario").mkdir()
    for here in (target, target / "scenario"):
        monkeypatch.chdir(here)
        with pytest.raises(UnsafeOutputError, match=f"cd {tmp_path} and give --out q1"):
            check_not_around_the_working_directory(target)
    monkeypatch.chdir(tmp_path)
    check_not_around_the_working_directory(target)


@pytest.mark.parametrize("out, said", [
    ("~/plans/q1", f"'~/plans/q1' starts with '~', which the shell did not expand (was it quoted?): this would make a "
                   f"folder named '~' here; give the path in full ({os.path.expanduser('~/plans/q1')})"),
    ("~nobody-here-at-all/q1", "'~nobody-here-at-all/q1' starts with '~', which the shell did not expand (was it "
                               "quoted?): this would make a folder named '~nobody-here-at-all' here; give the path in full"),
    ("-", "'-' would be a file or folder named '-', not standard output; give a name"),
    ("plans/q1 ", "'plans/q1 ' has spaces at the start or end of its name, which show like another name; give it "
                  "without them"),
    (" ", "' ' has spaces at the start or end of its name, which show like another name; give it without them"),
])
def test_an_out_no_one_means_as_a_name_is_refused_before_anything_is_made(tmp_path, monkeypatch, out, said):
    """A quoted '~/plans/q1' made a folder named '~' in the working directory, one `rm -rf ~` away
    from the home folder; '-' and 'q1 ' made folders named so."""
    from click.testing import CliRunner

    from planner.cli import main

    monkeypatch.chdir(tmp_path)
    with pytest.raises(OutputError) as raised:
        check_meant(out)
    assert str(raised.value) == said
    result = CliRunner().invoke(main, ["forecast", str(EXAMPLES / "sovereign-eu"), "--out", out])
    assert result.exit_code == 2 and result.stderr.strip() == f"error: {said}"
    assert list(tmp_path.iterdir()) == []


def test_an_out_with_a_space_inside_its_name_is_a_name_like_any_other():
    check_meant("plans/q1 2027")
