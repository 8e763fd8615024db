"""The contract every :class:`~conveyor.store.runs.RunStore` keeps, as a pytest suite.

Subclass it in a test module and provide a ``run_store`` fixture that yields a fresh, empty store per test (see
``conveyor.testing.dataset_store_contract`` for the pattern).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from conveyor.core.entities import Metric
from conveyor.core.errors import BadInputError, ConflictError, NotFoundError
from conveyor.store.runs import RunStore
from conveyor.testing.store_records import T0, run

__all__ = ["RunStoreContract"]


class RunStoreContract:
    """Subclass with a ``run_store`` fixture; every ``test_*`` here must pass on every backend."""

    def test_create_and_get(self, run_store: RunStore) -> None:
        r = run(name="baseline", dataset="iris@abc")
        created = run_store.create(r)
        assert created == r
        got = run_store.get(r.id)
        assert (got.id, got.name, got.status, got.dataset) == (r.id, "baseline", "running", "iris@abc")
        assert got.started_at == r.started_at
        assert got.ended_at is None
        assert (got.params, got.tags, got.metrics, got.artifacts) == ({}, {}, {}, {})

    def test_end(self, run_store: RunStore) -> None:
        r = run_store.create(run())
        run_store.end(r.id, "finished", ended_at=T0 + 60)
        got = run_store.get(r.id)
        assert (got.status, got.ended_at) == ("finished", T0 + 60)
        other = run_store.create(run())
        run_store.end(other.id, "failed")
        assert run_store.get(other.id).ended_at is not None

    def test_params_are_stringified(self, run_store: RunStore) -> None:
        r = run_store.create(run(params={"lr": 0.1, "depth": 3}))
        assert r.params == {"lr": "0.1", "depth": "3"}
        run_store.log_params(r.id, {"depth": 5, "loss": "log", "flag": True, "none": None})
        run_store.log_params(r.id, {})
        assert run_store.get(r.id).params == {
            "lr": "0.1", "depth": "5", "loss": "log", "flag": "True", "none": "None"}
        assert run_store.params_of(r.id[:8]) == run_store.get(r.id).params

    def test_tags(self, run_store: RunStore) -> None:
        r = run_store.create(run(tags={"team": "risk"}))
        run_store.set_tags(r.id, {"stage": "dev"})
        run_store.set_tags(r.id, {"stage": "prod", "ticket": 42})
        assert run_store.get(r.id).tags == {"team": "risk", "stage": "prod", "ticket": "42"}

    def test_artifacts(self, run_store: RunStore) -> None:
        r = run_store.create(run())
        run_store.add_artifact(r.id, "model", "1" * 64)
        run_store.add_artifact(r.id, "report", "2" * 64)
        run_store.add_artifact(r.id, "model", "3" * 64)  # a name points at its newest digest
        assert run_store.get(r.id).artifacts == {"model": "3" * 64, "report": "2" * 64}

    def test_metrics_latest_is_highest_step(self, run_store: RunStore) -> None:
        r = run_store.create(run())
        run_store.log_metrics(r.id, [Metric("loss", 0.9, 0, T0), Metric("loss", 0.5, 2, T0 + 2),
                                     Metric("loss", 0.7, 1, T0 + 1), Metric("acc", 0.8, 0, T0)])
        assert run_store.get(r.id).metrics == {"loss": 0.5, "acc": 0.8}
        run_store.log_metrics(r.id, [Metric("loss", 0.6, 1, T0 + 3)])  # a late, lower step
        assert run_store.get(r.id).metrics["loss"] == 0.5
        run_store.log_metrics(r.id, [Metric("loss", 0.4, 2, T0 + 4)])  # same step: last logged wins
        assert run_store.get(r.id).metrics["loss"] == 0.4
        run_store.log_metrics(r.id, [Metric("loss", 0.3, 3, T0 + 5)])
        assert run_store.get(r.id).metrics["loss"] == 0.3
        run_store.log_metrics(r.id, [])

    def test_metric_history_keeps_every_value_in_order(self, run_store: RunStore) -> None:
        r = run_store.create(run())
        logged = [Metric("loss", 1.0 / (i + 1), step, T0 + i) for i, step in enumerate([0, 1, 1, 5, 2])]
        run_store.log_metrics(r.id, logged[:2])
        run_store.log_metrics(r.id, [Metric("acc", 0.5, 0, T0)])
        run_store.log_metrics(r.id, logged[2:])
        history = run_store.metric_history(r.id, "loss")
        assert [(m.key, m.value, m.step, m.timestamp) for m in history] == [
            (m.key, m.value, m.step, m.timestamp) for m in logged]
        assert [m.value for m in run_store.metric_history(r.id, "acc")] == [0.5]
        assert run_store.metric_history(r.id, "never") == []
        assert [m.step for m in run_store.metric_history(r.id, "loss", offset=1, limit=3)] == [1, 1, 5]
        assert [m.step for m in run_store.metric_history(r.id, "loss", offset=4, limit=10)] == [2]

    def test_metric_series_is_bounded_and_keeps_the_ends_and_the_extremes(self, run_store: RunStore) -> None:
        r = run_store.create(run())
        rows = 5003
        values = [((step * 7919) % 1000) / 1000 for step in range(rows)]  # jagged, so every bucket differs
        values[1234], values[4321] = -5.0, 9.0
        run_store.log_metrics(r.id, [Metric("loss", v, step, T0 + step) for step, v in enumerate(values)])
        series = run_store.metric_series(r.id, "loss", 200)
        assert len(series) <= 200
        steps = [m.step for m in series]
        assert steps == sorted(steps) and steps[0] == 0 and steps[-1] == rows - 1
        assert {1234, 4321} <= set(steps)
        assert all(m.value == values[m.step] and m.timestamp == T0 + m.step for m in series)
        from conveyor.store.runs import downsample  # the backend picks what the reference picks

        assert steps == [m.step for m in downsample(run_store.metric_history(r.id, "loss"), 200)]
        short = run_store.metric_series(r.id, "loss", rows)
        assert len(short) == rows  # no longer than asked: every value
        with pytest.raises(BadInputError, match="points"):
            run_store.metric_series(r.id, "loss", 3)
        assert run_store.metric_series(r.id, "never") == []

    def test_get_by_unique_prefix(self, run_store: RunStore) -> None:
        a = run_store.create(run("abcd1" + "0" * 27))
        b = run_store.create(run("abcd2" + "0" * 27))
        assert run_store.get("abcd1").id == a.id
        assert run_store.get("abcd2000").id == b.id
        assert run_store.resolve_id("abcd1") == a.id
        run_store.log_params("abcd1", {"via": "prefix"})
        run_store.log_metrics("abcd1", [Metric("m", 1.0)])
        assert run_store.get(a.id).params == {"via": "prefix"}
        assert run_store.metric_history("abcd1", "m")[0].value == 1.0

    def test_prefixes_too_short_or_ambiguous(self, run_store: RunStore) -> None:
        run_store.create(run("abcd1" + "0" * 27))
        run_store.create(run("abcd2" + "0" * 27))
        with pytest.raises(NotFoundError, match="Unknown run 'abc'"):
            run_store.get("abc")  # shorter than 4 characters: never a prefix
        with pytest.raises(BadInputError, match="ambiguous"):
            run_store.get("abcd")
        with pytest.raises(NotFoundError):
            run_store.get("abcd_")  # a LIKE wildcard is a literal character

    def test_unknown_run(self, run_store: RunStore) -> None:
        run_store.create(run())
        missing = "f" * 32
        calls: list[Callable[[], object]] = [
            lambda: run_store.get(missing),
            lambda: run_store.end(missing, "finished"),
            lambda: run_store.log_params(missing, {"a": 1}),
            lambda: run_store.log_metrics(missing, [Metric("m", 1.0)]),
            lambda: run_store.set_tags(missing, {"a": "b"}),
            lambda: run_store.add_artifact(missing, "model", "1" * 64),
            lambda: run_store.metric_history(missing, "m"),
        ]
        for call in calls:
            with pytest.raises(NotFoundError, match=missing):
                call()

    def test_search_newest_first(self, run_store: RunStore) -> None:
        ids = [run_store.create(run(at=T0 + i)).id for i in (1, 3, 0, 2)]
        assert [r.id for r in run_store.search()] == [ids[1], ids[3], ids[0], ids[2]]
        assert [r.id for r in run_store.search(limit=2)] == [ids[1], ids[3]]

    def test_search_by_metric(self, run_store: RunStore) -> None:
        scores = {"a": 0.7, "b": None, "c": 0.9, "d": 0.1, "e": None}
        for i, (label, score) in enumerate(scores.items()):
            r = run_store.create(run(name=label, at=T0 + i))
            run_store.log_metrics(r.id, [Metric("other", 5.0 - i)])
            if score is not None:
                run_store.log_metrics(r.id, [Metric("score", score)])

        def names(**kwargs: Any) -> list[str]:
            return [r.name for r in run_store.search(order_by_metric="score", **kwargs)]

        # runs without the metric come last, newest first among themselves
        assert names() == ["c", "a", "d", "e", "b"]
        assert names(ascending=True) == ["d", "a", "c", "e", "b"]
        assert names(limit=2) == ["c", "a"]
        assert names(ascending=True, limit=4) == ["d", "a", "c", "e"]
        assert names(offset=2, limit=2) == ["d", "e"]  # a page from the middle
        assert names(offset=3) == ["e", "b"]
        assert names(offset=9, limit=2) == []
        listed = run_store.search(order_by_metric="score")
        assert listed[0].metrics == {"score": 0.9, "other": 3.0}

    def test_search_by_dataset(self, run_store: RunStore) -> None:
        datasets = ["iris@abc", "iris", "iris_v2@abc", "wine@abc", None, "iris@def"]
        for i, ds in enumerate(datasets):
            run_store.create(run(name=str(i), dataset=ds, at=T0 + i))
        assert [r.name for r in run_store.search(dataset_name="iris")] == ["5", "1", "0"]
        assert [r.name for r in run_store.search(dataset_name="wine")] == ["3"]
        assert run_store.search(dataset_name="iri") == []
        assert len(run_store.search()) == len(datasets)

    def test_experiments(self, run_store: RunStore) -> None:
        assert run_store.experiments() == []
        default = run_store.create_experiment("Default", experiment_id="0")
        churn = run_store.create_experiment("churn", artifact_location="mlflow-artifacts:/1", tags={"team": 7})
        assert (default.id, churn.id) == ("0", "1")
        assert run_store.get_experiment("1").tags == {"team": "7"}
        found = run_store.experiment_by_name("churn")
        assert found is not None and found.artifact_location == "mlflow-artifacts:/1"
        assert run_store.experiment_by_name("missing") is None
        assert run_store.find_experiment("churn").id == run_store.find_experiment("1").id == "1"  # by name, by id
        with pytest.raises(NotFoundError):
            run_store.find_experiment("missing")
        assert [e.name for e in run_store.experiments()] == ["Default", "churn"]
        with pytest.raises(ConflictError):
            run_store.create_experiment("churn")
        with pytest.raises(NotFoundError):
            run_store.get_experiment("99")
        run_store.set_experiment_tags("1", {"stage": "dev"})
        assert run_store.get_experiment("1").tags == {"team": "7", "stage": "dev"}

    def test_update_experiment(self, run_store: RunStore) -> None:
        run_store.create_experiment("churn", tags={"team": "ml", "stage": "dev"})
        taken = run_store.create_experiment("taken")
        renamed = run_store.update_experiment("1", name="churn-v2", untag=("team", "absent"))
        assert (renamed.name, renamed.tags, renamed.lifecycle) == ("churn-v2", {"stage": "dev"}, "active")
        found = run_store.experiment_by_name("churn-v2")
        assert run_store.experiment_by_name("churn") is None and found is not None and found.id == "1"
        assert run_store.update_experiment("1", lifecycle="deleted").lifecycle == "deleted"
        assert run_store.get_experiment("1").name == "churn-v2"  # a delete keeps the name
        assert run_store.update_experiment("1", lifecycle="active").lifecycle == "active"
        with pytest.raises(ConflictError):
            run_store.update_experiment("1", name=taken.name)
        with pytest.raises(BadInputError):
            run_store.update_experiment("1", lifecycle="archived")
        with pytest.raises(NotFoundError):
            run_store.update_experiment("99", name="x")
        assert run_store.get_experiment("1").name == "churn-v2"

    def test_search_by_experiment(self, run_store: RunStore) -> None:
        inside = run_store.create(run(experiment="3"))
        run_store.create(run(at=T0 + 1))
        assert run_store.get(inside.id).experiment == "3"
        assert [r.id for r in run_store.search(experiment="3")] == [inside.id]
        assert len(run_store.search()) == 2
