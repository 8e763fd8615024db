"""A monitoring report people can look at: one self-contained HTML file (inline SVG and CSS, no script, no CDN):
the reference and current distribution of every monitored column overlaid with the verdict beside it, prediction
and multivariate drift, data quality, live performance with its confidence interval, drift scores, live metrics
and resource use over time, and the alerts."""

from __future__ import annotations

import html
from typing import Any

import numpy as np
import pandas as pd

from conveyor.core.entities import Alert, Sample
from conveyor.monitor.monitoring import MonitorReport
from conveyor.stats import OTHER

WIDTH, HEIGHT = 360, 120
REFERENCE_COLOUR, CURRENT_COLOUR = "#8a9bb0", "#e8772e"

STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:2rem;color:#1d2733;background:#fbfbfc}
h1{font-size:1.4rem;margin-bottom:.2rem} .sub{color:#5b6776;margin-top:0}
.verdict{display:inline-block;padding:.25rem .7rem;border-radius:1rem;font-weight:600}
.drift{background:#fde2d6;color:#a33a0a} .ok{background:#dff3e4;color:#1d6b34}
table{border-collapse:collapse;margin:1rem 0} td,th{padding:.3rem .8rem;border-bottom:1px solid #e3e6ea;text-align:left}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(380px,1fr));gap:1rem}
.card{background:white;border:1px solid #e3e6ea;border-radius:.5rem;padding:.8rem}
.card h3{margin:.1rem 0 .4rem;font-size:1rem} .legend span{margin-right:1rem;font-size:.85rem}
"""


def _bars(reference: list[float], current: list[float], labels: list[str]) -> str:
    n = max(len(reference), 1)
    top = max([*reference, *current, 1e-9])
    slot = WIDTH / n
    parts = [f'<svg width="{WIDTH}" height="{HEIGHT + 18}" role="img">']
    for i, (ref, cur) in enumerate(zip(reference, current, strict=True)):
        x = i * slot
        for offset, value, colour in ((0.1, ref, REFERENCE_COLOUR), (0.5, cur, CURRENT_COLOUR)):
            h = HEIGHT * value / top
            parts.append(f'<rect x="{x + offset * slot:.1f}" y="{HEIGHT - h:.1f}" width="{slot * 0.4:.1f}" '
                         f'height="{h:.1f}" fill="{colour}"><title>{html.escape(labels[i])}: '
                         f'{value:.3f}</title></rect>')
    for i in (0, n - 1) if n > 1 else (0,):
        anchor = "start" if i == 0 else "end"
        x = 0 if i == 0 else WIDTH
        parts.append(f'<text x="{x}" y="{HEIGHT + 14}" font-size="10" text-anchor="{anchor}" fill="#5b6776">'
                     f"{html.escape(labels[i][:18])}</text>")
    parts.append("</svg>")
    return "".join(parts)


def _numeric_chart(profile: dict[str, Any], values: pd.Series) -> str:
    histogram = profile.get("histogram")
    if not histogram:
        return "<p>no reference values</p>"
    edges = np.asarray(histogram["edges"], dtype=float)
    reference = np.asarray(histogram["counts"], dtype=float)
    finite = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
    finite = finite[np.isfinite(finite)]
    current, _ = np.histogram(np.clip(finite, edges[0], edges[-1]), bins=edges)
    below, above = int((finite < edges[0]).sum()), int((finite > edges[-1]).sum())
    current[0] -= below  # values outside the reference range get bars of their own, not the edge bins
    current[-1] -= above
    labels = [f"{edges[i]:.4g}..{edges[i + 1]:.4g}" for i in range(len(edges) - 1)]
    ref_share = list(reference / max(reference.sum(), 1))
    cur_share = list(current / max(len(finite), 1))
    if below:
        labels, ref_share, cur_share = [f"< {edges[0]:.4g}", *labels], [0.0, *ref_share], [below / len(finite),
                                                                                          *cur_share]
    if above:
        labels, ref_share, cur_share = [*labels, f"> {edges[-1]:.4g}"], [*ref_share, 0.0], [*cur_share,
                                                                                          above / len(finite)]
    return _bars(ref_share, cur_share, labels)


def _categorical_chart(profile: dict[str, Any], values: pd.Series) -> str:
    top = profile.get("top") or {}
    categories = [c for c in top if c != OTHER][:12]
    shares = values.dropna().astype(str).value_counts(normalize=True)
    labels = [*categories, OTHER]
    reference = [top.get(c, 0.0) for c in categories] + [1.0 - sum(top.get(c, 0.0) for c in categories)]
    current = [float(shares.get(c, 0.0)) for c in categories]
    current.append(max(0.0, 1.0 - sum(current)))
    return _bars(reference, current, labels)


def _support(detail: dict[str, Any]) -> str:
    if "effect" in detail:
        unseen = detail.get("unseen")
        return (f"effect {detail['effect']:.3f} (drift needs &ge; 0.1)"
                + (f", unseen {unseen:.1%}" if unseen is not None else ""))
    if "ks" in detail:
        return f"KS {detail['ks']:.3f}, mean {detail.get('mean_ref') or 0:.4g} &rarr; {detail.get('mean_cur') or 0:.4g}"
    return ""


def _line_chart(title: str, series: dict[str, list[Sample]]) -> str:
    """One small multi-line chart of time series (x: time, y: value), one colour per series."""
    points = [s for values in series.values() for s in values]
    if not points:
        return ""
    t0, t1 = min(s.at for s in points), max(s.at for s in points)
    low, high = min(s.value for s in points), max(s.value for s in points)
    span_t, span_v = (t1 - t0) or 1.0, (high - low) or 1.0
    palette = ["#e8772e", "#3a6ea5", "#2e9e5b", "#a33a0a", "#7a4fb0", "#8a9bb0", "#c7a400", "#1d2733"]
    parts = [f'<div class="card"><h3>{html.escape(title)}</h3><svg width="{WIDTH}" height="{HEIGHT + 18}" role="img">']
    legend = []
    for i, (name, values) in enumerate(sorted(series.items())[: len(palette)]):
        colour = palette[i]
        xy = [(WIDTH * (s.at - t0) / span_t, HEIGHT - HEIGHT * (s.value - low) / span_v) for s in values]
        if len(xy) == 1:
            parts.append(f'<circle cx="{xy[0][0]:.1f}" cy="{xy[0][1]:.1f}" r="3" fill="{colour}"/>')
        else:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y in xy)
            parts.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="1.5"/>')
        legend.append(f'<span style="color:{colour}">&#9632; {html.escape(name)}</span>')
    parts.append(f'<text x="0" y="{HEIGHT + 14}" font-size="10" fill="#5b6776">{low:.4g} .. {high:.4g}</text>')
    parts.append(f'</svg><div class="legend">{"".join(legend)}</div></div>')
    return "".join(parts)


def _history(samples: list[Sample]) -> str:
    groups: dict[str, dict[str, list[Sample]]] = {}
    for sample in samples:
        if sample.series in ("drift.share", "drift.prediction", "drift.multivariate_auc"):
            group = "Drift over time (share of columns, prediction, domain-classifier AUC)"
        elif sample.series.startswith("drift."):
            group = "Column drift scores over time (method's score)"
        elif sample.series.startswith("live."):
            group = "Live metrics over time"
        elif sample.series.startswith("quality."):
            group = "Data quality over time"
        elif sample.series.endswith(("_bytes",)):
            group = "Memory and disk (bytes) over time"
        else:
            group = "CPU and GPU over time"
        name = f"{sample.subject} {sample.series}" if group.startswith(("CPU", "Memory")) else sample.series
        groups.setdefault(group, {}).setdefault(name, []).append(sample)
    charts = [_line_chart(title, series) for title, series in groups.items()]
    return f'<h2>Over time</h2><div class="grid">{"".join(charts)}</div>' if charts else ""


def _alerts(alerts: list[Alert]) -> str:
    if not alerts:
        return "<h2>Alerts</h2><p>none</p>"
    rows = "".join(f"<tr><td>{a.id[:8]}</td><td>{html.escape(a.rule)}</td><td>{html.escape(a.subject)}</td>"
                   f"<td>{a.value:.4g}</td><td>{a.count}</td><td>{a.status}</td><td>{html.escape(a.message)}</td>"
                   f"<td>{_deliveries(a)}</td></tr>"
                   for a in alerts)
    return ("<h2>Alerts</h2><table><tr><th>id</th><th>rule</th><th>subject</th><th>value</th><th>count</th>"
            f"<th>status</th><th>message</th><th>notified</th></tr>{rows}</table>")


def _deliveries(alert: Alert) -> str:
    done = [html.escape(name) for name in alert.notified]
    failed = [f"{html.escape(name)} failed: {html.escape(reason)}" for name, reason in alert.notify_errors.items()]
    return "<br>".join(done + failed) or "-"


def _extras(report: MonitorReport) -> str:
    parts = []
    if report.prediction is not None:
        p = report.prediction
        parts.append(f"<tr><td>prediction drift</td><td>{p.method} {p.score:.4g} (threshold {p.threshold:.4g})</td>"
                     f"<td>{'drift' if p.drifted else 'ok'}</td></tr>")
    if report.multivariate and report.multivariate.get("auc") is not None:
        m = report.multivariate
        parts.append(f"<tr><td>multivariate (domain classifier)</td><td>ROC AUC {m['auc']:.3f} (threshold "
                     f"{m['threshold']:.2f})</td><td>{'drift' if m['drifted'] else 'ok'}</td></tr>")
    for issue in report.quality.get("issues", []):
        parts.append(f"<tr><td>data quality</td><td>{html.escape(issue)}</td><td>issue</td></tr>")
    if not parts:
        return ""
    return f"<h2>Model output and data quality</h2><table>{''.join(parts)}</table>"


def render_html(report: MonitorReport, history: list[Sample] | None = None, alerts: list[Alert] | None = None) -> str:
    drift = report.drift
    reference_profile = report.reference_profile
    current = report.current_frame if report.current_frame is not None else pd.DataFrame()
    verdict = ('<span class="verdict drift">drift found</span>' if drift.drift
               else '<span class="verdict ok">no drift</span>')
    rows, cards = [], []
    for column in sorted(drift.columns, key=lambda c: (not c.drifted, -c.score)):
        badge = '<span class="verdict drift">drift</span>' if column.drifted else '<span class="verdict ok">ok</span>'
        rows.append(f"<tr><td>{html.escape(column.column)}</td><td>{column.method}</td><td>{column.score:.4g}</td>"
                    f"<td>{column.threshold:.4g}</td><td>{_support(column.detail)}</td><td>{badge}</td></tr>")
        profile = reference_profile.get("columns", {}).get(column.column, {})
        values = current[column.column] if column.column in current.columns else pd.Series(dtype=float)
        chart = (_numeric_chart(profile, values) if column.kind == "numeric"
                 else _categorical_chart(profile, values))
        cards.append(f'<div class="card"><h3>{html.escape(column.column)} {badge}</h3>{chart}'
                     f'<div class="legend"><span style="color:{REFERENCE_COLOUR}">&#9632; reference</span>'
                     f'<span style="color:{CURRENT_COLOUR}">&#9632; current</span>'
                     f"<span>{column.method} {column.score:.4g} (threshold {column.threshold:.4g})</span></div></div>")
    performance = ""
    if report.performance.get("labelled"):
        shown = {k: v for k, v in report.performance.items() if k not in ("timeline", "change_points")}
        items = "".join(f"<tr><td>{html.escape(str(k))}</td><td>{html.escape(_fmt(v))}</td></tr>"
                        for k, v in shown.items())
        timeline = report.performance.get("timeline") or []
        chart = _line_chart("Live metric by arrival (equal-count buckets)",
                            {"metric": [Sample(report.model, "live", t["value"], t["at"]) for t in timeline]})
        performance = f"<h2>Live performance</h2><table>{items}</table><div class=\"grid\">{chart}</div>"
    return (f"<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Drift report: "
            f"{html.escape(report.model)}</title><style>{STYLE}</style></head><body>"
            f"<h1>Drift report for {html.escape(report.model)} {verdict}</h1>"
            f'<p class="sub">reference {html.escape(report.reference)} ({drift.reference_rows} rows) vs '
            f"{html.escape(report.current)} ({drift.current_rows} rows); {drift.share_drifted:.0%} of "
            f"{len(drift.columns)} columns drifted</p>"
            f"<table><tr><th>column</th><th>method</th><th>score</th><th>threshold</th><th>supporting</th><th></th></tr>"
            f"{''.join(rows)}</table>{_extras(report)}{performance}<h2>Distributions</h2>"
            f"<div class=\"grid\">{''.join(cards)}</div>{_history(history or [])}"
            f"{_alerts(alerts) if alerts is not None else ''}</body></html>")


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, list):
        return "[" + ", ".join(_fmt(v) for v in value) + "]"
    return str(value)
