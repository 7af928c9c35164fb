"""Let a stop asked for from outside unwind the planner the way Ctrl-C does.

Python's default for SIGTERM (a job scheduler's time limit, `timeout`, `kill`) and SIGHUP (a closed
terminal or SSH session) ends the process on the spot: no `finally` runs, so a run stopped while
writing left its staging directory (`.OUT.partial-*`, a whole plan's files) beside --out for
good. Turned into an exception, the stop removes it as Ctrl-C does, and the command says what
stopped it. A signal someone chose to ignore (`nohup` ignores SIGHUP) stays ignored.
"""

from __future__ import annotations

import contextlib
import signal
import threading

STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name))


class StopRequested(BaseException):
    """A stop signal arrived. A BaseException, like KeyboardInterrupt, so that no `except Exception`
    on the way up takes it for an error to report or recover from."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum
        self.name = signal.Signals(signum).name

    @property
    def exit_code(self) -> int:
        """The shell's convention for a process ended by a signal: 128 + its number (143 for SIGTERM)."""
        return 128 + self.signum


def _raise_stop(signum, frame) -> None:
    raise StopRequested(signum)


@contextlib.contextmanager
def stops_unwind():
    """Within the block, SIGTERM and SIGHUP raise StopRequested (where their handler is the default);
    the previous handlers come back after it. Signal handlers belong to the main thread: elsewhere
    (a command run from a worker thread) this does nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {number: signal.getsignal(number) for number in STOP_SIGNALS}
    for number, handler in previous.items():
        if handler is signal.SIG_DFL:
            signal.signal(number, _raise_stop)
    try:
        yield
    finally:
        for number, handler in previous.items():
            if handler is signal.SIG_DFL:
                signal.signal(number, handler)


@contextlib.contextmanager
def stops_held():
    """Within the block, Ctrl-C, SIGTERM and SIGHUP wait, and the first that came is acted on as
    the block ends: an output's swap into place (planner/atomic.py) either happens whole, with the
    previous output cleared away, or not at all. Interrupted between its two renames, the swap
    put the previous output back; interrupted after them, it left the previous output's copy
    beside --out and said nothing had been written, though the new output was in place. Only
    handlers set in Python wait (a signal ignored stays ignored); only in the main thread."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []
    previous = {number: signal.getsignal(number) for number in (signal.SIGINT, *STOP_SIGNALS)}
    held = {number: handler for number, handler in previous.items() if callable(handler)}
    for number in held:
        signal.signal(number, lambda signum, frame: caught.append(signum))
    try:
        yield
    finally:
        for number, handler in held.items():
            signal.signal(number, handler)
    if caught:
        held[caught[0]](caught[0], None)
