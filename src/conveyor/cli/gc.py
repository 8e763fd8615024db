"""``conveyor gc``: delete what ``retention:`` allows, then the artifacts nothing names; report what was freed."""

from __future__ import annotations

from typing import Annotated

import typer

from conveyor.cli.output import JsonOption, ProjectOption, emit_json, open_project, table


def gc(dry_run: Annotated[bool, typer.Option("--dry-run", help="Only report what would go.")] = False,
       project: ProjectOption = None, json: JsonOption = False) -> None:
    """Garbage-collect under conveyor.yaml's retention: old dataset and model versions, old runs and prediction-log
    rows (never what an alias, a kept model's lineage or a pending approval needs), then unreferenced artifacts.
    With retention.archive they are copied there first. Audited."""
    with open_project(project, remote=False) as proj:
        report = proj.operations.gc(dry_run=dry_run)
    if json:
        emit_json(report.as_dict())
        return
    verb = "would delete" if dry_run else "deleted"
    rows = [("dataset versions", len(report.datasets), ", ".join(report.datasets[:5])),
            ("model versions", len(report.models), ", ".join(report.models[:5])),
            ("runs", len(report.runs), ", ".join(r[:12] for r in report.runs[:5])),
            ("prediction rows", report.predictions, ""),
            ("artifacts", report.artifacts, f"{report.bytes_freed} bytes freed" if not dry_run else "")]
    table(f"gc: {verb}" + (f" (archived to {report.archive})" if report.archive else ""),
          ["what", "count", "examples"], rows)
    if report.kept:
        table("kept: still needed", ["record", "why"], sorted(report.kept.items()))
