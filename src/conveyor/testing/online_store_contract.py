"""The contract every :class:`~conveyor.features.online.OnlineStore` keeps, as a pytest suite, and a throwaway
``redis-server`` for running it on Redis.

Subclass :class:`OnlineStoreContract` in a test module and provide an ``online_store`` fixture that yields a fresh,
empty store per test (tests/features/test_online_stores.py runs it on memory, SQLite and a real Redis).
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd

from conveyor.features.online.base import OnlineStore
from conveyor.testing.store_records import hammer

__all__ = ["OnlineStoreContract", "redis_server"]


class OnlineStoreContract:
    """Subclass with an ``online_store`` fixture; every ``test_*`` here must pass on every backend."""

    def test_values_round_trip_in_the_order_asked_and_absent_keys_are_none(self, online_store: OnlineStore) -> None:
        written = online_store.put("stats", [(("a",), {"x": 1.5, "n": 3, "s": "text", "flag": True}),
                                             (("b",), {"x": None, "n": 0, "s": "", "flag": False})])
        assert written == 2
        assert online_store.get("stats", [("b",), ("zz",), ("a",)]) == [
            {"x": None, "n": 0, "s": "", "flag": False}, None, {"x": 1.5, "n": 3, "s": "text", "flag": True}]
        assert online_store.get("stats", []) == []

    def test_numpy_pandas_and_missing_values_are_stored_as_plain_json(self, online_store: OnlineStore) -> None:
        online_store.put("v", [((np.int64(7),), {"f": np.float64(2.5), "nan": float("nan"), "na": pd.NA,
                                                  "nat": pd.NaT, "when": pd.Timestamp("2026-01-02T03:04:05"),
                                                  "i": np.int32(4)})])
        assert online_store.get("v", [(7,)]) == [{"f": 2.5, "nan": None, "na": None, "nat": None,
                                                  "when": "2026-01-02T03:04:05", "i": 4}]
        assert online_store.get("v", [("7",)]) == online_store.get("v", [(7,)])  # numbers and text meet

    def test_keys_of_several_columns(self, online_store: OnlineStore) -> None:
        online_store.put("v", [(("shop1", 2), {"p": 1}), (("shop1", 3), {"p": 2})])
        assert online_store.get("v", [("shop1", 3), ("shop1", 2), ("shop1", 4)]) == [{"p": 2}, {"p": 1}, None]

    def test_a_write_replaces_a_key_and_views_are_separate(self, online_store: OnlineStore) -> None:
        online_store.put("one", [(("a",), {"x": 1})])
        online_store.put("two", [(("a",), {"x": 2})])
        online_store.put("one", [(("a",), {"x": 3})])
        assert online_store.get("one", [("a",)]) == [{"x": 3}]
        assert online_store.get("two", [("a",)]) == [{"x": 2}]

    def test_replace_removes_entities_no_longer_present_of_that_view_only(self, online_store: OnlineStore) -> None:
        online_store.put("one", [(("a",), {"x": 1}), (("b",), {"x": 1})])
        online_store.put("two", [(("a",), {"x": 9})])
        assert online_store.replace("one", [(("b",), {"x": 5})]) == 1
        assert online_store.get("one", [("a",), ("b",)]) == [None, {"x": 5}]
        assert online_store.get("two", [("a",)]) == [{"x": 9}]
        online_store.clear("never-written")

    def test_many_keys_in_one_read(self, online_store: OnlineStore) -> None:
        n = 12_000  # more than one write batch and many SQL chunks
        assert online_store.put("big", (((i,), {"i": i}) for i in range(n))) == n
        asked = [*range(n - 1, -1, -7), n + 1]
        got = online_store.get("big", [(i,) for i in asked])
        assert [g["i"] if g else None for g in got] == [*asked[:-1], None]

    def test_concurrent_readers_and_writers(self, online_store: OnlineStore) -> None:
        online_store.put("c", [((i,), {"i": i}) for i in range(50)])

        def work() -> bool:
            online_store.put("c", [((i,), {"i": i}) for i in range(50)])
            return [g["i"] for g in online_store.get("c", [(i,) for i in range(50)]) if g] == list(range(50))

        assert all(hammer(4, 5, work))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def redis_server(folder: Path, timeout: float = 20) -> Iterator[str]:
    """A real ``redis-server`` on 127.0.0.1 (no persistence) in ``folder``; yields its URL and stops it after."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError("redis-server is not installed: run scripts/test.sh, which installs it (apt-get "
                           "install redis-server).")
    port = free_port()
    server = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                               "--appendonly", "no", "--dir", str(folder)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(16).startswith(b"+PONG"):
                        break
            except OSError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"redis-server did not come up on port {port}")
            time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
