"""Identities and API tokens on SQL: tables ``identities`` and ``api_tokens`` (names and token ids are primary keys,
token hashes unique, so of two concurrent writers of one name exactly one wins)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from conveyor.core.entities import now
from conveyor.core.errors import ConflictError
from conveyor.store import schema as t
from conveyor.store.identities import ApiToken, Grant, Identity, IdentityStore, identities_added
from conveyor.store.sql.database import SqlDatabase

__all__ = ["SqlIdentityStore"]


def _identity(r: Any) -> Identity:
    return Identity(r.name, r.role, r.kind, r.created_at, r.created_by, r.revoked_at)


def _token(r: Any) -> ApiToken:
    return ApiToken(r.id, r.identity, r.hash, r.created_at, r.expires_at, r.revoked_at, r.description)


class SqlIdentityStore(IdentityStore):
    def __init__(self, db: SqlDatabase) -> None:
        self.db = db
        self.url = db.url

    def add_identity(self, identity: Identity) -> Identity:
        insert = self.db.insert(t.identities).values(
            name=identity.name, role=identity.role, kind=identity.kind, created_at=identity.created_at,
            created_by=identity.created_by, revoked_at=identity.revoked_at)
        with self.db.engine.begin() as conn:
            # RETURNING, not rowcount: psycopg reports a skipped ON CONFLICT DO NOTHING as one row
            if conn.execute(insert.on_conflict_do_nothing(index_elements=["name"])
                            .returning(t.identities.c.name)).first() is None:
                raise self._conflict(identity.name)
        identities_added()
        return identity

    def get_identity(self, name: str) -> Identity | None:
        with self.db.engine.connect() as conn:
            row = conn.execute(sa.select(t.identities).where(t.identities.c.name == name)).first()
        return None if row is None else _identity(row)

    def identities(self) -> list[Identity]:
        with self.db.engine.connect() as conn:
            return [_identity(r) for r in conn.execute(sa.select(t.identities).order_by(t.identities.c.name))]

    def has_identities(self) -> bool:
        with self.db.engine.connect() as conn:
            return conn.execute(sa.select(t.identities.c.name).limit(1)).first() is not None

    def revoke_identity(self, name: str, at: float | None = None) -> bool:
        c = t.identities.c
        with self.db.engine.begin() as conn:
            conn.execute(t.identities.update().where(c.name == name, c.revoked_at.is_(None))
                         .values(revoked_at=now() if at is None else at))
            return conn.execute(sa.select(c.name).where(c.name == name)).first() is not None

    def add_token(self, token: ApiToken) -> ApiToken:
        try:
            with self.db.engine.begin() as conn:
                conn.execute(t.api_tokens.insert().values(
                    id=token.id, identity=token.identity, hash=token.hash, created_at=token.created_at,
                    expires_at=token.expires_at, revoked_at=token.revoked_at, description=token.description))
        except sa.exc.IntegrityError:
            raise ConflictError(f"Token {token.id!r} already exists.", field="token") from None
        identities_added()
        return token

    def token_by_hash(self, token_hash: str) -> ApiToken | None:
        with self.db.engine.connect() as conn:
            row = conn.execute(sa.select(t.api_tokens).where(t.api_tokens.c.hash == token_hash)).first()
        return None if row is None else _token(row)

    def tokens(self, identity: str | None = None) -> list[ApiToken]:
        c = t.api_tokens.c
        query = sa.select(t.api_tokens).order_by(c.created_at, c.id)
        if identity is not None:
            query = query.where(c.identity == identity)
        with self.db.engine.connect() as conn:
            return [_token(r) for r in conn.execute(query)]

    def revoke_token(self, token_id: str, at: float | None = None) -> bool:
        c = t.api_tokens.c
        with self.db.engine.begin() as conn:
            conn.execute(t.api_tokens.update().where(c.id == token_id, c.revoked_at.is_(None))
                         .values(revoked_at=now() if at is None else at))
            return conn.execute(sa.select(c.id).where(c.id == token_id)).first() is not None

    def set_grant(self, grant: Grant) -> Grant:
        with self.db.engine.begin() as conn:
            self.db.upsert(conn, t.grants, [{"identity": grant.identity, "kind": grant.kind, "name": grant.name,
                                              "role": grant.role, "created_at": grant.created_at}],
                           ["identity", "kind", "name"])
        return grant

    def revoke_grant(self, identity: str, kind: str, name: str) -> bool:
        c = t.grants.c
        with self.db.engine.begin() as conn:
            return conn.execute(t.grants.delete().where(c.identity == identity, c.kind == kind, c.name == name)
                                .returning(c.name)).first() is not None

    def grants(self, identity: str | None = None) -> list[Grant]:
        c = t.grants.c
        query = sa.select(t.grants).order_by(c.identity, c.kind, c.name)
        if identity is not None:
            query = query.where(c.identity == identity)
        with self.db.engine.connect() as conn:
            return [Grant(r.identity, r.kind, r.name, r.role, r.created_at) for r in conn.execute(query)]
