"""DriftPolicy picks one test per column by kind and window size, applies threshold overrides, refuses names it
does not know with the choices, and resolves plug-in tests through the registry."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from conveyor.core.errors import BadInputError, NotFoundError
from conveyor.monitor.reference import build_reference
from conveyor.stats import DRIFT_TESTS, ColumnSketch, DriftPolicy, DriftTest, Measurement, compare


def frame(n: int, seed: int, shift: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"a": rng.normal(shift, 1, n), "c": rng.choice(["x", "y", "z"], n, p=[0.5, 0.3, 0.2])})


REFERENCE = build_reference(frame(20_000, 0), ["a", "c"], dataset="d@1")


def methods(report) -> dict[str, str]:
    return {c.column: c.method for c in report.columns}


def test_auto_follows_kind_and_window_size():
    assert methods(compare(REFERENCE, frame(999, 1))) == {"a": "ks", "c": "chi2"}
    assert methods(compare(REFERENCE, frame(1000, 1))) == {"a": "wasserstein", "c": "jensenshannon"}
    small = DriftPolicy(small_window=100)
    assert methods(compare(REFERENCE, frame(100, 1), policy=small)) == {"a": "wasserstein", "c": "chi2"}  # < 3 x 50
    assert methods(compare(REFERENCE, frame(150, 1), policy=small)) == {"a": "wasserstein", "c": "jensenshannon"}
    sparse = DriftPolicy(rows_per_category=400)  # 3 categories: Jensen-Shannon only from 1200 rows
    assert methods(compare(REFERENCE, frame(1100, 1), policy=sparse)) == {"a": "wasserstein", "c": "chi2"}


def test_every_applicable_score_is_reported_beside_the_verdict():
    report = compare(REFERENCE, frame(2000, 1))
    a, c = report.columns
    assert {"ks", "ks_p_value", "wasserstein", "psi", "bins", "mean_ref", "mean_cur", "out_of_range"} <= set(a.detail)
    assert {"chi2", "chi2_p_value", "effect", "jensenshannon", "psi", "unseen", "new_categories"} <= set(c.detail)
    assert a.score == a.detail["wasserstein"] and c.score == c.detail["jensenshannon"]


def test_named_methods_and_threshold_overrides():
    shifted = frame(5000, 2, shift=0.15)
    assert compare(REFERENCE, shifted).columns[0].drifted  # Wasserstein ~0.15 >= 0.1
    relaxed = compare(REFERENCE, shifted, policy=DriftPolicy(thresholds={"wasserstein": 0.3})).columns[0]
    assert (relaxed.method, relaxed.threshold, relaxed.drifted) == ("wasserstein", 0.3, False)
    by_psi = compare(REFERENCE, shifted, policy=DriftPolicy(numeric_method="psi", categorical_method="psi"))
    assert methods(by_psi) == {"a": "psi", "c": "psi"} and by_psi.columns[0].threshold == 0.2


def test_unknown_or_misapplied_methods_are_refused_with_the_choices():
    with pytest.raises(BadInputError, match="Unknown numeric drift method 'magic'") as caught:
        DriftPolicy(numeric_method="magic")
    assert caught.value.field == "monitor.numeric_method"
    assert "Use one of: auto, ks, psi, wasserstein." in str(caught.value)
    with pytest.raises(BadInputError, match="'chi2' does not apply to numeric columns"):
        DriftPolicy(numeric_method="chi2")
    with pytest.raises(NotFoundError, match="Did you mean 'wasserstein'"):
        DriftPolicy(thresholds={"wasserstien": 0.2})
    with pytest.raises(BadInputError, match="finite number"):
        DriftPolicy(thresholds={"ks": float("nan")})
    with pytest.raises(BadInputError, match="small_window"):
        DriftPolicy(small_window=0)


def test_a_policy_is_immutable():
    policy = DriftPolicy(thresholds={"ks": 0.01})
    with pytest.raises(TypeError):
        policy.thresholds["ks"] = 0.5  # type: ignore[index]


class MedianGap(DriftTest):
    name = "median_gap"
    kinds = ("numeric",)
    threshold = 0.25

    def measure(self, reference: ColumnSketch, current) -> Measurement:
        assert reference.quantiles is not None
        median = float(np.median(current.values))
        gap = abs(median - float(reference.quantiles[500])) / (reference.std or 1.0)
        return Measurement(gap, None, {"median_gap": gap})


class NeedsRows(MedianGap):
    needs_rows = True


def test_a_registered_test_is_used_by_name():
    DRIFT_TESTS.register("median_gap", NeedsRows())
    try:
        policy = DriftPolicy(numeric_method="median_gap")
        column = compare(REFERENCE, frame(3000, 3, shift=0.5), policy=policy).columns[0]
        assert (column.method, column.drifted) == ("median_gap", True)
        assert column.detail["median_gap"] == pytest.approx(0.5, abs=0.1) and "wasserstein" in column.detail
        with pytest.raises(BadInputError, match="needs the current rows"):  # a profile-vs-profile diff cannot run it
            compare(REFERENCE, build_reference(frame(3000, 3), ["a", "c"], dataset="d@2"), policy=policy)
    finally:
        DRIFT_TESTS.unregister("median_gap")


def test_the_registry_refuses_what_is_not_a_drift_test():
    DRIFT_TESTS.register_lazy("broken", "conveyor.stats.policy:AUTO")
    DRIFT_TESTS.register_lazy("renamed", "conveyor.stats.numeric:KS")
    try:
        with pytest.raises(BadInputError, match=r"not a conveyor\.stats\.DriftTest"):
            DRIFT_TESTS.get("broken")
        with pytest.raises(BadInputError, match="calls itself 'ks'"):
            DRIFT_TESTS.get("renamed")
    finally:
        DRIFT_TESTS.unregister("broken")
        DRIFT_TESTS.unregister("renamed")
