"""`conveyor models ...`: the registry."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from conveyor.cli.output import (
    JsonOption,
    ProjectOption,
    emit_json,
    headline,
    open_project,
    short_ref,
    table,
    when,
)

app = typer.Typer(help="Model registry: list, show, promote, rollback, import, audit.", no_args_is_help=True)


def version_dict(mv, aliases: dict[str, int] | None = None, deleted: set[str] | None = None) -> dict:
    """``deleted``: the refs an MLflow client deleted (kept here, hidden from MLflow clients)."""
    return {"model_version": mv.ref, "name": mv.name, "version": mv.version, "flavor": mv.flavor, "run": mv.run_id,
            "dataset": mv.dataset, "metrics": mv.metrics, "signature": mv.signature, "created_at": mv.created_at,
            "artifact": mv.artifact, "aliases": sorted(a for a, v in (aliases or {}).items() if v == mv.version),
            "meta": mv.meta, "deleted": mv.ref in (deleted or set())}


def _report_alias_change(change, verb: str, json: bool) -> None:
    if json:
        emit_json({"model": change.model, "alias": change.alias, "version": change.version,
                   "previous": change.previous})
        return
    was = f"{change.model}:{change.previous}" if change.previous else "-"
    typer.echo(f"{change.model}@{change.alias} {verb} {change.model}:{change.version} (was {was})")


@app.command("list")
def list_models(project: ProjectOption = None, json: JsonOption = False) -> None:
    """Every model version, with its aliases; versions an MLflow client deleted are kept and marked deleted."""
    with open_project(project) as proj:
        versions = proj.models.list()
        aliases = {name: proj.models.aliases(name) for name in {v.name for v in versions}}
        deleted = proj.models.deleted()
    rows = [version_dict(v, aliases[v.name], deleted) for v in versions]
    if json:
        emit_json(rows)
        return
    table("Model versions", ["model", "state", "aliases", "flavor", "metric", "created", "dataset"],
          [[r["model_version"], "deleted" if r["deleted"] else "active", " ".join("@" + a for a in r["aliases"]),
            r["flavor"], headline(r["metrics"], r["meta"].get("metric")), when(r["created_at"]),
            short_ref(r["dataset"])]
           for r in rows])


@app.command("show")
def show(ref: Annotated[str, typer.Argument(help="MODEL, MODEL:N or MODEL@ALIAS.")],
         card: Annotated[bool, typer.Option("--card", help="Print the whole model card (Markdown).")] = False,
         project: ProjectOption = None, json: JsonOption = False) -> None:
    """One model version with its lineage (run, dataset, code commit), gates and model card."""
    from conveyor.registry.cards import render_markdown

    with open_project(project) as proj:
        mv = proj.models.get(ref)
        aliases = proj.models.aliases(mv.name)
        run = proj.runs.get(mv.run_id) if mv.run_id else None
        model_card = proj.models.card(mv.ref)
        erased = _erased(proj, mv.dataset)
        deleted = proj.models.deleted(mv.name)
    data = version_dict(mv, aliases, deleted)
    data["lineage"] = {"run": mv.run_id, "dataset": mv.dataset,
                       "git_commit": run.tags.get("git.commit") if run else None,
                       "packages": {k[4:]: v for k, v in (run.tags if run else {}).items() if k.startswith("pkg.")}}
    data["lineage"]["trained_on_erased_data"] = erased
    data["card"] = model_card
    if json:
        emit_json(data)
        return
    if card:
        typer.echo(render_markdown(model_card))
        return
    typer.echo(f"{mv.ref}  flavor={mv.flavor}  aliases={' '.join('@' + a for a in data['aliases']) or '-'}"
               + ("  DELETED (through an MLflow client: kept here, hidden from MLflow clients)"
                  if data["deleted"] else ""))
    typer.echo(f"  run={mv.run_id}  dataset={mv.dataset}  commit={data['lineage']['git_commit'] or '-'}")
    typer.echo(f"  task={mv.signature.get('task')}  target={mv.signature.get('target')}  "
               f"inputs={', '.join(c['name'] for c in mv.signature.get('inputs', []))}")
    if erased:
        typer.echo(f"  trained on erased data (erasure {erased['erasure']}): retrain it and retire this version")
    table("Metrics", ["metric", "value"], sorted(mv.metrics.items()))
    gates = model_card["gates"]
    if gates:
        table(f"Quality gates: {'passed' if gates['passed'] else 'FAILED'}", ["rule", "result", "detail"],
              [[r["rule"], "pass" if r["passed"] else "FAIL", r["detail"]] for r in gates["rules"]])
    typer.echo(f"  intended use: {model_card['intended_use']}")
    for note in model_card["limitations"]:
        typer.echo(f"  limitation: {note}")
    typer.echo(f"  (full model card: conveyor models show {mv.ref} --card)")


def _erased(proj, dataset: str | None) -> dict | None:
    """The erasure that tombstoned the version a model was trained on, if any (None: its data is intact)."""
    from conveyor.core.errors import NotFoundError
    from conveyor.data.erasure import erased_lineage

    if not dataset:
        return None
    try:
        return erased_lineage(proj.data.get(dataset))
    except NotFoundError:
        return None


def _report_promotion(result, json: bool) -> None:
    from conveyor.core.entities import ApprovalRequest

    if not isinstance(result, ApprovalRequest):
        _report_alias_change(result, "->", json)
        return
    if json:
        emit_json({"status": "pending_approval", "request": result.id, "model": result.model,
                   "version": result.version, "environment": result.environment, "requester": result.requester})
        return
    typer.echo(f"{result.ref} -> {result.model}@{result.environment} waits for approval: request {result.id} "
               f"(another user runs `conveyor models approve {result.id}`)")


@app.command("promote")
def promote_cmd(ref: Annotated[str, typer.Argument(help="MODEL:N (or MODEL@ALIAS) to promote.")],
                alias: Annotated[str | None, typer.Option("--alias", help="e.g. champion, challenger.")] = None,
                to: Annotated[str | None, typer.Option("--to", help="The environment to promote into (its order, "
                                                                    "gates and approval apply).")] = None,
                reason: Annotated[str, typer.Option("--reason")] = "",
                override_gates: Annotated[bool, typer.Option(
                    "--override-gates", help="Promote despite failed quality gates (needs --reason; audited).",
                )] = False,
                project: ProjectOption = None, json: JsonOption = False) -> None:
    """Point an alias at a model version (recorded in the audit trail), or with --to ENV promote it into an
    environment. A version that failed its quality gates is refused unless --override-gates is given with a
    --reason; where an approval is needed the answer is a pending request."""
    from conveyor.core.errors import BadInputError

    if alias is not None and to is not None:
        raise BadInputError("Give --alias or --to, not both.", field="to",
                            hint="--to ENV promotes into an environment; --alias NAME points any other alias.")
    with open_project(project) as proj:
        if to is not None:
            result = proj.models.promote_to(ref, to, reason=reason, override_gates=override_gates)
        else:
            result = proj.models.promote(ref, "champion" if alias is None else alias, reason=reason,
                                         override_gates=override_gates)
    _report_promotion(result, json)


def _request_dict(r) -> dict:
    return {"request": r.id, "model": r.model, "version": r.version, "environment": r.environment,
            "requester": r.requester, "status": r.status, "reason": r.reason, "created_at": r.created_at,
            "decided_by": r.decided_by, "decided_at": r.decided_at, "decision_reason": r.decision_reason}


@app.command("requests")
def requests_cmd(all_: Annotated[bool, typer.Option("--all", help="Decided requests too.")] = False,
                 model: Annotated[str | None, typer.Option("--model", help="Only this model's.")] = None,
                 project: ProjectOption = None, json: JsonOption = False) -> None:
    """Promotions waiting for approval (with --all, decided ones too)."""
    with open_project(project) as proj:
        found = proj.models.requests(status=None if all_ else "pending", model=model)
    rows = [_request_dict(r) for r in found]
    if json:
        emit_json(rows)
        return
    table("Approval requests", ["request", "model", "to", "requester", "status", "asked", "decided by"],
          [[r["request"], f"{r['model']}:{r['version']}", r["environment"], r["requester"], r["status"],
            when(r["created_at"]), r["decided_by"] or "-"] for r in rows])


@app.command("approve")
def approve_cmd(request: Annotated[str, typer.Argument(help="The request's id (conveyor models requests).")],
                reason: Annotated[str, typer.Option("--reason")] = "",
                project: ProjectOption = None, json: JsonOption = False) -> None:
    """Approve another user's promotion request and carry it out (audited; a requester never approves its own)."""
    with open_project(project) as proj:
        change = proj.models.approve(request, reason=reason)
    _report_alias_change(change, "->", json)


@app.command("reject")
def reject_cmd(request: Annotated[str, typer.Argument(help="The request's id (conveyor models requests).")],
               reason: Annotated[str, typer.Option("--reason")] = "",
               project: ProjectOption = None, json: JsonOption = False) -> None:
    """Reject another user's promotion request (audited); nothing moves."""
    with open_project(project) as proj:
        decided = proj.models.reject(request, reason=reason)
    if json:
        emit_json(_request_dict(decided))
        return
    typer.echo(f"rejected request {decided.id} ({decided.ref} -> {decided.environment})")


@app.command("rollback")
def rollback_cmd(name: Annotated[str, typer.Argument(help="Model name.")],
                 alias: Annotated[str, typer.Option("--alias")] = "champion",
                 reason: Annotated[str, typer.Option("--reason")] = "",
                 project: ProjectOption = None, json: JsonOption = False) -> None:
    """Move an alias back to the version it held before its latest promotion."""
    with open_project(project) as proj:
        change = proj.models.rollback(name, alias, reason=reason)
    _report_alias_change(change, "rolled back to", json)


@app.command("import")
def import_cmd(file: Annotated[Path, typer.Argument(help="Model file: LightGBM .txt, XGBoost .json/.ubj, or a "
                                                         "pickle/joblib file (stored untrusted without --trust).")],
               name: Annotated[str, typer.Option("--name", help="Model name to register under.")],
               data: Annotated[str | None, typer.Option("--data", help="NAME@VERSION it was trained on.")] = None,
               trust: Annotated[bool, typer.Option(
                   "--trust", help="Load a pickle-based file now (you trust its origin).")] = False,
               project: ProjectOption = None, json: JsonOption = False) -> None:
    """Register a model trained elsewhere, with lineage to a dataset version."""
    with open_project(project) as proj:
        mv = proj.models.import_(file, name, data=data, trust=trust)
    if json:
        emit_json(version_dict(mv))
        return
    typer.echo(f"registered {mv.ref} ({mv.flavor}) from {file}")
    if mv.meta.get("untrusted"):
        typer.echo(f"  stored untrusted (a pickle, not loaded): `conveyor models trust {mv.ref}` makes it loadable")


@app.command("trust")
def trust_cmd(ref: Annotated[str, typer.Argument(help="MODEL:N imported without --trust.")],
              reason: Annotated[str, typer.Option("--reason", help="Why its origin is trusted.")] = "",
              project: ProjectOption = None, json: JsonOption = False) -> None:
    """Make a pickle imported without --trust loadable (approver; recorded in the audit trail with the digest of
    its exact bytes). Only trust a file whose origin you know: loading a pickle can run any code."""
    with open_project(project) as proj:
        details = proj.models.trust(ref, reason=reason)
    if json:
        emit_json({"model_version": ref, **details})
        return
    typer.echo(f"trusted {ref} (blake3 {details['blake3'][:16]}...)")


@app.command("audit")
def audit_cmd(project: ProjectOption = None, json: JsonOption = False) -> None:
    """Show the registry's audit trail and verify it: the hash chain, and that the registry matches it (exit 1 if a
    row was edited or deleted, or the registry was changed around conveyor)."""
    from conveyor.core.errors import CheckFailedError, IntegrityError

    with open_project(project) as proj:
        try:
            entries = proj.models.audit()  # a row that cannot be read is named here, also with exit 1
            count = proj.models.verify()
        except IntegrityError as exc:
            raise CheckFailedError(f"Audit check failed: {exc.message}", field="audit", hint=exc.hint) from None
    if json:
        emit_json({"verified": True, "rows": count,
                   "entries": [{"seq": e.seq, "at": e.at, "actor": e.actor, "action": e.action,
                                "subject": e.subject, "details": e.details} for e in entries]})
        return
    table("Audit trail", ["#", "when", "who", "action", "subject"],
          [[e.seq, when(e.at), e.actor, e.action, e.subject] for e in entries])
    typer.echo(f"hash chain intact: {count} rows verified")
