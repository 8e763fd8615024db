"""Executors share the concurrent.futures interface, so callers never care where work runs."""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from typing import Any

from conveyor.core.dependencies import require
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


class RayExecutor(Executor):
    """Runs each call as a Ray task on the cluster at ``address`` (``RAY_ADDRESS``, else ``auto``: the one that
    `ray start --head` left on this host). Workers need conveyor importable, as any Ray job's code."""

    def __init__(self, max_workers: int | None = None, address: str | None = None) -> None:
        ray = require("ray", "ray", field="CONVEYOR_EXECUTOR")
        self._ray = ray
        self.max_workers = max_workers
        self._owned = not ray.is_initialized()
        if self._owned:
            target = address or os.environ.get("RAY_ADDRESS", "auto")
            try:
                ray.init(address=target, log_to_driver=False, include_dashboard=False, logging_level="ERROR")
            except (ConnectionError, RuntimeError) as exc:
                raise BadInputError(f"No Ray cluster at {target!r}: {str(exc).splitlines()[0][:160]}",
                                    field="RAY_ADDRESS", hint="Start one with `ray start --head`, or set "
                                    "RAY_ADDRESS to the cluster's head (host:port).") from None
        self._remote = ray.remote(_call).options(num_cpus=1, max_retries=0)

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        return self._remote.remote(fn, *args, **kwargs).future()  # top-level object refs arrive as their values

    def put(self, value: Any) -> Any:
        """Store ``value`` once in the cluster's object store; tasks given the reference receive the value."""
        return self._ray.put(value)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        if self._owned and self._ray.is_initialized():
            self._ray.shutdown()


def _call(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    return fn(*args, **kwargs)


EXECUTORS: dict[str, Callable[[int | None], Executor]] = {
    "inline": lambda _workers: InlineExecutor(),
    "threads": lambda workers: ThreadPoolExecutor(max_workers=workers),
    "processes": lambda workers: ProcessPoolExecutor(max_workers=workers),
    "ray": lambda workers: RayExecutor(workers),
}


def check_executor(kind: str) -> str:
    if kind not in EXECUTORS:
        raise BadInputError(f"Unknown executor {kind!r}.", field="CONVEYOR_EXECUTOR",
                            hint=f"Use one of {', '.join(EXECUTORS)}.")
    return kind


def get_executor(kind: str = "inline", max_workers: int | None = None) -> Executor:
    return EXECUTORS[check_executor(kind)](max_workers)
