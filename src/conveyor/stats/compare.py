"""Drift of every column: a reference (stored sketches) against a current window (rows, or a stored profile).

One function, :func:`compare`, serves every verb: ``conveyor data diff`` (profile vs profile), ``conveyor
monitor`` and the agent (reference statistics vs a window of rows), ``conveyor retrain``'s drift note (the training
data's profile vs the newest rows). The policy picks one test per column (:class:`~conveyor.stats.policy.DriftPolicy`)
whose verdict counts; the scores of the other built-in tests that apply are reported beside it.

Every column gets one result shape, :class:`ColumnDrift`: ``method``, ``score``, ``threshold``, ``drifted`` and
``detail`` (every test's numbers: ``ks``, ``ks_p_value``, ``wasserstein``, ``psi``, ``bins``; ``chi2``,
``chi2_p_value``, ``effect``, ``categories``, ``jensenshannon``; and ``mean_ref``, ``mean_cur``, ``out_of_range``
for numbers, ``unseen`` and ``new_categories`` for categories). Datetime columns are skipped. A column whose values
are all null on one side is judged by method ``nulls``: it drifts when only one side is all null.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from conveyor.core.errors import BadInputError
from conveyor.stats.align import categories
from conveyor.stats.column import ColumnSketch, read_sketches
from conveyor.stats.policy import DriftPolicy
from conveyor.stats.window import RowsWindow, SketchWindow, Window

NEW_CATEGORIES_SHOWN = 20


@dataclass
class ColumnDrift:
    """The verdict for one column; ``detail`` holds every test's supporting numbers."""

    column: str
    kind: str
    method: str
    score: float
    threshold: float
    drifted: bool
    detail: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: ``kind``, ``method``, ``score``, ``threshold``, ``drifted`` and the detail's numbers."""
        return {"kind": self.kind, "method": self.method, "score": self.score, "threshold": self.threshold,
                "drifted": self.drifted, **self.detail}


@dataclass
class DriftReport:
    """Drift of every compared column; ``drift`` is true when any of them drifted."""

    columns: list[ColumnDrift]
    drift: bool
    share_drifted: float
    reference_rows: int
    current_rows: int

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready view keyed by column name."""
        return {"drift": self.drift, "share_drifted": self.share_drifted, "reference_rows": self.reference_rows,
                "current_rows": self.current_rows, "columns": {c.column: c.to_dict() for c in self.columns}}

    @property
    def drifted(self) -> list[str]:
        return [c.column for c in self.columns if c.drifted]


def column_drift(name: str, reference: ColumnSketch, current: Window, policy: DriftPolicy = DriftPolicy()
                 ) -> ColumnDrift | None:
    """The verdict for one column, or None when it has no test: a date, or a sketch of another kind."""
    kind = reference.kind
    if kind == "datetime" or (isinstance(current, SketchWindow) and (kind == "numeric") != (current.kind == "numeric")):
        return None
    if reference.n == 0 or current.n == 0:
        return _nulls(name, kind, reference_empty=reference.n == 0, current_empty=current.n == 0)
    method = policy.method(reference, current.n)
    detail: dict[str, Any] = {}
    chosen = None
    for test_name in policy.reported(kind, method):
        verdict = policy.test(test_name).score(reference, current)
        detail.update(verdict.stats)
        if test_name == method:
            chosen = verdict
    assert chosen is not None
    detail.update(_numeric_detail(reference, current) if kind == "numeric" else _category_detail(reference, current))
    return ColumnDrift(name, kind, chosen.method, chosen.score, chosen.threshold, chosen.drifted, detail)


def _numeric_detail(reference: ColumnSketch, current: Window) -> dict[str, Any]:
    assert reference.quantiles is not None
    _, _, outside = current.tails(float(reference.quantiles[0]), float(reference.quantiles[-1]))
    return {"mean_ref": reference.mean, "mean_cur": current.mean, "out_of_range": outside}


def _category_detail(reference: ColumnSketch, current: Window) -> dict[str, Any]:
    if not reference.complete:  # values outside the reference's list may just be its pooled rare ones
        return {"unseen": None, "new_categories": []}
    both = categories(reference, current)
    counts = current.counts()
    new = counts.index[~counts.index.isin(both.names)]
    return {"unseen": float(both.current[-1]) / current.n,
            "new_categories": [str(v) for v in new[:NEW_CATEGORIES_SHOWN]]}


def _nulls(name: str, kind: str, *, reference_empty: bool, current_empty: bool) -> ColumnDrift:
    return ColumnDrift(name, kind, "nulls", 1.0 if current_empty else 0.0, 1.0, reference_empty != current_empty,
                       {"reference_all_null": reference_empty, "current_all_null": current_empty})


def compare(reference: Mapping[str, Any], current: pd.DataFrame | Mapping[str, Any],
            columns: Sequence[str] | None = None, *, policy: DriftPolicy = DriftPolicy()) -> DriftReport:
    """Drift of ``current`` against ``reference``, column by column.

    ``reference`` is a stored profile or reference document (``{"rows": n, "columns": {name: sketch}}``, any
    format); ``current`` a DataFrame (rows) or another such document (compared sketch to sketch). ``columns``
    limits the comparison (default: every column of the reference); current columns the reference lacks are
    ignored. Raises :class:`BadInputError` when the window has no rows, lacks a compared column, or a named column
    is not in the reference.
    """
    sketches = read_sketches(reference)
    names = list(sketches) if columns is None else [str(c) for c in columns]
    unknown = [n for n in names if n not in sketches]
    if unknown:
        raise BadInputError(f"Not in the reference: {', '.join(unknown)}.", field=unknown[0],
                            hint=f"Reference columns: {', '.join(sketches)}.")
    if isinstance(current, pd.DataFrame):
        rows = len(current)
        by_name = {str(c): c for c in current.columns}
        available = set(by_name)
    else:
        current_sketches = read_sketches(current)
        rows = int(current.get("rows", 0))
        available = set(current_sketches)
    if rows == 0:
        raise BadInputError("The current window has no rows to compare.", field="current",
                            hint="Collect at least one row (better, hundreds) before checking drift.")
    missing = [n for n in names if n not in available]
    if missing:
        raise BadInputError(f"The current data lacks monitored column(s): {', '.join(missing)}.", field=missing[0],
                            hint="The new data must hold every input column of the model.")
    results = []
    for name in names:
        if sketches[name].kind == "datetime":
            continue
        window: Window = (RowsWindow(current[by_name[name]], sketches[name].kind, name=name)
                          if isinstance(current, pd.DataFrame) else SketchWindow(current_sketches[name]))
        result = column_drift(name, sketches[name], window, policy)
        if result is not None:
            results.append(result)
    drifted = sum(r.drifted for r in results)
    return DriftReport(results, drifted > 0, drifted / len(results) if results else 0.0,
                       int(reference.get("rows", 0)), rows)
