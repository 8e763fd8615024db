"""`conveyor data ...`: ingest, version, validate, compare and trace datasets."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

from conveyor.cli import erasure
from conveyor.cli.fast_add import print_added, version_dict
from conveyor.cli.output import JsonOption, ProjectOption, emit_json, err_console, open_project, table, when
from conveyor.core.errors import BadInputError

app = typer.Typer(help="Dataset versions: ingest, log, validate, diff, lineage, personal data.",
                  no_args_is_help=True)


@contextmanager
def byte_progress(label: str, enabled: bool, unit: str = "bytes"):
    """A rich bar on stderr driven by ``(done, total)`` callbacks (bytes, or files); a no-op when disabled."""
    if not enabled or not err_console.is_terminal:  # a log file gets no bar redrawn line by line
        yield None
        return
    from rich.progress import BarColumn, DownloadColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    counter = DownloadColumn() if unit == "bytes" else MofNCompleteColumn()
    progress = Progress(TextColumn("[bold]{task.description}"), BarColumn(), counter,
                        TimeRemainingColumn(), console=err_console, transient=True)
    with progress:
        task = progress.add_task(label, total=None)

        def update(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        yield update


def open_stores(path: Path | None):
    """A project's stores without the Project facade (see `add`)."""
    from conveyor.client.credentials import resolve_target
    from conveyor.core.errors import BadInputError
    from conveyor.core.settings import Settings, find_project_root
    from conveyor.store import Stores

    target = resolve_target()
    if target is not None:  # a server wins over a local store: never work on the local one silently
        raise BadInputError(f"This verb works on file sets beside the store, not against the server at "
                            f"{target.url}.", field="server",
                            hint="Run it on the server's host, or unset CONVEYOR_SERVER (`conveyor logout`).")
    if path is not None and not path.is_dir():
        raise BadInputError(f"No project folder at {path}.", field="project",
                            hint=f"Create one with `conveyor init {path}`.")
    from conveyor.core.config import ProjectConfig
    from conveyor.core.settings import PROJECT_FILE
    from conveyor.store.encryption import load_keyring

    root = find_project_root(path)
    settings = Settings.for_project(root)
    config_file = root / PROJECT_FILE
    encryption = ProjectConfig.load(config_file).security.encryption if config_file.is_file() else None
    return Stores.open(settings.db_url, settings.artifacts_url, predictions_url=settings.predictions_url,
                       keyring=load_keyring(root, encryption))


def _print_report(report, json: bool) -> None:
    if json:
        emit_json(report.as_dict())
        return
    if report.passed:
        typer.echo(f"passed: {report.summary()}")
        return
    table(f"Failed checks ({len(report.failures)} of {report.checks}, {report.rows} rows)",
          ["column", "check", "failing", "examples"],
          [[f.column or "(table)", f.check, f.count,
            "; ".join(", ".join(f"{k}={v}" for k, v in list(e.items())[:6]) for e in f.examples)]
           for f in report.failures])


@app.command("ingest")
def ingest(source: Annotated[str | None, typer.Argument(help="A .csv/.parquet/.jsonl file, a folder, "
                                                             "module:function, or a SQLAlchemy URL with --query "
                                                             "(none with --connection).")] = None,
           name: Annotated[str | None, typer.Option("--name", help="Dataset name.")] = None,
           query: Annotated[str | None, typer.Option("--query", help="SQL to run on the SOURCE database URL.")] = None,
           connection: Annotated[str | None, typer.Option("--connection", help="Run --query over a stored "
                                                          "connection (conveyor connections add).")] = None,
           on_error: Annotated[str | None, typer.Option("--on-error", help="When contract checks fail: reject, "
                                                        "quarantine (bad rows to NAME.quarantine) or warn.")] = None,
           against: Annotated[str | None, typer.Option("--against", help="Check against a contract inferred "
                                                       "from NAME@VERSION.")] = None,
           contract: Annotated[Path | None, typer.Option("--contract", help="Contract YAML (default: "
                                                         "contracts/NAME.yaml when present).")] = None,
           pii: Annotated[str | None, typer.Option("--pii", help="drop or hash columns that look personal.")] = None,
           project: ProjectOption = None, json: JsonOption = False) -> None:
    """Store a source as a content-addressed dataset version (the same content gives the same version)."""
    from conveyor.data.contracts import ValidationFailed

    for missing, what in ((source is None and connection is None, "argument 'SOURCE' (or --connection NAME)"),
                          (name is None, "option '--name'")):
        if missing:  # a usage error, as typer reports a missing argument
            typer.echo(f"Usage: conveyor data ingest [OPTIONS] [SOURCE]\nError: Missing {what}.", err=True)
            raise typer.Exit(2)
    if source is not None and connection is not None:
        raise BadInputError("Give a SOURCE or --connection NAME, not both.", field="source",
                            hint="A file, folder, module:function or database URL; or a stored connection with "
                                 "--connection NAME --query 'SELECT ...'.")
    folder = source is not None and Path(source).is_dir()
    with open_project(project) as proj, byte_progress(f"ingest {name}", not json,
                                                      unit="files" if folder else "bytes") as progress:
        try:
            if connection is not None:
                version, created = proj.connections.ingest(connection, query or "", name, on_error=on_error,
                                                           pii=pii, against=against, contract=contract)
            else:
                version, created = proj.data.ingest(source, name, query=query, on_error=on_error, pii=pii,
                                                      against=against, contract=contract, progress=progress)
        except ValidationFailed as failed:
            _print_report(failed.report, json)
            raise
    validation = version.meta.get("validation")
    if json:
        emit_json({**version_dict(version), "created": created, "validation": validation,
                   "quarantine": version.meta.get("quarantine"), "pii": version.meta.get("pii")})
        return
    state = "new version" if created else "unchanged (already stored)"
    typer.echo(f"{version.ref}  {version.rows} rows x {len(version.columns)} columns  {state}")
    if version.meta.get("quarantine"):
        typer.echo(f"quarantined {version.meta['quarantined_rows']} rows as {_short(version.meta['quarantine'])}")
    if validation and not validation["passed"] and not version.meta.get("quarantine"):
        typer.echo(f"warning: {len(validation['failures'])} contract checks failed (stored anyway: --on-error warn)",
                   err=True)
    if version.meta.get("pii"):
        done = version.meta["pii"]
        typer.echo(f"personal data ({done['action']}): {', '.join(c['column'] for c in done['columns']) or 'none'}")


@app.command("refresh")
def refresh(name: Annotated[str, typer.Argument(help="A dataset ingested through a stored connection.")],
            project: ProjectOption = None, json: JsonOption = False) -> None:
    """Run the query of the dataset's newest version again through its stored connection."""
    with open_project(project) as proj:
        version, created = proj.connections.refresh(name)
    if json:
        emit_json({**version_dict(version), "created": created})
        return
    state = "new version" if created else "unchanged (already stored)"
    typer.echo(f"{version.ref}  {version.rows} rows x {len(version.columns)} columns  {state}")


@app.command("add")
def add(path: Annotated[str, typer.Argument(help="A file or folder to version as bytes (like `dvc add`).")],
        name: Annotated[str, typer.Option("--name", help="Dataset name.")],
        project: ProjectOption = None, json: JsonOption = False) -> None:
    """Version a file or folder as bytes: a manifest of content-addressed files; unchanged files cost a hash."""
    # Usually answered before this (conveyor.cli.main -> conveyor.cli.fast_add); here when the store needs
    # SQLAlchemy (another URL, a schema to create or upgrade), encryption is on, or a progress bar is drawn.
    from conveyor.core.settings import STATE_DIR, find_project_root
    from conveyor.data.files import add_files

    # The stores alone, not the Project: `data add` is DVC's `add`, and scripts call it often; the Project would
    # import pandas and the training stack first (about a second) for nothing.
    stores = open_stores(project)
    hashes = find_project_root(project) / STATE_DIR / "hashes.json"  # unchanged files are not read again
    try:
        with byte_progress(f"add {name}", not json, unit="files") as progress:
            version, created = add_files(stores, path, name, progress=progress,  # str: "" is not "."
                                         hash_cache=hashes)
    finally:
        stores.close()
    print_added(version, created, json)  # the fast path (conveyor.cli.fast_add) prints the same


@app.command("checkout")
def checkout(ref: Annotated[str, typer.Argument(help="NAME or NAME@VERSION of a file set.")],
             dest: Annotated[Path, typer.Argument(help="Folder to write the files into.")],
             project: ProjectOption = None, json: JsonOption = False) -> None:
    """Write a file-set version's files into a folder (files already right are left alone)."""
    from conveyor.data.datasets import resolve
    from conveyor.data.files import checkout as write_files

    stores = open_stores(project)
    try:
        written = write_files(stores, resolve(stores, ref), dest)
    finally:
        stores.close()
    if json:
        emit_json({"ref": ref, "dest": str(dest), "written": written})
        return
    typer.echo(f"wrote {written} files to {dest}")


@app.command("list")
def list_versions(name: Annotated[str | None, typer.Argument(help="Only this dataset.")] = None,
                  project: ProjectOption = None, json: JsonOption = False) -> None:
    """List dataset versions, oldest first."""
    with open_project(project) as proj:
        versions = proj.data.list(name)
    if json:
        emit_json([version_dict(v) for v in versions])
        return
    table("Dataset versions", ["dataset", "version", "rows", "columns", "created", "source"],
          [[v.name, v.version[:12], v.rows, len(v.columns), when(v.created_at), v.source] for v in versions])


@app.command("log")
def log(name: Annotated[str, typer.Argument(help="Dataset name.")],
        project: ProjectOption = None, json: JsonOption = False) -> None:
    """Every version of a dataset with time, rows, size and what changed since the one before."""
    from conveyor.data.history import describe_changes

    with open_project(project) as proj:
        entries = proj.data.log(name)
    if json:
        emit_json(entries)
        return
    table(f"History of {name}", ["version", "created", "rows", "bytes", "changes"],
          [[e["version"][:12], when(e["created_at"]), e["rows"], e["bytes"], describe_changes(e)] for e in entries])


@app.command("show")
def show(ref: Annotated[str, typer.Argument(help="NAME or NAME@VERSION.")],
         project: ProjectOption = None, json: JsonOption = False) -> None:
    """Schema, profile and lineage (parents, children, runs, models) of one dataset version."""
    with open_project(project) as proj:
        version = proj.data.get(ref)
        lineage = proj.data.lineage(version)
    if json:
        emit_json({**version_dict(version), "profile": version.profile, "meta": version.meta,
                   "children": lineage["children"], "runs": lineage["runs"], "models": lineage["models"]})
        return
    typer.echo(f"{version.ref}  rows={version.rows}  source={version.source}  created={when(version.created_at)}")
    columns = version.profile.get("columns", {})
    if columns:
        table("Columns", ["column", "kind", "dtype", "nulls", "distinct", "min", "mean", "std", "max"],
              [[c["name"], c["kind"], c["dtype"]] + [columns.get(c["name"], {}).get(k) for k in
                                                     ("nulls", "distinct", "min", "mean", "std", "max")]
               for c in version.columns])
    links = [["parent", p] for p in lineage["parents"]] + [["child", c] for c in lineage["children"]]
    links += [["run", f"{r[:12]} {lineage['run_names'].get(r, '')}"] for r in lineage["runs"]]
    links += [["model", m] for m in lineage["models"]]
    if links:
        table("Lineage", ["relation", "what"], [[kind, _short(what)] for kind, what in links])


def _short(ref: str) -> str:
    name, _, version = ref.partition("@")
    return f"{name}@{version[:12]}" if version else ref


@app.command("contract")
def contract(ref: Annotated[str, typer.Argument(help="NAME@VERSION to infer the contract from.")],
             force: Annotated[bool, typer.Option("--force", help="Replace an existing contract file.")] = False,
             project: ProjectOption = None, json: JsonOption = False) -> None:
    """Infer a validation contract from a version and write it to contracts/NAME.yaml for you to edit."""
    with open_project(project) as proj:
        path, rules = proj.data.contract(ref, force=force)
    if json:
        emit_json({"path": str(path), "contract": rules})
        return
    typer.echo(f"wrote {path} ({len(rules['columns'])} columns); edit it, then `conveyor data validate`")


@app.command("validate")
def validate(target: Annotated[str, typer.Argument(help="NAME, NAME@VERSION or a file to check.")],
             against: Annotated[str | None, typer.Option("--against", help="Infer the contract from this "
                                                         "NAME@VERSION.")] = None,
             contract_file: Annotated[Path | None, typer.Option("--contract", help="Contract YAML (default: "
                                                                "contracts/NAME.yaml).")] = None,
             name: Annotated[str | None, typer.Option("--name", help="Check a file as a batch of this dataset "
                                                      "(contracts/NAME.yaml).")] = None,
             project: ProjectOption = None, json: JsonOption = False) -> None:
    """Check a batch against a contract; exit 1 listing each failing check with counts and example rows."""
    from conveyor.core.errors import CheckFailedError

    with open_project(project) as proj:
        report = proj.data.validate(target, against=against, contract=contract_file, name=name)
    _print_report(report, json)
    if not report.passed:
        raise CheckFailedError(f"{target}: {report.summary()}")


@app.command("diff")
def diff(a: Annotated[str, typer.Argument(help="NAME@VERSION (before).")],
         b: Annotated[str, typer.Argument(help="NAME@VERSION (after).")],
         html: Annotated[Path | None, typer.Option("--html", help="Also write an HTML page with overlaid "
                                                   "distributions.")] = None,
         project: ProjectOption = None, json: JsonOption = False) -> None:
    """Schema changes, row counts and per-column distribution shift between two versions."""
    with open_project(project) as proj:
        result = proj.data.diff(a, b, html=html)
    if json:
        emit_json({**result, "html": result.get("html")})
        return
    schema = result["schema"]
    typer.echo(f"rows {result['rows_before']} -> {result['rows_after']} ({result['rows_change']:+d}); "
               f"added {schema['added'] or '-'}; removed {schema['removed'] or '-'}; "
               f"type changed {[t['column'] for t in schema['type_changed']] or '-'}")
    table("Per-column shift", ["column", "kind", "test", "score", "verdict", "nulls", "mean"],
          [[c["column"], c["kind"], c["method"], c["score"], "SHIFTED" if c["shifted"] else "stable",
            f"{c['nulls_before']} -> {c['nulls_after']}",
            f"{c['mean_before']:.4g} -> {c['mean_after']:.4g}" if c["mean_before"] is not None
            and c["mean_after"] is not None else "-"] for c in result["columns"]])
    if html is not None:
        typer.echo(f"wrote {html}")


@app.command("scan")
def scan(ref: Annotated[str, typer.Argument(help="NAME or NAME@VERSION.")],
         project: ProjectOption = None, json: JsonOption = False) -> None:
    """Flag columns that look personal: emails, phone numbers, card numbers (Luhn), IP addresses, names."""
    with open_project(project) as proj:
        findings = proj.data.scan(ref)
    if json:
        emit_json(findings)
        return
    if not findings:
        typer.echo("no column looks personal")
        return
    table(f"Personal data in {ref}", ["column", "looks like", "share of values", "by"],
          [[f["column"], f["kind"], f["share"], f["reason"]] for f in findings])


@app.command("filter")
def filter_rows(ref: Annotated[str, typer.Argument(help="NAME@VERSION to filter.")],
                query: Annotated[str, typer.Option("--query", help="pandas query, e.g. \"age >= 18\".")],
                name: Annotated[str, typer.Option("--name", help="Name of the derived dataset.")],
                project: ProjectOption = None, json: JsonOption = False) -> None:
    """Derive a dataset from the rows that match a query (the parent is recorded)."""
    with open_project(project) as proj:
        version = proj.data.filter(ref, query, name)
    if json:
        emit_json(version_dict(version))
        return
    typer.echo(f"{version.ref}  {version.rows} rows  from {_short(version.parents[0])}")


@app.command("split")
def split(ref: Annotated[str, typer.Argument(help="NAME@VERSION to split.")],
          test: Annotated[float, typer.Option("--test", help="Share of rows for NAME.test.")] = 0.2,
          seed: Annotated[int, typer.Option("--seed")] = 0,
          project: ProjectOption = None, json: JsonOption = False) -> None:
    """Derive NAME.train and NAME.test by a seeded random split (the parent is recorded)."""
    with open_project(project) as proj:
        parts = proj.data.split(ref, test_fraction=test, seed=seed)
    if json:
        emit_json([version_dict(v) for v in parts])
        return
    for version in parts:
        typer.echo(f"{version.ref}  {version.rows} rows")


erasure.register(app)  # `data forget` lives in its own module; registered here so `conveyor data` alone has it
