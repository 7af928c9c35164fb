"""One run at a time into an --out directory (planner/out_lock.py)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from click.testing import CliRunner

from planner.cli import main
from planner.out_lock import OutputBusyError, lock_path, output_locked
from tests.conftest import ROOT

pytestmark = pytest.mark.skipif(os.name != "posix", reason="flock: runs on Windows are not locked")


def test_a_second_hold_on_the_same_out_is_refused_naming_the_first_and_the_file_goes_with_the_first(tmp_path):
    out = tmp_path / "out"
    with output_locked(out):
        assert lock_path(out).read_text().startswith(f"process {os.getpid()} on ")
        with pytest.raises(OutputBusyError, match=rf"another planner run is writing {out} \(process {os.getpid()} on "):
            with output_locked(out):
                pass
        with output_locked(tmp_path / "other"):  # another --out beside it is free
            pass
    assert list(tmp_path.iterdir()) == [], "the lock file goes when the run ends"


def test_a_lock_file_left_by_a_killed_run_does_not_block_the_next(tmp_path):
    """flock is released when its process dies, even by SIGKILL; only the file stays."""
    out = tmp_path / "out"
    lock_path(out).write_text("process 1 on elsewhere, started long ago")
    with output_locked(out):
        assert lock_path(out).read_text().startswith(f"process {os.getpid()} ")
    assert not lock_path(out).exists()


def test_folders_made_for_the_lock_go_again_when_the_run_leaves_them_empty(tmp_path):
    with output_locked(tmp_path / "plans" / "2027" / "q1"):
        assert (tmp_path / "plans" / "2027").is_dir()
    assert list(tmp_path.iterdir()) == []
    with output_locked(tmp_path / "plans" / "q1"):
        (tmp_path / "plans" / "q1").mkdir()  # what the run wrote stays, and the folder it is in
    assert [p.name for p in (tmp_path / "plans").iterdir()] == ["q1"]


HOLD_AND_WAIT = """
import sys, time
from planner.out_lock import output_locked
with output_locked(sys.argv[1]):
    print("held", flush=True)
    sys.stdin.read()
"""


def test_a_plan_into_an_out_another_process_is_writing_is_refused_before_any_work(tmp_path):
    out = tmp_path / "out"
    holder = subprocess.Popen([sys.executable, "-c", HOLD_AND_WAIT, str(out)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        assert holder.stdout.readline().strip() == "held"
        result = CliRunner().invoke(main, ["plan", "no-such-scenario", "--out", str(out), "--quiet"])
        assert result.exit_code == 2, result.output
        assert result.output.startswith(f"error: another planner run is writing {out} (process {holder.pid} on ")
        assert result.output.rstrip().endswith("; wait for it to end, or give another --out")
        assert not out.exists()
    finally:
        holder.communicate("", timeout=30)
    assert holder.returncode == 0 and list(tmp_path.iterdir()) == []


def test_each_command_that_writes_a_directory_takes_the_lock(tmp_path):
    out, actuals, previous = tmp_path / "out", tmp_path / "a.csv", tmp_path / "previous"
    actuals.write_text("quarter,region,workload,demand\n")
    previous.mkdir()
    for command in (["forecast", "no-such-scenario"], ["plan", "no-such-scenario"],
                    ["reforecast", "no-such-scenario", "--actuals", str(actuals), "--previous", str(previous)]):
        with output_locked(out):
            result = CliRunner().invoke(main, [*command, "--out", str(out)])
        assert result.exit_code == 2 and "another planner run is writing" in result.output, (command, result.output)
