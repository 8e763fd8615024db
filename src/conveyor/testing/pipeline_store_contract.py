"""The contract every :class:`~conveyor.store.pipelines.PipelineStore` keeps, as a pytest suite.

Subclass it in a test module and provide a ``pipeline_store`` fixture that yields a fresh, empty store per test
(see ``conveyor.testing.dataset_store_contract`` for the pattern).
"""

from __future__ import annotations

from conveyor.core.entities import new_id
from conveyor.store.pipelines import PipelineRun, PipelineStore, StepRecord
from conveyor.testing.store_records import NESTED, T0, hammer

__all__ = ["PipelineStoreContract"]


class PipelineStoreContract:
    """Subclass with a ``pipeline_store`` fixture; every ``test_*`` here must pass on every backend."""

    def test_runs_round_trip_and_update(self, pipeline_store: PipelineStore) -> None:
        dag = {"steps": [{"name": "a", "inputs": {}, "outputs": {"x": "value"}, "after": []}]}
        run = PipelineRun(new_id(), "nightly", trigger="schedule", params={"k": 3}, dag=dag, started_at=T0)
        pipeline_store.add_run(run)
        got = pipeline_store.get_run(run.id)
        assert got == run
        assert pipeline_store.get_run(run.id[:10]) == run
        pipeline_store.update_run(run.id, status="failed", ended_at=T0 + 5, error="boom", outputs=NESTED)
        got = pipeline_store.get_run(run.id)
        assert got is not None and (got.status, got.ended_at, got.error, got.outputs) == ("failed", T0 + 5, "boom",
                                                                                           NESTED)
        assert pipeline_store.get_run("nope") is None

    def test_runs_are_listed_newest_first_and_filtered(self, pipeline_store: PipelineStore) -> None:
        ids = []
        for i, name in enumerate(["a", "b", "a"]):
            run = PipelineRun(new_id(), name, status="succeeded" if i else "failed", started_at=T0 + i)
            pipeline_store.add_run(run)
            ids.append(run.id)
        assert [r.id for r in pipeline_store.runs()] == ids[::-1]
        assert [r.id for r in pipeline_store.runs(pipeline="a")] == [ids[2], ids[0]]
        assert [r.id for r in pipeline_store.runs(status="failed")] == [ids[0]]
        assert [r.id for r in pipeline_store.runs(limit=1)] == [ids[2]]

    def test_steps_keep_their_first_order_and_are_replaced(self, pipeline_store: PipelineStore) -> None:
        run = PipelineRun(new_id(), "p", started_at=T0)
        pipeline_store.add_run(run)
        for name in ["load", "clean", "train"]:
            pipeline_store.put_step(StepRecord(run.id, name))
        pipeline_store.put_step(StepRecord(run.id, "load", "succeeded", "k1", attempts=2, started_at=T0,
                                           ended_at=T0 + 1.5, inputs={"raw": "abc"}, outputs={"x": NESTED}))
        steps = pipeline_store.steps(run.id)
        assert [s.step for s in steps] == ["load", "clean", "train"]
        load = steps[0]
        assert (load.status, load.cache_key, load.attempts, load.duration, load.outputs) == (
            "succeeded", "k1", 2, 1.5, {"x": NESTED})
        assert load.pipeline == "p" and not load.cached
        assert pipeline_store.steps("other") == []

    def test_find_cached_answers_the_newest_success_of_that_key(self, pipeline_store: PipelineStore) -> None:
        first, second, other = (PipelineRun(new_id(), name, started_at=T0 + i) for i, name in
                                enumerate(["p", "p", "q"]))
        for run in (first, second, other):
            pipeline_store.add_run(run)
        pipeline_store.put_step(StepRecord(first.id, "s", "succeeded", "k", ended_at=T0 + 1, outputs={"v": 1}))
        pipeline_store.put_step(StepRecord(second.id, "s", "succeeded", "k", ended_at=T0 + 2, outputs={"v": 2}))
        pipeline_store.put_step(StepRecord(second.id, "t", "failed", "k2", ended_at=T0 + 2))
        pipeline_store.put_step(StepRecord(other.id, "s", "succeeded", "k", ended_at=T0 + 3, outputs={"v": 3}))
        hit = pipeline_store.find_cached("p", "s", "k")
        assert hit is not None and (hit.run_id, hit.outputs) == (second.id, {"v": 2})
        assert pipeline_store.find_cached("p", "t", "k2") is None  # a failure is never a cache hit
        assert pipeline_store.find_cached("p", "s", "other") is None

    def test_concurrent_step_writes_all_land(self, pipeline_store: PipelineStore) -> None:
        run = PipelineRun(new_id(), "p", started_at=T0)
        pipeline_store.add_run(run)
        hammer(4, 5, lambda: pipeline_store.put_step(StepRecord(run.id, new_id()[:8], "succeeded")))
        assert len(pipeline_store.steps(run.id)) == 20
