"""A training budget: a positive duration (``60s``, ``2m``, ``1h``, ``1d`` or a number of seconds)."""

from __future__ import annotations

from conveyor.core.durations import parse_duration
from conveyor.core.errors import BadInputError


def parse_budget(text: str | float | int) -> float:
    try:
        return parse_duration(text, "budget", allow_zero=False)
    except BadInputError as exc:
        raise BadInputError(f"Invalid budget {text!r}: {exc.message}", field="budget",
                            hint="Write a duration such as 30s, 2m or 1h.") from None
