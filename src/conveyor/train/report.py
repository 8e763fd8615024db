"""`conveyor report RUN`: one self-contained HTML page (works offline: its stylesheet and chart script are inlined)
with what a reviewer looks at: metrics, gates, the trial leaderboard, confusion matrix, ROC/PR and calibration
curves or residuals, importances, fairness by group, slices and the feature decisions. It renders through
:mod:`conveyor.render` (the templates "report/run.html" and "report/run_body.html", which the web UI's run page
includes too)."""

from __future__ import annotations

from typing import Any

from conveyor.core.entities import Run
from conveyor.render import charts, render_page


def report_parts(ev: dict[str, Any]) -> dict[str, Any]:
    """The charts and derived rows of an evaluation, as the "report/run_body.html" template wants them."""
    curves = ev.get("curves") or {}
    behaviour = []
    if curves.get("roc"):
        behaviour.append(charts.line("ROC curve", curves["roc"], x_label="false positive rate",
                                     y_label="true positive rate", diagonal=True))
    if curves.get("pr"):
        behaviour.append(charts.line("Precision-recall curve", curves["pr"], x_label="recall", y_label="precision"))
    if curves.get("calibration"):
        bins = curves["calibration"]
        behaviour.append(charts.line("Calibration (confidence vs accuracy)",
                                     {"model": [[b["confidence"], b["accuracy"]] for b in bins]},
                                     x_label="mean confidence", y_label="accuracy", diagonal=True))
    if ev.get("residuals"):
        behaviour.append(charts.scatter("Residuals (true - predicted)", ev["residuals"]["points"],
                                        x_label="predicted", y_label="residual", name="residual"))
    importance = ev.get("importance") or {}
    bars = []
    if importance.get("permutation"):
        top = importance["permutation"][:15]
        bars.append(charts.bars("Permutation importance (holdout)", [i["feature"] for i in top],
                                {"importance": [i["importance"] for i in top]}))
    if importance.get("shap"):
        top = importance["shap"][:15]
        bars.append(charts.bars("Mean |SHAP| (TreeSHAP)", [i["feature"] for i in top],
                                {"mean |SHAP|": [i["mean_abs_shap"] for i in top]}))
    fairness = {}
    for column, report in (ev.get("fairness") or {}).items():
        groups = report.get("by_group", [])
        keys = [k for k in (groups[0] if groups else {}) if k != "group"]
        if keys:
            fairness[column] = charts.bars(f"{keys[0]} by {column}", [str(g["group"]) for g in groups],
                                           {keys[0]: [g[keys[0]] or 0.0 for g in groups]})
    slices = (ev.get("slices") or {}).get("groups") or []
    return {"behaviour": behaviour, "importance": bars, "fairness": fairness,
            "slice_keys": sorted({k for g in slices for k in g["metrics"]}),
            "leaderboard": [[t["trial"], t["family"], t["score"], t["state"], t["seconds"], t["note"] or ""]
                            for t in (ev.get("leaderboard") or [])[:40]]}


def render_report(run: Run, ev: dict[str, Any]) -> str:
    return render_page("report/run.html", run=run, ev=ev, charts=report_parts(ev))
