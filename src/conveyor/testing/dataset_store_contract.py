"""The contract every :class:`~conveyor.store.datasets.DatasetStore` keeps, as a pytest suite.

Subclass it in a test module and provide a ``dataset_store`` fixture that yields a fresh, empty store per test::

    @pytest.fixture
    def dataset_store(tmp_path):
        roles = my_backend_roles(tmp_path / "db")
        yield roles.datasets
        roles.close()

    class TestMyDatasets(DatasetStoreContract):
        pass
"""

from __future__ import annotations

import pytest

from conveyor.core.errors import BadInputError, NotFoundError
from conveyor.store.datasets import DatasetStore
from conveyor.testing.store_records import NESTED, T0, dataset

__all__ = ["DatasetStoreContract"]


class DatasetStoreContract:
    """Subclass with a ``dataset_store`` fixture; every ``test_*`` here must pass on every backend."""

    def test_add_version_round_trips(self, dataset_store: DatasetStore) -> None:
        dv = dataset(parents=["raw@123"], meta={"owner": "ops"})
        stored, new = dataset_store.add_version(dv)
        assert new is True
        assert stored == dv
        assert dataset_store.versions("iris") == [dv]
        assert dataset_store.get_version("iris", dv.version) == dv

    def test_add_version_is_idempotent(self, dataset_store: DatasetStore) -> None:
        first = dataset(version="f" * 64, source="first.csv")
        dataset_store.add_version(first)
        again = dataset(version="f" * 64, source="second.csv", at=T0 + 5)
        stored, new = dataset_store.add_version(again)
        assert new is False
        assert stored == first  # the recorded version wins; nothing is overwritten
        assert dataset_store.versions("iris") == [first]

    def test_versions_oldest_first(self, dataset_store: DatasetStore) -> None:
        for i in (2, 0, 3, 1):  # inserted out of order on purpose
            dataset_store.add_version(dataset(version=f"{i}" * 64, at=T0 + i))
        dataset_store.add_version(dataset("wine", version="9" * 64, at=T0 + 1.5))
        assert [v.version[0] for v in dataset_store.versions("iris")] == ["0", "1", "2", "3"]
        every = dataset_store.versions()
        assert [(v.name, v.version[0]) for v in every] == [
            ("iris", "0"), ("iris", "1"), ("wine", "9"), ("iris", "2"), ("iris", "3")]
        assert dataset_store.names() == ["iris", "wine"]
        assert dataset_store.versions("nope") == []

    def test_get_version_latest(self, dataset_store: DatasetStore) -> None:
        for i in range(3):
            dataset_store.add_version(dataset(version=f"{i}" * 64, at=T0 + i))
        assert dataset_store.get_version("iris").version == "2" * 64
        assert dataset_store.get_version("iris", "latest").version == "2" * 64
        assert dataset_store.get_version("iris", "").version == "2" * 64

    def test_get_version_by_prefix(self, dataset_store: DatasetStore) -> None:
        dataset_store.add_version(dataset(version="abc1" + "0" * 60, at=T0))
        dataset_store.add_version(dataset(version="abd2" + "0" * 60, at=T0 + 1))
        assert dataset_store.get_version("iris", "abc").version.startswith("abc1")
        assert dataset_store.get_version("iris", "abd2").version.startswith("abd2")
        with pytest.raises(BadInputError, match="ambiguous"):
            dataset_store.get_version("iris", "ab")
        with pytest.raises(NotFoundError, match="no version 'fff'") as unknown:
            dataset_store.get_version("iris", "fff")
        assert "abc10000" in str(unknown.value)  # the hint names the versions there are

    def test_a_prefix_with_like_wildcards_matches_literally(self, dataset_store: DatasetStore) -> None:
        dataset_store.add_version(dataset(version="ab" + "0" * 62))
        with pytest.raises(NotFoundError, match="no version"):
            dataset_store.get_version("iris", "a_")
        with pytest.raises(NotFoundError, match="no version"):
            dataset_store.get_version("iris", "%")

    def test_get_version_unknown_name(self, dataset_store: DatasetStore) -> None:
        with pytest.raises(NotFoundError, match="'iris'"):
            dataset_store.get_version("iris")
        with pytest.raises(NotFoundError, match="'iris'"):
            dataset_store.get_version("iris", "abc")
        dataset_store.add_version(dataset("irises"))
        with pytest.raises(NotFoundError, match="Did you mean 'irises'"):
            dataset_store.get_version("iris")

    def test_json_fields_round_trip(self, dataset_store: DatasetStore) -> None:
        dv = dataset(meta=NESTED, parents=["raw@1", "café@2"])
        dv.profile = {"x": NESTED}
        dataset_store.add_version(dv)
        assert dataset_store.get_version("iris") == dv

    def test_handed_out_records_are_copies(self, dataset_store: DatasetStore) -> None:
        dv = dataset()
        dataset_store.add_version(dv)
        dv.meta["changed"] = True
        dataset_store.get_version("iris").meta["changed"] = True
        assert dataset_store.get_version("iris").meta == {}
