"""`conveyor audit ...`: verify the audit trail (naming the first bad row), sign its anchor, make its keys."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from conveyor.cli.output import JsonOption, ProjectOption, emit_json, open_project

app = typer.Typer(help="The audit trail: verify, anchor, keygen.", no_args_is_help=True)


@app.command("verify")
def verify(project: ProjectOption = None, json: JsonOption = False) -> None:
    """Check the audit trail: every row's hash (keyed with security.audit.key_file), the signed anchor
    (security.audit.anchor) and the registry against the trail. Exit 1 naming the first bad row."""
    from conveyor.core.errors import CheckFailedError, IntegrityError

    with open_project(project) as proj:
        try:
            verdict = proj.audit_trail.verify()
        except IntegrityError as exc:
            raise CheckFailedError(f"Audit check failed: {exc.message}", field="audit", hint=exc.hint) from None
    if json:
        emit_json({"verified": True, "rows": verdict.rows, "keyed": verdict.keyed, "anchored": verdict.anchored})
        return
    anchored = f", anchored at row {verdict.anchored}" if verdict.anchored else ""
    typer.echo(f"audit trail intact: {verdict.rows} rows verified, {verdict.keyed} keyed{anchored}")


@app.command("anchor")
def anchor(project: ProjectOption = None, json: JsonOption = False) -> None:
    """Sign the trail's current head to security.audit.anchor now (also done on every write)."""
    with open_project(project) as proj:
        head = proj.audit_trail.anchor()
    if json:
        emit_json({"seq": head.seq if head else None, "hash": head.hash if head else None})
        return
    typer.echo(f"anchored row {head.seq}" if head else "the audit trail is empty: nothing to anchor")


@app.command("keygen")
def keygen(key_file: Annotated[Path | None, typer.Option("--key-file", help="Write a new HMAC key here.")] = None,
           signing_key_file: Annotated[Path | None, typer.Option(
               "--signing-key-file", help="Write a new Ed25519 signing key (PEM) here.")] = None,
           project: ProjectOption = None,
           json: JsonOption = False) -> None:
    """Make the audit keys (mode 0600; an existing file is never overwritten). Name them in conveyor.yaml under
    security.audit, and keep them outside the database and its backups. With --project, relative paths start at
    the project folder (as they do in conveyor.yaml)."""
    from conveyor.core.errors import BadInputError
    from conveyor.store.audit import write_keys

    if key_file is None and signing_key_file is None:
        raise BadInputError("Name at least one key to make.", field="key-file",
                            hint="Pass --key-file PATH and/or --signing-key-file PATH.")
    if project is not None:
        key_file, signing_key_file = (project / p if p is not None and not p.is_absolute() else p
                                      for p in (key_file, signing_key_file))
    written = write_keys(key_file, signing_key_file)
    if json:
        emit_json({"written": [str(p) for p in written]})
        return
    for path in written:
        typer.echo(f"wrote {path}")
