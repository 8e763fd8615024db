"""Identities, tokens and the permission matrix, on a real SQLite store."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from conveyor.core.errors import AuthenticationError, BadInputError, ThrottledError
from conveyor.security import (
    ACTIONS,
    ROLES,
    FailureThrottle,
    add_identity,
    allowed,
    authenticate,
    authentication_on,
    bootstrap_admin,
    create_token,
    revoke_identity,
    revoke_token,
)
from conveyor.security.identities import INVALID, hash_token
from conveyor.store import Stores

EXPECTED = {  # the whole matrix, spelled out: a change to the table must change this test
    "viewer": {"read", "models.download", "tokens.own"},
    "scientist": {"read", "models.download", "tokens.own", "data.write", "runs.write", "models.register",
                  "models.promote", "monitor.write"},
    "approver": {"read", "models.download", "tokens.own", "models.approve", "models.trust", "feedback.relabel"},
    "admin": set(ACTIONS),
}


@pytest.fixture
def stores(tmp_path: Path):
    opened = Stores.open(f"sqlite:///{tmp_path / 'meta.db'}", str(tmp_path / "artifacts"))
    yield opened
    opened.close()


def test_each_role_is_allowed_exactly_its_actions() -> None:
    for role in ROLES:
        assert {a for a in ACTIONS if allowed(role, a)} == EXPECTED[role], role
    assert not any(allowed("root", a) for a in ACTIONS)
    with pytest.raises(BadInputError, match=r"No permission rule for action 'models\.delete'"):
        allowed("admin", "models.delete")


def test_a_token_authenticates_until_it_expires_or_is_revoked(stores: Stores, tmp_path: Path) -> None:
    assert not authentication_on(stores)
    ana = add_identity(stores, "ana", "admin", actor="local:me")
    assert authentication_on(stores)
    assert ana.secret.startswith("cvy_") and len(ana.secret) > 40
    assert authenticate(stores, ana.secret).name == "ana"
    ci = create_token(stores, "ana", actor="ana", expires_in=60, description="ci")
    assert authenticate(stores, ci.secret, at=ci.token.created_at + 59).name == "ana"
    for bad, at in [(ci.secret, ci.token.created_at + 61), (ana.secret[:-1] + "x", None), ("", None),
                    ("Bearer " + ana.secret, None)]:
        with pytest.raises(AuthenticationError) as caught:
            authenticate(stores, bad, at=at)
        assert caught.value.message == INVALID  # one message whatever was wrong
    revoke_token(stores, ci.token.id, actor="ana")
    with pytest.raises(AuthenticationError):
        authenticate(stores, ci.secret, at=ci.token.created_at + 1)
    bob = add_identity(stores, "bob", "viewer", actor="ana", kind="service")
    revoke_identity(stores, "bob", actor="ana")
    with pytest.raises(AuthenticationError):
        authenticate(stores, bob.secret)
    # stored hashed: the secrets are nowhere in the database file, their SHA-256 is
    raw = (tmp_path / "meta.db").read_bytes() + (tmp_path / "meta.db-wal").read_bytes()
    assert ana.secret.encode() not in raw and bob.secret.encode() not in raw
    assert stores.identities.token_by_hash(hash_token(ana.secret)) is not None
    actions = [(e.actor, e.action, e.subject) for e in stores.registry.audit_log()]
    assert actions == [("local:me", "user.add", "ana"), ("ana", "token.create", "ana"),
                       ("ana", "token.revoke", "ana"), ("ana", "user.add", "bob"), ("ana", "user.revoke", "bob")]
    assert all(ana.secret not in str(e.details) for e in stores.registry.audit_log())


def test_failed_tokens_are_throttled_per_source(stores: Stores) -> None:
    ana = add_identity(stores, "ana", "admin", actor="local:me")
    clock = [100.0]
    throttle = FailureThrottle(limit=3, window=60, clock=lambda: clock[0])
    for _ in range(3):
        with pytest.raises(AuthenticationError):
            authenticate(stores, "cvy_guess", throttle=throttle, source="10.0.0.9")
    with pytest.raises(ThrottledError):  # even the right token, from that source, until the window passes
        authenticate(stores, ana.secret, throttle=throttle, source="10.0.0.9")
    assert authenticate(stores, ana.secret, throttle=throttle, source="10.0.0.7").name == "ana"
    clock[0] += 61
    assert authenticate(stores, ana.secret, throttle=throttle, source="10.0.0.9").name == "ana"


def test_the_first_admin_comes_from_the_bootstrap_token_file(stores: Stores, tmp_path: Path) -> None:
    secret_file = tmp_path / "bootstrap"
    secret_file.write_text("short\n")
    env = {"CONVEYOR_BOOTSTRAP_TOKEN_FILE": str(secret_file)}
    with pytest.raises(BadInputError, match=r"too short"):
        bootstrap_admin(stores, env)
    assert not authentication_on(stores)
    secret = "cvy_" + "k" * 43
    secret_file.write_text(secret + "\n")
    assert bootstrap_admin(stores, {}) is None  # unset: nothing happens
    admin = bootstrap_admin(stores, env)
    assert admin is not None and (admin.name, admin.role) == ("admin", "admin")
    assert authenticate(stores, secret).name == "admin"
    assert bootstrap_admin(stores, env) is None  # once: identities exist now
    assert [i.name for i in stores.identities.identities()] == ["admin"]
    with sa.create_engine(stores.url).connect() as conn:  # the stored hash, not the secret
        assert conn.execute(sa.text("SELECT hash FROM api_tokens")).scalar() == hash_token(secret)


def test_the_recorded_actor_is_the_authenticated_identity(stores: Stores, monkeypatch: pytest.MonkeyPatch) -> None:
    from sklearn.dummy import DummyClassifier

    from conveyor.core.actors import acting_as
    from conveyor.registry.models import register_model

    monkeypatch.setenv("CONVEYOR_USER", "mallory")
    model = DummyClassifier().fit([[0], [1]], [0, 1])
    register_model(stores, model, "m")  # authentication off: the unauthenticated local label
    with acting_as("ana"):
        register_model(stores, model, "m")
    assert [e.actor for e in stores.registry.audit_log()] == ["mallory", "ana"]


def test_a_grant_adds_a_role_on_one_object_only(stores: Stores) -> None:
    from conveyor.core.errors import PermissionDeniedError
    from conveyor.security import authorize, grant, revoke_grant

    add_identity(stores, "ana", "admin", actor="local:me")
    vic = add_identity(stores, "vic", "viewer", actor="ana")
    with pytest.raises(PermissionDeniedError, match=r"'vic' \(viewer\) may not do models.trust"):
        authorize(stores, "models.trust", vic.secret, kind="model", target="churn")
    grant(stores, "vic", "model", "churn", "approver", actor="ana")
    assert authorize(stores, "models.trust", vic.secret, kind="model", target="churn") == "vic"
    for kind, target in [("model", "other"), ("dataset", "churn"), (None, None)]:
        with pytest.raises(PermissionDeniedError):
            authorize(stores, "models.trust", vic.secret, kind=kind, target=target)
    with pytest.raises(PermissionDeniedError):  # a grant adds its role's actions, no others
        authorize(stores, "data.write", vic.secret, kind="model", target="churn")
    revoke_grant(stores, "vic", "model", "churn", actor="ana")
    with pytest.raises(PermissionDeniedError):
        authorize(stores, "models.trust", vic.secret, kind="model", target="churn")
    assert [e.action for e in stores.registry.audit_log()][-2:] == ["grant.add", "grant.revoke"]
