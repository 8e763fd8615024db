"""Schedules: a cron expression (``"0 2 * * *"``, read by croniter) or a duration (``"6h"``, read by
:func:`conveyor.core.durations.parse_duration`). Times are UNIX seconds in UTC; callers pass the clock, so a test
moves time without sleeping."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from conveyor.core.dependencies import require
from conveyor.core.durations import parse_duration
from conveyor.core.errors import BadInputError

__all__ = ["Schedule", "parse_schedule"]

CRON_EXTRA = "monitor"


@dataclass(frozen=True)
class Schedule:
    """``every`` seconds, or a ``cron`` expression (5 fields, UTC)."""

    text: str
    every: float | None = None
    cron: str | None = None

    def next_after(self, t: float) -> float:
        """The first firing time strictly after ``t``."""
        if self.every is not None:
            return t + self.every
        croniter = require("croniter", CRON_EXTRA).croniter
        start = dt.datetime.fromtimestamp(t, tz=dt.timezone.utc)
        return float(croniter(self.cron, start).get_next(float))

    def due(self, since: float, at: float) -> float | None:
        """The latest firing time in ``(since, at]`` (what a tick at ``at`` should run), else None."""
        fire = self.next_after(since)
        if fire > at:
            return None
        if self.every is not None:
            return since + self.every * ((at - since) // self.every)
        while True:
            following = self.next_after(fire)
            if following > at:
                return fire
            fire = following


def parse_schedule(value: object, field: str = "schedule") -> Schedule:
    """A duration (a number or ``"30m"``) or a cron expression; BadInputError naming ``field`` otherwise."""
    text = str(value).strip()
    if (isinstance(value, int | float) and not isinstance(value, bool)) or len(text.split()) == 1:
        return Schedule(text, every=parse_duration(value, field, allow_zero=False))
    fields = text.split()
    if len(fields) != 5:
        raise BadInputError(f"Invalid schedule {text!r} for {field}: a cron expression has 5 fields.", field=field,
                            hint="Write a cron expression like '0 2 * * *' (UTC) or a duration like 6h.")
    croniter = require("croniter", CRON_EXTRA, field=field).croniter
    if not croniter.is_valid(text):
        raise BadInputError(f"Invalid cron expression {text!r} for {field}.", field=field,
                            hint="Fields: minute hour day-of-month month day-of-week, e.g. '0 2 * * 1'.")
    return Schedule(text, cron=text)
