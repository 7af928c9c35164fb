"""Keep what goes wrong inside HiGHS's Python callbacks from being swallowed by HiGHS.

HiGHS calls back into Python during a solve (the watchdog, the gap check, the log). It catches
an exception raised there, logs "ERROR: Exception ..." and ends the solve with no plan, so the
planner said "No plan found within the time limit; raise --time-limit" (exit 4) for two things
that are nothing of the kind:

- Ctrl-C: Python runs a signal's handler at the next Python line of the main thread, which
  mid-solve is inside a callback. Within `guarded_callbacks()` a handler written in Python (Ctrl-C's,
  the planner's SIGTERM one) only records the signal, and runs once the block is left.
- A fault in a callback: a callback wrapped by `guarded()` keeps its exception for the block to
  raise once HiGHS has returned, with its traceback, as the bug it is.

Either way the guard is `asked` to stop, and the watchdog's callback asks HiGHS to stop at its next poll.
"""

from __future__ import annotations

import contextlib
import signal
import threading

# SIGINT (Ctrl-C), and the stops the planner's command line turns into exceptions (planner/stop_signals.py).
DEFERRED = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name))


class Guard:
    """The signals that arrived within the block, in order, each with its frame, and the first
    exception a guarded callback raised."""

    def __init__(self):
        self.arrived: list[tuple[int, object]] = []
        self.failure: BaseException | None = None

    @property
    def asked(self) -> bool:
        return bool(self.arrived) or self.failure is not None


_active: list[Guard] = []  # innermost last: the blocks under way in this process


def guarded(callback):
    """`callback` as HiGHS should be given it: within a `guarded_callbacks()` block, an exception it
    raises is kept by the innermost block, to be raised when the block is left, and HiGHS is asked
    to stop; elsewhere it is called as it is."""

    def call(event):
        if not _active:
            return callback(event)
        try:
            return callback(event)
        except BaseException as error:  # noqa: BLE001 - kept, and raised where HiGHS cannot swallow it
            if _active[-1].failure is None:
                _active[-1].failure = error
            event.interrupt()

    return call


@contextlib.contextmanager
def guarded_callbacks():
    """Yield a Guard for a step of HiGHS's. Signals in DEFERRED whose handler is Python code are
    recorded in it instead of handled; when the block is left, however it is left, they are handled
    (a handler that raises, as Ctrl-C's does, raises there), and then a guarded callback's exception
    is raised. Signals left to the system (the default, or ignored) are not touched, nor are they in
    threads other than the main one."""
    guard = Guard()
    main = threading.current_thread() is threading.main_thread()
    handlers = {number: signal.getsignal(number) for number in DEFERRED} if main else {}
    handlers = {number: handler for number, handler in handlers.items() if callable(handler)}

    def record(number, frame):
        guard.arrived.append((number, frame))

    for number in handlers:
        signal.signal(number, record)
    _active.append(guard)
    try:
        yield guard
    finally:
        _active.remove(guard)
        for number, handler in handlers.items():
            signal.signal(number, handler)
        for number, frame in guard.arrived:
            handlers[number](number, frame)
        if guard.failure is not None:
            raise guard.failure
