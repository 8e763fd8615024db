"""The per-caller rate limiter (a sliding window under an injected clock) and the batched access log."""

from __future__ import annotations

import pytest

from conveyor.core.errors import ThrottledError
from conveyor.security.access_log import AccessLog
from conveyor.security.ratelimit import RateLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_key_over_its_limit_is_refused_until_its_oldest_request_leaves_the_window() -> None:
    clock = Clock()
    limiter = RateLimiter(3, 60.0, what="token", clock=clock)
    for step in range(3):
        clock.now = 1000.0 + step * 10
        limiter.hit("a")
    with pytest.raises(ThrottledError) as refused:
        limiter.hit("a")
    assert refused.value.http_headers == {"Retry-After": "40"}  # the first request leaves at 1060
    limiter.hit("b")  # another key has its own window
    clock.now = 1060.5
    limiter.hit("a")  # refused requests were not counted: one slot is free again
    with pytest.raises(ThrottledError):
        limiter.hit("a")


def test_a_limit_of_zero_is_no_limit() -> None:
    limiter = RateLimiter(0)
    for _ in range(1000):
        limiter.hit("a")


def test_the_access_log_writes_in_batches_and_on_flush(tmp_path) -> None:
    clock = Clock()
    log = AccessLog(tmp_path / "access.log", batch=3, interval=60.0, clock=clock)
    log.record("request", actor="ana")
    log.record("auth.failure", source="10.0.0.1")
    assert not (tmp_path / "access.log").exists()  # not written yet: the batch is not full
    log.record("request", actor="bo")
    assert len((tmp_path / "access.log").read_text().splitlines()) == 3
    log.record("denied", actor="cy")
    clock.now += 61
    log.record("request", actor="di")  # the interval has passed: written now
    assert [e["event"] for e in log.entries()] == ["request", "auth.failure", "request", "denied", "request"]
    assert (tmp_path / "access.log").stat().st_mode & 0o777 == 0o600
