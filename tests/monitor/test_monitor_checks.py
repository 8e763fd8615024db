"""Drift scores from stored reference statistics agree with the exact two-sample statistics, pick their method by
type and window size, raise no false alarm on large clean samples; prediction and multivariate drift; data
quality; live performance with confidence intervals and concept-drift detection."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.spatial import distance

from conveyor.core.entities import PredictionRecord, new_id
from conveyor.core.errors import BadInputError
from conveyor.monitor.checks import data_quality, prediction_drift
from conveyor.monitor.multivariate import domain_classifier
from conveyor.monitor.performance import live_performance, wilson
from conveyor.monitor.reference import build_reference, sample_frame
from conveyor.stats import DriftPolicy, compare


def frame(n: int, seed: int, *, shift: float = 0.0, scale: float = 1.0, shares=(0.5, 0.3, 0.2)) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"a": rng.normal(shift, scale, n), "b": rng.exponential(2.0, n),
                         "c": rng.choice(["x", "y", "z"], n, p=shares)})


@pytest.fixture(scope="module")
def reference():
    ref = frame(50_000, 0)
    return ref, build_reference(ref, ["a", "b", "c"], dataset="d@1",
                                predictions=pd.Series((ref["a"] > 0).astype(int).astype(str)))


def test_reference_is_plain_json_and_keeps_a_sample(reference):
    _, stats_ = reference
    assert json.loads(json.dumps(stats_, allow_nan=False)) == stats_
    assert len(stats_["columns"]["a"]["quantiles"]) == 1001
    assert stats_["columns"]["c"]["complete"] is True
    sample = sample_frame(stats_)
    assert len(sample) == 2000 and sample["a"].dtype == float and set(sample["c"]) == {"x", "y", "z"}


def test_scores_match_the_exact_statistics(reference):
    ref, stats_ = reference
    cur = frame(20_000, 1, shift=0.3, scale=1.3)
    report = compare(stats_, cur)
    a = {c.column: c for c in report.columns}["a"]
    exact_ks = stats.ks_2samp(ref["a"], cur["a"]).statistic
    exact_w = stats.wasserstein_distance(ref["a"], cur["a"]) / ref["a"].std(ddof=0)
    assert a.detail["ks"] == pytest.approx(exact_ks, abs=0.005)
    assert a.detail["wasserstein"] == pytest.approx(exact_w, rel=0.03)
    assert (a.method, a.drifted) == ("wasserstein", True)
    c_ref = ref["c"].value_counts(normalize=True).reindex(["x", "y", "z"]).to_numpy()
    c_cur = cur["c"].value_counts(normalize=True).reindex(["x", "y", "z"]).to_numpy()
    c = {col.column: col for col in report.columns}["c"]
    assert c.detail["jensenshannon"] == pytest.approx(distance.jensenshannon(c_ref, c_cur), abs=0.003)


def test_method_follows_window_size_and_clean_data_raises_no_alarm(reference):
    _, stats_ = reference
    small = compare(stats_, frame(300, 2))
    assert {c.column: c.method for c in small.columns} == {"a": "ks", "b": "ks", "c": "chi2"}
    # 1M rows with a negligible shift: a p-value would flag it, the effect sizes do not
    big = frame(1_000_000, 3, shift=0.01, shares=(0.505, 0.3, 0.195))
    report = compare(stats_, big)
    assert {c.column: c.method for c in report.columns} == {"a": "wasserstein", "b": "wasserstein",
                                                            "c": "jensenshannon"}
    assert not report.drift
    shifted = compare(stats_, frame(1_000_000, 4, shift=0.5, shares=(0.2, 0.3, 0.5)))
    assert {c.column: c.drifted for c in shifted.columns} == {"a": True, "b": False, "c": True}
    psi = compare(stats_, frame(5000, 5, shift=0.5), policy=DriftPolicy(numeric_method="psi"))
    assert {c.column: c.method for c in psi.columns}["a"] == "psi"
    with pytest.raises(BadInputError, match="Unknown numeric drift method"):
        compare(stats_, frame(10, 0), policy=DriftPolicy(numeric_method="magic"))
    with pytest.raises(BadInputError, match="lacks monitored column"):
        compare(stats_, frame(10, 0).drop(columns="b"))
    with pytest.raises(BadInputError, match="no rows"):
        compare(stats_, frame(0, 0))


def test_prediction_drift(reference):
    _, stats_ = reference
    same = prediction_drift(stats_, pd.Series(["1", "0"] * 500))
    assert same is not None and not same.drifted
    skewed = prediction_drift(stats_, pd.Series(["1"] * 900 + ["0"] * 100))
    assert skewed.drifted


def test_multivariate_drift_sees_what_columns_alone_do_not():
    rng = np.random.default_rng(0)
    x = rng.normal(0, 1, 20_000)
    ref = pd.DataFrame({"u": x, "v": x + rng.normal(0, 0.3, 20_000)})  # u and v move together
    stats_ = build_reference(ref, ["u", "v"], dataset="d@1")
    y = rng.normal(0, 1, 3000)
    independent = pd.DataFrame({"u": y, "v": rng.permutation(y + rng.normal(0, 0.3, 3000))})
    assert not compare(stats_, independent).drift  # each column alone looks the same
    result = domain_classifier(stats_, independent, ["u", "v"])
    assert result["drifted"] and result["auc"] > 0.7
    same = domain_classifier(stats_, ref.sample(3000, random_state=1), ["u", "v"])
    assert not same["drifted"] and same["auc"] < 0.55


def test_data_quality_against_the_training_data(reference):
    _, stats_ = reference
    cur = frame(1000, 6)
    cur.loc[:199, "a"] = np.nan
    cur.loc[200:249, "b"] = -5.0  # the exponential training data was never negative
    cur.loc[250:299, "c"] = "new"
    quality = data_quality(stats_, cur, ["a", "b", "c"])
    assert quality["columns"]["a"]["missing_rate"] == pytest.approx(0.2)
    assert quality["columns"]["b"]["out_of_range"] == pytest.approx(0.05)
    assert quality["columns"]["c"]["unseen"] == pytest.approx(0.05)
    assert quality["columns"]["c"]["unseen_values"] == ["new"]
    assert len(quality["issues"]) == 3


def _records(correct: list[bool], start: float = 1000.0) -> list[PredictionRecord]:
    return [PredictionRecord(new_id(), "m:1", {"x": 1.0}, {"prediction": 1}, at=start + i, label=1 if ok else 0,
                             labeled_at=start + i) for i, ok in enumerate(correct)]


def test_live_accuracy_with_wilson_interval_and_adwin():
    rng = np.random.default_rng(0)
    steady = list(rng.random(600) < 0.9) + list(rng.random(600) < 0.5)  # the error rate jumps half way
    result = live_performance("classification", _records(steady))
    assert result["labelled"] == 1200
    low, high = result["accuracy_ci95"]
    assert low < result["accuracy"] < high and high - low < 0.06
    assert result["concept_drift"] is True
    assert 600 <= result["change_points"][0]["index"] < 800
    assert len(result["timeline"]) == 10 and result["timeline"][0]["value"] > result["timeline"][-1]["value"]
    calm = live_performance("classification", _records(list(rng.random(1000) < 0.9)))
    assert calm["concept_drift"] is False
    assert wilson(0, 10)[0] == 0.0 and wilson(10, 10)[1] == pytest.approx(1.0)
    assert live_performance("classification", []) == {"labelled": 0}


def test_live_regression_has_bootstrap_intervals():
    rng = np.random.default_rng(1)
    records = [PredictionRecord(new_id(), "m:1", {"x": 1.0}, {"prediction": float(i)}, at=float(i),
                                label=float(i + rng.normal(0, 2)), labeled_at=float(i)) for i in range(400)]
    result = live_performance("regression", records)
    assert result["rmse"] == pytest.approx(2.0, rel=0.15)
    assert result["rmse_ci95"][0] < result["rmse"] < result["rmse_ci95"][1]
    bad = [PredictionRecord(new_id(), "m:1", {}, {"prediction": 1.0}, label="seven")]
    assert "not numbers" in live_performance("regression", bad)["error"]


def test_many_categories_on_a_small_window_raise_no_false_alarm():
    rng = np.random.default_rng(3)
    cities = [f"city{i}" for i in range(100)]
    weights = np.linspace(3, 1, 100) / np.linspace(3, 1, 100).sum()
    stats_ = build_reference(pd.DataFrame({"dest": rng.choice(cities, 20_000, p=weights)}), ["dest"], dataset="d@1")
    flags = []
    for seed in range(10):  # Jensen-Shannon alone would score about 0.12 here, above its 0.1 threshold
        window = pd.DataFrame({"dest": np.random.default_rng(seed).choice(cities, 1000, p=weights)})
        [column] = compare(stats_, window).columns
        assert column.method == "chi2" and column.detail["jensenshannon"] > 0.1
        flags.append(column.drifted)
    assert not any(flags)
    moved = pd.DataFrame({"dest": rng.choice(cities[:20], 1000)})
    assert compare(stats_, moved).columns[0].drifted
