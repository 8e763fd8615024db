"""Stored sketches of older formats, read as today's (:mod:`conveyor.stats.sketch`), so existing projects keep
working without rewriting their store.

* format 0, the data profile stored with every dataset version before the stats engine: no ``format`` key,
  ``count`` (non-null values) and ``nulls``, 101 quantiles (a 1 % grid), the top 50 categories;
* format 1, the reference statistics stored per model version (``"format": 1`` on the whole document):
  ``rows`` and ``null_share``, ``count`` of the *finite* numbers, 1001 quantiles, std with ddof 0, the top 1000
  categories and ``complete``.

Quantiles on another grid are resampled onto :data:`~conveyor.stats.sketch.LEVELS` by linear interpolation in the
level, which is the very CDF the old grid described (linear between its points), so nothing is invented: the 1 %
grid's levels are all on the 0.1 % grid and the points between them lie on the lines the old CDF already drew.
Nothing is written back; conversion happens on read.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

import numpy as np

from conveyor.stats.sketch import FORMAT, GRID_POINTS, LEVELS, OTHER


def on_grid(quantiles: Any) -> list[float] | None:
    """Quantiles of any grid resampled onto LEVELS (unchanged when they are on it already)."""
    if quantiles is None or len(quantiles) == GRID_POINTS:
        return cast("list[float] | None", quantiles)
    values = np.asarray(quantiles, dtype=np.float64)
    return [float(q) for q in np.interp(LEVELS, np.linspace(0.0, 1.0, len(values)), values)]


def format_of(stored: Mapping[str, Any]) -> int:
    """The format of one stored column sketch: 2 and later say so, 1 has ``null_share``, 0 has neither."""
    if "format" in stored:
        return int(stored["format"])
    return 1 if "null_share" in stored else 0


def upgrade_column(stored: Mapping[str, Any]) -> dict[str, Any]:
    """One stored column sketch of any format as a today's-format dict (a copy; the input is not changed)."""
    found = format_of(stored)
    column = dict(stored)
    if found == 0:
        count, nulls = int(column.get("count") or 0), int(column.get("nulls") or 0)
        column.update(rows=count + nulls, count=count, nulls=nulls,
                      null_share=nulls / (count + nulls) if count + nulls else 0.0)
        if column.get("kind") in ("categorical", "bool"):
            column["complete"] = OTHER not in (column.get("top") or {})
    elif found == 1:
        rows = int(column.get("rows") or 0)
        nulls = round(float(column.get("null_share") or 0.0) * rows)
        present = rows - nulls
        if column.get("kind") == "numeric":
            column["infinite"] = max(present - int(column.get("count") or 0), 0)  # v1 counted finite values only
        column.update(count=present, nulls=nulls)
    if column.get("kind") == "numeric":
        column["quantiles"] = on_grid(column.get("quantiles"))
    column["format"] = FORMAT
    return column
