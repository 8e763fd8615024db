"""A training budget: a positive duration (``60s``, ``2m``, ``1h``, ``1d`` or a number of seconds), and the
:class:`Deadline` that makes it the command's: it runs from process start (``conveyor train``) or from the call (the
Python API), the search stops early enough to leave time for the refit, the evaluation and storing the run, and each
phase's seconds are recorded (``timings`` on the run).

The clock is injectable, so tests check the deadline's decisions with bounded work instead of asserting wall time.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from conveyor.core.durations import parse_duration
from conveyor.core.errors import BadInputError

OVERHEAD = 0.10  # the stated overhead: a command ends within budget * (1 + OVERHEAD) on the default settings
AFTER_SEARCH = 0.08  # share of the budget kept after the search for evaluation and storing the run
AFTER_SEARCH_MIN = 1.0  # seconds kept after the search at least


def parse_budget(text: str | float | int) -> float:
    try:
        return parse_duration(text, "budget", allow_zero=False)
    except BadInputError as exc:
        raise BadInputError(f"Invalid budget {text!r}: {exc.message}", field="budget",
                            hint="Write a duration such as 30s, 2m or 1h.") from None


def process_started(clock: Callable[[], float] = time.monotonic) -> float:
    """The ``clock`` reading at which this process started (Linux: from /proc; elsewhere: now)."""
    try:
        with open("/proc/self/stat") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
        start_ticks = int(fields[19])  # field 22 of stat, counted after the command name
        with open("/proc/uptime") as handle:
            uptime = float(handle.read().split()[0])
        age = uptime - start_ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return clock()
    return clock() - max(0.0, age)


@dataclass
class Deadline:
    """``budget`` seconds from ``started`` (a ``clock`` reading). ``timings`` holds each phase's seconds."""

    budget: float
    started: float | None = None
    clock: Callable[[], float] = time.monotonic
    timings: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.started is None:
            self.started = self.clock()

    def elapsed(self) -> float:
        started = self.started if self.started is not None else self.clock()
        return self.clock() - started

    def remaining(self) -> float:
        return self.budget - self.elapsed()

    def after_search(self) -> float:
        """Seconds kept after the search for evaluating and storing the run."""
        return max(AFTER_SEARCH_MIN, AFTER_SEARCH * self.budget)

    def fits(self, seconds: float, keep: float = 0.0) -> bool:
        """Whether ``seconds`` of work still ends ``keep`` seconds before the budget is spent."""
        return self.elapsed() + seconds + keep <= self.budget

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        began = self.clock()
        try:
            yield
        finally:
            self.timings[name] = round(self.timings.get(name, 0.0) + self.clock() - began, 4)

    def record(self) -> dict[str, float]:
        """The timings with the total so far (from the budget's start) and the budget itself."""
        return {**self.timings, "total": round(self.elapsed(), 4), "budget": self.budget}
