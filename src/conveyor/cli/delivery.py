"""`conveyor check` (the CI entry point), `conveyor ci github|gitlab` and `conveyor assess`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from conveyor.cli.output import JsonOption, ProjectOption, emit_json, open_project, table


def register(app: typer.Typer) -> None:
    app.command("check")(check)
    app.add_typer(ci_app, name="ci")
    app.command("assess")(assess)
    app.command("checkout")(checkout)
    app.command("reproduce")(reproduce)


def check(model: Annotated[str | None, typer.Option("--model", help="MODEL:N to check (default: the newest "
                                                                    "version of the project's model).")] = None,
          data: Annotated[str | None, typer.Option("--data", help="NAME@VERSION to check on (default: the newest "
                                                                  "version of the model's dataset).")] = None,
          junit: Annotated[Path | None, typer.Option("--junit", help="Write a JUnit XML file (every check a "
                                                                     "test case).")] = None,
          summary: Annotated[Path | None, typer.Option("--summary", help="Append a Markdown summary (e.g. "
                                                                         "$GITHUB_STEP_SUMMARY).")] = None,
          train: Annotated[bool, typer.Option("--train", help="Train a candidate on the data first (train: and "
                                                              "retrain: settings; the newest rows held out).")] = False,
          env: Annotated[str | None, typer.Option("--env", help="Run this environment's gates (default: the first "
                                                                "one the candidate has not been in).")] = None,
          project: ProjectOption = None, json: JsonOption = False) -> None:
    """The CI entry point: the newest data against its contract, a candidate trained on it (--train) or the newest
    version re-evaluated, its quality gates and the next environment's gates, and the candidate against the
    production model (@prod, else @champion) on the same holdout. Exit 1 when a check fails."""
    from conveyor.core.errors import CheckFailedError
    from conveyor.project.checks import run_checks, write_outputs

    with open_project(project) as proj:
        report = run_checks(proj, model=model, data=data, train=train, env=env)
    write_outputs(report, junit, summary)
    if json:
        emit_json(report.to_dict())
    else:
        table(f"conveyor check: {report.model}" + (f" vs {report.baseline}" if report.baseline else ""),
              ["check", "result", "detail"], [[c.name, c.status, c.detail] for c in report.cases])
    if not report.passed:
        failed = [c.name for c in report.cases if c.status == "failed"]
        raise CheckFailedError(f"{len(failed)} check(s) failed: {', '.join(failed)}.", field="check",
                               hint="See the table above (or --junit/--summary) for each check's detail.")


ci_app = typer.Typer(help="Write the CI/CD workflow of this repository (check, then promote through the "
                          "environments).", no_args_is_help=True)


def _write_ci(kind: str, model: str | None, force: bool, project: Path | None, json: bool) -> None:
    from conveyor.core.errors import BadInputError
    from conveyor.project.ci import write_ci

    with open_project(project) as proj:
        names = proj.stores.registry.names()
        name = model or proj.config.retrain.model or (names[0] if len(names) == 1 else None)
        if name is None:
            raise BadInputError("Which model does the workflow check and promote?", field="model",
                                hint="Pass --model NAME (or set retrain.model in conveyor.yaml).")
        path = write_ci(proj.root, kind, name, proj.config.environments.names(), force=force)
    if json:
        emit_json({"path": str(path), "model": name})
        return
    typer.echo(f"wrote {path} (checks and promotes {name!r}); commit it, and set the CONVEYOR_DB_URL and "
               "CONVEYOR_ARTIFACTS secrets")


ModelName = Annotated[str | None, typer.Option("--model", help="The model it checks and promotes.")]
Force = Annotated[bool, typer.Option("--force", help="Replace an existing file.")]


@ci_app.command("github")
def ci_github(model: ModelName = None, force: Force = False, project: ProjectOption = None,
              json: JsonOption = False) -> None:
    """.github/workflows/conveyor.yml: check on pull requests, promote on main, prod through a protected
    environment."""
    _write_ci("github", model, force, project, json)


@ci_app.command("gitlab")
def ci_gitlab(model: ModelName = None, force: Force = False, project: ProjectOption = None,
              json: JsonOption = False) -> None:
    """.gitlab-ci.yml: check on every pipeline, promote on the default branch, prod as a manual job."""
    _write_ci("gitlab", model, force, project, json)


def assess(html: Annotated[Path | None, typer.Option("--html", help="Write the assessment as a page.")] = None,
           project: ProjectOption = None, json: JsonOption = False) -> None:
    """The project's MLOps maturity (0 manual, 1 pipeline automation, 2 CI/CD, 3 monitoring + retraining + rollback
    + governance): each criterion with its evidence, and what to do for the next level."""
    from conveyor.project.assess import LEVELS
    from conveyor.project.assess import assess as run_assess

    with open_project(project) as proj:
        maturity = run_assess(proj)
    if html is not None:
        html.write_text(maturity.html())
    if json:
        emit_json(maturity.to_dict())
        return
    table(f"MLOps maturity: level {maturity.level} ({LEVELS[maturity.level]})",
          ["level", "criterion", "result", "evidence"],
          [[c.level, c.id, "pass" if c.passed else "FAIL", c.evidence] for c in maturity.criteria])
    for step in maturity.next_steps:
        typer.echo(f"next: {step.fix}")


def checkout(model: Annotated[str, typer.Argument(help="MODEL:N (or MODEL@ALIAS) to materialise.")],
             dest: Annotated[Path, typer.Argument(metavar="DIR", help="A new or empty folder.")],
             project: ProjectOption = None, json: JsonOption = False) -> None:
    """Everything that made a model version: its dataset version's data, the code at the run's commit (a git
    worktree), the run's full package lock and what was recorded (checkout.json)."""
    from conveyor.project.checkout import checkout_model

    with open_project(project) as proj:
        summary = checkout_model(proj, model, dest)
    if json:
        emit_json(summary)
        return
    typer.echo(f"checked out {summary['model_version']} into {dest}: data {summary['data'] or '-'}, code at "
               f"{(summary['commit'] or '-')[:12]}, requirements.lock")


def reproduce(run: Annotated[str, typer.Argument(help="Run id (or a unique prefix).")],
              project: ProjectOption = None, json: JsonOption = False) -> None:
    """Train again from a run's recorded dataset version, params, seed and trial budget, and compare the metrics
    (exactly equal for a fixed trial count; the difference shown otherwise)."""
    from conveyor.project.reproduce import reproduce_run

    with open_project(project) as proj:
        found = reproduce_run(proj, run)
    if json:
        emit_json(found)
        return
    table(f"{found['model_version']} reproduced as {found['reproduced_version']}: "
          f"{'equal' if found['equal'] else 'different'}", ["metric", "original", "reproduced", "difference"],
          [[k, found["original"].get(k), found["reproduced"].get(k), d] for k, d in found["difference"].items()])
