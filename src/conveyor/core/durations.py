"""The one duration parser: ``30``, ``"30s"``, ``"10m"``, ``"2h"``, ``"1d"``, ``"1w"``, ``"1.5h"`` -> seconds.

Budgets, windows, TTLs, cooldowns, retention and schedules all read durations here, so a unit that works in one
place works in every place (``--since 1d`` and ``--budget 1d`` alike).
"""

from __future__ import annotations

import math
import re

from conveyor.core.errors import BadInputError

UNITS = {"": 1.0, "ms": 0.001, "s": 1.0, "sec": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0, "d": 86400.0,
         "w": 604800.0}
_PATTERN = re.compile(r"\s*(\d+(?:\.\d+)?|\.\d+)\s*(ms|sec|s|min|m|h|d|w)?\s*", re.IGNORECASE)
EXAMPLES = "30s, 10m, 2h, 1d or a number of seconds"


def parse_duration(value: object, field: str = "duration", *, allow_zero: bool = True) -> float:
    """Seconds from a number or a string with a unit; BadInputError naming ``field`` otherwise."""
    if isinstance(value, bool):
        raise BadInputError(f"Invalid duration {value!r} for {field}.", field=field, hint=f"Write {EXAMPLES}.")
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        match = _PATTERN.fullmatch(str(value))
        if match is None:
            raise BadInputError(f"Invalid duration {value!r} for {field}.", field=field, hint=f"Write {EXAMPLES}.")
        seconds = float(match.group(1)) * UNITS[(match.group(2) or "").lower()]
    if not math.isfinite(seconds) or seconds < 0 or (seconds == 0 and not allow_zero):
        bound = "positive" if not allow_zero else "zero or more"
        raise BadInputError(f"{field} must be {bound} and finite, got {value!r}.", field=field,
                            hint=f"Write {EXAMPLES}.")
    return seconds


def format_duration(seconds: float) -> str:
    """The shortest of ``90s``, ``15m``, ``2h``, ``3d`` that states ``seconds`` exactly (else seconds)."""
    for unit in ("w", "d", "h", "m"):
        size = UNITS[unit]
        if seconds >= size and float(seconds / size).is_integer():
            return f"{int(seconds / size)}{unit}"
    return f"{seconds:g}s"
