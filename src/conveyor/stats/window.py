"""The current side of a comparison: a window of rows (exact), or a sketch of one when the rows are not at hand.

Drift tests read the current side only through this interface, so one test serves every verb:

* :class:`RowsWindow` holds the window's values (``conveyor monitor``, the agent, ``conveyor retrain``): the CDF
  at any point, tail sums and category counts are exact, and nothing is sorted: numbers are counted into the
  reference's grid with one ``searchsorted``, so a million rows cost one pass per column.
* :class:`SketchWindow` holds a stored sketch (``conveyor data diff`` compares two versions from their profiles):
  category counts are exact for the categories the sketch names (shares times count) with rarer ones pooled, and
  the CDF is the sketch's, linear between its 1001 quantiles, so a KS statistic is exact for that model and
  within 1/n of the rows' own. ``exact`` is False, so a test that needs the values themselves can refuse it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from conveyor.core.errors import BadInputError
from conveyor.stats.column import ColumnSketch
from conveyor.stats.sketch import category_counts, cdf_from_quantiles


class Window:
    """What a drift test may ask of the current side. ``n`` counts the values compared (finite numbers, non-null
    categories); ``nulls`` the rest."""

    kind: str
    n: int
    nulls: int
    exact: bool
    mean: float | None = None
    values: np.ndarray | None = None
    """The finite values of an exact numeric window, unsorted; None for a sketch."""
    _aligned: tuple[Any, Any] | None = None  # conveyor.stats.numeric.aligned's cache: (reference, Aligned)
    _categories: tuple[Any, Any] | None = None  # conveyor.stats.categorical.categories' cache

    def cdf(self, points: np.ndarray) -> np.ndarray:
        """Share of values <= each of ``points`` (sorted ascending)."""
        raise NotImplementedError

    def breakpoints(self) -> np.ndarray:
        """Points where this window's CDF bends beyond what a rows' step function would show at a reference grid:
        a sketch's own quantiles; none for rows (their CDF is exact wherever it is asked)."""
        return np.empty(0)

    def tails(self, low: float, high: float) -> tuple[float, float, float]:
        """``(E[(low - X)+], E[(X - high)+], P(X < low or X > high))``: the mass beyond a range, for Wasserstein
        tails and out-of-range shares."""
        raise NotImplementedError

    def counts(self) -> pd.Series:
        """Counts per category (string keys), most frequent first; a sketch's pooled bucket is ``__other__``."""
        raise NotImplementedError


class RowsWindow(Window):
    """The values of one column of a window; numbers are kept unsorted."""

    exact = True

    def __init__(self, series: pd.Series, kind: str, *, name: str = "values") -> None:
        self.kind = kind
        self._cache: tuple[Any, np.ndarray] | None = None
        self._tails: tuple[tuple[float, float], tuple[float, float, float]] | None = None
        if kind == "numeric":
            values = _as_numbers(series, name).to_numpy(dtype=np.float64, na_value=np.nan)
            self.values = values[np.isfinite(values)]
            self.n = len(self.values)
            self.nulls = len(series) - self.n
            self.mean = float(np.mean(self.values)) if self.n else None
            if self.mean is not None and not np.isfinite(self.mean):
                self.mean = None
        else:
            self._counts = category_counts(series)
            self.n = int(self._counts.sum())
            self.nulls = len(series) - self.n

    def cdf(self, points: np.ndarray) -> np.ndarray:
        if self._cache is not None and self._cache[0] is points:
            return self._cache[1]
        assert self.values is not None
        counts = np.bincount(np.searchsorted(points, self.values, side="left"), minlength=len(points) + 1)
        result = np.cumsum(counts)[: len(points)] / self.n
        self._cache = (points, result)
        return result

    def tails(self, low: float, high: float) -> tuple[float, float, float]:
        if self._tails is not None and self._tails[0] == (low, high):
            return self._tails[1]
        assert self.values is not None
        below, above = self.values[self.values < low], self.values[self.values > high]
        result = (float(np.sum(low - below)) / self.n, float(np.sum(above - high)) / self.n,
                  (len(below) + len(above)) / self.n)
        self._tails = ((low, high), result)
        return result

    def counts(self) -> pd.Series:
        return self._counts


class SketchWindow(Window):
    """A window known only by its sketch."""

    exact = False

    def __init__(self, sketch: ColumnSketch) -> None:
        self.sketch = sketch
        self.kind = sketch.kind
        self.n = sketch.n
        self.nulls = sketch.rows - self.n
        self.mean = sketch.mean

    def cdf(self, points: np.ndarray) -> np.ndarray:
        assert self.sketch.quantiles is not None
        return cdf_from_quantiles(self.sketch.quantiles, points)

    def breakpoints(self) -> np.ndarray:
        return self.sketch.quantiles if self.sketch.quantiles is not None else np.empty(0)

    def tails(self, low: float, high: float) -> tuple[float, float, float]:
        q = self.sketch.quantiles
        assert q is not None
        # the CDF is linear between the quantiles, so the trapezoid rule on them (plus the cut) is exact
        left = np.unique(np.append(q[q < low], low)) if q[0] < low else np.empty(0)
        right = np.unique(np.append(q[q > high], high)) if q[-1] > high else np.empty(0)
        below = trapezoid(cdf_from_quantiles(q, left), left)
        above = trapezoid(1.0 - cdf_from_quantiles(q, right), right)
        before_low = np.asarray(np.nextafter(low, -np.inf))
        outside = float(cdf_from_quantiles(q, before_low)) + 1.0 - float(cdf_from_quantiles(q, np.asarray(high)))
        return below, above, outside

    def counts(self) -> pd.Series:
        shares = self.sketch.shares
        counts = pd.Series({value: round(share * self.sketch.count) for value, share in shares.items()},
                           dtype=np.int64)
        return counts[counts > 0]


def trapezoid(y: np.ndarray, x: np.ndarray) -> float:
    """The integral of ``y`` over ``x`` by the trapezoid rule (exact for a function linear between the points)."""
    if len(x) < 2:
        return 0.0
    return float(np.sum(np.diff(x) * (y[:-1] + y[1:]) / 2.0))


def as_window(current: Any, kind: str, *, name: str = "values") -> Window:
    """``current`` as a Window: rows (a Series, array or list) or a sketch (a ColumnSketch or a stored dict)."""
    if isinstance(current, Window):
        return current
    if isinstance(current, ColumnSketch):
        return SketchWindow(current)
    if isinstance(current, Mapping):
        return SketchWindow(ColumnSketch.from_dict(current))
    series = current if isinstance(current, pd.Series) else pd.Series(current)
    return RowsWindow(series, kind, name=name)


def as_sketch(reference: Any) -> ColumnSketch:
    """``reference`` as a ColumnSketch: a sketch already, a stored dict, or values to sketch now."""
    if isinstance(reference, ColumnSketch):
        return reference
    if isinstance(reference, Mapping):
        return ColumnSketch.from_dict(reference)
    return ColumnSketch.of(reference)


def _as_numbers(series: pd.Series, name: str) -> pd.Series:
    """A numeric view of ``series``: values that do not parse count as nulls, but a column that holds values and
    no number at all changed type, which is refused rather than reported as drift."""
    if pd.api.types.is_numeric_dtype(series.dtype):
        return series
    numbers = pd.to_numeric(series, errors="coerce")
    if numbers.notna().sum() == 0 and series.notna().sum() > 0:
        raise BadInputError(f"Column {name!r} was numeric in the reference but holds {series.dtype} values now.",
                            field=name, hint="Cast it back to numbers, or leave it out with columns=[...].")
    return numbers
