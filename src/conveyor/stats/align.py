"""Both sides of a comparison on shared ground, computed once per (reference, window) pair and cached on the
window, so every test that reads them (KS, Wasserstein and PSI; chi-square, Jensen-Shannon and PSI) pays once:

* :func:`aligned`: both CDFs at the reference quantiles plus any breakpoints of the window (a sketched window's own
  quantiles), so maxima and integrals are taken where either CDF bends;
* :func:`categories`: the reference shares and the window's counts over the reference's categories, with one last
  bucket for every value the reference does not name (new values, and its own pooled rare ones).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import numpy as np

from conveyor.stats.column import ColumnSketch
from conveyor.stats.sketch import OTHER, cdf_from_quantiles
from conveyor.stats.window import Window


@dataclass(frozen=True)
class Aligned:
    """Both CDFs at the same sorted points: the reference quantiles and any breakpoints of the window."""

    points: np.ndarray
    reference: np.ndarray
    current: np.ndarray


def aligned(reference: ColumnSketch, window: Window) -> Aligned:
    """Both CDFs at shared points; computed once per (reference, window) pair and reused by every test."""
    cached = window._aligned
    if cached is not None and cached[0] is reference:
        return cast(Aligned, cached[1])
    assert reference.quantiles is not None
    points = np.union1d(reference.quantiles, window.breakpoints())
    result = Aligned(points, cdf_from_quantiles(reference.quantiles, points), window.cdf(points))
    window._aligned = (reference, result)
    return result



@dataclass(frozen=True)
class Categories:
    """Reference shares and current counts over the reference's categories plus one last bucket for the rest."""

    names: list[str]
    reference: np.ndarray  # shares, summing to 1
    current: np.ndarray  # counts, summing to n
    n: int


def categories(reference: ColumnSketch, window: Window) -> Categories:
    """Both sides over the reference's categories; computed once per (reference, window) pair."""
    cached = window._categories
    if cached is not None and cached[0] is reference:
        return cast(Categories, cached[1])
    known = reference.known
    counts = window.counts()
    current = counts.reindex(known, fill_value=0).to_numpy(dtype=np.float64)
    current = np.append(current, window.n - current.sum())
    shares = np.append([reference.shares[k] for k in known], reference.shares.get(OTHER, 0.0))
    result = Categories([*known, OTHER], shares, current, window.n)
    window._categories = (reference, result)
    return result
