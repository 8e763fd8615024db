"""The CLI's promises that hold for every verb: README's "every verb takes --project and --json", found by walking
the typer application itself (a verb added later is checked without editing this test)."""

from __future__ import annotations

import typer.main

from conveyor.cli.app import app


def verbs(command, path=()):
    """(path, command) of every command a user runs: leaves, and groups that run on their own (`alerts`)."""
    children = getattr(command, "commands", None)
    if children is None:
        yield " ".join(path), command
        return
    if path and command.invoke_without_command:
        yield " ".join(path), command
    for name, child in children.items():
        yield from verbs(child, (*path, name))


def test_every_verb_takes_project_and_json():
    found = dict(verbs(typer.main.get_command(app)))
    assert {"init", "train", "serve", "demo", "report", "data ingest", "models list", "alerts", "alerts ack",
            "deploy docker"} <= set(found)  # the walk reaches verbs at every depth
    missing = {path: sorted({"--project", "--json"} - {o for p in command.params for o in getattr(p, "opts", [])})
               for path, command in found.items()}
    assert {path: gap for path, gap in missing.items() if gap} == {}


def test_every_verb_that_writes_a_page_takes_html():
    found = dict(verbs(typer.main.get_command(app)))
    for path in ("report", "monitor", "data diff", "demo"):
        assert "--html" in {o for p in found[path].params for o in getattr(p, "opts", [])}, path
    report = {o for p in found["report"].params for o in getattr(p, "opts", [])}
    monitor = {o for p in found["monitor"].params for o in getattr(p, "opts", [])}
    assert "--out" in report and "--report" in monitor  # the old flags stay as aliases
