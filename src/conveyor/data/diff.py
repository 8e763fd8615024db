"""Compare two dataset versions from their stored profiles: schema changes, row counts, per-column drift; and the
same as a self-contained HTML page with overlaid distributions (inline SVG and CSS, nothing fetched).

The drift of each column is :func:`conveyor.stats.compare` of the two profiles (no rows are read), the engine and
policy ``conveyor monitor`` and ``conveyor retrain`` use, so a version compared here gets the verdict a window of
the same rows gets there. Each column entry has the one result shape (``method``, ``score``, ``threshold``,
``drifted`` and the tests' numbers) plus ``nulls_ref``/``nulls_cur``; the older keys ``shifted``, ``mean_before``,
``mean_after``, ``nulls_before``, ``nulls_after`` and ``detail`` are kept for one release.
"""

from __future__ import annotations

import html
from typing import Any

import numpy as np

from conveyor.core.entities import DatasetVersion
from conveyor.core.errors import BadInputError
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


def _numeric_svg(before: ColumnSketch, after: ColumnSketch) -> str:
    q_a, q_b = before.quantiles, after.quantiles
    assert q_a is not None and q_b is not None
    low, high = min(q_a[0], q_b[0]), max(q_a[-1], q_b[-1])
    if high <= low:
        high = low + 1.0
    edges = np.linspace(low, high, BINS + 1)
    share_a = np.diff(cdf_from_quantiles(q_a, edges))
    share_b = np.diff(cdf_from_quantiles(q_b, edges))
    top = max(share_a.max(), share_b.max(), 1e-9)
    width, height = 420, 140
    bar = width / BINS
    parts = []
    for shares, cls in ((share_a, "a"), (share_b, "b")):
        for i, share in enumerate(shares):
            h = share / top * (height - 20)
            parts.append(f'<rect class="{cls}" x="{i * bar:.1f}" y="{height - 15 - h:.1f}" width="{bar:.1f}" '
                         f'height="{h:.1f}"><title>{edges[i]:.4g}..{edges[i + 1]:.4g}: {share:.1%}</title></rect>')
    parts.append(f'<text x="0" y="{height - 2}">{low:.4g}</text>'
                 f'<text x="{width}" y="{height - 2}" text-anchor="end">{high:.4g}</text>')
    return f'<svg viewBox="0 0 {width} {height}" width="{width}" height="{height}">{"".join(parts)}</svg>'


def _categorical_svg(before: ColumnSketch, after: ColumnSketch) -> str:
    names = sorted(set(before.shares) | set(after.shares),
                   key=lambda c: -(before.shares.get(c, 0) + after.shares.get(c, 0)))[:12]
    width, row = 420, 18
    height = row * len(names) + 4
    top = max([before.shares.get(c, 0) for c in names] + [after.shares.get(c, 0) for c in names] + [1e-9])
    parts = []
    for i, name in enumerate(names):
        y = i * row
        label = "(other)" if name == OTHER else name
        parts.append(f'<text x="0" y="{y + 13}">{html.escape(label[:18])}</text>')
        for share, cls, dy in ((before.shares.get(name, 0), "a", 2), (after.shares.get(name, 0), "b", 9)):
            parts.append(f'<rect class="{cls}" x="130" y="{y + dy}" width="{share / top * (width - 140):.1f}" '
                         f'height="7"><title>{html.escape(label)}: {share:.1%}</title></rect>')
    return f'<svg viewBox="0 0 {width} {height}" width="{width}" height="{height}">{"".join(parts)}</svg>'


CSS = """body{font:14px system-ui,sans-serif;margin:24px;color:#222}table{border-collapse:collapse}
td,th{border-bottom:1px solid #ddd;padding:4px 8px;text-align:left}.shifted{color:#b00020;font-weight:600}
.card{display:inline-block;vertical-align:top;margin:8px;padding:8px;border:1px solid #ddd;border-radius:6px}
rect.a{fill:#1f77b4;opacity:.55}rect.b{fill:#ff7f0e;opacity:.55}svg text{font-size:11px;fill:#555}
.key span{display:inline-block;width:12px;height:12px;margin:0 4px 0 12px;vertical-align:middle}"""


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"


def diff_html(diff: dict[str, Any], a: DatasetVersion, b: DatasetVersion) -> str:
    esc = html.escape
    rows = "".join(
        f'<tr><td>{esc(c["column"])}</td><td>{esc(str(c["kind"]))}</td><td>{esc(str(c["method"] or "-"))}</td>'
        f'<td>{_number(c["score"])}</td>'
        f'<td class="{"shifted" if c["drifted"] else ""}">{"drifted" if c["drifted"] else "stable"}</td>'
        f'<td>{c["nulls_ref"]} &rarr; {c["nulls_cur"]}</td></tr>' for c in diff["columns"])
    cards = []
    for c in diff["columns"]:
        if c["method"] in (None, "nulls"):
            continue
        before = ColumnSketch.from_dict(a.profile["columns"][c["column"]])
        after = ColumnSketch.from_dict(b.profile["columns"][c["column"]])
        svg = _numeric_svg(before, after) if c["kind"] == "numeric" else _categorical_svg(before, after)
        cards.append(f'<div class="card"><b>{esc(c["column"])}</b>'
                     f'{" <span class=shifted>drifted</span>" if c["drifted"] else ""}<br>{svg}</div>')
    schema = diff["schema"]
    changes = [f"added: {esc(', '.join(schema['added']))}" if schema["added"] else "",
               f"removed: {esc(', '.join(schema['removed']))}" if schema["removed"] else "",
               "type changed: " + esc(", ".join(f"{t['column']} {t['before']}&rarr;{t['after']}"
                                                for t in schema["type_changed"])) if schema["type_changed"] else ""]
    schema_text = "; ".join(p for p in changes if p) or "no schema changes"
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>Diff {esc(a.ref)} vs {esc(b.ref)}</title>
<style>{CSS}</style></head><body><h1>{esc(a.ref)} &rarr; {esc(b.ref)}</h1>
<p>Rows {a.rows} &rarr; {b.rows} ({diff['rows_change']:+d}). Schema: {schema_text}.
{len(diff['drifted'])} of {len(diff['columns'])} columns drifted.</p>
<p class="key"><span style="background:#1f77b4;opacity:.55"></span>{esc(a.ref)}
<span style="background:#ff7f0e;opacity:.55"></span>{esc(b.ref)}</p>
<table><tr><th>column</th><th>kind</th><th>test</th><th>score</th><th>verdict</th><th>nulls</th></tr>{rows}</table>
<div>{''.join(cards)}</div></body></html>"""
