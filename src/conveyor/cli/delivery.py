"""`conveyor check` (the CI entry point), `conveyor ci github|gitlab` and `conveyor assess`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from conveyor.cli.output import JsonOption, ProjectOption, emit_json, open_project, table


def register(app: typer.Typer) -> None:
    app.command("check")(check)


def check(model: Annotated[str | None, typer.Option("--model", help="MODEL:N to check (default: the newest "
                                                                    "version of the project's model).")] = None,
          data: Annotated[str | None, typer.Option("--data", help="NAME@VERSION to check on (default: the newest "
                                                                  "version of the model's dataset).")] = None,
          junit: Annotated[Path | None, typer.Option("--junit", help="Write a JUnit XML file (every check a "
                                                                     "test case).")] = None,
          summary: Annotated[Path | None, typer.Option("--summary", help="Append a Markdown summary (e.g. "
                                                                         "$GITHUB_STEP_SUMMARY).")] = None,
          project: ProjectOption = None, json: JsonOption = False) -> None:
    """The CI entry point: the newest data against its contract, the candidate's quality gates, and the candidate
    against the production model (@prod, else @champion) on the same holdout. Exit 1 when a check fails."""
    from conveyor.core.errors import CheckFailedError
    from conveyor.project.checks import run_checks, write_outputs

    with open_project(project) as proj:
        report = run_checks(proj, model=model, data=data)
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
