"""Executors: where work runs (inline, threads, local processes, a Ray cluster, or a plug-in's engine).

Every executor is a :class:`concurrent.futures.Executor`, so callers never care where work runs. The contract,
proven for each built-in by ``conveyor.testing.executor_contract`` (and for a plug-in by ``check_executor``):

* ``submit(fn, *args, **kwargs)`` returns a future whose ``result()`` is the call's return value;
* an exception raised by the call is delivered through the future, never raised by ``submit``;
* ``map`` keeps the order of its inputs;
* it is a context manager, and ``shutdown(wait=True)`` returns once submitted work is done;
* work sent to another process must be picklable (module-level functions and their arguments).

The registry :data:`EXECUTORS` maps a name (``CONVEYOR_EXECUTOR``, ``train.executor``, ``score --executor``) to a
factory called as ``factory(max_workers=N)``; a ``concurrent.futures.Executor`` subclass whose constructor takes
``max_workers`` is such a factory. Other packages add one under the entry-point group ``conveyor.executors``::

    [project.entry-points."conveyor.executors"]
    dask = "my_package.executors:DaskExecutor"
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from typing import Any

from conveyor.core.errors import BadInputError, NotFoundError
from conveyor.core.plugins import Registry

ExecutorFactory = Callable[..., Executor]
"""Called as ``factory(max_workers=N)`` (N may be None: the executor's own default)."""

DEFAULT_FIELD = "CONVEYOR_EXECUTOR"


class InlineExecutor(Executor):
    """Runs each call at once in the caller's thread: the embedded default, and the easiest to debug."""

    def __init__(self, max_workers: int | None = None) -> None:
        self.max_workers = 1

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        future: Future = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # delivered through the future, as other executors do
            future.set_exception(exc)
        return future


def _check_factory(name: str, value: object) -> None:
    if not callable(value):
        raise BadInputError(f"The executor {name!r} is {type(value).__name__}, not a factory of executors.",
                            field=DEFAULT_FIELD, hint="Point the entry point at a concurrent.futures.Executor "
                            "subclass (or a function) that takes max_workers.")


EXECUTORS: Registry[ExecutorFactory] = Registry("executor", "conveyor.executors", field=DEFAULT_FIELD,
                                                check=_check_factory)
EXECUTORS.register("inline", InlineExecutor)
EXECUTORS.register("threads", ThreadPoolExecutor)
EXECUTORS.register("processes", ProcessPoolExecutor)
EXECUTORS.register_lazy("ray", "conveyor.execution.ray:RayExecutor")  # imports ray only when built


def check_executor(kind: str, *, field: str = DEFAULT_FIELD) -> str:
    """``kind`` if an executor of that name is registered (nothing is imported or started), else NotFoundError
    naming ``field`` with "did you mean"."""
    try:
        return EXECUTORS.check_name(kind)
    except NotFoundError as exc:
        raise exc.with_field(field) from None


def get_executor(kind: str = "inline", max_workers: int | None = None, *, field: str = DEFAULT_FIELD,
                 num_cpus: float | None = None, num_gpus: float | None = None) -> Executor:
    """A new executor of ``kind``; the caller shuts it down (or uses it as a context manager).

    ``num_cpus``/``num_gpus``: what each task asks of an executor that schedules by resources (its factory takes
    those keywords, as :class:`~conveyor.execution.ray.RayExecutor` does). Other executors run one task per worker
    and have no GPUs to hand out: for them ``num_cpus`` is moot and ``num_gpus`` above 0 is refused."""
    check_executor(kind, field=field)
    factory = EXECUTORS.get(kind)
    if num_cpus is None and num_gpus is None:
        return factory(max_workers=max_workers)
    if _takes_resources(factory):
        return factory(max_workers=max_workers, num_cpus=num_cpus, num_gpus=num_gpus)
    if num_gpus:
        raise BadInputError(f"The {kind!r} executor cannot give each task {num_gpus:g} GPU(s).", field=field,
                            hint="Use the ray executor (it schedules tasks on GPUs), or set train.trial_gpus to 0.")
    return factory(max_workers=max_workers)


def _takes_resources(factory: ExecutorFactory) -> bool:
    try:
        parameters = inspect.signature(factory).parameters
    except (TypeError, ValueError):
        return False
    return "num_cpus" in parameters and "num_gpus" in parameters
