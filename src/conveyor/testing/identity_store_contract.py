"""The contract every :class:`~conveyor.store.identities.IdentityStore` keeps, as a pytest suite.

Subclass it in a test module and provide an ``identity_store`` fixture that yields a fresh, empty store per test
(see ``conveyor.testing.dataset_store_contract`` for the pattern).
"""

from __future__ import annotations

import pytest

from conveyor.core.errors import ConflictError
from conveyor.store.identities import ApiToken, Grant, Identity, IdentityStore, identity_generation
from conveyor.testing.store_records import T0, hammer

__all__ = ["IdentityStoreContract"]


class IdentityStoreContract:
    """Subclass with an ``identity_store`` fixture; every ``test_*`` here must pass on every backend."""

    def test_identities_are_added_once_listed_by_name_and_revoked(self, identity_store: IdentityStore) -> None:
        assert not identity_store.has_identities()
        assert identity_store.get_identity("ana") is None
        before = identity_generation()
        identity_store.add_identity(Identity("zed", "viewer", "service", T0, "ana"))
        assert identity_generation() > before  # a cached "authentication is off" in this process is dropped
        identity_store.add_identity(Identity("ana", "admin", created_at=T0 + 1))
        assert identity_store.has_identities()
        with pytest.raises(ConflictError, match="'ana' already exists"):
            identity_store.add_identity(Identity("ana", "viewer"))
        assert [(i.name, i.role, i.kind) for i in identity_store.identities()] == [
            ("ana", "admin", "user"), ("zed", "viewer", "service")]
        zed = identity_store.get_identity("zed")
        assert zed is not None and (zed.created_at, zed.created_by, zed.active) == (T0, "ana", True)
        assert identity_store.revoke_identity("zed", at=T0 + 5)
        assert identity_store.revoke_identity("zed", at=T0 + 9)  # the first revocation time stays
        assert not identity_store.revoke_identity("nobody")
        revoked = identity_store.get_identity("zed")
        assert revoked is not None and revoked.revoked_at == T0 + 5 and not revoked.active
        identity_store.revoke_identity("ana", at=T0 + 6)
        assert identity_store.has_identities()  # revoking every user keeps authentication on

    def test_tokens_are_found_by_hash_listed_oldest_first_and_revoked(self, identity_store: IdentityStore) -> None:
        identity_store.add_identity(Identity("ana", "admin"))
        before = identity_generation()
        identity_store.add_token(ApiToken("tok_b", "ana", "b" * 64, T0 + 1, expires_at=T0 + 100, description="ci"))
        assert identity_generation() > before
        identity_store.add_token(ApiToken("tok_a", "ana", "a" * 64, T0))
        identity_store.add_token(ApiToken("tok_c", "bob", "c" * 64, T0 + 2))
        with pytest.raises(ConflictError):
            identity_store.add_token(ApiToken("tok_d", "ana", "a" * 64, T0 + 3))  # a hash is unique
        with pytest.raises(ConflictError):
            identity_store.add_token(ApiToken("tok_a", "ana", "d" * 64, T0 + 3))  # so is an id
        assert [t.id for t in identity_store.tokens()] == ["tok_a", "tok_b", "tok_c"]
        assert [t.id for t in identity_store.tokens("ana")] == ["tok_a", "tok_b"]
        found = identity_store.token_by_hash("b" * 64)
        assert found is not None and (found.id, found.identity, found.expires_at, found.description) == (
            "tok_b", "ana", T0 + 100, "ci")
        assert found.usable(T0 + 50) and not found.usable(T0 + 100)
        assert identity_store.token_by_hash("e" * 64) is None
        assert identity_store.revoke_token("tok_a", at=T0 + 7)
        assert not identity_store.revoke_token("tok_zzz")
        revoked = identity_store.token_by_hash("a" * 64)
        assert revoked is not None and revoked.revoked_at == T0 + 7 and not revoked.usable(T0 + 8)

    def test_grants_are_set_replaced_listed_and_revoked(self, identity_store: IdentityStore) -> None:
        identity_store.set_grant(Grant("bob", "model", "churn", "approver", T0))
        identity_store.set_grant(Grant("bob", "dataset", "events", "scientist", T0))
        identity_store.set_grant(Grant("ana", "model", "churn", "viewer", T0))
        identity_store.set_grant(Grant("bob", "model", "churn", "scientist", T0 + 1))  # replaces the first
        assert [(g.identity, g.kind, g.name, g.role) for g in identity_store.grants()] == [
            ("ana", "model", "churn", "viewer"), ("bob", "dataset", "events", "scientist"),
            ("bob", "model", "churn", "scientist")]
        assert [g.name for g in identity_store.grants("bob")] == ["events", "churn"]
        assert identity_store.revoke_grant("bob", "model", "churn")
        assert not identity_store.revoke_grant("bob", "model", "churn")
        assert [(g.kind, g.name) for g in identity_store.grants("bob")] == [("dataset", "events")]

    def test_concurrent_adds_of_one_name_have_one_winner(self, identity_store: IdentityStore) -> None:
        def add() -> bool:
            try:
                identity_store.add_identity(Identity("ci", "scientist", "service"))
            except ConflictError:
                return False
            return True

        assert sum(hammer(1, 8, add)) == 1
