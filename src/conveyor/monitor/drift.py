"""Data drift: compare current rows against the stored profile of a reference dataset.

Only the current frame and the reference *profile* (:func:`conveyor.data.profile.profile_frame`) are read,
so monitoring never needs the reference rows again.

* Numeric columns use the population stability index (PSI) over the reference deciles. The reference
  CDF is rebuilt from its 101 stored quantiles by linear interpolation; tied deciles (a point mass, a
  column of small integers) merge into one bin whose expected share comes from that CDF. A column
  drifts when PSI >= 0.2, the usual "significant shift" mark. An approximate KS statistic and both means
  are reported beside it.
* Categorical and bool columns use a chi-square test over the reference categories. The p-value is a
  two-sample test (current counts against reference counts rebuilt from the stored shares and count),
  because the reference shares are estimates too: treating them as exact flags identical distributions.
  Values the reference never held share one "__other__" bucket and weigh heavily when the reference had
  none; categories expected fewer than 5 times join that bucket too, so rare values raise no false
  alarms on small batches. At large n a p-value flags shifts too small to matter (0.500 -> 0.505 is
  "significant" at a million rows), so a column drifts only when p < 0.05 *and* the effect size is at
  least 0.1. The effect is Cramér's V-like: ``sqrt(chi2_fit / n / (k - 1))`` with ``chi2_fit`` the
  goodness-of-fit statistic of the current counts against the (epsilon-smoothed) reference shares.
* Datetime columns are skipped. A column whose current or reference values are all null is judged by
  method "nulls": it drifts when only one side is all null.

The report's ``drift`` is true when any monitored column drifted; ``share_drifted`` says how many did.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from conveyor.core.errors import BadInputError
from conveyor.data.profile import (
    OTHER,
    category_counts,
    cdf_from_quantiles,
    finite_values,
    sorted_quantiles,
)
from conveyor.data.shift import (  # one set of thresholds for `data diff` and monitoring
    EFFECT_THRESHOLD,
    EXPECTED_EPSILON,
    P_VALUE_THRESHOLD,
    PSI_EPSILON,
    PSI_THRESHOLD,
)

MIN_EXPECTED_COUNT = 5.0
"""Categories expected fewer times than this are pooled into "__other__", where chi-square stays valid."""


@dataclass
class ColumnDrift:
    """The verdict for one column; ``detail`` holds the method's supporting numbers."""

    column: str
    kind: str
    method: str
    score: float
    threshold: float
    drifted: bool
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass
class DriftReport:
    """Drift of every monitored column; ``drift`` is true when any of them drifted."""

    columns: list[ColumnDrift]
    drift: bool
    share_drifted: float
    reference_rows: int
    current_rows: int

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready view keyed by column name."""
        return {
            "drift": self.drift,
            "share_drifted": self.share_drifted,
            "reference_rows": self.reference_rows,
            "current_rows": self.current_rows,
            "columns": {
                c.column: {
                    "kind": c.kind,
                    "method": c.method,
                    "score": c.score,
                    "threshold": c.threshold,
                    "drifted": c.drifted,
                    **c.detail,
                }
                for c in self.columns
            },
        }


def detect_drift(
    reference_profile: dict[str, Any], current: pd.DataFrame, columns: list[str] | None = None
) -> DriftReport:
    """Compare ``current`` with ``reference_profile`` column by column.

    ``columns`` limits the comparison (default: every profiled column); current columns that are not
    profiled are ignored. Raises :class:`BadInputError` when the current frame has no rows or lacks a
    monitored column.
    """
    profiles = reference_profile.get("columns") if isinstance(reference_profile, dict) else None
    if not isinstance(profiles, dict):
        raise BadInputError(
            "The reference profile has no 'columns' mapping.",
            field="reference_profile",
            hint="Pass the dict returned by conveyor.data.profile.profile_frame.",
        )
    if len(current) == 0:
        raise BadInputError(
            "The current frame has no rows to compare.",
            field="current",
            hint="Collect at least one row (better, hundreds) before checking drift.",
        )
    names = list(profiles) if columns is None else [str(c) for c in columns]
    unprofiled = [n for n in names if n not in profiles]
    if unprofiled:
        raise BadInputError(
            f"Not in the reference profile: {', '.join(unprofiled)}.",
            field=unprofiled[0],
            hint=f"Profiled columns: {', '.join(profiles)}.",
        )
    by_name = {str(c): c for c in current.columns}
    missing = [n for n in names if n not in by_name]
    if missing:
        raise BadInputError(
            f"The current frame lacks monitored column(s): {', '.join(missing)}.",
            field=missing[0],
            hint="The new data must hold every input column of the model.",
        )
    results = [
        _column_drift(name, profiles[name], current[by_name[name]])
        for name in names
        if profiles[name].get("kind") != "datetime"
    ]
    drifted = sum(r.drifted for r in results)
    return DriftReport(
        columns=results,
        drift=drifted > 0,
        share_drifted=drifted / len(results) if results else 0.0,
        reference_rows=int(reference_profile.get("rows", 0)),
        current_rows=len(current),
    )


def _column_drift(name: str, profile: dict[str, Any], series: pd.Series) -> ColumnDrift:
    kind = profile["kind"]
    if kind == "numeric":
        values = finite_values(_as_numeric(name, series))
        if len(values) == 0 or not profile.get("quantiles"):
            return _null_drift(name, kind, reference_empty=not profile.get("quantiles"), current=values)
        return _psi_drift(name, profile, values)
    counts = category_counts(series)
    if counts.empty or not profile.get("top"):
        return _null_drift(name, kind, reference_empty=not profile.get("top"), current=counts)
    return _chi2_drift(name, kind, profile, counts)


def _as_numeric(name: str, series: pd.Series) -> pd.Series:
    try:
        return pd.to_numeric(series)
    except (TypeError, ValueError) as error:
        raise BadInputError(
            f"Column {name!r} was numeric in the reference but holds {series.dtype} values now.",
            field=name,
            hint="Cast it back to numbers, or leave it out with columns=[...].",
        ) from error


def _null_drift(name: str, kind: str, *, reference_empty: bool, current: Any) -> ColumnDrift:
    current_empty = len(current) == 0
    return ColumnDrift(
        column=name,
        kind=kind,
        method="nulls",
        score=1.0 if current_empty else 0.0,
        threshold=1.0,
        drifted=reference_empty != current_empty,
        detail={"reference_all_null": reference_empty, "current_all_null": current_empty},
    )



def _psi_drift(name: str, profile: dict[str, Any], values: np.ndarray) -> ColumnDrift:
    quantiles = np.asarray(profile["quantiles"], dtype=np.float64)
    inner = np.unique(quantiles[10:100:10])
    edges = np.concatenate(([-np.inf], inner, [np.inf]))
    expected = np.diff(cdf_from_quantiles(quantiles, edges))
    actual = np.diff(np.searchsorted(values, edges, side="right")) / len(values)
    expected, actual = np.maximum(expected, PSI_EPSILON), np.maximum(actual, PSI_EPSILON)
    psi = float(np.sum((actual - expected) * np.log(actual / expected)))

    points = np.concatenate((quantiles, sorted_quantiles(values)))
    empirical = np.searchsorted(values, points, side="right") / len(values)
    ks = float(np.max(np.abs(cdf_from_quantiles(quantiles, points) - empirical)))
    return ColumnDrift(
        column=name,
        kind="numeric",
        method="psi",
        score=psi,
        threshold=PSI_THRESHOLD,
        drifted=psi >= PSI_THRESHOLD,
        detail={
            "ks": ks,
            "bins": len(edges) - 1,
            "mean_ref": profile.get("mean"),
            "mean_cur": float(np.mean(values)),
        },
    )


def _chi2_drift(name: str, kind: str, profile: dict[str, Any], counts: pd.Series) -> ColumnDrift:
    n, n_ref = int(counts.sum()), int(profile["count"])
    known = {value: share for value, share in profile["top"].items() if value != OTHER}
    unseen = 1.0 - counts.reindex(list(known), fill_value=0).sum() / n
    smaller = min(n, n_ref)
    kept = [value for value, share in known.items() if share * smaller >= MIN_EXPECTED_COUNT]
    observed = counts.reindex(kept, fill_value=0).to_numpy(dtype=np.float64)
    observed = np.append(observed, n - observed.sum())
    shares = np.append([known[value] for value in kept], max(1.0 - sum(known[v] for v in kept), 0.0))
    if observed[-1] == 0 and shares[-1] * smaller < MIN_EXPECTED_COUNT:
        observed, shares = observed[:-1], shares[:-1]  # nothing lands in a bucket nothing is expected in
    if len(observed) < 2:  # one bucket holds every value: nothing can have moved
        chi2, p_value, effect = 0.0, 1.0, 0.0
    else:
        # The p-value compares two samples (reference counts rebuilt from shares x count), since the
        # reference shares are estimates too; testing against them as exact would flag identical
        # distributions. The effect size measures how far the current shares are from the reference's.
        table = np.vstack((np.round(shares * n_ref), observed))
        chi2, p_value = (float(v) for v in stats.chi2_contingency(table, correction=False)[:2])
        smoothed = (shares + EXPECTED_EPSILON) / (shares + EXPECTED_EPSILON).sum()
        distance = np.sum((observed / n - smoothed) ** 2 / smoothed)
        effect = float(np.sqrt(distance / (len(observed) - 1)))
    return ColumnDrift(
        column=name,
        kind=kind,
        method="chi2",
        score=p_value,
        threshold=P_VALUE_THRESHOLD,
        drifted=p_value < P_VALUE_THRESHOLD and effect >= EFFECT_THRESHOLD,
        detail={"chi2": chi2, "effect": effect, "unseen": float(unseen), "categories": len(observed)},
    )
