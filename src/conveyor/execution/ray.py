"""The Ray executor: each call runs as a Ray task on a cluster (extra ``ray``: `pip install 'conveyor-mlops[ray]'`)."""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Callable
from concurrent.futures import Executor, Future
from concurrent.futures import wait as wait_for
from typing import Any

from conveyor.core.dependencies import require
from conveyor.core.errors import BadInputError, first_line

PROBE_SECONDS = 3.0


def _probe(target: str) -> None:
    """Fail at once when nothing answers at a ``host:port`` (or ``ray://host:port``) address: ``ray.init`` would
    otherwise retry the connection for minutes before it gives up."""
    hostport = target.split("://", 1)[-1].rstrip("/")
    host, colon, port = hostport.rpartition(":")
    if not colon or not port.isdigit() or not host:
        return  # "auto", "local" or a name Ray resolves itself
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=PROBE_SECONDS):
            return
    except OSError as exc:
        raise BadInputError(f"No Ray cluster at {target!r}: nothing answers on {host}:{port} ({first_line(exc, 80)}).",
                            field="RAY_ADDRESS", hint="Start one with `ray start --head --port PORT`, or set "
                            "RAY_ADDRESS to the head's host:port (`ray status` on the head prints it).") from None


class RayExecutor(Executor):
    """Runs each call as a Ray task on the cluster at ``address`` (``RAY_ADDRESS``, else ``auto``: the one that
    `ray start --head` left on this host). Workers need conveyor importable, as any Ray job's code.

    Each task asks the scheduler for ``num_cpus`` CPUs and ``num_gpus`` GPUs (``CONVEYOR_RAY_NUM_CPUS`` and
    ``CONVEYOR_RAY_NUM_GPUS`` when not given; ``train.trial_cpus``/``trial_gpus`` for AutoML trials): a task waits
    until a node has them free, and a task given a GPU sees only its own (``CUDA_VISIBLE_DEVICES``).

    Connecting is the executor's job only when nothing in this process did it before; ``shutdown`` then
    disconnects again (the cluster keeps running). An address where nothing answers fails within seconds."""

    def __init__(self, max_workers: int | None = None, address: str | None = None, *,
                 num_cpus: float | None = None, num_gpus: float | None = None) -> None:
        ray = require("ray", "ray", field="CONVEYOR_EXECUTOR")
        self._ray = ray
        self.max_workers = max_workers
        self.num_cpus = _resource("CONVEYOR_RAY_NUM_CPUS", num_cpus, 1.0)
        self.num_gpus = _resource("CONVEYOR_RAY_NUM_GPUS", num_gpus, 0.0)
        self._owned = not ray.is_initialized()
        if self._owned:
            target = address or os.environ.get("RAY_ADDRESS", "auto")
            _probe(target)
            try:
                ray.init(address=target, log_to_driver=False, include_dashboard=False, logging_level="ERROR")
            except (ConnectionError, RuntimeError) as exc:
                raise BadInputError(f"No Ray cluster at {target!r}: {first_line(exc, 160)}",
                                    field="RAY_ADDRESS", hint="Start one with `ray start --head`, or set "
                                    "RAY_ADDRESS to the cluster's head (host:port).") from None
        # SPREAD: a search's trials go to every node with room rather than queueing on the driver's node, which a
        # loaded two-node test cluster once did with the other node's CPU free (its resource report lagged)
        self._remote = ray.remote(_call).options(num_cpus=self.num_cpus, num_gpus=self.num_gpus, max_retries=0,
                                                 scheduling_strategy="SPREAD")
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


def _resource(variable: str, given: float | None, default: float) -> float:
    if given is None:
        text = os.environ.get(variable, "").strip()
        try:
            given = float(text) if text else default
        except ValueError:
            raise BadInputError(f"{variable}={text!r} is not a number.", field=variable,
                                hint="Give how many per task, e.g. 1 or 0.5.") from None
    if given < 0:
        raise BadInputError(f"A Ray task cannot ask for {given} of {variable.rsplit('_', 1)[-1]}.", field=variable,
                            hint="Give zero or more.")
    return float(given)


def _call(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    return fn(*args, **kwargs)
