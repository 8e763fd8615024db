"""Numbers that are stored must be finite: NaN and infinity have no JSON form (PostgreSQL refuses them)."""

from __future__ import annotations

import math
from typing import Any

from conveyor.core.errors import BadInputError


def finite_number(key: str, value: Any) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise BadInputError(f"Metric {key!r} must be a number, got {value!r}.", field=key) from None
    if not math.isfinite(number):
        raise BadInputError(f"Metric {key!r} is {number}; metrics must be finite.", field=key,
                            hint="Log a finite value or leave the metric out.")
    return number


def finite_metrics(metrics: dict[str, Any] | None) -> dict[str, float]:
    return {key: finite_number(key, value) for key, value in (metrics or {}).items()}
