"""Executors share the concurrent.futures interface, so callers never care where work runs."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from typing import Any

from conveyor.core.errors import BadInputError


class InlineExecutor(Executor):
    """Runs each call at once in the caller's thread: the embedded default, and the easiest to debug."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        future: Future = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # delivered through the future, as other executors do
            future.set_exception(exc)
        return future


EXECUTORS: dict[str, Callable[[int | None], Executor]] = {
    "inline": lambda _workers: InlineExecutor(),
    "threads": lambda workers: ThreadPoolExecutor(max_workers=workers),
    "processes": lambda workers: ProcessPoolExecutor(max_workers=workers),
}


def check_executor(kind: str) -> str:
    if kind not in EXECUTORS:
        raise BadInputError(f"Unknown executor {kind!r}.", field="CONVEYOR_EXECUTOR",
                            hint=f"Use one of {', '.join(EXECUTORS)} (Ray arrives with parallel training trials).")
    return kind


def get_executor(kind: str = "inline", max_workers: int | None = None) -> Executor:
    return EXECUTORS[check_executor(kind)](max_workers)
