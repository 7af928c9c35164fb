"""Run the search for a plan (models/search.py) in a child process the planner can stop.

The watchdog stops HiGHS only where HiGHS polls its callbacks, and not every step does: on the
large benchmark (seed 3, 60 s limit) HiGHS 1.16's root central rounding ran 258 s without
polling, and the plan came after 312 s. A process can be stopped anywhere. The child gets a copy
of HiGHS's model and sends back, as it goes, the log, the limit of each HiGHS step it starts,
each better plan, each rise of the lower bound and the completed plan before a re-plan's pass.
When a step runs KILL_AFTER_S past its limit (the watchdog has asked HiGHS to stop and HiGHS has
not), the parent kills the child and finishes from the last plan it was sent, its gap measured
against the best bound it was sent: an incumbent is completed at least cost here, on the
parent's own copy of the model, and a re-plan's pass cut short keeps the cheapest plan.

The child is a fresh interpreter (`python -m models.isolation`), not a fork: forking the planner
would copy HiGHS's thread pool, in whatever state it is in, without its threads, and
multiprocessing's spawn and forkserver would run the caller's main script again in the child.
The model, the job and the reports travel over the child's stdin and stdout as pickles
(multiprocessing's Connection), which ties this to POSIX pipes. Deadlines are
time.perf_counter() values, one clock for every process of the machine (Linux's CLOCK_MONOTONIC).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import traceback
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Callable

import highspy
import numpy as np

from models.killed import SearchProcessKilled
from models.search import (NO_SOLUTION, TIME_LIMIT, BetterPlan, BoundRaised, LogText, Planned, SearchJob,
                           SearchOutcome, StepBegun, complete_at_least_cost, log_only, planned_outcome, search,
                           steady_not_run, watchdog_limit)

# Seconds past a step's watchdog limit before the child is killed: the watchdog's interrupt lands
# at HiGHS's next poll of a callback, within about a second where HiGHS polls at all.
KILL_AFTER_S = 5.0
_POLL_S = 0.5

# The model, job and reports go over the child's stdin and stdout as file descriptors, which a
# Connection takes on POSIX only; elsewhere (Windows) the search stays in the planner's process.
CAN_ISOLATE = os.name == "posix"


@dataclass
class Isolated:
    outcome: SearchOutcome
    killed_at: float | None = None     # perf_counter time the child was killed; None when it finished
    late_s: float = 0.0                # how far past its step's watchdog limit it was killed

    @property
    def killed(self) -> bool:
        return self.killed_at is not None


@dataclass(frozen=True)
class _Failed:
    trace: str


def search_in_child(highs: highspy.Highs, job: SearchJob, log: Callable[[str], None], work=None) -> Isolated:
    """`search` on a copy of `highs`'s model in a child process, killed KILL_AFTER_S past the limit of
    a step that ran on; `log` gets HiGHS's log as it comes. `work` stands in for `search` (tests)."""
    child = subprocess.Popen([sys.executable, "-m", __name__], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             env={**os.environ, "PYTHONPATH": os.pathsep.join(p or os.getcwd() for p in sys.path)})
    receiving = Connection(os.dup(child.stdout.fileno()), writable=False)  # a Connection closes its own descriptor
    last = _Last(watchdog_limit(job.began + job.options.time_limit_s, job.options))  # the first step's, until it says
    try:
        try:
            with Connection(os.dup(child.stdin.fileno()), readable=False) as sending:
                sending.send((model_arrays(highs), job, work or search))
        except BrokenPipeError:  # the child ended before it read the model: its stderr says why
            pass
        while True:
            if receiving.poll(_POLL_S):
                try:
                    message = receiving.recv()
                except EOFError:  # the child ended without a word more
                    break
                if isinstance(message, SearchOutcome):
                    return Isolated(message)
                if isinstance(message, _Failed):
                    raise RuntimeError(f"the search for a plan failed in its process: {message.trace.splitlines()[-1]}") \
                        from _ChildTraceback(message.trace)
                if isinstance(message, LogText):
                    log(message.text)
                else:
                    last.take(message)
            elif child.poll() is not None and not receiving.poll():
                break
            if time.perf_counter() > last.limit + KILL_AFTER_S and not receiving.poll():  # nothing left unread
                child.kill()
                killed_at = time.perf_counter()
                return Isolated(_finish(highs, job, last, log), killed_at, killed_at - last.limit)
    finally:
        if child.poll() is None:
            child.kill()
        child.wait()
        receiving.close()
        child.stdin.close()
        child.stdout.close()
    if child.returncode < 0:
        raise SearchProcessKilled(-child.returncode)
    raise RuntimeError(f"the search for a plan ended without a plan or an error (exit code {child.returncode})")



class _ChildTraceback(Exception):
    """The child's traceback, as the cause of the error raised here (shown with PLANNER_DEBUG=1)."""


class _Last:
    """The last of each kind of report from the child."""

    def __init__(self, limit: float):
        self.limit = limit  # of the step under way: a child that never gets going is killed too
        self.better = self.planned = self.bound = None

    def take(self, message) -> None:
        if isinstance(message, StepBegun):
            self.limit = message.limit
        elif isinstance(message, BetterPlan):
            self.better = message
            self._raise_bound(message.bound)
        elif isinstance(message, BoundRaised):
            self._raise_bound(message.bound)
        elif isinstance(message, Planned):
            self.planned = message.outcome

    def _raise_bound(self, bound: float | None) -> None:
        if bound is not None:
            self.bound = bound if self.bound is None else max(self.bound, bound)


def _finish(highs: highspy.Highs, job: SearchJob, last: _Last, log: Callable[[str], None]) -> SearchOutcome:
    """The plan to keep from a child killed in a step that did not stop: the completed plan if a
    re-plan's pass was under way, else the last incumbent, completed at least cost here."""
    seconds_in = time.perf_counter() - job.began
    if last.planned is not None:
        log(f"\nThe pass toward the previous plan's orders did not stop at its limit; stopped "
            f"{seconds_in:,.1f} s into the solve, the cheapest plan found kept.\n")
        outcome = last.planned
    elif last.better is None:
        log(f"\nHiGHS did not stop at its limit and had no plan; stopped {seconds_in:,.1f} s into the solve.\n")
        return SearchOutcome(NO_SOLUTION, None, None)
    else:
        log(f"\nHiGHS did not stop at its limit; stopped {seconds_in:,.1f} s into the solve, its best plan kept.\n")
        highs.setOptionValue("output_flag", False)
        highs.setOptionValue("threads", job.options.threads)
        values = complete_at_least_cost(highs, last.better.values, job, log_only(log), [])
        outcome = planned_outcome(highs, job, TIME_LIMIT, values, last.bound, 0.0)
    if len(job.orders):  # the pass did not run, or did not finish: nothing of the previous plan's was kept
        outcome.steady = steady_not_run(highs, job, outcome, time.perf_counter() - job.began)
    return outcome


def model_arrays(highs: highspy.Highs) -> dict:
    """HiGHS's model as plain arrays (a HighsLp does not pickle)."""
    lp = highs.getLp()
    matrix = lp.a_matrix_
    return {"sense": int(lp.sense_), "offset": lp.offset_, "format": int(matrix.format_),
            "col_cost": np.array(lp.col_cost_), "col_lower": np.array(lp.col_lower_),
            "col_upper": np.array(lp.col_upper_), "row_lower": np.array(lp.row_lower_),
            "row_upper": np.array(lp.row_upper_), "start": np.array(matrix.start_, dtype=np.int32),
            "index": np.array(matrix.index_, dtype=np.int32), "value": np.array(matrix.value_),
            "integrality": np.array([int(kind) for kind in lp.integrality_], dtype=np.int32)}


def highs_from(arrays: dict) -> highspy.Highs:
    """A quiet HiGHS holding the model `model_arrays` took apart."""
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = len(arrays["col_cost"]), len(arrays["row_lower"])
    lp.sense_, lp.offset_ = highspy.ObjSense(arrays["sense"]), arrays["offset"]
    lp.col_cost_, lp.col_lower_, lp.col_upper_ = arrays["col_cost"], arrays["col_lower"], arrays["col_upper"]
    lp.row_lower_, lp.row_upper_ = arrays["row_lower"], arrays["row_upper"]
    lp.a_matrix_.format_ = highspy.MatrixFormat(arrays["format"])
    lp.a_matrix_.num_col_, lp.a_matrix_.num_row_ = lp.num_col_, lp.num_row_
    lp.a_matrix_.start_, lp.a_matrix_.index_, lp.a_matrix_.value_ = arrays["start"], arrays["index"], arrays["value"]
    if len(arrays["integrality"]):
        lp.integrality_ = [highspy.HighsVarType(kind) for kind in arrays["integrality"]]
    highs = highspy.Highs()
    highs.setOptionValue("output_flag", False)
    highs.passModel(lp)
    return highs


def _child() -> None:
    """The child's whole life: read the model and the job from stdin, search, and send what is found
    on stdout. Ctrl-C is the parent's to answer (it kills the child), and HiGHS's console output has
    nowhere to go: its log comes back with the rest."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    with Connection(os.dup(0), writable=False) as receiving:
        arrays, job, work = receiving.recv()
    threading.Thread(target=_end_with_the_planner, daemon=True).start()
    sending = Connection(os.dup(1), readable=False)
    os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
    try:
        sending.send(work(highs_from(arrays), job, sending.send))
    except BaseException:  # noqa: BLE001 - whatever it was, the parent reports it
        sending.send(_Failed(traceback.format_exc()))
    finally:
        sending.close()


def _end_with_the_planner() -> None:
    """Exit once the planner's end of stdin closes. The planner kills this child whenever it ends
    in order, but not if it is itself killed (SIGKILL, the out-of-memory killer): without this the
    child would search on through a stall that ignores its limit. HiGHS lets go of the GIL while it
    runs (highspy's own startSolve relies on it), so this thread gets its turn."""
    while os.read(0, 1):  # the planner writes nothing after the model; only its end can come
        pass
    os._exit(1)


if __name__ == "__main__":
    from models.isolation import _child as child  # by its name: what it sends pickles as models.isolation's, not __main__'s

    child()
