"""The loop's verbs: init, train, serve, score, monitor, retrain, demo."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from conveyor.cli.output import JsonOption, ProjectOption, console, emit_json, open_project, table
from conveyor.cli.progress import search_progress
from conveyor.cli.tls import TlsCertOption, TlsKeyOption, tls_options


def register(app: typer.Typer) -> None:
    for command in (init, train, serve, score, retrain, demo):
        app.command(command.__name__)(command)


def init(path: Annotated[Path | None, typer.Argument(help="Project folder (default: here).")] = None,
         name: Annotated[str | None, typer.Option("--name")] = None,
         project: Annotated[Path | None, typer.Option("--project", help="Project folder (the same as PATH).")]
         = None,
         environments: Annotated[bool, typer.Option("--environments", help="Add the environments dev, staging "
                                                    "and prod (prod with approval) to conveyor.yaml.")] = False,
         json: JsonOption = False) -> None:
    """Create a project: conveyor.yaml and the embedded store (.conveyor/)."""
    from conveyor.core.errors import BadInputError
    from conveyor.project import Project  # heavy imports only once a verb runs
    from conveyor.store.urls import mask

    if path is not None and project is not None and path.resolve() != project.resolve():
        raise BadInputError(f"Two project folders given: {path} and --project {project}.", field="project",
                            hint="Give the folder once, as PATH or as --project.")
    with Project.init(path or project or Path("."), name=name) as created:
        if environments and not created.config.environments.enabled:
            from conveyor.core.config.sections.environments import DEFAULT_ENVIRONMENTS

            created.configure("environments", **DEFAULT_ENVIRONMENTS)
        data = {"root": str(created.root), "name": created.config.name,
                "environments": created.config.environments.names(),
                "db": mask(created.stores.url), "artifacts": mask(created.stores.artifacts.url)}
    if json:
        emit_json(data)
        return
    typer.echo(f"initialised project {data['name']!r} in {data['root']}")


def train(dataset: Annotated[str, typer.Argument(help="NAME or NAME@VERSION.")],
          target: Annotated[str | None, typer.Option("--target", help="Column to predict.")] = None,
          task: Annotated[str | None, typer.Option("--task", help="auto, classification or regression.")] = None,
          metric: Annotated[str | None, typer.Option("--metric", help="e.g. roc_auc, accuracy, rmse.")] = None,
          budget: Annotated[str | None, typer.Option("--budget", help="Time budget, e.g. 60s or 2m.")] = None,
          trials: Annotated[int | None, typer.Option("--trials", min=1, help="Trial budget.")] = None,
          search: Annotated[str | None, typer.Option("--search", help="bayesian, random or grid.")] = None,
          model: Annotated[str | None, typer.Option("--model", help="Model name (default: dataset name).")] = None,
          seed: Annotated[int, typer.Option("--seed")] = 0,
          folds: Annotated[int | None, typer.Option("--folds", min=1, help="CV folds (1: one validation split; "
                                                    "default: by data size).")] = None,
          evaluate: Annotated[str | None, typer.Option("--evaluate", help="basic or full (also importances, when "
                                                       "the budget leaves time).")] = None,
          remote: Annotated[bool, typer.Option("--remote", help="With a server (CONVEYOR_SERVER or `conveyor "
                                               "login`): train there, as a job under its gates, instead of here.")]
          = False,
          project: ProjectOption = None, json: JsonOption = False) -> None:
    """AutoML over linear, forest, gradient-boosting, LightGBM and XGBoost pipelines; records a run (with its
    evaluation, gates and model card) and a model version. Exits 1 when a quality gate fails. The budget runs from
    the command's start to its exit (search, refit, evaluation, storing the run; each phase's seconds are stored).
    Against a server it trains here on the server's dataset version and logs the run and the model version there
    (the server's gates then decide: where it has any, the version records a failed trained_on_server gate);
    --remote trains on the server instead."""
    from conveyor.core.errors import BadInputError, CheckFailedError
    from conveyor.train.budget import process_started

    started = process_started()
    # the reference statistics stored after training need SciPy: imported now, inside the budget's view
    import conveyor.monitor.monitoring  # noqa: F401

    with open_project(project) as proj:
        seconds = proj.training.budget(budget)
        on_server = getattr(proj.training, "train_on_server", None)
        if remote and on_server is None:
            raise BadInputError("--remote trains on a conveyor server, and none is set.", field="--remote",
                                hint="Set CONVEYOR_SERVER or run `conveyor login URL`, or leave out --remote.")
        with search_progress(seconds, "training", enabled=not json and not remote) as on_trial, \
                proj.monitoring.resource_sampler(f"train:{model or dataset.split('@')[0]}"):  # resources of training
            if on_server is not None and remote:
                result = on_server(dataset, target, model_name=model, task=task, metric=metric, budget=seconds,
                                   max_trials=trials, search=search, seed=seed, folds=folds, evaluate=evaluate)
            else:
                result = proj.training.train(dataset, target, model_name=model, task=task, metric=metric,
                                             budget=seconds, max_trials=trials, search=search, seed=seed,
                                             on_trial=on_trial, folds=folds, evaluate=evaluate, started=started)
        # a read where this process trained on its own stores (the trainer stored them in its budget); training
        # here against a server logs the version there, and the server computes them now
        proj.monitoring.reference_stats(result.model_version.ref)
    automl = result.automl
    states = [t.state for t in automl.trials]
    data = {"run": result.run.id, "model_version": result.model_version.ref, "family": automl.family,
            "task": automl.task, "metric": automl.metric, "validation": automl.validation,
            "validation_score": automl.validation_score, "metrics": result.metrics, "trials": len(automl.trials),
            "pruned": states.count("pruned"), "failed": states.count("failed"), "params": automl.params,
            "ensemble": automl.ensemble, "dropped_columns": automl.dropped,
            "features_dropped_by_selection": {d.column: d.why for d in automl.selection if not d.kept},
            "gates": result.gates, "refit": automl.refit, "timings": automl.timings}
    failed = result.failed_gates
    if json:
        emit_json(data)
    else:
        typer.echo(f"run {result.run.id[:12]} -> {result.model_version.ref}: best {automl.family} after "
                   f"{len(automl.trials)} trials, {states.count('pruned')} pruned ({automl.validation} "
                   f"{automl.metric} {automl.validation_score:.4f})")
        table("Holdout metrics", ["metric", "value"], sorted(result.metrics.items()))
        for column, why in automl.dropped.items():
            typer.echo(f"note: dropped column {column!r}: {why}")
        for column, why in data["features_dropped_by_selection"].items():
            typer.echo(f"note: feature selection left out {column!r}: {why}")
        if result.gates:
            table("Quality gates", ["rule", "result", "detail"],
                  [[r["rule"], "pass" if r["passed"] else "FAIL", r["detail"]] for r in result.gates["rules"]])
        typer.echo(f"report: conveyor report {result.run.id[:12]} --html report.html")
    if failed:
        raise CheckFailedError(f"{result.model_version.ref} failed {len(failed)} quality gate(s): "
                               + "; ".join(f"{r['rule']}: {r['detail']}" for r in failed) + ".", field="gates",
                               hint="It is registered but cannot be promoted without --override-gates.")


def serve(model: Annotated[str, typer.Argument(help="MODEL@ALIAS, MODEL:N or MODEL.")],
          host: Annotated[str, typer.Option("--host")] = "127.0.0.1",
          port: Annotated[int, typer.Option("--port", min=0, max=65535)] = 8080,
          shadow: Annotated[str | None, typer.Option("--shadow", help="MODEL@ALIAS scoring a copy of the traffic "
                                                     "off the hot path (logged, never answered).")] = None,
          canary: Annotated[str | None, typer.Option("--canary", help="MODEL@ALIAS:PERCENT answering that share "
                                                     "of requests (stable hash of X-Request-Key).")] = None,
          token_file: Annotated[Path | None, typer.Option("--token-file", help="Require 'Authorization: Bearer "
                                                          "TOKEN' with the token in this file (or in "
                                                          "CONVEYOR_SERVE_TOKEN).")] = None,
          token: Annotated[str | None, typer.Option("--token", hidden=True)] = None,
          max_batch_size: Annotated[int | None, typer.Option("--max-batch-size", min=1,
                                                             help="Rows per model call (micro-batching).")] = None,
          max_wait_ms: Annotated[float | None, typer.Option("--max-wait-ms", min=0.0,
                                                            help="Wait for more requests under load.")] = None,
          workers: Annotated[int, typer.Option("--workers", min=1, help="Worker processes (model loaded once "
                                                                        "per worker).")] = 1,
          no_log: Annotated[bool, typer.Option("--no-log", help="Do not log predictions.")] = False,
          runtime: Annotated[str | None, typer.Option("--runtime", help="sklearn (the model's own library; "
                                                      "LightGBM trees compiled with numba where installed and "
                                                      "checked at load), native (the library's own predict only) "
                                                      "or onnx (onnxruntime; exported and checked against the "
                                                      "model on its training rows at start).")] = None,
          tls_cert: TlsCertOption = None,
          tls_key: TlsKeyOption = None,
          env: Annotated[str | None, typer.Option("--env", help="Serve this environment's model (MODEL@ENV) with "
                                                                "its serve settings.")] = None,
          project: ProjectOption = None,
          json: Annotated[bool, typer.Option("--json", help="Announce the server as one JSON document (model "
                                                            "version, URL, endpoints) instead of a banner.")]
          = False) -> None:
    """Serve a model over HTTP: MLflow /invocations and the Open Inference Protocol (V2); follows the alias."""
    from conveyor.cli.serving import run_server, serve_token

    run_server(model, host=host, port=port, workers=workers, project=project, json=json, environment=env,
               tls=tls_options(tls_cert, tls_key),
               options={"shadow": shadow, "canary": canary, "token": serve_token(token_file, token),
                        "max_batch_size": max_batch_size, "max_wait_ms": max_wait_ms, "log_predictions": not no_log,
                        "runtime": runtime})


def score(model: Annotated[str, typer.Argument(help="MODEL@ALIAS, MODEL:N or MODEL.")],
          input_file: Annotated[Path, typer.Argument(metavar="INPUT", help="CSV, Parquet or JSON-lines file.")],
          output_file: Annotated[Path, typer.Argument(metavar="OUTPUT", help=".csv or .parquet")],
          chunk_rows: Annotated[int, typer.Option("--chunk-rows", min=1, help="Rows per chunk.")] = 100_000,
          executor: Annotated[str, typer.Option("--executor", help="inline, threads, processes (or ray where "
                                                                   "installed).")] = "inline",
          workers: Annotated[int | None, typer.Option("--workers", min=1)] = None,
          project: ProjectOption = None, json: JsonOption = False) -> None:
    """Batch scoring, file to file, in chunks (files larger than memory): the input rows plus `prediction` (and
    `proba_<class>` for classifiers)."""
    from conveyor.cli.progress import rows_progress
    from conveyor.serve.batch import score_file

    with open_project(project) as proj, rows_progress("scoring", enabled=not json) as on_chunk:
        summary = score_file(proj.stores, model, input_file, output_file, chunk_rows=chunk_rows,
                             executor=executor, max_workers=workers, on_chunk=on_chunk)
    if json:
        emit_json(summary)
        return
    typer.echo(f"scored {summary['rows']} rows with {summary['model_version']} -> {output_file}")


def retrain(model: Annotated[str, typer.Argument(help="Model name.")],
            budget: Annotated[str | None, typer.Option("--budget", help="Time budget, e.g. 60s.")] = None,
            trials: Annotated[int | None, typer.Option("--trials", min=1)] = None,
            seed: Annotated[int, typer.Option("--seed")] = 0,
            project: ProjectOption = None, json: JsonOption = False) -> None:
    """One pass of the retraining policy: challenger vs champion on the same recent holdout."""
    with open_project(project) as proj:
        seconds = proj.training.budget(budget, retrain=True)
        with search_progress(seconds, "retraining", enabled=not json) as on_trial:
            decision = proj.training.retrain(model, budget=seconds, max_trials=trials, seed=seed, on_trial=on_trial)
    if json:
        emit_json(decision.to_dict())
        return
    typer.echo(f"{decision.decision}: {decision.reason}")


def demo(fast: Annotated[bool, typer.Option("--fast", help="Smaller budgets and samples.")] = False,
         keep: Annotated[Path | None, typer.Option("--keep", "--project", help="Leave the demo project in this "
                                                   "(new or empty) folder.")] = None,
         html: Annotated[Path | None, typer.Option("--html", help="Write the drift report page here (default: "
                                                   "drift-report.html in a kept project).")] = None,
         json: JsonOption = False) -> None:
    """The whole loop on real New York flights of 2013: ingest, train, promote, serve, drift, retrain."""
    from conveyor.demo import run_demo

    summary = run_demo(keep=keep, fast=fast, html=html, say=None if json else console.print)
    if json:
        emit_json(summary)
