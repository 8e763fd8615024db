"""`conveyor pipelines ...`: multi-step workflows (pipelines/*.py, pipelines/*.yaml and the built-in retrain)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

import typer

from conveyor.cli.output import JsonOption, ProjectOption, emit_json, open_project, table, when

app = typer.Typer(help="Pipelines: list, run (cached, resumable), runs, show a run's DAG, schedule.",
                  no_args_is_help=True)


def run_dict(run: Any) -> dict[str, Any]:
    return {"id": run.id, "pipeline": run.pipeline, "status": run.status, "trigger": run.trigger,
            "started_at": run.started_at, "ended_at": run.ended_at, "error": run.error, "outputs": run.outputs}


def _duration(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds:.2f}s"


def _print_dag(view: dict[str, Any]) -> None:
    typer.echo(f"run {view['run']}  {view['pipeline']}  {view['status']}  trigger={view['trigger']}  "
               f"cache hits {view['cache_hits']}/{view['steps']}  {_duration(view['duration'])}")
    after = {n["step"]: [e["from"] for e in view["edges"] if e["to"] == n["step"]] for n in view["nodes"]}
    table("Steps", ["step", "status", "cached", "duration", "attempts", "after", "error"],
          [[n["step"], n["status"], "yes" if n["cached"] else "no", _duration(n["duration"]), n["attempts"],
            ", ".join(after[n["step"]]) or "-", n["error"]] for n in view["nodes"]])
    if view["error"]:
        typer.echo(f"error: {view['error']}", err=True)


@app.command("list")
def list_pipelines(project: ProjectOption = None, json: JsonOption = False) -> None:
    """Every pipeline: the built-in retrain and those in pipelines/*.py and pipelines/*.yaml."""
    with open_project(project) as proj:
        found = proj.pipelines.list()
    rows = [{"name": p.name, "steps": [s.name for s in p.order()], "triggers": [t.to_dict() for t in p.triggers],
             "source": p.where} for p in found]
    if json:
        emit_json(rows)
        return
    table("Pipelines", ["pipeline", "steps", "triggers", "source"],
          [[r["name"], " -> ".join(r["steps"]),
            ", ".join(t["event"] + (f" {t['target']}" if t["target"] else "") for t in r["triggers"]) or "-",
            r["source"]] for r in rows])


@app.command("run")
def run(name: Annotated[str, typer.Argument(help="Pipeline name.")],
        executor: Annotated[str | None, typer.Option("--executor", help="inline, threads, processes, ray or a "
                                                     "plug-in's (default: the pipeline's, else inline).")] = None,
        workers: Annotated[int | None, typer.Option("--workers", min=1, help="Steps at once.")] = None,
        resume: Annotated[str | None, typer.Option("--resume", help="Continue this failed or crashed run.")] = None,
        no_cache: Annotated[bool, typer.Option("--no-cache", help="Run every step, even unchanged ones.")] = False,
        project: ProjectOption = None, json: JsonOption = False) -> None:
    """Run a pipeline: unchanged steps come from the cache; exit 1 when a step fails (then --resume RUN)."""
    with open_project(project) as proj:
        done = proj.pipelines.run(name, executor=executor, max_workers=workers, resume=resume,
                                  use_cache=not no_cache)
        view = proj.pipelines.dag(done.id)
    if json:
        emit_json(view)
    else:
        _print_dag(view)
    if done.status != "succeeded":
        raise typer.Exit(1)


@app.command("runs")
def runs(pipeline: Annotated[str | None, typer.Option("--pipeline", help="Only this pipeline's runs.")] = None,
         status: Annotated[str | None, typer.Option("--status", help="running, succeeded or failed.")] = None,
         limit: Annotated[int, typer.Option("--limit", min=1)] = 50,
         project: ProjectOption = None, json: JsonOption = False) -> None:
    """Pipeline runs, newest first."""
    with open_project(project) as proj:
        found = proj.pipelines.runs(pipeline=pipeline, status=status, limit=limit)
    if json:
        emit_json([run_dict(r) for r in found])
        return
    table("Pipeline runs", ["run", "pipeline", "status", "trigger", "started", "duration"],
          [[r.id[:12], r.pipeline, r.status, r.trigger, when(r.started_at),
            _duration(None if r.ended_at is None else r.ended_at - r.started_at)] for r in found])


@app.command("show")
def show(run_id: Annotated[str, typer.Argument(help="Run id or a unique prefix.")],
         html: Annotated[Path | None, typer.Option("--html", help="Also write an HTML page with the DAG.")] = None,
         project: ProjectOption = None, json: JsonOption = False) -> None:
    """A run's DAG: each step's status, duration, attempts and whether it came from the cache."""
    with open_project(project) as proj:
        view = proj.pipelines.dag(run_id)
        page = proj.pipelines.write_page(view["run"], html) if html is not None else None
    if json:
        emit_json({**view, **({"html": str(page)} if page else {})})
        return
    _print_dag(view)
    if page is not None:
        typer.echo(f"wrote {page}")


@app.command("schedule")
def schedule(once: Annotated[bool, typer.Option("--once", help="One tick, then exit (for cron and tests).")] = False,
             interval: Annotated[str, typer.Option("--interval", help="Pause between ticks, e.g. 30s.")] = "30s",
             project: ProjectOption = None, json: JsonOption = False) -> None:
    """Run pipelines on their triggers (cron or duration schedules, new data, alerts, promotions, webhooks);
    agents sharing a store never run the same trigger twice."""
    from conveyor.core.durations import parse_duration

    pause = parse_duration(interval, "interval")
    with open_project(project) as proj:
        scheduler = proj.pipelines.scheduler()
        while True:
            started = scheduler.tick()
            if json:
                emit_json(started)
            else:
                for item in started:
                    typer.echo(f"{item['pipeline']}: {item.get('trigger') or 'event'} -> run {item['run'][:12]} "
                               f"{item['status']}")
                if not started:
                    typer.echo("nothing due")
            if once:
                return
            time.sleep(max(pause, 1.0))


# the names for the same verbs: `conveyor pipeline status RUN`, `conveyor pipeline history`
app.command("status", help="A run's status and DAG (the same as show).")(show)
app.command("history", help="Pipeline runs, newest first (the same as runs).")(runs)
