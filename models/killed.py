"""The search's child process ended by a signal the planner did not send (models/isolation.py).

Its own module, free of HiGHS and numpy, so that the command line can name it without loading them.
"""

from __future__ import annotations

import signal


class SearchProcessKilled(RuntimeError):
    """The child was ended by a signal the planner did not send: on Linux most often SIGKILL from
    the out-of-memory killer. It is the machine's doing, not a bug of the planner's to report."""

    def __init__(self, signum: int):
        try:
            self.name = signal.Signals(signum).name
        except ValueError:
            self.name = f"signal {signum}"
        likely = " (on Linux most often the out-of-memory killer: `dmesg` says)" if self.name == "SIGKILL" else ""
        super().__init__(f"the solver's process was stopped by {self.name} from outside the planner{likely}, "
                         "before the search finished")
