"""Drift of rows against a dataset version's stored profile (what `conveyor retrain` notes): quiet on the same
distribution, loud on real shifts. The verdicts are the ones the profile-vs-rows engine gave before the one
statistics engine; the method is now the one policy's (Wasserstein / Jensen-Shannon at these sizes, KS / chi-square
on small windows), and PSI, chi-square's p-value and effect are still reported beside it."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_diabetes

from conveyor.core.errors import BadInputError
from conveyor.data.profile import profile_frame
from conveyor.stats import cdf_from_quantiles, compare

N = 50_000
CITIES = np.array(["oslo", "lima", "pune", "kyiv"])
CITY_SHARES = [0.4, 0.3, 0.2, 0.1]


def sample(seed: int, n: int = N, *, shift: float = 0.0, shares: list[float] = CITY_SHARES) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "x": rng.normal(5.0 + 2.0 * shift, 2.0, n),
            "count": rng.poisson(3.0, n),
            "zeros": np.where(rng.random(n) < 0.6, 0.0, rng.exponential(1.0, n)),
            "city": pd.Series(rng.choice(CITIES, n, p=shares), dtype="str"),
            "flag": rng.random(n) < 0.25,
        }
    )


def by_column(frame_ref: pd.DataFrame, frame_cur: pd.DataFrame) -> dict:
    return {c.column: c for c in compare(profile_frame(frame_ref), frame_cur).columns}


def test_same_distribution_does_not_drift() -> None:
    report = compare(profile_frame(sample(1)), sample(2))
    assert not report.drift
    assert report.share_drifted == 0.0
    assert [c.column for c in report.columns] == ["x", "count", "zeros", "city", "flag"]
    cols = {c.column: c for c in report.columns}
    assert [cols[n].method for n in ("x", "count", "zeros")] == ["wasserstein"] * 3
    assert [cols[n].method for n in ("city", "flag")] == ["jensenshannon"] * 2
    for name in ("x", "count", "zeros"):  # tied deciles (integers, a point mass) must not fake a shift
        assert cols[name].detail["psi"] < 0.02, name
        assert cols[name].detail["ks"] < 0.03, name
        assert cols[name].score < 0.05, name
    assert cols["count"].detail["bins"] < 10  # poisson(3) deciles tie, so bins merge
    assert cols["city"].detail["chi2_p_value"] > 0.001  # two-sample: identical distributions are not "significant"
    assert cols["city"].detail["effect"] < 0.02


def test_mean_shift_of_one_std_drifts() -> None:
    cols = by_column(sample(1), sample(2, shift=1.0))
    x = cols["x"]
    assert x.method == "wasserstein"
    assert x.drifted
    assert x.score == pytest.approx(1.0, abs=0.05)  # the mean moved by one reference std
    assert x.detail["psi"] >= 0.2
    assert x.detail["mean_cur"] - x.detail["mean_ref"] == pytest.approx(2.0, abs=0.05)
    # KS between N(0,1) and N(1,1) is 2*Phi(0.5) - 1 = 0.383.
    assert x.detail["ks"] == pytest.approx(0.383, abs=0.02)
    assert not cols["count"].drifted


def test_changed_category_shares_drift() -> None:
    report = compare(profile_frame(sample(1)), sample(2, shares=[0.1, 0.2, 0.3, 0.4]))
    city = {c.column: c for c in report.columns}["city"]
    assert city.method == "jensenshannon"
    assert city.drifted
    assert city.detail["chi2_p_value"] < 0.05
    assert city.detail["effect"] >= 0.1
    assert report.drift
    assert report.share_drifted == pytest.approx(1 / 5)


def test_tiny_shift_at_a_million_rows_is_significant_but_not_drift() -> None:
    rng = np.random.default_rng(3)
    n = 1_000_000
    reference = pd.DataFrame({"side": np.where(rng.random(n) < 0.5, "heads", "tails")})
    current = pd.DataFrame({"side": np.where(rng.random(n) < 0.505, "heads", "tails")})
    side = compare(profile_frame(reference), current).columns[0]
    assert side.detail["chi2_p_value"] < 0.05
    assert side.detail["effect"] < 0.1
    assert side.score < 0.1  # Jensen-Shannon, below its threshold
    assert not side.drifted


def test_unseen_categories_are_reported_and_drift() -> None:
    current = sample(2)
    current["city"] = np.where(np.arange(N) % 5 == 0, "quito", current["city"])
    city = by_column(sample(1), current)["city"]
    assert city.detail["unseen"] == pytest.approx(0.2)
    assert city.drifted


def test_missing_column_is_named() -> None:
    with pytest.raises(BadInputError, match="city") as caught:
        compare(profile_frame(sample(1, 100)), sample(2, 100).drop(columns=["city"]))
    assert caught.value.field == "city"
    assert "must hold every input column" in str(caught.value)


def test_empty_current_frame_is_refused() -> None:
    with pytest.raises(BadInputError, match="no rows"):
        compare(profile_frame(sample(1, 100)), sample(2, 100).iloc[:0])


def test_numeric_column_that_became_text_is_refused() -> None:
    current = sample(2, 100)
    current["x"] = "n/a"
    with pytest.raises(BadInputError, match="'x' was numeric"):
        compare(profile_frame(sample(1, 100)), current)


def test_columns_subset_extra_columns_and_datetimes() -> None:
    reference = sample(1, 1_000).assign(when=pd.date_range("2024-01-01", periods=1_000, freq="min"))
    current = sample(2, 1_000).assign(when=pd.date_range("2025-01-01", periods=1_000, freq="min"), extra=1)
    report = compare(profile_frame(reference), current)
    assert "when" not in {c.column for c in report.columns}
    assert "extra" not in {c.column for c in report.columns}
    subset = compare(profile_frame(reference), current[["x"]], columns=["x"])
    assert [c.column for c in subset.columns] == ["x"]
    with pytest.raises(BadInputError, match="nope"):
        compare(profile_frame(reference), current, columns=["nope"])


def test_all_null_current_column_drifts_by_nulls() -> None:
    current = sample(2, 1_000)
    current["x"] = np.nan
    current["city"] = pd.Series([None] * 1_000, dtype="str")
    cols = by_column(sample(1, 1_000), current)
    assert (cols["x"].method, cols["x"].drifted) == ("nulls", True)
    assert (cols["city"].method, cols["city"].drifted) == ("nulls", True)
    assert not cols["count"].drifted


def test_report_is_strict_json() -> None:
    report = compare(profile_frame(sample(1, 2_000)), sample(2, 2_000, shift=1.0))
    body = json.loads(json.dumps(report.to_dict(), allow_nan=False))
    assert body["drift"] is True
    assert body["columns"]["x"]["method"] == "wasserstein"
    assert body["columns"]["x"]["drifted"] is True
    assert {"score", "threshold", "ks", "mean_ref", "mean_cur"} <= set(body["columns"]["x"])
    assert {"effect", "unseen", "chi2"} <= set(body["columns"]["city"])
    assert (body["reference_rows"], body["current_rows"]) == (2_000, 2_000)


def test_reference_cdf_keeps_point_masses_whole() -> None:
    # 60% zeros then a uniform ramp: quantiles 0..59 are 0, so F(0) must be 0.59 (the last tied level).
    quantiles = np.concatenate((np.zeros(60), np.linspace(0.1, 4.1, 41)))
    points = np.array([-np.inf, -1.0, 0.0, 0.05, 0.1, 4.1, np.inf])
    cdf = cdf_from_quantiles(quantiles, points, np.linspace(0.0, 1.0, 101))
    np.testing.assert_allclose(cdf, [0.0, 0.0, 0.59, 0.595, 0.60, 1.0, 1.0])


def test_diabetes_split_on_bmi_drifts_but_a_random_split_does_not() -> None:
    diabetes = load_diabetes(as_frame=True).frame
    low = diabetes["bmi"] <= diabetes["bmi"].median()
    by_bmi = compare(profile_frame(diabetes[low]), diabetes[~low])
    bmi = {c.column: c for c in by_bmi.columns}["bmi"]
    assert bmi.drifted and bmi.method == "ks"  # 221 rows a side: a small window
    assert bmi.detail["ks"] == max(c.detail["ks"] for c in by_bmi.columns)

    order = np.random.default_rng(0).permutation(len(diabetes))
    half = len(diabetes) // 2
    random_split = compare(profile_frame(diabetes.iloc[order[:half]]), diabetes.iloc[order[half:]])
    assert not random_split.drift, {c.column: round(c.score, 3) for c in random_split.columns}
