"""``conveyor encryption``: make a key-encryption key, and rotate to a new one (data keys are re-wrapped, the data
is not rewritten)."""

from __future__ import annotations

import typer

from conveyor.cli.output import JsonOption, ProjectOption, emit_json, open_project

app = typer.Typer(help="Encryption at rest: new keys and key rotation.", no_args_is_help=True)


@app.command("new-key")
def new_key_command(project: ProjectOption = None, json: JsonOption = False) -> None:
    """Print a new random key (base64 of 32 bytes) for CONVEYOR_ENCRYPTION_KEY or a key file (no project needed)."""
    from conveyor.store.encryption import new_key

    key = new_key()
    if json:
        emit_json({"key": key})
        return
    typer.echo(key)


@app.command("rotate")
def rotate(project: ProjectOption = None, json: JsonOption = False) -> None:
    """Re-wrap every data key under the current key (the first of the key file or CONVEYOR_ENCRYPTION_KEY) and
    encrypt objects stored before encryption was on. Keep the old key after the new one until this has run."""
    from conveyor.core.errors import BadInputError
    from conveyor.store.encrypted_artifacts import EncryptedArtifactStore

    with open_project(project) as proj:
        store = proj.stores.artifacts
        if not isinstance(store, EncryptedArtifactStore):
            raise BadInputError("Encryption at rest is off for this project: there is no key to rotate to.",
                                field="security.encryption",
                                hint="Set security.encryption.key_file (or CONVEYOR_ENCRYPTION_KEY) first.")
        report = store.rotate()
    if json:
        emit_json(report.as_dict())
        return
    typer.echo(f"re-wrapped {report.rewrapped} data keys, encrypted {report.encrypted} older objects; current key "
               f"{report.current_key}")
