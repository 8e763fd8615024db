"""Records and helpers the role contract suites share (``conveyor.testing.*_store_contract``)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from conveyor.core.entities import DatasetVersion, ModelVersion, PredictionRecord, Run, new_id

__all__ = ["NESTED", "T0", "dataset", "hammer", "model", "prediction", "run"]

T = TypeVar("T")

T0 = 1_700_000_000.0  # explicit timestamps: ordering must not depend on the clock's resolution
NESTED: dict[str, Any] = {
    "text": "naïve café \u2013 数据 🚀",
    "list": [1, 2.5, "three", None, True, [4, {"five": 5}]],
    "nested": {"a": {"b": {"c": [1, 2, 3]}}, "empty": {}, "none": None},
    "float": 0.1,
    "neg": -3,
}


def dataset(name: str = "iris", version: str | None = None, at: float = T0, **extra: Any) -> DatasetVersion:
    version = version or new_id() + new_id()
    columns = [{"name": "x", "dtype": "float64", "kind": "numeric"}]
    extra.setdefault("source", "file.csv")
    return DatasetVersion(name, version, artifact="a" * 64, rows=10, columns=columns,
                          profile={"x": {"mean": 1.5}}, created_at=at, **extra)


def run(run_id: str | None = None, at: float = T0, **fields: Any) -> Run:
    return Run(run_id or new_id(), fields.pop("name", "run"), started_at=at, **fields)


def model(name: str = "churn", **fields: Any) -> ModelVersion:
    return ModelVersion(name, 0, artifact=fields.pop("artifact", "b" * 64), flavor="sklearn", run_id=None,
                        dataset="iris@abc", signature=fields.pop("signature", {"task": "binary"}), **fields)


def prediction(model_ref: str, at: float, **fields: Any) -> PredictionRecord:
    return PredictionRecord(new_id(), model_ref, inputs={"x": 1.0}, outputs={"y": 0}, at=at, **fields)


def hammer(calls: int, threads: int, fn: Callable[[], T]) -> list[T]:
    """Call ``fn`` ``calls`` times from each of ``threads`` threads, all released at once."""
    start = threading.Barrier(threads)

    def worker() -> list[T]:
        start.wait()
        return [fn() for _ in range(calls)]

    with ThreadPoolExecutor(threads) as pool:
        futures = [pool.submit(worker) for _ in range(threads)]
        return [result for f in futures for result in f.result()]
