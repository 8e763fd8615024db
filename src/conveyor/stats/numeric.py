"""Drift tests for numbers: Kolmogorov-Smirnov (small windows) and normalised Wasserstein (large ones).

Both read the reference CDF from its sketch (exact at the 1001 quantiles, linear between them) and the current CDF
from the window at the same points (:func:`conveyor.stats.align.aligned`; a sketched window's own quantiles join
them, so the maximum and the integral are taken where either CDF bends).
"""

from __future__ import annotations

import numpy as np
from scipy import stats as sps

from conveyor.stats.align import aligned
from conveyor.stats.base import DriftTest, Measurement
from conveyor.stats.column import ColumnSketch
from conveyor.stats.window import Window, trapezoid

MIN_STD = 1e-3
"""Wasserstein is divided by the reference std, but never by less than this (a constant reference column)."""


class KolmogorovSmirnov(DriftTest):
    """The two-sample KS test: the largest gap between the CDFs, and its p-value for the effective sample size
    ``n_ref * n / (n_ref + n)``. Drift needs p < threshold *and* a gap of at least the effect floor."""

    name = "ks"
    kinds = ("numeric",)
    threshold = 0.05
    effect_floor = 0.1
    lower_is_drift = True

    def measure(self, reference: ColumnSketch, current: Window) -> Measurement:
        both = aligned(reference, current)
        ks = float(np.max(np.abs(both.current - both.reference)))
        n_eff = max(round(reference.n * current.n / (reference.n + current.n)), 1)
        p_value = float(sps.kstwo.sf(ks, n_eff)) if ks > 0 else 1.0
        return Measurement(p_value, ks, {"ks": ks, "ks_p_value": p_value})


class Wasserstein(DriftTest):
    """The earth mover's distance W1 between the distributions, divided by the reference's standard deviation:
    how far, in reference stds, the mass had to move. Tails beyond the reference range count exactly."""

    name = "wasserstein"
    kinds = ("numeric",)
    threshold = 0.1

    def measure(self, reference: ColumnSketch, current: Window) -> Measurement:
        both = aligned(reference, current)
        q = reference.quantiles
        assert q is not None
        inside = (both.points >= q[0]) & (both.points <= q[-1])
        gap = np.abs(both.current[inside] - both.reference[inside])
        below, above, _ = current.tails(float(q[0]), float(q[-1]))
        distance = (trapezoid(gap, both.points[inside]) + below + above) / max(float(reference.std or 0.0), MIN_STD)
        return Measurement(distance, None, {"wasserstein": distance})


KS = KolmogorovSmirnov()
WASSERSTEIN = Wasserstein()
