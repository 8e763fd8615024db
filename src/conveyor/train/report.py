"""`conveyor report RUN`: one self-contained HTML page (inline SVG and CSS, no script, no CDN) with what a reviewer
looks at: metrics, gates, the trial leaderboard, confusion matrix, ROC/PR and calibration curves or residuals,
importances, fairness by group, slices and the feature decisions."""

from __future__ import annotations

import html
from typing import Any

from conveyor.core.entities import Run

W, H, PAD = 360, 260, 40
COLORS = ("#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2", "#4d7c0f", "#be185d")

CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,sans-serif;margin:24px auto;max-width:1100px;color:#111;
padding:0 16px}
h1{font-size:22px}h2{font-size:17px;margin-top:28px;border-bottom:1px solid #ddd;padding-bottom:4px}
table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ddd;padding:3px 8px;text-align:left;font-size:13px}
th{background:#f5f5f5}.pass{color:#15803d;font-weight:600}.fail{color:#b91c1c;font-weight:600}
.charts{display:flex;flex-wrap:wrap;gap:18px}.muted{color:#666}svg text{font:11px system-ui,sans-serif}
"""


def _e(value: Any) -> str:
    return html.escape(str(value))


def _num(value: Any) -> str:
    return f"{value:.4f}" if isinstance(value, float) else _e(value if value is not None else "-")


def _table(headers: list[str], rows: list[list[Any]]) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{_num(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _frame(title: str, x_label: str, y_label: str, x_range=(0.0, 1.0), y_range=(0.0, 1.0)) -> tuple[str, Any]:
    (x0, x1), (y0, y1) = x_range, y_range
    x1 = x1 if x1 > x0 else x0 + 1
    y1 = y1 if y1 > y0 else y0 + 1

    def at(x: float, y: float) -> tuple[float, float]:
        return PAD + (x - x0) / (x1 - x0) * (W - 2 * PAD), H - PAD - (y - y0) / (y1 - y0) * (H - 2 * PAD)

    ticks = "".join(
        f'<text x="{at(x0 + (x1 - x0) * t, y0)[0]:.1f}" y="{H - PAD + 14}" text-anchor="middle">'
        f'{x0 + (x1 - x0) * t:.3g}</text>'
        f'<text x="{PAD - 4}" y="{at(x0, y0 + (y1 - y0) * t)[1] + 4:.1f}" text-anchor="end">'
        f'{y0 + (y1 - y0) * t:.3g}</text>' for t in (0, 0.5, 1))
    head = (f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" role="img" aria-label="{_e(title)}">'
            f'<text x="{W / 2}" y="16" text-anchor="middle" font-weight="600">{_e(title)}</text>'
            f'<rect x="{PAD}" y="{PAD}" width="{W - 2 * PAD}" height="{H - 2 * PAD}" fill="none" stroke="#bbb"/>'
            f'{ticks}<text x="{W / 2}" y="{H - 6}" text-anchor="middle">{_e(x_label)}</text>'
            f'<text x="12" y="{H / 2}" transform="rotate(-90 12 {H / 2})" text-anchor="middle">{_e(y_label)}</text>')
    return head, at


def _lines(title: str, series: dict[str, list[list[float]]], x_label: str, y_label: str,
           diagonal: bool = False) -> str:
    svg, at = _frame(title, x_label, y_label)
    if diagonal:
        (ax, ay), (bx, by) = at(0, 0), at(1, 1)
        svg += f'<line x1="{ax}" y1="{ay}" x2="{bx}" y2="{by}" stroke="#999" stroke-dasharray="4 3"/>'
    for i, (name, points) in enumerate(series.items()):
        color = COLORS[i % len(COLORS)]
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in (at(px, py) for px, py in points))
        svg += f'<polyline points="{path}" fill="none" stroke="{color}" stroke-width="2"/>'
        svg += f'<text x="{W - PAD - 4}" y="{PAD + 14 + 13 * i}" text-anchor="end" fill="{color}">{_e(name)}</text>'
    return svg + "</svg>"


def _calibration(bins: list[dict[str, Any]]) -> str:
    svg, at = _frame("Calibration (confidence vs accuracy)", "mean confidence", "accuracy")
    (ax, ay), (bx, by) = at(0, 0), at(1, 1)
    svg += f'<line x1="{ax}" y1="{ay}" x2="{bx}" y2="{by}" stroke="#999" stroke-dasharray="4 3"/>'
    path = " ".join(f"{x:.1f},{y:.1f}" for x, y in (at(b["confidence"], b["accuracy"]) for b in bins))
    svg += f'<polyline points="{path}" fill="none" stroke="{COLORS[0]}" stroke-width="2"/>'
    for b in bins:
        x, y = at(b["confidence"], b["accuracy"])
        svg += f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{COLORS[0]}"><title>{b["count"]} rows</title></circle>'
    return svg + "</svg>"


def _confusion(confusion: dict[str, Any]) -> str:
    labels, matrix = confusion["labels"], confusion["matrix"]
    n = len(labels)
    cell = min(48, (W - 2 * PAD) // max(n, 1))
    size = PAD * 2 + cell * n
    top = max((max(row) for row in matrix), default=1) or 1
    svg = (f'<svg xmlns="http://www.w3.org/2000/svg" width="{size + 40}" height="{size + 20}" role="img" '
           f'aria-label="Confusion matrix"><text x="{(size + 40) / 2}" y="16" text-anchor="middle" '
           f'font-weight="600">Confusion matrix (rows: true, columns: predicted)</text>')
    for i, row in enumerate(matrix):
        svg += (f'<text x="{PAD + 36}" y="{PAD + cell * i + cell / 2 + 4}" text-anchor="end">'
                f'{_e(labels[i])[:10]}</text>')
        for j, count in enumerate(row):
            shade = int(245 - 180 * count / top)
            x, y = PAD + 40 + cell * j, PAD + cell * i
            svg += (f'<rect x="{x}" y="{y}" width="{cell}" height="{cell}" fill="rgb({shade},{shade},255)" '
                    f'stroke="#fff"/><text x="{x + cell / 2}" y="{y + cell / 2 + 4}" text-anchor="middle">'
                    f'{count}</text>')
    for j, label in enumerate(labels):
        svg += (f'<text x="{PAD + 40 + cell * j + cell / 2}" y="{PAD + cell * n + 14}" text-anchor="middle">'
                f'{_e(label)[:8]}</text>')
    return svg + "</svg>"


def _scatter(title: str, points: list[list[float]], x_label: str, y_label: str) -> str:
    if not points:
        return ""
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    svg, at = _frame(title, x_label, y_label, (min(xs), max(xs)), (min(ys), max(ys)))
    if min(ys) < 0 < max(ys):
        (ax, ay), (bx, by) = at(min(xs), 0), at(max(xs), 0)
        svg += f'<line x1="{ax}" y1="{ay}" x2="{bx}" y2="{by}" stroke="#999" stroke-dasharray="4 3"/>'
    for x, y in points:
        px, py = at(x, y)
        svg += f'<circle cx="{px:.1f}" cy="{py:.1f}" r="2" fill="{COLORS[0]}" fill-opacity="0.5"/>'
    return svg + "</svg>"


def _bars(title: str, items: list[tuple[str, float]]) -> str:
    items = items[:15]
    if not items:
        return ""
    top = max(abs(v) for _, v in items) or 1.0
    height = 30 + 18 * len(items)
    label_w = 150
    svg = (f'<svg xmlns="http://www.w3.org/2000/svg" width="{W + 120}" height="{height}" role="img" '
           f'aria-label="{_e(title)}"><text x="{(W + 120) / 2}" y="16" text-anchor="middle" '
           f'font-weight="600">{_e(title)}</text>')
    for i, (name, value) in enumerate(items):
        y = 26 + 18 * i
        width = max(abs(value) / top * (W - label_w), 1)
        svg += (f'<text x="{label_w - 6}" y="{y + 11}" text-anchor="end">{_e(name)[:24]}</text>'
                f'<rect x="{label_w}" y="{y}" width="{width:.1f}" height="13" fill="{COLORS[0]}"/>'
                f'<text x="{label_w + width + 4:.1f}" y="{y + 11}">{value:.4g}</text>')
    return svg + "</svg>"


def _gates(gates: dict[str, Any] | None) -> str:
    if not gates:
        return "<p class='muted'>No quality gates configured (gates: in conveyor.yaml).</p>"
    verdict = "<span class='pass'>PASSED</span>" if gates["passed"] else "<span class='fail'>FAILED</span>"
    rows = "".join(f"<tr><td class='{'pass' if r['passed'] else 'fail'}'>{'pass' if r['passed'] else 'FAIL'}</td>"
                   f"<td>{_e(r['rule'])}</td><td>{_e(r['detail'])}</td></tr>" for r in gates["rules"])
    return f"<p>Overall: {verdict}</p><table><tr><th></th><th>rule</th><th>detail</th></tr>{rows}</table>"


def _fairness(fairness: dict[str, Any]) -> str:
    if not fairness:
        return "<p class='muted'>No sensitive columns given (data.sensitive in conveyor.yaml).</p>"
    parts = []
    for column, report in fairness.items():
        gaps = ", ".join(f"{k} {v:.4f}" for k, v in report.items() if k.endswith("difference") and v is not None)
        groups = report.get("by_group", [])
        keys = [k for k in (groups[0] if groups else {}) if k != "group"]
        parts.append(f"<h3>{_e(column)}</h3><p>{_e(gaps)}</p>"
                     + _table(["group", *keys], [[g["group"], *[g[k] for k in keys]] for g in groups]))
        if keys:
            parts.append(_bars(f"{keys[0]} by {column}", [(g["group"], g[keys[0]] or 0.0) for g in groups]))
    return "".join(parts)


def render_report(run: Run, ev: dict[str, Any]) -> str:
    sections = [f"<h1>Training report: {_e(run.name)}</h1>",
                f"<p class='muted'>run {_e(run.id)} · dataset {_e(run.dataset)} · task {_e(ev['task'])} · "
                f"metric {_e(ev['metric'])} · validation {_e(ev['validation'])} "
                f"({_num(ev['validation_score'])}) · holdout {ev['holdout_rows']} rows · model "
                f"{_e(run.tags.get('model_version', '-'))}</p>",
                "<h2>Holdout metrics</h2>", _table(["metric", "value"], sorted(ev["metrics"].items())),
                f"<p>Batch latency: {ev.get('latency_ms_per_row', 0):.4f} ms per row.</p>",
                "<h2>Quality gates</h2>", _gates(ev.get("gates"))]
    charts = []
    if "confusion" in ev:
        charts.append(_confusion(ev["confusion"]))
    curves = ev.get("curves") or {}
    if curves.get("roc"):
        charts.append(_lines("ROC curve", curves["roc"], "false positive rate", "true positive rate", True))
    if curves.get("pr"):
        charts.append(_lines("Precision-recall curve", curves["pr"], "recall", "precision"))
    if curves.get("calibration"):
        charts.append(_calibration(curves["calibration"]))
    if "residuals" in ev:
        charts.append(_scatter("Residuals (true - predicted)", ev["residuals"]["points"], "predicted", "residual"))
    sections += ["<h2>Model behaviour</h2>", f"<div class='charts'>{''.join(charts)}</div>"]
    importance = ev.get("importance") or {}
    bars = [_bars("Permutation importance (holdout)",
                  [(i["feature"], i["importance"]) for i in importance.get("permutation") or []])]
    if importance.get("shap"):
        bars.append(_bars("Mean |SHAP| (TreeSHAP)", [(i["feature"], i["mean_abs_shap"]) for i in importance["shap"]]))
    sections += ["<h2>Importance</h2>", f"<div class='charts'>{''.join(bars)}</div>",
                 "<h2>Fairness by group</h2>", _fairness(ev.get("fairness") or {})]
    if ev.get("slices"):
        groups = ev["slices"]["groups"]
        keys = sorted({k for g in groups for k in g["metrics"]})
        sections += [f"<h2>Metrics by {_e(ev['slices']['column'])}</h2>",
                     _table(["value", "rows", *keys], [[g["value"], g["rows"], *[g["metrics"].get(k) for k in keys]]
                                                       for g in groups])]
    board = ev.get("leaderboard") or []
    sections += ["<h2>Trial leaderboard</h2>",
                 _table(["trial", "family", "score", "state", "seconds", "note"],
                        [[t["trial"], t["family"], t["score"], t["state"], t["seconds"], t["note"] or ""]
                         for t in board[:40]])]
    if ev.get("ensemble"):
        members = ev["ensemble"]["members"]
        sections += ["<h2>Ensemble</h2>", _table(["trial", "family", "weight"],
                                                  [[m["trial"], m["family"], m["weight"]] for m in members])]
    sections += ["<h2>Features</h2>",
                 _table(["column", "kept", "score", "why"],
                        [[d["column"], "yes" if d["kept"] else "no", d["score"], d["why"]]
                         for d in ev.get("feature_selection") or []]),
                 _table(["column", "preprocessing"], sorted((ev.get("preprocessing") or {}).items()))]
    if ev.get("dropped_columns"):
        sections.append(_table(["dropped column", "why"], sorted(ev["dropped_columns"].items())))
    return (f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{_e(run.name)} report</title>"
            f"<style>{CSS}</style></head><body>{''.join(sections)}</body></html>")
