"""The Ray executor: each call runs as a Ray task on a cluster (extra ``ray``: `pip install 'conveyor-mlops[ray]'`)."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from concurrent.futures import Executor, Future
from concurrent.futures import wait as wait_for
from typing import Any

from conveyor.core.dependencies import require
from conveyor.core.errors import BadInputError, first_line


class RayExecutor(Executor):
    """Runs each call as a Ray task on the cluster at ``address`` (``RAY_ADDRESS``, else ``auto``: the one that
    `ray start --head` left on this host). Workers need conveyor importable, as any Ray job's code.

    Connecting is the executor's job only when nothing in this process did it before; ``shutdown`` then
    disconnects again (the cluster keeps running)."""

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
                raise BadInputError(f"No Ray cluster at {target!r}: {first_line(exc, 160)}",
                                    field="RAY_ADDRESS", hint="Start one with `ray start --head`, or set "
                                    "RAY_ADDRESS to the cluster's head (host:port).") from None
        self._remote = ray.remote(_call).options(num_cpus=1, max_retries=0)
        self._pending: set[Future] = set()
        self._lock = threading.Lock()

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        future = self._remote.remote(fn, *args, **kwargs).future()  # top-level object refs arrive as their values
        with self._lock:
            self._pending.add(future)
        future.add_done_callback(self._forget)
        return future

    def _forget(self, future: Future) -> None:
        with self._lock:
            self._pending.discard(future)

    def put(self, value: Any) -> Any:
        """Store ``value`` once in the cluster's object store; tasks given the reference receive the value."""
        return self._ray.put(value)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        with self._lock:
            pending = list(self._pending)
        if cancel_futures:
            for future in pending:
                future.cancel()
        if wait:
            wait_for(pending)  # the cluster runs on without us; our callers' futures must still settle
        if self._owned and self._ray.is_initialized():
            self._ray.shutdown()


def _call(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    return fn(*args, **kwargs)
