"""Distribution shift between two stored profiles (no rows are read): what `conveyor data diff` reports.

The statistics and thresholds are monitor/drift.py's (PSI >= 0.2 over the reference deciles for numbers; a
chi-square test with p < 0.05 and a Cramér's V-like effect >= 0.1 for categories), but computed from two
*profiles*: both CDFs are rebuilt from their 101 stored quantiles, both category counts from their stored shares.
The CDF rebuilt from stored quantiles (data.profile.cdf_from_quantiles) and the thresholds here are the ones
monitor/drift.py uses too; monitor sits above data, so it imports them from here.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from conveyor.data.profile import OTHER, cdf_from_quantiles

PSI_THRESHOLD = 0.2
PSI_EPSILON = 1e-4
P_VALUE_THRESHOLD = 0.05
EFFECT_THRESHOLD = 0.1
EXPECTED_EPSILON = 1e-4



def numeric_shift(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    q_ref = np.asarray(before["quantiles"], dtype=np.float64)
    q_cur = np.asarray(after["quantiles"], dtype=np.float64)
    edges = np.concatenate(([-np.inf], np.unique(q_ref[10:100:10]), [np.inf]))
    expected = np.maximum(np.diff(cdf_from_quantiles(q_ref, edges)), PSI_EPSILON)
    actual = np.maximum(np.diff(cdf_from_quantiles(q_cur, edges)), PSI_EPSILON)
    psi = float(np.sum((actual - expected) * np.log(actual / expected)))
    points = np.concatenate((q_ref, q_cur))
    ks = float(np.max(np.abs(cdf_from_quantiles(q_ref, points) - cdf_from_quantiles(q_cur, points))))
    return {"method": "psi", "score": psi, "threshold": PSI_THRESHOLD, "shifted": psi >= PSI_THRESHOLD,
            "ks": ks, "mean_before": before.get("mean"), "mean_after": after.get("mean")}


def categorical_shift(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    from scipy import stats  # deferred: SciPy is only needed when two versions are compared

    n_ref, n_cur = int(before["count"]), int(after["count"])
    categories = [*sorted((set(before["top"]) | set(after["top"])) - {OTHER}), OTHER]
    ref = np.array([before["top"].get(c, 0.0) for c in categories]) * n_ref
    cur = np.array([after["top"].get(c, 0.0) for c in categories]) * n_cur
    keep = (ref + cur) > 0
    ref, cur = np.round(ref[keep]), np.round(cur[keep])
    if len(ref) < 2:
        chi2, p_value, effect = 0.0, 1.0, 0.0
    else:
        chi2, p_value = (float(v) for v in stats.chi2_contingency(np.vstack((ref, cur)), correction=False)[:2])
        shares = (ref / ref.sum() + EXPECTED_EPSILON) / (ref / ref.sum() + EXPECTED_EPSILON).sum()
        effect = float(np.sqrt(np.sum((cur / cur.sum() - shares) ** 2 / shares) / (len(ref) - 1)))
    unseen = sorted(set(after["top"]) - set(before["top"]) - {OTHER})
    return {"method": "chi2", "score": p_value, "threshold": P_VALUE_THRESHOLD,
            "shifted": p_value < P_VALUE_THRESHOLD and effect >= EFFECT_THRESHOLD, "chi2": chi2, "effect": effect,
            "new_categories": unseen[:20]}


def column_shift(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any] | None:
    """The shift of one column between two profiles, or None when the kind has no test (dates) or no values."""
    kind = before.get("kind")
    if kind != after.get("kind"):
        return None
    if kind == "numeric" and before.get("quantiles") and after.get("quantiles"):
        return numeric_shift(before, after)
    if kind in ("categorical", "bool") and before.get("top") and after.get("top"):
        return categorical_shift(before, after)
    return None
