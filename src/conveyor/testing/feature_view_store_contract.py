"""The contract every :class:`~conveyor.store.features.FeatureViewStore` keeps, as a pytest suite.

Subclass it in a test module and provide a ``feature_view_store`` fixture that yields a fresh, empty store per
test (tests/store/test_role_contracts.py runs it on memory, SQLite and PostgreSQL).
"""

from __future__ import annotations

from conveyor.store.features import FeatureViewStore, FeatureViewVersion
from conveyor.testing.store_records import T0, hammer

__all__ = ["FeatureViewStoreContract"]


def version(view: str, v: str, at: float = T0) -> FeatureViewVersion:
    return FeatureViewVersion(view=view, version=v * 8, definition_hash="d" + v, source=f"tx@{v}",
                              definition={"name": view, "ttl": "30d", "features": [{"name": "a"}]},
                              origin=f"features/{view}.yaml", applied_at=at)


class FeatureViewStoreContract:
    """Subclass with a ``feature_view_store`` fixture; every ``test_*`` here must pass on every backend."""

    def test_versions_are_appended_once_and_listed_oldest_first(self, feature_view_store: FeatureViewStore
                                                                ) -> None:
        stored, created = feature_view_store.add(version("stats", "a"))
        assert created and stored.ref == "stats@aaaaaaaa"
        again, created = feature_view_store.add(version("stats", "a", at=T0 + 5))
        assert not created and again.applied_at == T0
        assert feature_view_store.add(version("other", "a"))[1]
        assert feature_view_store.add(version("stats", "b", at=T0 + 1))[1]
        assert feature_view_store.add(version("stats", "a", at=T0 + 2))[1]  # back to an older definition
        assert [v.version[0] for v in feature_view_store.versions("stats")] == ["a", "b", "a"]
        assert [v.view for v in feature_view_store.versions()] == ["stats", "other", "stats", "stats"]
        latest = feature_view_store.latest("stats")
        assert latest is not None and latest.applied_at == T0 + 2
        assert latest.definition == {"name": "stats", "ttl": "30d", "features": [{"name": "a"}]}
        assert latest.source == "tx@a" and latest.origin == "features/stats.yaml"
        assert feature_view_store.latest("nope") is None and feature_view_store.versions("nope") == []

    def test_materialisations_are_noted_on_the_newest_record_of_a_version(self, feature_view_store: FeatureViewStore
                                                                          ) -> None:
        feature_view_store.add(version("stats", "a"))
        feature_view_store.add(version("stats", "b"))
        feature_view_store.add(version("stats", "a"))
        assert feature_view_store.note_materialized("stats", "a" * 8, {"at": "2026-01-01", "written": 3})
        assert feature_view_store.note_materialized("stats", "a" * 8, {"at": "2026-01-02", "written": 4})
        assert not feature_view_store.note_materialized("stats", "z" * 8, {"written": 1})
        notes = [v.materialized for v in feature_view_store.versions("stats")]
        assert notes == [[], [], [{"at": "2026-01-01", "written": 3}, {"at": "2026-01-02", "written": 4}]]

    def test_concurrent_adds_of_one_version_create_it_once(self, feature_view_store: FeatureViewStore) -> None:
        created = hammer(1, 6, lambda: feature_view_store.add(version("stats", "c"))[1])
        assert sorted(created) == [False] * 5 + [True]
        assert [v.version for v in feature_view_store.versions("stats")] == ["c" * 8]
