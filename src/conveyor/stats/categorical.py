"""Drift tests for categories and booleans: chi-square (small windows) and Jensen-Shannon (large ones).

Both compare the window's counts over the reference's categories; every current value the reference does not name
(new values, and the reference's own pooled rare ones) shares one bucket, the reference's ``__other__``.
"""

from __future__ import annotations

import numpy as np
from scipy import special

from conveyor.stats.align import categories
from conveyor.stats.base import DriftTest, Measurement
from conveyor.stats.column import ColumnSketch
from conveyor.stats.window import Window

MIN_EXPECTED_COUNT = 5.0
"""Chi-square pools categories expected fewer times than this into the other bucket, where the test stays valid."""
EXPECTED_EPSILON = 1e-4


def pearson(table: np.ndarray) -> tuple[float, float]:
    """Pearson's chi-square statistic and p-value of a contingency table without empty rows or columns (what
    ``scipy.stats.chi2_contingency(table, correction=False)`` answers, without its overhead)."""
    expected = table.sum(axis=1, keepdims=True) * table.sum(axis=0, keepdims=True) / table.sum()
    statistic = float(np.sum((table - expected) ** 2 / expected))
    dof = (table.shape[0] - 1) * (table.shape[1] - 1)
    return statistic, float(special.chdtrc(dof, statistic))


class ChiSquare(DriftTest):
    """A two-sample chi-square test of the window's counts against the reference's (shares times count, since
    the reference shares are estimates too: testing against them as exact would flag identical distributions).
    Categories expected fewer than 5 times in the smaller sample are pooled. At large n a p-value flags shifts too
    small to matter, so drift also needs an effect of at least the floor: ``sqrt(chi2_fit / n / (k - 1))`` with
    ``chi2_fit`` the fit of the current shares to the (smoothed) reference shares, Cramér's V-like."""

    name = "chi2"
    kinds = ("categorical", "bool")
    threshold = 0.05
    effect_floor = 0.1
    lower_is_drift = True

    def measure(self, reference: ColumnSketch, current: Window) -> Measurement:
        both = categories(reference, current)
        n, n_ref = both.n, reference.n
        smaller = min(n, n_ref)
        known = both.reference[:-1]
        kept = known * smaller >= MIN_EXPECTED_COUNT
        observed = np.append(both.current[:-1][kept], 0.0)
        observed[-1] = n - observed.sum()
        shares = np.append(known[kept], max(1.0 - float(known[kept].sum()), 0.0))
        if observed[-1] == 0 and shares[-1] * smaller < MIN_EXPECTED_COUNT:
            observed, shares = observed[:-1], shares[:-1]  # nothing lands in a bucket nothing is expected in
        if len(observed) < 2:  # one bucket holds every value: nothing can have moved
            chi2, p_value, effect = 0.0, 1.0, 0.0
        else:
            chi2, p_value = pearson(np.vstack((np.round(shares * n_ref), observed)))
            smoothed = (shares + EXPECTED_EPSILON) / (shares + EXPECTED_EPSILON).sum()
            effect = float(np.sqrt(np.sum((observed / n - smoothed) ** 2 / smoothed) / (len(observed) - 1)))
        return Measurement(p_value, effect, {"chi2": chi2, "chi2_p_value": p_value, "effect": effect,
                                             "categories": len(observed)})


class JensenShannon(DriftTest):
    """The Jensen-Shannon distance (natural log, 0..sqrt(ln 2)) between the reference and current shares."""

    name = "jensenshannon"
    kinds = ("categorical", "bool")
    threshold = 0.1

    def measure(self, reference: ColumnSketch, current: Window) -> Measurement:
        both = categories(reference, current)
        p, q = both.reference, both.current / both.n
        middle = (p + q) / 2
        with np.errstate(divide="ignore", invalid="ignore"):
            kl_p = np.where(p > 0, p * np.log(p / middle), 0.0).sum()
            kl_q = np.where(q > 0, q * np.log(q / middle), 0.0).sum()
        distance = float(np.sqrt(max((kl_p + kl_q) / 2, 0.0)))
        return Measurement(distance, None, {"jensenshannon": distance})


CHI2 = ChiSquare()
JENSEN_SHANNON = JensenShannon()
