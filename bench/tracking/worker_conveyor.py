"""Run the tracking workload against conveyor in a fresh temporary project; print timings as JSON.

Run with conveyor's own interpreter: .venv/bin/python bench/tracking/worker_conveyor.py
"""

from __future__ import annotations

import json
import tempfile

import numpy as np
import sklearn
import workload as w

import conveyor as cv


def main() -> None:
    model, X = w.training_data()  # fitting is not timed
    cv.Project  # noqa: B018 - resolve the lazy import before the clock starts
    timings = w.Timings()
    with tempfile.TemporaryDirectory(prefix="bench-conveyor-") as tmp:
        with timings.time("open store"):
            project = cv.Project.init(tmp)

        with timings.time(w.LOG_OPERATION):
            for i in range(w.N_RUNS):
                with project.runs.start(name=f"r{i}") as run:
                    for key, value in w.params(i).items():
                        run.log_param(key, value)
                    for key, value in w.metrics(i).items():
                        run.log_metric(key, value, step=0)

        with project.runs.start(name="batch") as run, timings.time(f"log batch of {w.BATCH_SIZE:,}"):
            run.log_batch(w.batch())

        with project.runs.start(name="model") as run, timings.time("log + register model"):
            run.log_model(model, w.MODEL_NAME, input_example=X.head())

        with timings.time("set alias"):
            project.models.promote(f"{w.MODEL_NAME}:1", alias=w.ALIAS)
        with timings.time("load model by alias"):
            loaded = project.models.load(f"{w.MODEL_NAME}@{w.ALIAS}")
        assert np.array_equal(loaded.predict(X), model.predict(X))

        with timings.time("search runs by metric"):
            found = project.runs.list(order_by_metric=w.SEARCH_METRIC, limit=w.SEARCH_LIMIT)
        assert len(found) == w.SEARCH_LIMIT and found[0].name == f"r{w.expected_top_run()}"
        project.close()
    versions = {"conveyor": cv.__version__, "scikit-learn": sklearn.__version__}
    print(json.dumps({"versions": versions, "timings": timings}))


if __name__ == "__main__":
    main()
