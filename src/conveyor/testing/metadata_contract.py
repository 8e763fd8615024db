"""The contract every :class:`~conveyor.store.metadata.MetadataStore` keeps, as a pytest suite.

One suite, run on every backend (the in-memory store, SQLite, PostgreSQL, and any plug-in). To check a
backend, subclass it in a test module and provide a ``metadata_store`` fixture that yields a fresh, empty
store per test::

    import pytest
    from conveyor.testing.metadata_contract import MetadataStoreContract

    @pytest.fixture
    def metadata_store(tmp_path):
        store = MyStore(tmp_path / "db")
        yield store
        store.close()

    class TestMyStore(MetadataStoreContract):
        pass

Checks that depend on a backend's internals (editing an audit row behind the store's back) belong in the
backend's own tests, not here.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from conveyor.core.entities import AuditNote, DatasetVersion, Metric, ModelVersion, PredictionRecord, Run, new_id
from conveyor.core.errors import BadInputError, NotFoundError
from conveyor.store.metadata import MetadataStore

__all__ = ["MetadataStoreContract"]

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


def _hammer(calls: int, threads: int, fn: Any) -> list[Any]:
    """Call ``fn`` ``calls`` times from each of ``threads`` threads, all released at once."""
    start = threading.Barrier(threads)

    def worker() -> list[Any]:
        start.wait()
        return [fn() for _ in range(calls)]

    with ThreadPoolExecutor(threads) as pool:
        futures = [pool.submit(worker) for _ in range(threads)]
        return [result for f in futures for result in f.result()]


class MetadataStoreContract:
    """Subclass with a ``metadata_store`` fixture; every ``test_*`` here must pass on every backend."""

    # datasets -------------------------------------------------------------------------------------

    def test_add_dataset_version_round_trips(self, metadata_store: MetadataStore) -> None:
        dv = dataset(parents=["raw@123"], meta={"owner": "ops"})
        stored, new = metadata_store.add_dataset_version(dv)
        assert new is True
        assert stored == dv
        assert metadata_store.list_dataset_versions("iris") == [dv]
        assert metadata_store.get_dataset_version("iris", dv.version) == dv

    def test_add_dataset_version_is_idempotent(self, metadata_store: MetadataStore) -> None:
        first = dataset(version="f" * 64, source="first.csv")
        metadata_store.add_dataset_version(first)
        again = dataset(version="f" * 64, source="second.csv", at=T0 + 5)
        stored, new = metadata_store.add_dataset_version(again)
        assert new is False
        assert stored == first  # the recorded version wins; nothing is overwritten
        assert metadata_store.list_dataset_versions("iris") == [first]

    def test_list_dataset_versions_oldest_first(self, metadata_store: MetadataStore) -> None:
        # inserted out of order on purpose
        for i in (2, 0, 3, 1):
            metadata_store.add_dataset_version(dataset(version=f"{i}" * 64, at=T0 + i))
        metadata_store.add_dataset_version(dataset("wine", version="9" * 64, at=T0 + 1.5))
        assert [v.version[0] for v in metadata_store.list_dataset_versions("iris")] == ["0", "1", "2", "3"]
        every = metadata_store.list_dataset_versions()
        assert [(v.name, v.version[0]) for v in every] == [
            ("iris", "0"), ("iris", "1"), ("wine", "9"), ("iris", "2"), ("iris", "3")]
        assert metadata_store.dataset_names() == ["iris", "wine"]
        assert metadata_store.list_dataset_versions("nope") == []

    def test_get_dataset_version_latest(self, metadata_store: MetadataStore) -> None:
        for i in range(3):
            metadata_store.add_dataset_version(dataset(version=f"{i}" * 64, at=T0 + i))
        assert metadata_store.get_dataset_version("iris").version == "2" * 64
        assert metadata_store.get_dataset_version("iris", "latest").version == "2" * 64
        assert metadata_store.get_dataset_version("iris", "").version == "2" * 64

    def test_get_dataset_version_by_prefix(self, metadata_store: MetadataStore) -> None:
        metadata_store.add_dataset_version(dataset(version="abc1" + "0" * 60, at=T0))
        metadata_store.add_dataset_version(dataset(version="abd2" + "0" * 60, at=T0 + 1))
        assert metadata_store.get_dataset_version("iris", "abc").version.startswith("abc1")
        assert metadata_store.get_dataset_version("iris", "abd2").version.startswith("abd2")
        with pytest.raises(BadInputError, match="ambiguous"):
            metadata_store.get_dataset_version("iris", "ab")
        with pytest.raises(NotFoundError, match="no version 'fff'"):
            metadata_store.get_dataset_version("iris", "fff")

    def test_get_dataset_version_unknown_name(self, metadata_store: MetadataStore) -> None:
        with pytest.raises(NotFoundError, match="'iris'"):
            metadata_store.get_dataset_version("iris")
        metadata_store.add_dataset_version(dataset("irises"))
        with pytest.raises(NotFoundError, match="Did you mean 'irises'"):
            metadata_store.get_dataset_version("iris")

    # runs -----------------------------------------------------------------------------------------

    def test_create_and_get_run(self, metadata_store: MetadataStore) -> None:
        r = run(name="baseline", dataset="iris@abc")
        metadata_store.create_run(r)
        got = metadata_store.get_run(r.id)
        assert (got.id, got.name, got.status, got.dataset) == (r.id, "baseline", "running", "iris@abc")
        assert got.started_at == r.started_at
        assert got.ended_at is None
        assert (got.params, got.tags, got.metrics, got.artifacts) == ({}, {}, {}, {})

    def test_end_run(self, metadata_store: MetadataStore) -> None:
        r = metadata_store.create_run(run())
        metadata_store.end_run(r.id, "finished", ended_at=T0 + 60)
        got = metadata_store.get_run(r.id)
        assert (got.status, got.ended_at) == ("finished", T0 + 60)
        other = metadata_store.create_run(run())
        metadata_store.end_run(other.id, "failed")
        assert metadata_store.get_run(other.id).ended_at is not None

    def test_params_are_stringified(self, metadata_store: MetadataStore) -> None:
        r = metadata_store.create_run(run(params={"lr": 0.1, "depth": 3}))  # type: ignore[dict-item]
        metadata_store.log_params(r.id, {"depth": 5, "loss": "log", "flag": True, "none": None})
        assert metadata_store.get_run(r.id).params == {
            "lr": "0.1", "depth": "5", "loss": "log", "flag": "True", "none": "None"}

    def test_tags(self, metadata_store: MetadataStore) -> None:
        r = metadata_store.create_run(run(tags={"team": "risk"}))
        metadata_store.set_tags(r.id, {"stage": "dev"})
        metadata_store.set_tags(r.id, {"stage": "prod", "ticket": 42})  # type: ignore[dict-item]
        assert metadata_store.get_run(r.id).tags == {"team": "risk", "stage": "prod", "ticket": "42"}

    def test_run_artifacts(self, metadata_store: MetadataStore) -> None:
        r = metadata_store.create_run(run())
        metadata_store.add_run_artifact(r.id, "model", "1" * 64)
        metadata_store.add_run_artifact(r.id, "report", "2" * 64)
        metadata_store.add_run_artifact(r.id, "model", "3" * 64)  # a name points at its newest digest
        assert metadata_store.get_run(r.id).artifacts == {"model": "3" * 64, "report": "2" * 64}

    def test_metrics_latest_is_highest_step(self, metadata_store: MetadataStore) -> None:
        r = metadata_store.create_run(run())
        metadata_store.log_metrics(r.id, [Metric("loss", 0.9, 0, T0), Metric("loss", 0.5, 2, T0 + 2),
                                          Metric("loss", 0.7, 1, T0 + 1), Metric("acc", 0.8, 0, T0)])
        assert metadata_store.get_run(r.id).metrics == {"loss": 0.5, "acc": 0.8}
        metadata_store.log_metrics(r.id, [Metric("loss", 0.6, 1, T0 + 3)])  # a late, lower step
        assert metadata_store.get_run(r.id).metrics["loss"] == 0.5
        metadata_store.log_metrics(r.id, [Metric("loss", 0.4, 2, T0 + 4)])  # same step: last logged wins
        assert metadata_store.get_run(r.id).metrics["loss"] == 0.4
        metadata_store.log_metrics(r.id, [Metric("loss", 0.3, 3, T0 + 5)])
        assert metadata_store.get_run(r.id).metrics["loss"] == 0.3
        metadata_store.log_metrics(r.id, [])

    def test_metric_history_keeps_every_value_in_order(self, metadata_store: MetadataStore) -> None:
        r = metadata_store.create_run(run())
        logged = [Metric("loss", 1.0 / (i + 1), step, T0 + i) for i, step in enumerate([0, 1, 1, 5, 2])]
        metadata_store.log_metrics(r.id, logged[:2])
        metadata_store.log_metrics(r.id, [Metric("acc", 0.5, 0, T0)])
        metadata_store.log_metrics(r.id, logged[2:])
        history = metadata_store.metric_history(r.id, "loss")
        assert [(m.key, m.value, m.step, m.timestamp) for m in history] == [
            (m.key, m.value, m.step, m.timestamp) for m in logged]
        assert [m.value for m in metadata_store.metric_history(r.id, "acc")] == [0.5]
        assert metadata_store.metric_history(r.id, "never") == []

    def test_get_run_by_unique_prefix(self, metadata_store: MetadataStore) -> None:
        a = metadata_store.create_run(run("abcd1" + "0" * 27))
        b = metadata_store.create_run(run("abcd2" + "0" * 27))
        assert metadata_store.get_run("abcd1").id == a.id
        assert metadata_store.get_run("abcd2000").id == b.id
        metadata_store.log_params("abcd1", {"via": "prefix"})
        metadata_store.log_metrics("abcd1", [Metric("m", 1.0)])
        assert metadata_store.get_run(a.id).params == {"via": "prefix"}
        assert metadata_store.metric_history("abcd1", "m")[0].value == 1.0

    def test_unknown_run(self, metadata_store: MetadataStore) -> None:
        metadata_store.create_run(run())
        missing = "f" * 32
        calls = [
            lambda: metadata_store.get_run(missing),
            lambda: metadata_store.end_run(missing, "finished"),
            lambda: metadata_store.log_params(missing, {"a": 1}),
            lambda: metadata_store.log_metrics(missing, [Metric("m", 1.0)]),
            lambda: metadata_store.set_tags(missing, {"a": "b"}),
            lambda: metadata_store.add_run_artifact(missing, "model", "1" * 64),
            lambda: metadata_store.metric_history(missing, "m"),
        ]
        for call in calls:
            with pytest.raises(NotFoundError, match=missing):
                call()

    def test_list_runs_newest_first(self, metadata_store: MetadataStore) -> None:
        ids = [metadata_store.create_run(run(at=T0 + i)).id for i in (1, 3, 0, 2)]
        assert [r.id for r in metadata_store.list_runs()] == [ids[1], ids[3], ids[0], ids[2]]
        assert [r.id for r in metadata_store.list_runs(limit=2)] == [ids[1], ids[3]]

    def test_list_runs_by_metric(self, metadata_store: MetadataStore) -> None:
        scores = {"a": 0.7, "b": None, "c": 0.9, "d": 0.1, "e": None}
        ids = {}
        for i, (label, score) in enumerate(scores.items()):
            r = metadata_store.create_run(run(name=label, at=T0 + i))
            ids[label] = r.id
            metadata_store.log_metrics(r.id, [Metric("other", 5.0 - i)])
            if score is not None:
                metadata_store.log_metrics(r.id, [Metric("score", score)])

        def names(**kwargs: Any) -> list[str]:
            return [r.name for r in metadata_store.list_runs(order_by_metric="score", **kwargs)]

        # runs without the metric come last, newest first among themselves
        assert names() == ["c", "a", "d", "e", "b"]
        assert names(ascending=True) == ["d", "a", "c", "e", "b"]
        assert names(limit=2) == ["c", "a"]
        assert names(ascending=True, limit=4) == ["d", "a", "c", "e"]
        listed = metadata_store.list_runs(order_by_metric="score")
        assert listed[0].metrics == {"score": 0.9, "other": 3.0}

    def test_list_runs_by_dataset(self, metadata_store: MetadataStore) -> None:
        datasets = ["iris@abc", "iris", "iris_v2@abc", "wine@abc", None, "iris@def"]
        for i, ds in enumerate(datasets):
            metadata_store.create_run(run(name=str(i), dataset=ds, at=T0 + i))
        assert [r.name for r in metadata_store.list_runs(dataset_name="iris")] == ["5", "1", "0"]
        assert [r.name for r in metadata_store.list_runs(dataset_name="wine")] == ["3"]
        assert metadata_store.list_runs(dataset_name="iri") == []
        assert len(metadata_store.list_runs()) == len(datasets)

    # models ---------------------------------------------------------------------------------------

    def test_model_versions_numbered_per_name(self, metadata_store: MetadataStore) -> None:
        numbered = [metadata_store.create_model_version(model(n)).ref for n in ["a", "a", "b", "a", "b"]]
        assert numbered == ["a:1", "a:2", "b:1", "a:3", "b:2"]
        assert [m.ref for m in metadata_store.list_model_versions()] == ["a:1", "a:2", "a:3", "b:1", "b:2"]
        assert [m.ref for m in metadata_store.list_model_versions("b")] == ["b:1", "b:2"]
        assert metadata_store.list_model_versions("c") == []
        assert metadata_store.model_names() == ["a", "b"]

    def test_get_model_version_round_trips(self, metadata_store: MetadataStore) -> None:
        mv = model(signature={"inputs": [{"name": "x", "dtype": "float64"}], "classes": [0, 1]},
                   metrics={"auc": 0.91}, meta=NESTED, created_at=T0)
        created = metadata_store.create_model_version(mv)
        assert created.version == 1
        got = metadata_store.get_model_version("churn", 1)
        assert got == created
        assert (got.signature, got.metrics, got.meta) == (mv.signature, {"auc": 0.91}, NESTED)

    def test_concurrent_model_versions_are_distinct(self, metadata_store: MetadataStore) -> None:
        created = _hammer(5, 8, lambda: metadata_store.create_model_version(model("race")).version)
        assert sorted(created) == list(range(1, 41))
        assert [m.version for m in metadata_store.list_model_versions("race")] == list(range(1, 41))

    def test_get_unknown_model(self, metadata_store: MetadataStore) -> None:
        with pytest.raises(NotFoundError, match="'churn'"):
            metadata_store.get_model_version("churn", 1)
        metadata_store.create_model_version(model("churn"))
        with pytest.raises(NotFoundError, match="Did you mean 'churn'"):
            metadata_store.get_model_version("chrun", 1)
        with pytest.raises(NotFoundError, match="no version 2"):
            metadata_store.get_model_version("churn", 2)

    def test_aliases_set_move_remove(self, metadata_store: MetadataStore) -> None:
        for _ in range(3):
            metadata_store.create_model_version(model("churn"))
        metadata_store.create_model_version(model("other"))
        assert metadata_store.aliases("churn") == {}
        first = metadata_store.set_alias("churn", "prod", 1)
        assert (first.model, first.alias, first.version, first.previous) == ("churn", "prod", 1, None)
        moved = metadata_store.set_alias("churn", "prod", 2)
        assert (moved.version, moved.previous) == (2, 1)
        metadata_store.set_alias("churn", "staging", 3)
        metadata_store.set_alias("other", "prod", 1)
        assert metadata_store.aliases("churn") == {"prod": 2, "staging": 3}
        removed = metadata_store.set_alias("churn", "prod", None)
        assert (removed.version, removed.previous) == (None, 2)
        assert metadata_store.aliases("churn") == {"staging": 3}
        assert metadata_store.aliases("other") == {"prod": 1}
        history = metadata_store.alias_history("churn", "prod")
        assert [(c.model, c.alias, c.version, c.previous) for c in history] == [
            ("churn", "prod", 1, None), ("churn", "prod", 2, 1), ("churn", "prod", None, 2)]
        assert [c.at for c in history] == sorted(c.at for c in history)
        assert [c.version for c in metadata_store.alias_history("churn", "staging")] == [3]
        assert metadata_store.alias_history("churn", "never") == []

    def test_registry_changes_and_their_audit_rows_land_together(self, metadata_store: MetadataStore) -> None:
        created = metadata_store.create_model_version(model("audited"), audit=AuditNote("ana", "register", {"n": 1}))
        metadata_store.set_alias("audited", "champion", created.version, audit=AuditNote("ben", "promote"))
        first, second = metadata_store.list_audit()
        assert (first.actor, first.action, first.subject, first.details) == ("ana", "register", "audited:1", {"n": 1})
        assert (second.action, second.subject) == ("promote", "audited@champion")
        assert second.details == {"version": 1, "previous": None}
        assert metadata_store.verify_audit() == 2

    def test_a_refused_alias_change_writes_no_audit_row(self, metadata_store: MetadataStore) -> None:
        with pytest.raises(NotFoundError):
            metadata_store.set_alias("nobody", "champion", 3, audit=AuditNote("ana", "promote"))
        assert metadata_store.list_audit() == []

    def test_set_alias_to_missing_version(self, metadata_store: MetadataStore) -> None:
        metadata_store.create_model_version(model("churn"))
        metadata_store.set_alias("churn", "prod", 1)
        with pytest.raises(NotFoundError, match="no version 7"):
            metadata_store.set_alias("churn", "prod", 7)
        with pytest.raises(NotFoundError, match="'ghost'"):
            metadata_store.set_alias("ghost", "prod", 1)
        assert metadata_store.aliases("churn") == {"prod": 1}
        assert len(metadata_store.alias_history("churn", "prod")) == 1
        assert metadata_store.aliases("ghost") == {}

    # audit ----------------------------------------------------------------------------------------

    def test_audit_chain(self, metadata_store: MetadataStore) -> None:
        assert metadata_store.list_audit() == []
        assert metadata_store.verify_audit() == 0
        entries = [metadata_store.append_audit("alice", "promote", f"churn:{i}", {"i": i}) for i in range(1, 4)]
        assert [e.seq for e in entries] == [1, 2, 3]
        assert entries[1].prev_hash == entries[0].hash and entries[2].prev_hash == entries[1].hash
        assert metadata_store.list_audit() == entries
        assert metadata_store.verify_audit() == 3

    def test_concurrent_audit_appends_keep_the_chain(self, metadata_store: MetadataStore) -> None:
        counter = iter(range(10_000))
        appended = _hammer(5, 8, lambda: metadata_store.append_audit(
            "bot", "tick", "x", {"n": next(counter)}).seq)
        assert sorted(appended) == list(range(1, 41))
        assert [e.seq for e in metadata_store.list_audit()] == list(range(1, 41))
        assert metadata_store.verify_audit() == 40

    # prediction log -------------------------------------------------------------------------------

    def test_predictions_and_feedback(self, metadata_store: MetadataStore) -> None:
        records = [prediction("churn:1", T0), prediction("churn:2", T0 + 2), prediction("other:1", T0 + 1)]
        metadata_store.log_predictions(records)
        metadata_store.log_predictions([])
        assert [p.id for p in metadata_store.list_predictions()] == [records[1].id, records[2].id, records[0].id]
        assert [p.id for p in metadata_store.list_predictions(limit=2)] == [records[1].id, records[2].id]
        assert [p.id for p in metadata_store.list_predictions("churn")] == [records[1].id, records[0].id]
        assert [p.id for p in metadata_store.list_predictions("churn", limit=1)] == [records[1].id]
        assert metadata_store.list_predictions("nope") == []
        assert [p.id for p in metadata_store.list_predictions("churn", model_version="churn:1")] == [records[0].id]
        missing = metadata_store.add_feedback({records[0].id: 1, "no-such-id": 0, records[2].id: "yes"})
        assert missing == ["no-such-id"]
        by_id = {p.id: p for p in metadata_store.list_predictions()}
        assert (by_id[records[0].id].label, by_id[records[2].id].label) == (1, "yes")
        assert by_id[records[0].id].labeled_at is not None
        assert (by_id[records[1].id].label, by_id[records[1].id].labeled_at) == (None, None)
        assert by_id[records[1].id] == records[1]

    # JSON fields ----------------------------------------------------------------------------------

    def test_json_fields_round_trip(self, metadata_store: MetadataStore) -> None:
        dv = dataset(meta=NESTED, parents=["raw@1", "café@2"])
        dv.profile = {"x": NESTED}
        metadata_store.add_dataset_version(dv)
        assert metadata_store.get_dataset_version("iris") == dv

        metadata_store.append_audit("ünïcode", "edit", "数据", NESTED)
        assert metadata_store.list_audit()[0].details == NESTED
        assert metadata_store.verify_audit() == 1

        p = PredictionRecord(new_id(), "churn:1", inputs=NESTED, outputs={"proba": [0.25, 0.75]}, at=T0)
        metadata_store.log_predictions([p])
        metadata_store.add_feedback({p.id: {"label": [1, "ja"], "nested": NESTED}})
        (got,) = metadata_store.list_predictions()
        assert (got.inputs, got.outputs) == (NESTED, {"proba": [0.25, 0.75]})
        assert got.label == {"label": [1, "ja"], "nested": NESTED}

    def test_close_is_safe(self, metadata_store: MetadataStore) -> None:
        metadata_store.close()

    # --- monitor ---

    def test_reference_stats_are_written_once(self, metadata_store: MetadataStore) -> None:
        assert metadata_store.get_reference_stats("churn:1") is None
        first = {"columns": {"x": {"q": [0.0, 0.5, 1.0]}}, **NESTED}
        assert metadata_store.put_reference_stats("churn:1", first) == first
        assert metadata_store.put_reference_stats("churn:1", {"other": 1}) == first  # first writer wins
        assert metadata_store.get_reference_stats("churn:1") == first
        assert metadata_store.get_reference_stats("churn:2") is None

    def test_samples_filter_and_order(self, metadata_store: MetadataStore) -> None:
        from conveyor.core.entities import Sample

        metadata_store.add_samples([Sample("serve:1", "cpu_percent", 10.0, T0 + 2),
                                    Sample("serve:1", "cpu_percent", 5.0, T0),
                                    Sample("serve:1", "rss_bytes", 1e6, T0 + 1),
                                    Sample("churn:1", "drift.share", 0.25, T0 + 1),
                                    Sample("churn:1", "drift_x", 9.0, T0 + 3)])
        metadata_store.add_samples([])
        assert [s.value for s in metadata_store.list_samples("serve:1", series="cpu_percent")] == [5.0, 10.0]
        assert [s.series for s in metadata_store.list_samples("serve:1")] == ["cpu_percent", "rss_bytes", "cpu_percent"]
        assert [s.value for s in metadata_store.list_samples("churn:1", series="drift.*")] == [0.25]  # "_" is literal
        assert [s.value for s in metadata_store.list_samples(since=T0 + 2)] == [10.0, 9.0]
        assert [s.value for s in metadata_store.list_samples(limit=2)] == [10.0, 9.0]  # the newest, oldest first
        assert metadata_store.list_samples("nope") == []

    def test_alerts_round_trip_update_and_prefix(self, metadata_store: MetadataStore) -> None:
        from conveyor.core.entities import Alert

        a = metadata_store.add_alert(Alert("a1" + "0" * 30, "drift", "churn:1", "drift.share", 0.5, 0.2, "drifted",
                                           fired_at=T0, last_seen_at=T0, notified=["log"]))
        b = metadata_store.add_alert(Alert("b2" + "0" * 30, "cpu", "serve:9", "cpu_percent", 99.0, 90.0, "hot",
                                           fired_at=T0 + 1, last_seen_at=T0 + 1))
        assert [x.id for x in metadata_store.list_alerts()] == [b.id, a.id]
        assert metadata_store.list_alerts("churn:1") == [a]
        assert metadata_store.get_alert("a1") == a
        a.count, a.status, a.acked_by, a.acked_at, a.notified = 3, "acked", "alice", T0 + 5, ["log", "webhook"]
        metadata_store.update_alert(a)
        assert metadata_store.get_alert(a.id) == a
        assert metadata_store.list_alerts(status="open") == [b]
        with pytest.raises(NotFoundError):
            metadata_store.get_alert("zz")
        with pytest.raises(NotFoundError):
            metadata_store.update_alert(Alert("c" * 32, "r", "s", "x", 1.0, 1.0, "m"))

    def test_jobs_are_claimed_once_and_taken_over_when_stale(self, metadata_store: MetadataStore) -> None:
        job = metadata_store.claim_job("retrain:churn:1", "agent-a", lease_seconds=60, at=T0)
        assert job is not None and (job.status, job.holder, job.attempts) == ("running", "agent-a", 1)
        assert metadata_store.claim_job("retrain:churn:1", "agent-b", lease_seconds=60, at=T0 + 30) is None
        assert metadata_store.update_job("retrain:churn:1", result={"phase": "training"}, holder="agent-a", at=T0 + 50)
        assert not metadata_store.update_job("retrain:churn:1", status="done", holder="agent-b")
        taken = metadata_store.claim_job("retrain:churn:1", "agent-b", lease_seconds=60, at=T0 + 111)
        assert taken is not None
        assert (taken.holder, taken.attempts, taken.result) == ("agent-b", 2, {"phase": "training"})
        assert metadata_store.update_job("retrain:churn:1", status="done", result={"decision": "kept"})
        assert metadata_store.claim_job("retrain:churn:1", "agent-c", lease_seconds=0, at=T0 + 999) is None
        assert metadata_store.get_job("retrain:churn:1").status == "done"
        assert metadata_store.get_job("nope") is None
        assert [j.key for j in metadata_store.list_jobs("done")] == ["retrain:churn:1"]
        assert metadata_store.list_jobs("running") == []

    def test_concurrent_claims_have_one_winner(self, metadata_store: MetadataStore) -> None:
        won = _hammer(1, 8, lambda: metadata_store.claim_job("k", new_id(), lease_seconds=600))
        assert sum(job is not None for job in won) == 1
    # --- serve ---

    def test_prediction_role_and_request_id_round_trip(self, metadata_store: MetadataStore) -> None:
        plain = prediction("churn:1", T0)
        shadow = prediction("churn:2", T0 + 1, role="shadow", request_id="req-1")
        canary = prediction("churn:3", T0 + 2, role="canary", request_id="req-2")
        metadata_store.log_predictions([plain, shadow, canary])
        by_id = {p.id: p for p in metadata_store.list_predictions("churn")}
        assert (by_id[plain.id].role, by_id[plain.id].request_id) == ("primary", None)
        assert (by_id[shadow.id].role, by_id[shadow.id].request_id) == ("shadow", "req-1")
        assert by_id[canary.id] == canary
        assert metadata_store.add_feedback({shadow.id: 1}) == []
        assert [p.label for p in metadata_store.list_predictions(model_version="churn:2")] == [1]
