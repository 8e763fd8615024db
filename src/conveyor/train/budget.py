"""Parse a time budget such as ``60s``, ``2m``, ``1h`` or a bare number of seconds."""

from __future__ import annotations

import re

from conveyor.core.errors import BadInputError

_UNITS = {"": 1.0, "s": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0}


def parse_budget(text: str | float | int) -> float:
    if isinstance(text, (int, float)):
        seconds = float(text)
    else:
        match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(s|m|min|h)?\s*", str(text))
        if not match:
            raise BadInputError(f"Invalid budget {text!r}.", field="budget",
                                hint="Write a duration such as 30s, 2m or 1h.")
        seconds = float(match.group(1)) * _UNITS[match.group(2) or ""]
    if seconds <= 0:
        raise BadInputError(f"Budget must be positive, got {text!r}.", field="budget", hint="For example 60s.")
    return seconds
