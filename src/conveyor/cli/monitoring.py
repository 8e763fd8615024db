"""`conveyor monitor`, `conveyor alerts ...` and `conveyor agent`: watching models and healing them."""

from __future__ import annotations

import time
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

import typer

from conveyor.cli.output import JsonOption, ProjectOption, emit_json, open_project, table, when

alerts_app = typer.Typer(help="Alerts raised by the rules in conveyor.yaml: list and acknowledge.",
                         invoke_without_command=True)


def monitor(model: Annotated[str, typer.Argument(help="MODEL@ALIAS, MODEL:N or MODEL.")],
            current: Annotated[str | None, typer.Option("--current", help="NAME@VERSION to compare.")] = None,
            window: Annotated[int | None, typer.Option("--window", min=1, help="Last N logged predictions.")] = None,
            since: Annotated[str | None, typer.Option("--since", help="Predictions of the last 30m, 6h, 1d...")] = None,
            multivariate: Annotated[bool, typer.Option("--multivariate/--no-multivariate",
                                                       help="Domain-classifier check (a few seconds).")] = True,
            fail_on_drift: Annotated[bool, typer.Option("--fail-on-drift", help="Exit 1 when drift is found.")] = False,
            html: Annotated[Path | None, typer.Option("--html", "--report", help="Where to write the HTML report "
                                                      "(default .conveyor/reports/MODEL-N.html).")] = None,
            project: ProjectOption = None, json: JsonOption = False) -> None:
    """Drift, data quality, live performance and resources of a model; writes an offline HTML report."""
    from conveyor.execution.resources import gpu_status

    with open_project(project) as proj:
        report = proj.monitoring.monitor(model, current=current, window=window, since=since,
                                         multivariate=multivariate)
        history = proj.stores.monitoring.samples(report.model, limit=5000)
        serving = [s for s in proj.stores.monitoring.samples(limit=20000)
                   if s.subject in (f"serve:{report.model}", f"train:{report.model.split(':')[0]}")]
        alerts = proj.monitoring.alerts(subject=report.model, limit=50)
        path = proj.monitoring.write_report(report, html, samples=history + serving, alerts=alerts)
    gpu = gpu_status()
    resources = _latest_resources(serving)
    data = report.to_dict()
    data.update(report=str(path), alerts=[asdict(a) for a in alerts], resources=resources,
                gpu={"available": gpu["available"], "reason": gpu["reason"], "gpus": gpu["gpus"]})
    if json:
        emit_json(data)
    else:
        _print_report(report, resources, gpu, alerts, path)
    if fail_on_drift and report.drift.drift:
        from conveyor.core.errors import CheckFailedError

        drifted = [c.column for c in report.drift.columns if c.drifted]
        raise CheckFailedError(f"Drift found in {len(drifted)} column(s): {', '.join(drifted)}.", field="drift")


def _latest_resources(samples: list) -> dict[str, dict[str, float]]:
    latest: dict[str, dict[str, float]] = {}
    for sample in samples:  # oldest first: the last one wins
        latest.setdefault(sample.subject, {})[sample.series] = sample.value
    return latest


def _print_report(report, resources, gpu, alerts, path: Path) -> None:
    typer.echo(f"{report.model}: reference {report.reference} vs {report.current}")
    table("Drift by column", ["column", "method", "score", "threshold", "drifted"],
          [[c.column, c.method, c.score, c.threshold, "DRIFT" if c.drifted else "ok"] for c in report.drift.columns])
    typer.echo(f"drift: {'yes' if report.drift.drift else 'no'} ({report.drift.share_drifted:.0%} of columns drifted)")
    if report.prediction is not None:
        p = report.prediction
        typer.echo(f"prediction drift: {'yes' if p.drifted else 'no'} ({p.method} {p.score:.4g})")
    if report.multivariate and report.multivariate.get("auc") is not None:
        m = report.multivariate
        typer.echo(f"multivariate drift: {'yes' if m['drifted'] else 'no'} (domain classifier AUC {m['auc']:.3f})")
    for issue in report.quality.get("issues", []):
        typer.echo(f"data quality: {issue}")
    perf = report.performance
    if perf.get("labelled"):
        shown = [[k, v] for k, v in perf.items() if k not in ("timeline", "change_points")]
        table("Live performance", ["metric", "value"], shown)
    for subject, values in resources.items():
        rss, free = values.get("rss_bytes", 0) / 2**20, values.get("disk_free_bytes", 0) / 2**30
        typer.echo(f"resources {subject}: cpu {values.get('cpu_percent', 0):.0f}%, rss {rss:.0f} MiB, "
                   f"disk free {free:.1f} GiB")
    typer.echo(f"gpu: {', '.join(str(g['index']) for g in gpu['gpus'])}" if gpu["available"]
               else f"gpu: none ({gpu['reason']})")
    if alerts:
        table("Alerts", ["id", "rule", "value", "count", "status"],
              [[a.id[:8], a.rule, a.value, a.count, a.status] for a in alerts[:10]])
    typer.echo(f"report: {path}")


def _alert_rows(alerts: list) -> list[list[Any]]:
    return [[a.id[:8], a.rule, a.subject, a.value, a.threshold, a.count, a.status, when(a.fired_at),
             ",".join(a.notified) or "-"] for a in alerts]


@alerts_app.callback()
def alerts_list(ctx: typer.Context,
                status: Annotated[str | None, typer.Option("--status", help="open or acked.")] = None,
                project: ProjectOption = None, json: JsonOption = False) -> None:
    """List alerts, newest first."""
    if ctx.invoked_subcommand is not None:
        return
    if status not in (None, "open", "acked"):
        from conveyor.core.errors import BadInputError

        raise BadInputError(f"Unknown alert status {status!r}.", field="status", hint="Use open or acked.")
    with open_project(project) as proj:
        alerts = proj.monitoring.alerts(status=status)
    if json:
        emit_json([asdict(a) for a in alerts])
        return
    table("Alerts", ["id", "rule", "subject", "value", "threshold", "count", "status", "fired", "notified"],
          _alert_rows(alerts))


@alerts_app.command("ack")
def alerts_ack(alert_id: Annotated[str, typer.Argument(metavar="ID", help="Alert id (or a unique prefix).")],
               project: ProjectOption = None, json: JsonOption = False) -> None:
    """Acknowledge an alert: it stops counting repeats, and its rule stays quiet for its cooldown."""
    with open_project(project) as proj:
        alert = proj.monitoring.ack(alert_id)
    if json:
        emit_json(asdict(alert))
        return
    typer.echo(f"acknowledged {alert.id[:8]} ({alert.rule} on {alert.subject}) by {alert.acked_by}")


def agent(model: Annotated[str | None, typer.Argument(help="Model name (default: retrain.model).")] = None,
          once: Annotated[bool, typer.Option("--once", help="One tick, then exit (for cron and tests).")] = False,
          interval: Annotated[str, typer.Option("--interval", help="Pause between ticks, e.g. 60s or 5m.")] = "5m",
          project: ProjectOption = None, json: JsonOption = False) -> None:
    """The self-healing loop: triggers -> retrain -> gates -> champion vs challenger -> promote or keep;
    watches each promotion and rolls it back on a live regression. Each tick then runs the pipelines whose
    schedules and events are due (once across agents sharing the store)."""
    from conveyor.core.durations import parse_duration
    from conveyor.store.migrate import refuse_schema_changes  # a platform process: never migrates the store

    refuse_schema_changes()
    pause = parse_duration(interval, "interval")
    with open_project(project) as proj:
        worker = _agent(proj, model)
        while True:
            outcome = worker.run_once() if worker is not None else {"model": None}
            outcome["pipelines"] = proj.pipelines.scheduler(for_agent=True).tick()  # re-read: files may change
            if json:
                emit_json(outcome)
            else:
                _print_tick(outcome)
            if once:
                return
            time.sleep(max(pause, 1.0))


def _agent(proj: Any, model: str | None) -> Any:
    """The retraining agent; None where no model is named or configured and the project has pipelines of its
    own (then the agent only runs them)."""
    from conveyor.core.errors import BadInputError

    try:
        return proj.monitoring.agent(model)
    except BadInputError:
        if model is None and not proj.config.retrain.model and proj.pipelines.user_pipelines():
            return None
        raise


def _print_tick(outcome: dict[str, Any]) -> None:
    for item in outcome.get("pipelines", []):
        typer.echo(f"pipeline {item['pipeline']}: {item.get('trigger') or 'event'} -> run {item['run'][:12]} "
                   f"{item['status']}")
    if outcome.get("model") is None:
        if not outcome.get("pipelines"):
            typer.echo("no pipeline due")
        return
    for watch in outcome.get("watches", []):
        typer.echo(f"watch {watch.get('promoted', '')}: {watch.get('watch')} "
                   f"({watch.get('labelled', 0)} labelled; gain {watch.get('gain', 'n/a')})")
    fired = outcome.get("triggers") or {}
    for name, why in fired.items():
        typer.echo(f"trigger {name}: {why}")
    decision = outcome.get("decision")
    if decision:
        typer.echo(f"{decision.get('decision')}: {decision.get('reason', '')}")
    elif not fired:
        typer.echo(f"{outcome['model']}: no trigger fired")
