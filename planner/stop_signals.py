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
