"""Per-caller request limits: a sliding window of request times per key (a token's hash, a client address).

``RateLimiter(limit, window).hit(key)`` counts one request and raises ThrottledError (HTTP 429) with the seconds
until the oldest request leaves the window once ``key`` has made ``limit`` requests in ``window`` seconds. Refused
requests are not counted, so a caller that waits gets in again. ``limit`` 0 means no limit."""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable

from conveyor.core.errors import ThrottledError

__all__ = ["RateLimiter"]

MAX_KEYS = 100_000  # past this many callers in one window the oldest idle ones are forgotten (bounded memory)


class RateLimiter:
    def __init__(self, limit: int, window: float = 60.0, *, what: str = "caller",
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.limit, self.window, self.what = limit, window, what
        self._clock = clock
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def hit(self, key: str) -> None:
        """Count one request of ``key``; ThrottledError (with ``retry_after``) when it is over the limit."""
        if self.limit <= 0:
            return
        at = self._clock()
        with self._lock:
            hits = self._hits.get(key)
            if hits is None:
                if len(self._hits) >= MAX_KEYS:
                    self._forget(at)
                hits = self._hits[key] = deque()
            while hits and hits[0] <= at - self.window:
                hits.popleft()
            if len(hits) >= self.limit:
                wait = max(1, math.ceil(hits[0] + self.window - at))
                raise throttled(f"Too many requests from this {self.what}: the limit is {self.limit} per "
                                f"{self.window:.0f} s.", wait, field="rate_limit",
                                hint=f"Wait {wait} s (Retry-After), or ask an admin to raise security.rate_limit.")
            hits.append(at)

    def _forget(self, at: float) -> None:
        for key in [k for k, v in self._hits.items() if not v or v[-1] <= at - self.window]:
            del self._hits[key]


def throttled(message: str, retry_after: float, *, field: str, hint: str) -> ThrottledError:
    """A ThrottledError that answers HTTP 429 with ``Retry-After: retry_after``."""
    error = ThrottledError(message, field=field, hint=hint)
    error.http_headers = {"Retry-After": str(max(1, math.ceil(retry_after)))}  # type: ignore[attr-defined]
    return error
