"""The contract every executor keeps, whatever runs the work: the ``concurrent.futures.Executor`` shape.

* ``submit`` returns a future whose ``result()`` is the call's return value;
* an exception raised by the call is delivered by ``result()``/``exception()``, never raised by ``submit``;
* ``map`` keeps the order of its inputs;
* the executor works as a context manager, and ``shutdown`` waits for submitted work.

Subclass :class:`ExecutorContract` and provide an ``executor`` fixture. Submitted functions must be importable
module-level functions, so that executors running work in other processes can pickle them.
"""

from __future__ import annotations

import math
import operator

import pytest


def failing(message: str) -> None:
    raise ValueError(message)


class ExecutorContract:
    def test_submit_returns_the_result(self, executor):
        assert executor.submit(operator.add, 2, 3).result(timeout=60) == 5

    def test_keyword_arguments_reach_the_call(self, executor):
        assert executor.submit(math.isclose, 1.0, 1.05, rel_tol=0.1).result(timeout=60) is True

    def test_an_exception_travels_in_the_future(self, executor):
        future = executor.submit(failing, "boom")
        with pytest.raises(ValueError, match="boom"):
            future.result(timeout=60)
        assert isinstance(future.exception(timeout=60), ValueError)

    def test_map_keeps_input_order(self, executor):
        assert list(executor.map(operator.mul, range(20), range(20))) == [i * i for i in range(20)]

    def test_shutdown_waits_for_submitted_work(self, executor):
        futures = [executor.submit(math.factorial, n) for n in (50, 60, 70)]
        executor.shutdown(wait=True)
        assert all(f.done() for f in futures)
        assert futures[0].result() == math.factorial(50)
