"""One run at a time into an --out directory (planner/out_lock.py)."""

from __future__ import annotations

import os
import shutil
import signal
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


def test_each_command_that_writes_a_file_takes_the_lock(tmp_path):
    """Two runs into one file each said they wrote it, the later one's kept."""
    out, plan = tmp_path / "scores.csv", tmp_path / "plan"
    plan.mkdir()
    for command in (["backtest", "no-such-scenario"], ["diff", str(plan), str(plan)]):
        with output_locked(out, directory=False):
            result = CliRunner().invoke(main, [*command, "--out", str(out)])
        assert result.exit_code == 2, (command, result.output)
        assert result.output.startswith(f"error: another planner run is writing {out} (process "), (command, result.output)
        assert list(tmp_path.iterdir()) == [plan]


def test_a_killed_runs_unfinished_output_file_is_removed_and_nothing_else(tmp_path):
    """An output file is put in place by one rename, so a run killed before it leaves only its
    unfinished copy, `.NAME.partial-` and NamedTemporaryFile's 8 random characters. A directory of
    that name is a directory output's staging, not this file's."""
    from planner.atomic import clear_orphans

    out = tmp_path / "scores.csv"
    out.write_text("previous scores\n")
    (tmp_path / ".scores.csv.partial-k2j_9x0a").write_text("stream,method,ma")
    others = [".scores.csv.partial-toolong123", ".scores.csv.previous-abcd1234", ".scores.csv.partial-x.partial-abcd1234"]
    for name in others:
        (tmp_path / name).write_text("not this run's")
    (tmp_path / ".scores.csv.partial-folder12").mkdir()
    assert clear_orphans(out, directory=False) == [
        f"removed .scores.csv.partial-k2j_9x0a beside {out}: the unfinished file of a run killed before it was put "
        "in place"]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["scores.csv", ".scores.csv.partial-folder12", *others])
    assert out.read_text() == "previous scores\n"


KILLED_WRITING_A_FILE = """
import os, signal, sys
import planner.export as export
from planner.cli import main

def killed_while_writing(frame, handle):
    handle.write(",".join(frame.columns))
    handle.flush()
    os.kill(os.getpid(), signal.SIGKILL)

export.write_csv = killed_while_writing
main(["backtest", sys.argv[1], "--out", sys.argv[2], "--origins", "1", "--horizon", "1"], prog_name="planner")
"""


def test_a_file_a_killed_run_left_unfinished_is_removed_by_the_next_run_even_one_that_fails(sovereign, tmp_path):
    """SIGKILL while `backtest --out` wrote its CSV left the unfinished copy beside --out for good.
    The next run into it, holding the lock, removes it and says so; the previous file is kept."""
    out = tmp_path / "scores.csv"
    out.write_text("previous scores\n")
    completed = subprocess.run([sys.executable, "-c", KILLED_WRITING_A_FILE, str(sovereign), str(out)],
                               capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert completed.returncode == -signal.SIGKILL, completed.stderr
    left = sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".scores.csv."))
    assert [name.split("-")[0] for name in left] == [".scores.csv.partial", ".scores.csv.planner"], left
    assert (tmp_path / left[0]).read_text().startswith("region,workload,method,")
    broken = tmp_path / "broken"
    shutil.copytree(sovereign, broken)
    (broken / "demand_history.csv").unlink()
    result = CliRunner().invoke(main, ["backtest", str(broken), "--out", str(out)])
    assert result.exit_code == 2, result.output
    assert (f"warning: removed {left[0]} beside {out}: the unfinished file of a run killed before it was put in place"
            in result.output)
    assert out.read_text() == "previous scores\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broken", "scores.csv", "sovereign-eu"]


def test_a_killed_runs_leavings_are_told_apart_from_another_outs_and_from_files(tmp_path):
    """Beside --out `out`, a run's staging and its previous output's copy are `.out.partial-` and
    `.out.previous-` with mkdtemp's 8 random characters: `.out.partial-x.partial-abcd1234` is the
    staging of an --out named `out.partial-x`, which holds its own lock, and a file is no output."""
    from planner.atomic import clear_orphans

    out = tmp_path / "out"
    out.mkdir()
    (out / "orders.csv").write_text("new plan\n")
    superseded, staging = tmp_path / ".out.previous-k2j_9x0a", tmp_path / ".out.partial-abcd1234"
    for folder in (superseded, staging):
        folder.mkdir()
        (folder / "orders.csv").write_text("left by a killed run\n")
    others = [tmp_path / ".out.partial-x.partial-abcd1234", tmp_path / ".out.previous-toolong123"]
    for folder in others:
        folder.mkdir()
    (tmp_path / ".out.partial-file1234").write_text("a file")
    notes = clear_orphans(out)
    assert notes == [f"removed .out.previous-k2j_9x0a beside {out}: a copy of an earlier output, superseded, left by a "
                     "run killed after swapping its own in",
                     f"removed .out.partial-abcd1234 beside {out}: the output of a run killed before it was put in place"]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["out", ".out.partial-file1234"] + [folder.name for folder in others])
    assert (out / "orders.csv").read_text() == "new plan\n"


def test_two_copies_of_earlier_outputs_with_out_missing_are_named_not_guessed_between(tmp_path):
    from planner.atomic import clear_orphans

    copies = [tmp_path / ".out.previous-aaaaaaaa", tmp_path / ".out.previous-bbbbbbbb"]
    for folder in copies:
        folder.mkdir()
    notes = clear_orphans(tmp_path / "out")
    assert notes == [f"{tmp_path / 'out'} is missing, and beside it are 2 earlier outputs left by killed runs "
                     f"(.out.previous-aaaaaaaa, .out.previous-bbbbbbbb): move the one to keep to {tmp_path / 'out'}"]
    assert all(folder.is_dir() for folder in copies) and not (tmp_path / "out").exists()
