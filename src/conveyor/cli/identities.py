"""`conveyor users ...` and `conveyor tokens ...`: identities and their API tokens.

A new token is printed once (with --json under ``token``) and never again: only its hash is stored. Once an
identity exists, these verbs act as the identity whose token is in ``CONVEYOR_TOKEN``.
"""

from __future__ import annotations

from typing import Annotated

import typer

from conveyor.cli.output import JsonOption, ProjectOption, emit_json, err_console, open_project, table, when

users_app = typer.Typer(help="Users and service identities: add (prints a token once), list, grant, revoke.",
                        no_args_is_help=True)
tokens_app = typer.Typer(help="API tokens: create (printed once), list, revoke.", no_args_is_help=True)

ExpiresOption = Annotated[str | None, typer.Option("--expires", help="Token lifetime, e.g. 90d (default: none).")]
DescriptionOption = Annotated[str, typer.Option("--description", help="What the token is for (e.g. ci).")]


def _identity_dict(identity) -> dict:
    return {"name": identity.name, "role": identity.role, "kind": identity.kind, "created_at": identity.created_at,
            "created_by": identity.created_by, "revoked_at": identity.revoked_at, "active": identity.active}


def _token_dict(token) -> dict:
    return {"id": token.id, "identity": token.identity, "created_at": token.created_at,
            "expires_at": token.expires_at, "revoked_at": token.revoked_at, "description": token.description}


def _print_new(new, json: bool) -> None:
    if json:
        emit_json({**_identity_dict(new.identity), "token": new.secret, "token_id": new.token.id,
                   "expires_at": new.token.expires_at})
        return
    typer.echo(new.secret)
    err_console.print(f"token {new.token.id} of {new.identity.name} ({new.identity.role}); shown once: store it "
                      "now (CONVEYOR_TOKEN)")


@users_app.command("add")
def add(name: Annotated[str, typer.Argument(help="User or service name.")],
        role: Annotated[str, typer.Option("--role", help="viewer, scientist, approver or admin.")],
        service: Annotated[bool, typer.Option("--service", help="A service identity (CI, agent).")] = False,
        expires: ExpiresOption = None, description: DescriptionOption = "",
        project: ProjectOption = None, json: JsonOption = False) -> None:
    """Add an identity and print its first token, once. The first identity must be an admin; from then on
    authentication is on."""
    with open_project(project) as proj:
        new = proj.identities.add(name, role, kind="service" if service else "user", expires=expires,
                                  description=description)
    _print_new(new, json)


@users_app.command("list")
def list_users(project: ProjectOption = None, json: JsonOption = False) -> None:
    """Every identity, revoked ones included (admin)."""
    with open_project(project) as proj:
        grants = proj.identities.grants()
        rows = [{**_identity_dict(i), "grants": [{"kind": g.kind, "name": g.name, "role": g.role}
                                                  for g in grants if g.identity == i.name]}
                for i in proj.identities.list()]
    if json:
        emit_json(rows)
        return
    table("Identities", ["name", "role", "grants", "kind", "created", "by", "revoked"],
          [[r["name"], r["role"], " ".join(f"{g['role']}@{g['kind']}:{g['name']}" for g in r["grants"]) or "-",
            r["kind"], when(r["created_at"]), r["created_by"], when(r["revoked_at"])] for r in rows])


ModelOption = Annotated[str | None, typer.Option("--model", help="The model the grant is on.")]
DatasetOption = Annotated[str | None, typer.Option("--dataset", help="The dataset the grant is on.")]


@users_app.command("grant")
def grant(name: Annotated[str, typer.Argument(help="Identity to give the role to.")],
          role: Annotated[str, typer.Option("--role", help="viewer, scientist, approver or admin.")],
          model: ModelOption = None, dataset: DatasetOption = None,
          project: ProjectOption = None, json: JsonOption = False) -> None:
    """Give an identity a role on one model or dataset, beside its project role (admin; audited)."""
    with open_project(project) as proj:
        given = proj.identities.grant(name, role, model=model, dataset=dataset)
    if json:
        emit_json({"identity": given.identity, "kind": given.kind, "name": given.name, "role": given.role})
        return
    typer.echo(f"{given.identity} is {given.role} on {given.kind} {given.name}")


@users_app.command("ungrant")
def ungrant(name: Annotated[str, typer.Argument(help="Identity to take the grant from.")],
            model: ModelOption = None, dataset: DatasetOption = None,
            project: ProjectOption = None, json: JsonOption = False) -> None:
    """Take back a grant on one model or dataset (admin; audited)."""
    with open_project(project) as proj:
        proj.identities.ungrant(name, model=model, dataset=dataset)
    if json:
        emit_json({"identity": name, "model": model, "dataset": dataset, "revoked": True})
        return
    typer.echo(f"took back {name}'s grant on {'model ' + model if model else 'dataset ' + str(dataset)}")


@users_app.command("revoke")
def revoke(name: Annotated[str, typer.Argument(help="Identity to revoke (with all its tokens).")],
           project: ProjectOption = None, json: JsonOption = False) -> None:
    """Revoke an identity and every token of it (admin)."""
    with open_project(project) as proj:
        identity = proj.identities.revoke(name)
    if json:
        emit_json(_identity_dict(identity))
        return
    typer.echo(f"revoked {identity.name} and its tokens")


@tokens_app.command("create")
def create(user: Annotated[str | None, typer.Option("--user", help="Whose token (default: your own; "
                                                                   "another's needs admin).")] = None,
           expires: ExpiresOption = None, description: DescriptionOption = "",
           project: ProjectOption = None, json: JsonOption = False) -> None:
    """Make another token and print it, once."""
    with open_project(project) as proj:
        new = proj.identities.create_token(user, expires=expires, description=description)
    _print_new(new, json)


@tokens_app.command("list")
def list_tokens(user: Annotated[str | None, typer.Option("--user", help="Whose tokens (default: your own).")] = None,
                project: ProjectOption = None, json: JsonOption = False) -> None:
    """Tokens by id (never their secrets)."""
    with open_project(project) as proj:
        rows = [_token_dict(t) for t in proj.identities.tokens(user)]
    if json:
        emit_json(rows)
        return
    table("Tokens", ["id", "identity", "created", "expires", "revoked", "description"],
          [[r["id"], r["identity"], when(r["created_at"]), when(r["expires_at"]), when(r["revoked_at"]),
            r["description"]] for r in rows])


@tokens_app.command("revoke")
def revoke_token(token_id: Annotated[str, typer.Argument(help="Token id (tok_...), from `conveyor tokens list`.")],
                 project: ProjectOption = None, json: JsonOption = False) -> None:
    """Revoke one token (your own, or any as admin)."""
    with open_project(project) as proj:
        token = proj.identities.revoke_token(token_id)
    if json:
        emit_json(_token_dict(token))
        return
    typer.echo(f"revoked {token.id} of {token.identity}")
