"""The contract every executor keeps, whatever runs the work: the ``concurrent.futures.Executor`` shape.

* ``submit`` returns a future whose ``result()`` is the call's return value, keyword arguments included;
* an exception raised by the call is delivered by ``result()``/``exception()``, never raised by ``submit``;
* ``map`` keeps the order of its inputs;
* the executor works as a context manager, and ``shutdown(wait=True)`` waits for submitted work.

Two ways to run it: :func:`check_executor` on a factory (``check_executor(MyExecutor)``, the way a plug-in author
proves a new executor in any test runner), or subclass :class:`ExecutorContract` in pytest and provide an
``executor`` fixture. Submitted functions are importable module-level functions, so that executors running work
in other processes (or on other hosts) can pickle them.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable
from concurrent.futures import Executor

TIMEOUT = 60.0


def failing(message: str) -> None:
    raise ValueError(message)


def submit_returns_the_result(executor: Executor) -> None:
    assert executor.submit(operator.add, 2, 3).result(timeout=TIMEOUT) == 5, "submit(add, 2, 3) did not give 5"


def keyword_arguments_reach_the_call(executor: Executor) -> None:
    result = executor.submit(math.isclose, 1.0, 1.05, rel_tol=0.1).result(timeout=TIMEOUT)
    assert result is True, "a keyword argument given to submit did not reach the call"


def an_exception_travels_in_the_future(executor: Executor) -> None:
    try:
        future = executor.submit(failing, "boom")
    except Exception as exc:
        raise AssertionError(f"submit raised {type(exc).__name__} instead of delivering it in the future") from exc
    try:
        future.result(timeout=TIMEOUT)
    except ValueError as exc:
        assert "boom" in str(exc), f"the call's exception lost its message: {exc!r}"
    else:
        raise AssertionError("result() of a call that raised ValueError returned normally")
    assert isinstance(future.exception(timeout=TIMEOUT), ValueError), "exception() is not the call's ValueError"


def map_keeps_input_order(executor: Executor) -> None:
    assert list(executor.map(operator.mul, range(20), range(20))) == [i * i for i in range(20)], \
        "map did not keep the order of its inputs"


def shutdown_waits_for_submitted_work(executor: Executor) -> None:
    futures = [executor.submit(math.factorial, n) for n in (50, 60, 70)]
    executor.shutdown(wait=True)
    assert all(f.done() for f in futures), "shutdown(wait=True) returned before submitted work was done"
    assert futures[0].result() == math.factorial(50)


CHECKS = (submit_returns_the_result, keyword_arguments_reach_the_call, an_exception_travels_in_the_future,
          map_keeps_input_order)
"""Checks that leave the executor usable; :func:`shutdown_waits_for_submitted_work` ends it."""


def check_executor(factory: Callable[..., Executor], *, max_workers: int | None = 2) -> list[str]:
    """Run the whole contract on one executor built as ``factory(max_workers=...)`` and used as a context manager
    (shutdown is checked last, and leaving the block shuts it down again: shutdown must be idempotent). Raises
    AssertionError naming the broken rule; returns the names of the checks passed."""
    executor = factory(max_workers=max_workers)
    assert isinstance(executor, Executor), f"{factory!r} built {type(executor).__name__}, not an Executor"
    passed = []
    try:
        with executor as entered:
            assert entered is executor, "the executor's __enter__ does not return the executor"
            for check in (*CHECKS, shutdown_waits_for_submitted_work):
                check(executor)
                passed.append(check.__name__)
    finally:
        executor.shutdown(wait=True)
    return passed


class ExecutorContract:
    """The same checks as pytest tests: subclass it and provide an ``executor`` fixture."""

    def test_submit_returns_the_result(self, executor):
        submit_returns_the_result(executor)

    def test_keyword_arguments_reach_the_call(self, executor):
        keyword_arguments_reach_the_call(executor)

    def test_an_exception_travels_in_the_future(self, executor):
        an_exception_travels_in_the_future(executor)

    def test_map_keeps_input_order(self, executor):
        map_keeps_input_order(executor)

    def test_shutdown_waits_for_submitted_work(self, executor):
        shutdown_waits_for_submitted_work(executor)
