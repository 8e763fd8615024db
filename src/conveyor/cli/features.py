"""`conveyor features ...`: feature views, point-in-time joins and the online store."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from conveyor.cli.output import JsonOption, ProjectOption, emit_json, open_project, short_ref, table, when

app = typer.Typer(help="The feature store: views, point-in-time joins, materialisation, online lookups.",
                  no_args_is_help=True)

FeaturesOption = Annotated[list[str], typer.Option("--features", help="VIEW or VIEW:col,col (repeat per view).")]


@app.command("apply")
def apply(views: Annotated[list[str] | None, typer.Argument(help="Views to apply (default: all).")] = None,
          project: ProjectOption = None, json: JsonOption = False) -> None:
    """Check the views of features/*.yaml and features/*.py against their sources and record their versions."""
    with open_project(project) as proj:
        applied = proj.features.apply(views or None)
    if json:
        emit_json([{**v.to_dict(), "created": created} for v, created in applied])
        return
    table("Feature views applied", ["view", "version", "source", "new"],
          [[v.view, v.ref, short_ref(v.source), "yes" if created else "unchanged"] for v, created in applied])


@app.command("list")
def list_views(project: ProjectOption = None, json: JsonOption = False) -> None:
    """Declared views with their latest applied version."""
    with open_project(project) as proj:
        found = proj.features.list()
    if json:
        emit_json(found)
        return
    table("Feature views", ["view", "source", "entity", "features", "ttl", "version", "file"],
          [[v["view"], v["source"], ",".join(v["entity"]), ", ".join(v["features"]), v["ttl"],
            (v["version"] or "not applied") + (" (changed since)" if v["changed_since_apply"] else ""),
            v["origin"]] for v in found])


@app.command("show")
def show(view: Annotated[str, typer.Argument(help="A feature view name.")],
         project: ProjectOption = None, json: JsonOption = False) -> None:
    """A view's definition and its applied versions."""
    with open_project(project) as proj:
        found = proj.features.show(view)
    if json:
        emit_json(found)
        return
    d = found["definition"]
    typer.echo(f"view {view}  ({found['origin']})  source={d['source']}  entity={d['entity']}  "
               f"timestamp={d['timestamp']}  ttl={d['ttl']}")
    table("Features", ["feature", "column", "agg", "window"],
          [[f["name"], f["column"], f.get("agg"), f.get("window")] for f in d["features"]])
    table("Versions", ["version", "source", "applied", "materialised"],
          [[v["ref"], short_ref(v["source"]), when(v["applied_at"]),
            v["materialized"][-1]["at"] if v["materialized"] else None] for v in found["versions"]])


@app.command("join")
def join(entities: Annotated[str, typer.Argument(help="Entity rows: a dataset (NAME or NAME@VERSION) or a "
                                                      "CSV/Parquet file, with the keys and a time column.")],
         features: FeaturesOption,
         out: Annotated[Path | None, typer.Option("--out", help="Write the frame here (.parquet or .csv).")] = None,
         name: Annotated[str | None, typer.Option("--name", help="Store the frame as a version of this "
                                                                 "dataset (with lineage).")] = None,
         timestamp: Annotated[str | None, typer.Option("--timestamp", help="The entity rows' time column "
                                                                           "(default: the first view's).")] = None,
         project: ProjectOption = None, json: JsonOption = False) -> None:
    """Point-in-time join: each entity row gets the latest feature values at or before its time and within the
    TTL; rows without any are kept, with nulls and <view>__found false."""
    from conveyor.core.errors import BadInputError

    if (out is None) == (name is None):
        raise BadInputError("Give exactly one of --out FILE and --name NAME.", field="out",
                            hint="--out writes a file; --name stores a dataset version with its lineage.")
    with open_project(project) as proj:
        if name is not None:
            version = proj.features.join_to_dataset(entities, features, name, timestamp=timestamp)
            result = {"dataset": version.ref, "rows": version.rows, "parents": version.parents,
                      "views": version.meta["operation"]["views"]}
        else:
            assert out is not None
            rows = proj.features.join_to_file(entities, features, out, timestamp=timestamp)
            result = {"out": str(out), "rows": rows}
    if json:
        emit_json(result)
        return
    typer.echo(f"{result.get('dataset') or result['out']}: {result['rows']} rows")


@app.command("materialize")
def materialize(view: Annotated[str, typer.Argument(help="A feature view name.")],
                at: Annotated[str | None, typer.Option("--at", help="Values as of this time (ISO 8601; "
                                                                    "default now).")] = None,
                project: ProjectOption = None, json: JsonOption = False) -> None:
    """Write each entity's latest values (as of --at) to the online store (features.online_store)."""
    with open_project(project) as proj:
        done = proj.features.materialize(view, at=at)
    if json:
        emit_json(done)
        return
    typer.echo(f"{done['version']}: {done['written']} of {done['entities']} entities written to {done['store']} "
               f"as of {done['at']}")


@app.command("get")
def get(view: Annotated[str, typer.Argument(help="A feature view name.")],
        keys: Annotated[list[str], typer.Argument(help="Entity keys (several key columns: comma-separated).")],
        project: ProjectOption = None, json: JsonOption = False) -> None:
    """Look up materialised feature values by entity key."""
    with open_project(project) as proj:
        found = proj.features.get(view, [key.split(",") for key in keys])
    rows = [{"key": key, "found": values is not None, "values": values} for key, values in zip(keys, found,
                                                                                                strict=True)]
    if json:
        emit_json(rows)
        return
    names = sorted({k for r in rows for k in (r["values"] or {})})
    table(f"Online features of {view}", ["key", "found", *names],
          [[r["key"], r["found"], *((r["values"] or {}).get(n) for n in names)] for r in rows])
