"""A monitoring report people can look at: one self-contained HTML file (works offline: its stylesheet and chart
script are inlined): the reference and current distribution of every monitored column overlaid with the verdict
beside it, prediction and multivariate drift, data quality, live performance, drift scores, live metrics and resource
use over time, and the alerts. It renders through :mod:`conveyor.render` ("report/monitor.html");
:func:`history_charts` draws the same "over time" charts for the web UI."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from conveyor.core.entities import Alert, Sample
from conveyor.monitor.monitoring import MonitorReport
from conveyor.render import Chart, charts, render_page
from conveyor.stats import OTHER


def _bars(title: str, reference: list[float], current: list[float], labels: list[str]) -> Chart:
    return charts.bars(title, labels, {"reference": reference, "current": current},
                       y_label="share of rows", colors=(charts.REFERENCE, charts.CURRENT))


def _numeric_chart(title: str, profile: dict[str, Any], values: pd.Series) -> Chart | None:
    histogram = profile.get("histogram")
    if not histogram:
        return None
    edges = np.asarray(histogram["edges"], dtype=float)
    reference = np.asarray(histogram["counts"], dtype=float)
    finite = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
    finite = finite[np.isfinite(finite)]
    current, _ = np.histogram(np.clip(finite, edges[0], edges[-1]), bins=edges)
    below, above = int((finite < edges[0]).sum()), int((finite > edges[-1]).sum())
    current[0] -= below  # values outside the reference range get bars of their own, not the edge bins
    current[-1] -= above
    labels = [f"{edges[i]:.4g}..{edges[i + 1]:.4g}" for i in range(len(edges) - 1)]
    ref_share = [float(v) for v in reference / max(reference.sum(), 1)]
    cur_share = [float(v) for v in current / max(len(finite), 1)]
    if below:
        labels, ref_share, cur_share = [f"< {edges[0]:.4g}", *labels], [0.0, *ref_share], [below / len(finite),
                                                                                          *cur_share]
    if above:
        labels, ref_share, cur_share = [*labels, f"> {edges[-1]:.4g}"], [*ref_share, 0.0], [*cur_share,
                                                                                          above / len(finite)]
    return _bars(title, ref_share, cur_share, labels)


def _categorical_chart(title: str, profile: dict[str, Any], values: pd.Series) -> Chart:
    top = profile.get("top") or {}
    categories = [c for c in top if c != OTHER][:12]
    shares = values.dropna().astype(str).value_counts(normalize=True)
    labels = [*categories, OTHER]
    reference = [top.get(c, 0.0) for c in categories] + [1.0 - sum(top.get(c, 0.0) for c in categories)]
    current = [float(shares.get(c, 0.0)) for c in categories]
    current.append(max(0.0, 1.0 - sum(current)))
    return _bars(title, reference, current, labels)


def _support(detail: dict[str, Any]) -> str:
    if "effect" in detail:
        unseen = detail.get("unseen")
        return (f"effect {detail['effect']:.3f} (drift needs \u2265 0.1)"
                + (f", unseen {unseen:.1%}" if unseen is not None else ""))
    if "ks" in detail:
        return f"KS {detail['ks']:.3f}, mean {detail.get('mean_ref') or 0:.4g} \u2192 {detail.get('mean_cur') or 0:.4g}"
    return ""


def _group(series: str) -> str:
    if series in ("drift.share", "drift.prediction", "drift.multivariate_auc"):
        return "Drift over time (share of columns, prediction, domain-classifier AUC)"
    if series.startswith("drift."):
        return "Column drift scores over time (method's score)"
    if series.startswith("live."):
        return "Live metrics over time"
    if series.startswith("quality."):
        return "Data quality over time"
    if series.endswith("_bytes"):
        return "Memory and disk (bytes) over time"
    return "CPU and GPU over time"


def history_charts(samples: list[Sample]) -> list[Chart]:
    """Time-series charts of stored samples, one per kind of series (drift, column drift, live metrics, quality,
    resources); x is the sample's time."""
    groups: dict[str, dict[str, list[list[float]]]] = {}
    for sample in samples:
        group = _group(sample.series)
        name = f"{sample.subject} {sample.series}" if group.startswith(("CPU", "Memory")) else sample.series
        groups.setdefault(group, {}).setdefault(name, []).append([sample.at, sample.value])
    return [charts.line(title, dict(sorted(series.items())[:8]), time=True, y_label="value")
            for title, series in groups.items()]


def trained_on(report: MonitorReport) -> bool:
    """Whether the current data is the very dataset version the model was trained on (its reference): then the
    labels in it score rows the model has seen, which is not live performance."""
    return bool(report.reference) and report.current == report.reference


def _extras(report: MonitorReport) -> list[tuple[str, str, str]]:
    rows = []
    if report.prediction is not None:
        p = report.prediction
        rows.append(("prediction drift", f"{p.method} {p.score:.4g} (threshold {p.threshold:.4g})",
                     "drift" if p.drifted else "ok"))
    if report.multivariate and report.multivariate.get("auc") is not None:
        m = report.multivariate
        rows.append(("multivariate (domain classifier)", f"ROC AUC {m['auc']:.3f} (threshold {m['threshold']:.2f})",
                     "drift" if m["drifted"] else "ok"))
    rows += [("data quality", issue, "issue") for issue in report.quality.get("issues", [])]
    return rows


def render_html(report: MonitorReport, history: list[Sample] | None = None, alerts: list[Alert] | None = None) -> str:
    drift = report.drift
    reference_profile = report.reference_profile
    current = report.current_frame if report.current_frame is not None else pd.DataFrame()
    columns = sorted(drift.columns, key=lambda c: (not c.drifted, -c.score))
    distributions = {}
    for column in columns:
        profile = reference_profile.get("columns", {}).get(column.column, {})
        values = current[column.column] if column.column in current.columns else pd.Series(dtype=float)
        title = (f"{column.column}: {'drift' if column.drifted else 'ok'} ({column.method} {column.score:.4g}, "
                 f"threshold {column.threshold:.4g})")
        distributions[column.column] = (_numeric_chart(title, profile, values) if column.kind == "numeric"
                                        else _categorical_chart(title, profile, values))
    performance: list[tuple[str, str]] = []
    performance_chart = None
    if report.performance.get("labelled"):
        performance = [(str(k), _fmt(v)) for k, v in report.performance.items() if k not in ("timeline",
                                                                                              "change_points")]
        timeline = report.performance.get("timeline") or []
        performance_chart = charts.line("Live metric by arrival (equal-count buckets)",
                                        {"metric": [[t["at"], t["value"]] for t in timeline]}, time=True)
    return render_page("report/monitor.html", report=report, columns=columns, trained_on=trained_on(report),
                       support={c.column: _support(c.detail) for c in columns}, extras=_extras(report),
                       performance=performance, performance_chart=performance_chart,
                       distributions=distributions, history=history_charts(history or []), alerts=alerts)


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, list):
        return "[" + ", ".join(_fmt(v) for v in value) + "]"
    return str(value)
