"""A window compared from its sketch (``data diff``) scores what the same window compared from its rows scores
(``monitor``, ``retrain``): categories exactly, numbers to the grid (KS within 1/n, Wasserstein within a few %)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.spatial import distance

from conveyor.stats import DRIFT_TESTS, ColumnSketch, RowsWindow, SketchWindow, sketch_column
from conveyor.stats.categorical import pearson

RNG = np.random.default_rng(11)
REFERENCE = pd.Series(RNG.normal(0, 1, 20_000))
CATEGORIES = pd.Series(RNG.choice(list("abcdef"), 20_000, p=[0.3, 0.25, 0.2, 0.1, 0.1, 0.05]))


def both(values: pd.Series, kind: str) -> tuple[RowsWindow, SketchWindow]:
    return RowsWindow(values, kind), SketchWindow(ColumnSketch.from_dict(sketch_column(values)))


@pytest.mark.parametrize(("n", "shift", "scale"), [(300, 0.0, 1.0), (300, 0.4, 1.0), (5000, 0.1, 1.3),
                                                   (5000, 0.0, 1.0)])
def test_numeric_scores_from_a_sketch_match_the_rows(n, shift, scale):
    current = pd.Series(np.random.default_rng(n).normal(shift, scale, n))
    reference = ColumnSketch.from_dict(sketch_column(REFERENCE))
    rows, sketch = both(current, "numeric")
    ks_rows, ks_sketch = (DRIFT_TESTS.get("ks").score(reference, w) for w in (rows, sketch))
    exact = stats.ks_2samp(REFERENCE, current).statistic
    assert ks_rows.stats["ks"] == pytest.approx(exact, abs=0.002)
    assert ks_sketch.stats["ks"] == pytest.approx(exact, abs=1 / n + 0.002)
    assert ks_sketch.drifted == ks_rows.drifted
    w_rows, w_sketch = (DRIFT_TESTS.get("wasserstein").score(reference, w) for w in (rows, sketch))
    exact_w = stats.wasserstein_distance(REFERENCE, current) / REFERENCE.std()
    assert w_rows.score == pytest.approx(exact_w, rel=0.02)
    # linear between 1001 quantiles, a sketch smooths a small window's steps (+6 % at 300 rows); windows that
    # small are judged by KS, whose sketch error stays within 1/n
    assert w_sketch.score == pytest.approx(exact_w, rel=0.1 if n < 1000 else 0.02)
    psi_rows, psi_sketch = (DRIFT_TESTS.get("psi").score(reference, w) for w in (rows, sketch))
    assert psi_sketch.score == pytest.approx(psi_rows.score, abs=0.01)


@pytest.mark.parametrize("n", [200, 5000])
def test_category_scores_from_a_sketch_are_the_rows_scores(n):
    current = pd.Series(np.random.default_rng(n).choice(list("abcdefg"), n,
                                                        p=[0.2, 0.2, 0.2, 0.1, 0.1, 0.1, 0.1]))
    reference = ColumnSketch.from_dict(sketch_column(CATEGORIES))
    rows, sketch = both(current, "categorical")
    for name in ("chi2", "jensenshannon", "psi"):
        from_rows, from_sketch = (DRIFT_TESTS.get(name).score(reference, w) for w in (rows, sketch))
        assert from_sketch.score == pytest.approx(from_rows.score, rel=1e-9, abs=1e-12), name
        assert from_sketch.drifted == from_rows.drifted
    shares = [(c == CATEGORIES).mean() for c in "abcdef"] + [0.0]
    observed = [(current == c).mean() for c in "abcdefg"]
    assert DRIFT_TESTS.get("jensenshannon").score(reference, rows).score == pytest.approx(
        distance.jensenshannon(shares, observed), abs=1e-9)


def test_tails_of_a_sketch_are_integrated_exactly():
    values = pd.Series(np.linspace(0.0, 10.0, 10_001))  # uniform: E[(2 - X)+] = 2 * 2 / 2 / 10 = 0.2
    below, above, outside = SketchWindow(ColumnSketch.from_dict(sketch_column(values))).tails(2.0, 9.0)
    assert (below, above, outside) == pytest.approx((0.2, 0.05, 0.3), abs=1e-4)
    rows = RowsWindow(values, "numeric").tails(2.0, 9.0)
    assert rows == pytest.approx((0.2, 0.05, 0.3), abs=1e-3)


def test_pearson_is_scipys_chi2_contingency():
    rng = np.random.default_rng(3)
    for k in (2, 3, 7, 40):
        table = rng.integers(1, 500, size=(2, k)).astype(float)
        expected = stats.chi2_contingency(table, correction=False)
        assert pearson(table) == pytest.approx((expected[0], expected[1]), rel=1e-10, abs=1e-300)
