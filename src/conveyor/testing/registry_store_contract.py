"""The contract every :class:`~conveyor.store.registry.RegistryStore` keeps, as a pytest suite.

Subclass it in a test module and provide a ``registry_store`` fixture that yields a fresh, empty store per test
(see ``conveyor.testing.dataset_store_contract`` for the pattern). Checks that need a backend's internals (editing an
audit row behind the store's back) belong in the backend's own tests.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from conveyor.core.entities import AuditNote
from conveyor.core.errors import IntegrityError, NotFoundError
from conveyor.store.audit import AuditSealing, AuditVerdict, write_keys
from conveyor.store.registry import RegistryStore
from conveyor.testing.store_records import NESTED, T0, hammer, model

__all__ = ["RegistryStoreContract"]


class RegistryStoreContract:
    """Subclass with a ``registry_store`` fixture; every ``test_*`` here must pass on every backend."""

    # model versions

    def test_versions_numbered_per_name(self, registry_store: RegistryStore) -> None:
        numbered = [registry_store.create_version(model(n)).ref for n in ["a", "a", "b", "a", "b"]]
        assert numbered == ["a:1", "a:2", "b:1", "a:3", "b:2"]
        assert [m.ref for m in registry_store.versions()] == ["a:1", "a:2", "a:3", "b:1", "b:2"]
        assert [m.ref for m in registry_store.versions("b")] == ["b:1", "b:2"]
        assert registry_store.versions("c") == []
        assert registry_store.names() == ["a", "b"]

    def test_versions_of_a_run(self, registry_store: RegistryStore) -> None:
        for name, run_id in [("a", "r1"), ("b", "r2"), ("a", None), ("b", "r1"), ("a", "r1")]:
            registry_store.create_version(dataclasses.replace(model(name), run_id=run_id))
        assert [m.ref for m in registry_store.versions_of_run("r1")] == ["a:1", "a:3", "b:2"]
        assert [m.ref for m in registry_store.versions_of_run("r2")] == ["b:1"]
        assert registry_store.versions_of_run("r") == []  # a full id, not a prefix

    def test_get_version_round_trips(self, registry_store: RegistryStore) -> None:
        mv = model(signature={"inputs": [{"name": "x", "dtype": "float64"}], "classes": [0, 1]},
                   metrics={"auc": 0.91}, meta=NESTED, created_at=T0)
        created = registry_store.create_version(mv)
        assert created.version == 1
        got = registry_store.get_version("churn", 1)
        assert got == created
        assert (got.signature, got.metrics, got.meta) == (mv.signature, {"auc": 0.91}, NESTED)

    def test_concurrent_versions_are_distinct(self, registry_store: RegistryStore) -> None:
        created = hammer(5, 8, lambda: registry_store.create_version(model("race")).version)
        assert sorted(created) == list(range(1, 41))
        assert [m.version for m in registry_store.versions("race")] == list(range(1, 41))

    def test_get_unknown_model(self, registry_store: RegistryStore) -> None:
        with pytest.raises(NotFoundError, match="'churn'"):
            registry_store.get_version("churn", 1)
        registry_store.create_version(model("churn"))
        with pytest.raises(NotFoundError, match="Did you mean 'churn'"):
            registry_store.get_version("chrun", 1)
        with pytest.raises(NotFoundError, match="no version 2"):
            registry_store.get_version("churn", 2)

    # aliases

    def test_aliases_set_move_remove(self, registry_store: RegistryStore) -> None:
        for _ in range(3):
            registry_store.create_version(model("churn"))
        registry_store.create_version(model("other"))
        assert registry_store.aliases("churn") == {}
        first = registry_store.set_alias("churn", "prod", 1)
        assert (first.model, first.alias, first.version, first.previous) == ("churn", "prod", 1, None)
        moved = registry_store.set_alias("churn", "prod", 2)
        assert (moved.version, moved.previous) == (2, 1)
        registry_store.set_alias("churn", "staging", 3)
        registry_store.set_alias("other", "prod", 1)
        assert registry_store.aliases("churn") == {"prod": 2, "staging": 3}
        removed = registry_store.set_alias("churn", "prod", None)
        assert (removed.version, removed.previous) == (None, 2)
        assert registry_store.aliases("churn") == {"staging": 3}
        assert registry_store.aliases("other") == {"prod": 1}
        history = registry_store.alias_history("churn", "prod")
        assert [(c.model, c.alias, c.version, c.previous) for c in history] == [
            ("churn", "prod", 1, None), ("churn", "prod", 2, 1), ("churn", "prod", None, 2)]
        assert [c.at for c in history] == sorted(c.at for c in history)
        assert [c.version for c in registry_store.alias_history("churn", "staging")] == [3]
        assert registry_store.alias_history("churn", "never") == []

    def test_set_alias_to_missing_version(self, registry_store: RegistryStore) -> None:
        registry_store.create_version(model("churn"))
        registry_store.set_alias("churn", "prod", 1)
        with pytest.raises(NotFoundError, match="no version 7"):
            registry_store.set_alias("churn", "prod", 7)
        with pytest.raises(NotFoundError, match="'ghost'"):
            registry_store.set_alias("ghost", "prod", 1)
        assert registry_store.aliases("churn") == {"prod": 1}
        assert len(registry_store.alias_history("churn", "prod")) == 1
        assert registry_store.aliases("ghost") == {}

    # registry writes and their audit rows

    def test_registry_changes_and_their_audit_rows_land_together(self, registry_store: RegistryStore) -> None:
        created = registry_store.create_version(model("audited"), audit=AuditNote("ana", "register", {"n": 1}))
        registry_store.set_alias("audited", "champion", created.version, audit=AuditNote("ben", "promote"))
        first, second = registry_store.audit_log()
        assert (first.actor, first.action, first.subject, first.details) == ("ana", "register", "audited:1", {"n": 1})
        assert (second.action, second.subject) == ("promote", "audited@champion")
        assert second.details == {"version": 1, "previous": None}
        assert registry_store.verify_audit() == 2

    def test_a_refused_alias_change_writes_no_audit_row(self, registry_store: RegistryStore) -> None:
        with pytest.raises(NotFoundError):
            registry_store.set_alias("nobody", "champion", 3, audit=AuditNote("ana", "promote"))
        assert registry_store.audit_log() == []

    # notes MLflow clients keep (descriptions, tags, a deleted mark)

    def test_notes_on_models_and_versions(self, registry_store: RegistryStore) -> None:
        registry_store.create_version(model("noted"))
        assert registry_store.notes() == []
        registry_store.annotate("noted", description="churn model", tags={"team": "ml", "tier": "1"})
        registry_store.annotate("noted", tags={"tier": "2"}, untag=["team"])
        registry_store.annotate("noted", 1, tags={"ok": "yes"})
        registry_store.annotate("empty", description="no versions yet")  # a registered model needs no version
        found = {(n.name, n.version): n for n in registry_store.notes()}
        assert (found["noted", 0].description, found["noted", 0].tags) == ("churn model", {"tier": "2"})
        assert (found["noted", 1].description, found["noted", 1].tags, found["noted", 1].deleted) == ("", {"ok": "yes"},
                                                                                                     False)
        assert [(n.name, n.version) for n in registry_store.notes("noted")] == [("noted", 0), ("noted", 1)]
        with pytest.raises(NotFoundError):
            registry_store.annotate("noted", 7, tags={"x": "y"})
        assert registry_store.audit_log() == []

    def test_a_delete_mark_and_its_audit_row_land_together(self, registry_store: RegistryStore) -> None:
        registry_store.create_version(model("gone"))
        note = registry_store.annotate("gone", 1, deleted=True, audit=AuditNote("ana", "version.delete", {"via": "x"}))
        assert note.deleted and registry_store.notes("gone")[0].deleted
        registry_store.annotate("gone", deleted=True, audit=AuditNote("ana", "model.delete"))
        first, second = registry_store.audit_log()
        assert (first.action, first.subject, first.details) == ("version.delete", "gone:1", {"via": "x"})
        assert (second.action, second.subject) == ("model.delete", "gone")
        assert registry_store.get_version("gone", 1).version == 1  # the version itself is kept
        assert registry_store.verify_audit() == 2

    # the audit trail

    def test_audit_chain(self, registry_store: RegistryStore) -> None:
        assert registry_store.audit_log() == []
        assert registry_store.verify_audit() == 0
        entries = [registry_store.append_audit("alice", "promote", f"churn:{i}", {"i": i}) for i in range(1, 4)]
        assert [e.seq for e in entries] == [1, 2, 3]
        assert entries[1].prev_hash == entries[0].hash and entries[2].prev_hash == entries[1].hash
        assert registry_store.audit_log() == entries
        assert registry_store.verify_audit() == 3

    def test_concurrent_audit_appends_keep_the_chain(self, registry_store: RegistryStore) -> None:
        counter = iter(range(10_000))
        appended = hammer(5, 8, lambda: registry_store.append_audit("bot", "tick", "x", {"n": next(counter)}).seq)
        assert sorted(appended) == list(range(1, 41))
        assert [e.seq for e in registry_store.audit_log()] == list(range(1, 41))
        assert registry_store.verify_audit() == 40

    def test_audit_json_round_trips(self, registry_store: RegistryStore) -> None:
        registry_store.append_audit("ünïcode", "edit", "数据", NESTED)
        assert registry_store.audit_log()[0].details == NESTED
        assert registry_store.verify_audit() == 1

    def test_keyed_rows_follow_plain_ones_and_verify_only_with_the_key(self, registry_store: RegistryStore,
                                                                       tmp_path: Path) -> None:
        registry_store.append_audit("ana", "note", "before", {})
        write_keys(tmp_path / "k", tmp_path / "s.pem")
        registry_store.sealing = AuditSealing.from_files(tmp_path / "k", tmp_path / "s.pem", tmp_path / "anchor.json")
        registry_store.create_version(model("churn"), audit=AuditNote("ana", "register"))
        registry_store.set_alias("churn", "champion", 1, audit=AuditNote("ana", "promote"))
        assert [e.keyed for e in registry_store.audit_log()] == [False, True, True]
        assert registry_store.verify_sealed() == AuditVerdict(3, 2, 3)  # every write moved the signed anchor
        registry_store.sealing = AuditSealing()
        with pytest.raises(IntegrityError, match=r"Audit row 2 .* is keyed, but no key is configured"):
            registry_store.verify_audit()
