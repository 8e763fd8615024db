"""One online-store contract, run on memory, SQLite and a real redis-server started here."""

from __future__ import annotations

import pytest

from conveyor.core.entities import new_id
from conveyor.core.errors import NotFoundError
from conveyor.features.online import ONLINE_STORES, OnlineStore, open_online_store
from conveyor.testing.online_store_contract import OnlineStoreContract, redis_server


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory):
    with redis_server(tmp_path_factory.mktemp("redis")) as url:
        yield url


@pytest.fixture(params=["memory", "sqlite", "redis"])
def online_store(request, tmp_path):
    url = request.getfixturevalue("redis_url") if request.param == "redis" else str(tmp_path / "online.db")
    store = open_online_store(request.param, url, namespace=f"test-{new_id()}")
    yield store
    store.close()


class TestOnlineStores(OnlineStoreContract):
    pass


def test_the_registry_names_the_built_ins_and_refuses_an_unknown_store():
    assert {"sqlite", "redis", "memory"} <= set(ONLINE_STORES.names())
    assert all(issubclass(ONLINE_STORES.get(name), OnlineStore) for name in ("sqlite", "redis", "memory"))
    with pytest.raises(NotFoundError, match="sqlite") as caught:
        open_online_store("sqlit", "x.db")
    assert caught.value.field == "features.online_store"


def test_sqlite_values_survive_reopening(tmp_path):
    with open_online_store("sqlite", str(tmp_path / "o.db")) as store:
        store.put("v", [(("a",), {"x": 1})])
    with open_online_store("sqlite", f"sqlite:///{tmp_path / 'o.db'}") as store:
        assert store.get("v", [("a",)]) == [{"x": 1}]


def test_two_namespaces_on_one_redis_do_not_see_each_other(redis_url):
    with open_online_store("redis", redis_url, namespace="p1") as one, \
            open_online_store("redis", redis_url, namespace="p2") as two:
        one.replace("v", [(("a",), {"x": 1})])
        two.replace("v", [(("a",), {"x": 2})])
        assert one.get("v", [("a",)]) == [{"x": 1}] and two.get("v", [("a",)]) == [{"x": 2}]


def test_a_key_read_as_float_meets_its_integer_form(tmp_path):
    """JSON and pandas turn an integer key column with a null into floats: 17.0 finds the entity stored as 17
    (and "17"), while 17.5 stays its own key."""
    import numpy as np

    with open_online_store("sqlite", str(tmp_path / "o.db")) as store:
        store.put("v", [((17,), {"x": 1}), ((17.5,), {"x": 2})])
        assert store.get("v", [(17.0,), (np.float64(17.0),), ("17",), (np.int64(17),), (17.5,), (18.0,)]) == [
            {"x": 1}, {"x": 1}, {"x": 1}, {"x": 1}, {"x": 2}, None]
