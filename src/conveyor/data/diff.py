"""Compare two dataset versions from their stored profiles: schema changes, row counts, per-column drift; and the
same as a self-contained HTML page with overlaid distributions (conveyor.render's templates and charts, inlined:
nothing fetched).

The drift of each column is :func:`conveyor.stats.compare` of the two profiles (no rows are read), the engine and
policy ``conveyor monitor`` and ``conveyor retrain`` use, so a version compared here gets the verdict a window of
the same rows gets there. Each column entry has the one result shape (``method``, ``score``, ``threshold``,
``drifted`` and the tests' numbers) plus ``nulls_ref``/``nulls_cur``; the older keys ``shifted``, ``mean_before``,
``mean_after``, ``nulls_before``, ``nulls_after`` and ``detail`` are kept for one release.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from conveyor.core.entities import DatasetVersion
from conveyor.core.errors import BadInputError
from conveyor.render import Chart, charts, render_page
from conveyor.stats import OTHER, ColumnSketch, DriftPolicy, cdf_from_quantiles, compare

BINS = 30


def diff_versions(a: DatasetVersion, b: DatasetVersion, *, policy: DriftPolicy = DriftPolicy()) -> dict[str, Any]:
    """Schema, rows and per-column drift from ``a`` (the reference) to ``b`` (the current version)."""
    for version in (a, b):
        if version.meta.get("kind") == "files":
            raise BadInputError(f"{version.ref} is a set of files; diff compares tables.", field="dataset",
                                hint="See `conveyor data log NAME` for the files that changed.")
    kinds_a = {c["name"]: c for c in a.columns}
    kinds_b = {c["name"]: c for c in b.columns}
    changed_type = [{"column": n, "before": kinds_a[n]["dtype"], "after": kinds_b[n]["dtype"]}
                    for n in kinds_a.keys() & kinds_b.keys() if kinds_a[n]["dtype"] != kinds_b[n]["dtype"]]
    common = [c["name"] for c in a.columns if c["name"] in kinds_b]
    found = {c.column: c for c in compare(a.profile, b.profile, common, policy=policy).columns}
    columns = []
    for name in common:
        before, after = a.profile["columns"].get(name, {}), b.profile["columns"].get(name, {})
        drift = found.get(name)
        shape = drift.to_dict() if drift else {"kind": before.get("kind"), "method": None, "score": None,
                                               "threshold": None, "drifted": False}
        columns.append({
            "column": name, **shape, "nulls_ref": before.get("nulls"), "nulls_cur": after.get("nulls"),
            # the keys `data diff` wrote before the one result shape, kept for one release
            "shifted": shape["drifted"], "mean_before": before.get("mean"), "mean_after": after.get("mean"),
            "nulls_before": before.get("nulls"), "nulls_after": after.get("nulls"),
            "detail": drift.detail if drift else {},
        })
    drifted = [c["column"] for c in columns if c["drifted"]]
    return {
        "a": f"{a.name}@{a.version}", "b": f"{b.name}@{b.version}",
        "rows_before": a.rows, "rows_after": b.rows, "rows_change": b.rows - a.rows,
        "schema": {"added": [n for n in kinds_b if n not in kinds_a],
                   "removed": [n for n in kinds_a if n not in kinds_b],
                   "type_changed": sorted(changed_type, key=lambda c: c["column"])},
        "columns": columns,
        "drifted": drifted,
        "shifted": drifted,  # kept for one release
    }


def _numeric_chart(title: str, a: str, b: str, before: ColumnSketch, after: ColumnSketch) -> Chart:
    q_a, q_b = before.quantiles, after.quantiles
    assert q_a is not None and q_b is not None
    low, high = min(q_a[0], q_b[0]), max(q_a[-1], q_b[-1])
    if high <= low:
        high = low + 1.0
    edges = np.linspace(low, high, BINS + 1)
    share_a = np.diff(cdf_from_quantiles(q_a, edges))
    share_b = np.diff(cdf_from_quantiles(q_b, edges))
    labels = [f"{edges[i]:.4g}..{edges[i + 1]:.4g}" for i in range(BINS)]
    return charts.bars(title, labels, {a: [float(v) for v in share_a], b: [float(v) for v in share_b]},
                       y_label="share of rows", colors=(charts.REFERENCE, charts.CURRENT))


def _categorical_chart(title: str, a: str, b: str, before: ColumnSketch, after: ColumnSketch) -> Chart:
    names = sorted(set(before.shares) | set(after.shares),
                   key=lambda c: -(before.shares.get(c, 0) + after.shares.get(c, 0)))[:12]
    labels = ["(other)" if name == OTHER else name for name in names]
    return charts.bars(title, labels, {a: [before.shares.get(n, 0.0) for n in names],
                                       b: [after.shares.get(n, 0.0) for n in names]},
                       y_label="share of rows", colors=(charts.REFERENCE, charts.CURRENT))


def diff_charts(diff: dict[str, Any], a: DatasetVersion, b: DatasetVersion) -> list[Chart]:
    """The overlaid distribution of every compared column (the page's charts; the web UI draws the same)."""
    found = []
    for c in diff["columns"]:
        if c["method"] in (None, "nulls"):
            continue
        before = ColumnSketch.from_dict(a.profile["columns"][c["column"]])
        after = ColumnSketch.from_dict(b.profile["columns"][c["column"]])
        title = f"{c['column']}{' (drifted)' if c['drifted'] else ''}"
        draw = _numeric_chart if c["kind"] == "numeric" else _categorical_chart
        found.append(draw(title, a.ref, b.ref, before, after))
    return found


def schema_text(diff: dict[str, Any]) -> str:
    schema = diff["schema"]
    changes = [f"added: {', '.join(schema['added'])}" if schema["added"] else "",
               f"removed: {', '.join(schema['removed'])}" if schema["removed"] else "",
               "type changed: " + ", ".join(f"{t['column']} {t['before']}\u2192{t['after']}"
                                            for t in schema["type_changed"]) if schema["type_changed"] else ""]
    return "; ".join(p for p in changes if p) or "no schema changes"


def diff_html(diff: dict[str, Any], a: DatasetVersion, b: DatasetVersion) -> str:
    """The diff as a self-contained page ("report/diff.html")."""
    return render_page("report/diff.html", diff=diff, a=a, b=b, schema_text=schema_text(diff),
                       charts=diff_charts(diff, a, b))
