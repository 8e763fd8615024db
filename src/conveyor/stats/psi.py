"""The population stability index, written once for every kind: ``sum((a - e) * ln(a / e))`` over bins, with
shares floored at 1e-4. Numbers are binned at the reference deciles (tied deciles, a point mass or small
integers, merge into one bin); categories are their own bins plus one for everything the reference does not name.
Drift at >= 0.2, the usual "significant shift" mark."""

from __future__ import annotations

import numpy as np

from conveyor.stats.align import aligned, categories
from conveyor.stats.base import DriftTest, Measurement
from conveyor.stats.column import ColumnSketch
from conveyor.stats.sketch import LEVELS
from conveyor.stats.window import Window

EPSILON = 1e-4
DECILES = np.rint(np.linspace(0.1, 0.9, 9) * (len(LEVELS) - 1)).astype(np.int64)
"""Positions of the deciles on the quantile grid."""


def psi(expected: np.ndarray, actual: np.ndarray) -> float:
    expected, actual = np.maximum(expected, EPSILON), np.maximum(actual, EPSILON)
    return float(np.sum((actual - expected) * np.log(actual / expected)))


class PopulationStability(DriftTest):
    name = "psi"
    kinds = ("numeric", "categorical", "bool")
    threshold = 0.2

    def measure(self, reference: ColumnSketch, current: Window) -> Measurement:
        if reference.kind == "numeric":
            assert reference.quantiles is not None
            both = aligned(reference, current)
            at = np.searchsorted(both.points, np.unique(reference.quantiles[DECILES]))
            expected = np.diff(np.concatenate(([0.0], both.reference[at], [1.0])))
            actual = np.diff(np.concatenate(([0.0], both.current[at], [1.0])))
            index = psi(expected, actual)
            return Measurement(index, None, {"psi": index, "bins": len(expected)})
        shared = categories(reference, current)
        index = psi(shared.reference, shared.current / shared.n)
        return Measurement(index, None, {"psi": index})


PSI = PopulationStability()
