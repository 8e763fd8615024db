"""Drift and data quality of a current window against stored reference statistics (:mod:`.reference`).

Every score is computed for every column and reported; the *verdict* uses one method chosen by column type and
window size (``method="auto"``), because a p-value test on a large sample flags shifts too small to matter:

=================  ==============================  ====================================================
column             window < 1000 rows              window >= 1000 rows
=================  ==============================  ====================================================
numeric            KS test, p < 0.05 and           normalised Wasserstein (W1 / reference std) >= 0.1
                   KS statistic >= 0.1
categorical/bool   chi-square, p < 0.05 and        Jensen-Shannon distance (natural log) >= 0.1, once the
                   effect (Cramér's V-like) >= 0.1  window also holds >= 50 rows per reference category
=================  ==============================  ====================================================

The effect floors keep p-value tests from flagging tiny shifts (with 13 columns at p < 0.05 alone, half of all
clean windows would show a "drifted" column). The rows-per-category rule exists because Jensen-Shannon is biased
upwards on sparse counts: 1000 rows over 100 categories score about 0.12 with no drift at all (flights' ``dest``),
so such a window is judged by chi-square with its effect size instead.

PSI (10 reference-decile bins for numeric columns, categories for the others; drift at >= 0.2) is always
reported and can be chosen instead (``method="psi"``), as can ``"ks"``, ``"wasserstein"``, ``"chi2"`` and
``"jensenshannon"``. The numeric scores come from one ``searchsorted`` of the window into the 1001 stored
reference quantiles: the reference CDF is exact at those points and linear between them, so KS is exact to
0.1 % and Wasserstein is integrated on that grid (tails beyond the reference range exactly).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import stats as sps

from conveyor.core.errors import BadInputError
from conveyor.data.profile import OTHER, category_counts
from conveyor.monitor.drift import ColumnDrift, DriftReport, _chi2_drift
from conveyor.monitor.reference import LEVELS

SMALL_WINDOW = 1000
THRESHOLDS = {"ks": 0.05, "wasserstein": 0.1, "psi": 0.2, "chi2": 0.05, "jensenshannon": 0.1}
KS_EFFECT = 0.1
ROWS_PER_CATEGORY = 50
NUMERIC_METHODS = ("auto", "ks", "wasserstein", "psi")
CATEGORICAL_METHODS = ("auto", "chi2", "jensenshannon", "psi")
PSI_EPSILON = 1e-4
MISSING_RISE = 0.05
OUT_OF_RANGE = 0.01
UNSEEN = 0.01


def numeric_scores(sketch: dict[str, Any], x: np.ndarray) -> dict[str, float]:
    """KS (+ p-value), normalised Wasserstein and PSI of finite values ``x`` against a numeric sketch."""
    q = np.asarray(sketch["quantiles"], dtype=np.float64)
    n = len(x)
    ref_cdf = LEVELS[np.searchsorted(q, q, side="right") - 1]  # right-continuous at tied quantiles
    counts = np.bincount(np.searchsorted(q, x, side="left"), minlength=len(q) + 1)
    cur_cdf = np.cumsum(counts)[: len(q)] / n  # share of x <= q_i
    gap = np.abs(cur_cdf - ref_cdf)
    ks = float(gap.max())
    n_eff = max(round(sketch["count"] * n / (sketch["count"] + n)), 1)
    p_value = float(sps.kstwo.sf(ks, n_eff)) if ks > 0 else 1.0
    inside = float(np.sum(np.diff(q) * (gap[:-1] + gap[1:]) / 2))
    below = float(np.sum(q[0] - x[x < q[0]])) / n
    above = float(np.sum(x[x > q[-1]] - q[-1])) / n
    wasserstein = (inside + below + above) / max(float(sketch.get("std") or 0.0), 1e-3)
    deciles = np.arange(100, 1000, 100)
    inner = np.unique(q[deciles], return_index=True)[1]
    expected = np.diff(np.concatenate(([0.0], ref_cdf[deciles][inner], [1.0])))
    actual = np.diff(np.concatenate(([0.0], cur_cdf[deciles][inner], [1.0])))
    expected, actual = np.maximum(expected, PSI_EPSILON), np.maximum(actual, PSI_EPSILON)
    psi = float(np.sum((actual - expected) * np.log(actual / expected)))
    out_of_range = float(np.count_nonzero(x < q[0]) + np.count_nonzero(x > q[-1])) / n
    return {"ks": ks, "ks_p_value": p_value, "wasserstein": wasserstein, "psi": psi, "out_of_range": out_of_range,
            "mean_ref": sketch.get("mean"), "mean_cur": float(np.mean(x))}


def categorical_scores(sketch: dict[str, Any], counts: pd.Series) -> dict[str, float]:
    """Jensen-Shannon distance and PSI over the reference categories (unseen values pooled), unseen share."""
    top = sketch.get("top") or {}
    known = [k for k in top if k != OTHER]
    n = float(counts.sum())
    current = counts.reindex(known, fill_value=0).to_numpy(dtype=np.float64)
    current = np.append(current, n - current.sum()) / n
    reference = np.append([top[k] for k in known], top.get(OTHER, 0.0))
    middle = (reference + current) / 2
    with np.errstate(divide="ignore", invalid="ignore"):
        kl_ref = np.where(reference > 0, reference * np.log(reference / middle), 0.0).sum()
        kl_cur = np.where(current > 0, current * np.log(current / middle), 0.0).sum()
    js = float(np.sqrt(max((kl_ref + kl_cur) / 2, 0.0)))
    e, a = np.maximum(reference, PSI_EPSILON), np.maximum(current, PSI_EPSILON)
    psi = float(np.sum((a - e) * np.log(a / e)))
    unseen = float(current[-1]) if sketch.get("complete") else None
    return {"jensenshannon": js, "psi": psi, "unseen": unseen}


def _pick(kind: str, method: str, n: int, categories: int = 0) -> str:
    if method != "auto":
        return method
    if kind == "numeric":
        return "ks" if n < SMALL_WINDOW else "wasserstein"
    return "chi2" if n < max(SMALL_WINDOW, ROWS_PER_CATEGORY * categories) else "jensenshannon"


def column_drift(name: str, sketch: dict[str, Any], series: pd.Series, *, numeric_method: str = "auto",
                 categorical_method: str = "auto") -> ColumnDrift | None:
    kind = sketch["kind"]
    if kind == "datetime":
        return None
    if kind == "numeric":
        values = pd.to_numeric(series, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
        values = values[np.isfinite(values)]
        if len(values) == 0 or not sketch.get("quantiles"):
            return _nulls(name, kind, sketch, len(values))
        detail = numeric_scores(sketch, values)
        method = _pick(kind, numeric_method, len(values))
        score = detail["ks_p_value"] if method == "ks" else detail[method]
        drifted = (score < THRESHOLDS["ks"] and detail["ks"] >= KS_EFFECT) if method == "ks" \
            else score >= THRESHOLDS[method]
        return ColumnDrift(name, kind, method, score, THRESHOLDS[method], bool(drifted), detail)
    counts = category_counts(series)
    if counts.empty or not sketch.get("top"):
        return _nulls(name, kind, sketch, int(counts.sum()))
    detail = categorical_scores(sketch, counts)
    method = _pick(kind, categorical_method, int(counts.sum()), len(sketch["top"]))
    if method == "chi2":
        result = _chi2_drift(name, kind, sketch, counts)
        result.detail.update(detail)
        return result
    score = detail[method]
    return ColumnDrift(name, kind, method, score, THRESHOLDS[method], score >= THRESHOLDS[method], detail)


def _nulls(name: str, kind: str, sketch: dict[str, Any], current_values: int) -> ColumnDrift:
    reference_empty = not sketch.get("count")
    current_empty = current_values == 0
    return ColumnDrift(name, kind, "nulls", 1.0 if current_empty else 0.0, 1.0, reference_empty != current_empty,
                       {"reference_all_null": reference_empty, "current_all_null": current_empty})


def check_drift(reference: dict[str, Any], current: pd.DataFrame, columns: list[str] | None = None, *,
                numeric_method: str = "auto", categorical_method: str = "auto") -> DriftReport:
    """Drift of every column of ``current`` that the reference knows (or of ``columns``)."""
    if numeric_method not in NUMERIC_METHODS:
        raise BadInputError(f"Unknown numeric drift method {numeric_method!r}.", field="numeric_method",
                            hint=f"Use one of: {', '.join(NUMERIC_METHODS)}.")
    if categorical_method not in CATEGORICAL_METHODS:
        raise BadInputError(f"Unknown categorical drift method {categorical_method!r}.", field="categorical_method",
                            hint=f"Use one of: {', '.join(CATEGORICAL_METHODS)}.")
    if len(current) == 0:
        raise BadInputError("The current window has no rows to compare.", field="current",
                            hint="Collect at least one row (better, hundreds) before checking drift.")
    sketches = reference["columns"]
    names = [c for c in (columns or list(sketches)) if c in sketches]
    missing = [n for n in names if n not in current.columns]
    if missing:
        raise BadInputError(f"The current data lacks monitored column(s): {', '.join(missing)}.", field=missing[0],
                            hint="The new data must hold every input column of the model.")
    results = [r for n in names if (r := column_drift(n, sketches[n], current[n], numeric_method=numeric_method,
                                                      categorical_method=categorical_method)) is not None]
    drifted = sum(r.drifted for r in results)
    return DriftReport(results, drifted > 0, drifted / len(results) if results else 0.0,
                       int(reference.get("rows", 0)), len(current))


def prediction_drift(reference: dict[str, Any], predictions: pd.Series) -> ColumnDrift | None:
    """Drift of the model's outputs in the window against its outputs on the training sample."""
    sketch = reference.get("prediction")
    if not sketch or predictions.empty:
        return None
    return column_drift("prediction", sketch, predictions)


def data_quality(reference: dict[str, Any], current: pd.DataFrame, columns: list[str]) -> dict[str, Any]:
    """Missing-value rates, out-of-range values and unseen categories against the training data, per column."""
    report: dict[str, Any] = {"columns": {}, "issues": []}
    n = len(current)
    for name in columns:
        sketch = reference["columns"].get(name)
        if sketch is None or name not in current.columns or n == 0:
            continue
        series = current[name]
        missing = float(series.isna().mean())
        entry: dict[str, Any] = {"missing_rate": missing, "reference_missing_rate": sketch.get("null_share", 0.0)}
        if missing - entry["reference_missing_rate"] > MISSING_RISE:
            report["issues"].append(f"{name}: {missing:.1%} missing (training {entry['reference_missing_rate']:.1%})")
        if sketch["kind"] == "numeric" and sketch.get("quantiles"):
            values = pd.to_numeric(series, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
            values = values[np.isfinite(values)]
            outside = np.count_nonzero((values < sketch["min"]) | (values > sketch["max"]))
            entry["out_of_range"] = float(outside / len(values)) if len(values) else 0.0
            if entry["out_of_range"] > OUT_OF_RANGE:
                report["issues"].append(f"{name}: {entry['out_of_range']:.1%} outside the training range "
                                        f"[{sketch['min']:.4g}, {sketch['max']:.4g}]")
        elif sketch.get("top") and sketch.get("complete"):
            counts = category_counts(series)
            unseen = counts[~counts.index.isin(list(sketch["top"]))]
            entry["unseen"] = float(unseen.sum() / max(int(counts.sum()), 1))
            entry["unseen_values"] = [str(v) for v in unseen.index[:5]]
            if entry["unseen"] > UNSEEN:
                report["issues"].append(f"{name}: {entry['unseen']:.1%} unseen categories "
                                        f"(e.g. {', '.join(entry['unseen_values'][:3])})")
        report["columns"][name] = entry
    report["missing_rate_max"] = max((e["missing_rate"] for e in report["columns"].values()), default=0.0)
    report["out_of_range_max"] = max((e.get("out_of_range", 0.0) for e in report["columns"].values()), default=0.0)
    report["unseen_max"] = max((e.get("unseen", 0.0) for e in report["columns"].values()), default=0.0)
    return report
