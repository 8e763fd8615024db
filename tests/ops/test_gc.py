"""`conveyor gc` under `retention:`: what goes, what an alias, a lineage or a pending approval keeps, artifacts,
the archive, the audit row; on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import yaml

import conveyor as cv
from conveyor.core.entities import ApprovalRequest, AuditNote, ModelVersion, PredictionRecord, Run, new_id, now
from conveyor.store.backends import open_artifact_store
from conveyor.store.pipelines import PipelineRun

DAY = 86400.0


def _configure(root: Path, **retention: object) -> None:
    config = yaml.safe_load((root / "conveyor.yaml").read_text())
    config["retention"] = retention
    (root / "conveyor.yaml").write_text(yaml.safe_dump(config))


def _populate(project: cv.Project) -> dict[str, object]:
    stores = project.stores
    data = [project.data.ingest(pd.DataFrame({"x": [i, i + 1, i + 2]}), "d")[0] for i in range(4)]
    old = now() - 2 * DAY
    run_of_m1 = stores.runs.create(Run(new_id(), "m1", status="finished", started_at=old))
    run_of_m2 = stores.runs.create(Run(new_id(), "m2", status="finished", started_at=old))
    stale = stores.runs.create(Run(new_id(), "stale", status="finished", started_at=old))
    stores.runs.add_artifact(stale.id, "report.html", stores.artifacts.put_bytes(b"stale run report"))
    running = stores.runs.create(Run(new_id(), "still running", started_at=old))
    fresh = stores.runs.create(Run(new_id(), "fresh", status="finished"))
    models = []
    for i in range(5):
        artifact = stores.artifacts.put_bytes(f"model package {i}".encode())
        run_id = {0: run_of_m1.id, 1: run_of_m2.id}.get(i)
        dataset = f"d@{data[0].version}" if i == 0 else f"d@{data[3].version}"
        models.append(stores.registry.create_version(ModelVersion("m", 0, artifact, "sklearn", run_id, dataset,
                                                                  {"task": "regression"}),
                                                     AuditNote("tester", "register", {"artifact": artifact})))
    stores.registry.set_alias("m", "champion", 4, AuditNote("tester", "promote"))
    stores.registry.set_alias("m", "champion", 1, AuditNote("tester", "promote"))  # m:4 stays as the rollback target
    stores.approvals.create(ApprovalRequest("req1", "m", 3, "champion", "alice"))
    stores.predictions.log([PredictionRecord(new_id(), "m:1", {"x": 1}, {"y": 1}, at=old) for _ in range(2)]
                           + [PredictionRecord(new_id(), "m:1", {"x": 1}, {"y": 1})])
    stray = stores.artifacts.put_bytes(b"an upload whose record never came")
    stores.pipelines.add_run(PipelineRun(new_id(), "features", outputs={"table": f"d@{data[2].version}"}))
    return {"data": data, "models": models, "runs": {"m1": run_of_m1.id, "m2": run_of_m2.id, "stale": stale.id,
                                                     "running": running.id, "fresh": fresh.id}, "stray": stray}


def test_gc_deletes_what_retention_allows_and_keeps_what_is_needed(tmp_path, db_backend):
    root = tmp_path / "proj"
    cv.Project.init(root).close()
    _configure(root, datasets=1, models=1, runs="1d", predictions="1d", grace="0s")
    with cv.Project.open(root) as project:
        made = _populate(project)
        data, models = made["data"], made["models"]
        stores = project.stores
        digests_before = set(stores.artifacts.digests())
        dry = project.operations.gc(dry_run=True)
        assert set(stores.artifacts.digests()) == digests_before  # a dry run changes nothing
        assert len(stores.datasets.versions("d")) == 4

        report = project.operations.gc()
        assert (sorted(dry.datasets), dry.models, sorted(dry.runs), dry.predictions, dry.artifacts) == \
            (sorted(report.datasets), report.models, sorted(report.runs), report.predictions, report.artifacts)

        kept_data = {v.version for v in stores.datasets.versions("d")}
        assert kept_data == {data[0].version, data[2].version, data[3].version}  # m:1's lineage, a pipeline's, newest
        assert [v.version for v in stores.registry.versions("m")] == [1, 3, 4, 5]  # alias, approval, rollback
        assert report.models == ["m:2"]
        runs = made["runs"]
        assert sorted(report.runs) == sorted([runs["m2"], runs["stale"]])
        remaining = {r.id for r in stores.runs.search()}
        assert remaining == {runs["m1"], runs["running"], runs["fresh"]}
        assert report.predictions == 2 and len(stores.predictions.recent()) == 1
        # artifacts: the dataset file, m:2's package, the stale run's report and the stray upload
        gone = {data[1].artifact, models[1].artifact, made["stray"]}
        assert gone <= digests_before and not gone & set(stores.artifacts.digests())
        assert report.artifacts == 4 and report.bytes_freed > 0
        assert "pipeline" in report.kept[data[2].ref]
        for version in (data[0], data[2], data[3]):
            assert len(project.data.load_frame(f"d@{version.version}")) == 3
        assert stores.artifacts.get_bytes(models[0].artifact) == b"model package 0"
        last = stores.registry.audit_log()[-1]
        assert (last.action, last.details["models"], last.details["artifacts"]) == ("gc", ["m:2"], 4)
        assert project.audit_trail.verify().rows == len(stores.registry.audit_log())
        assert "m:3" in report.kept and "pending approval" in report.kept["m:3"]


def test_gc_archives_before_it_deletes(tmp_path):
    root = tmp_path / "proj"
    archive = tmp_path / "archive"
    cv.Project.init(root).close()
    _configure(root, datasets=1, grace="0s", archive=str(archive))
    with cv.Project.open(root) as project:
        first = project.data.ingest(pd.DataFrame({"x": [1, 2]}), "d")[0]
        project.data.ingest(pd.DataFrame({"x": [3, 4]}), "d")
        report = project.operations.gc()
        assert report.datasets == [f"d@{first.version[:12]}"]
        assert not project.stores.artifacts.exists(first.artifact)
    store = open_artifact_store(str(archive))
    manifest = json.loads(store.get_bytes(report.archive_manifest))
    assert [r["version"] for r in manifest["records"]["datasets"]] == [first.version]
    assert store.exists(first.artifact)  # the file itself, restorable


def test_gc_cli_reports_a_table_and_json(tmp_path):
    root = tmp_path / "proj"
    cv.Project.init(root).close()
    _configure(root, datasets=1, grace="0s")
    with cv.Project.open(root) as project:
        first = project.data.ingest(pd.DataFrame({"x": [1, 2]}), "d")[0]
        project.data.ingest(pd.DataFrame({"x": [3, 4]}), "d")
    env = {**os.environ}
    env.pop("CONVEYOR_DB_URL", None)
    dry = subprocess.run([sys.executable, "-m", "conveyor", "gc", "--dry-run", "--json"], cwd=root, env=env,
                         capture_output=True, text=True, check=True)
    assert json.loads(dry.stdout)["datasets"] == [f"d@{first.version[:12]}"]
    done = subprocess.run([sys.executable, "-m", "conveyor", "gc"], cwd=root, env=env, capture_output=True,
                          text=True, check=True)
    assert "dataset versions" in done.stdout and f"d@{first.version[:12]}" in done.stdout
    again = subprocess.run([sys.executable, "-m", "conveyor", "gc", "--json"], cwd=root, env=env,
                           capture_output=True, text=True, check=True)
    assert json.loads(again.stdout)["datasets"] == []


def test_the_operations_sub_api_is_exactly_its_protocol():
    import inspect

    from conveyor.project.operations import LocalOperations, OperationsAPI

    def public(cls: type) -> dict[str, inspect.Signature]:
        return {name: inspect.signature(member) for name, member in vars(cls).items()
                if callable(member) and not name.startswith("_")}

    assert public(LocalOperations) == public(OperationsAPI)
