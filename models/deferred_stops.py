"""Hold Ctrl-C (and any other stop with a Python handler) while HiGHS runs Python callbacks.

Python runs a signal's handler at the next Python line of the main thread, which during a solve
is inside one of HiGHS's callbacks (the watchdog, the gap check, the log). HiGHS catches the
KeyboardInterrupt raised there, logs "ERROR: Exception KeyboardInterrupt" and ends the solve with
no plan: Ctrl-C in `planner plan` read "No plan found within the time limit; raise --time-limit"
(exit 4). Within `deferred_stops()` such a handler only records the signal; the watchdog's
callback asks HiGHS to stop at its next poll, and the handler runs once the block is left, so
KeyboardInterrupt (or the planner's StopRequested) is raised in plain Python, as it should be.
"""

from __future__ import annotations

import contextlib
import signal
import threading

# SIGINT (Ctrl-C), and the stops the planner's command line turns into exceptions (planner/stop_signals.py).
DEFERRED = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name))


class Stops:
    """The signals that arrived within the block, in order, each with the frame it arrived in."""

    def __init__(self):
        self.arrived: list[tuple[int, object]] = []

    @property
    def asked(self) -> bool:
        return bool(self.arrived)


@contextlib.contextmanager
def deferred_stops():
    """Yield a Stops; signals in DEFERRED whose handler is Python code are recorded in it instead
    of handled, and handled when the block is left, however it is left (a handler that raises, as
    Ctrl-C's does, raises there). Signals left to the system (the default, or ignored) and threads
    other than the main one are not touched."""
    stops = Stops()
    if threading.current_thread() is not threading.main_thread():
        yield stops
        return
    handlers = {number: signal.getsignal(number) for number in DEFERRED}
    handlers = {number: handler for number, handler in handlers.items() if callable(handler)}

    def record(number, frame):
        stops.arrived.append((number, frame))

    for number in handlers:
        signal.signal(number, record)
    try:
        yield stops
    finally:
        for number, handler in handlers.items():
            signal.signal(number, handler)
        for number, frame in stops.arrived:
            handlers[number](number, frame)
