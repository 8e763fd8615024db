"""The Redis online store: one hash per view (``NAMESPACE:features:VIEW``), read with one HMGET."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from conveyor.core.dependencies import require
from conveyor.features.online.base import OnlineStore


class RedisOnlineStore(OnlineStore):
    name = "redis"

    def __init__(self, url: str, *, namespace: str = "conveyor") -> None:
        redis = require("redis", "redis", field="features.online_url")
        self.client = redis.Redis.from_url(url, decode_responses=True)
        self.prefix = f"{namespace}:features:"

    def write(self, view: str, items: Mapping[str, str]) -> None:
        self.client.hset(self.prefix + view, mapping=dict(items))

    def read(self, view: str, keys: Sequence[str]) -> list[str | None]:
        if not keys:
            return []
        values: list[str | None] = self.client.hmget(self.prefix + view, list(keys))
        return values

    def clear(self, view: str) -> None:
        self.client.delete(self.prefix + view)

    def close(self) -> None:
        self.client.close()
