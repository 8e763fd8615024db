"""`conveyor backup` while a second process keeps logging runs and registering models, then `conveyor restore`
into a fresh folder (and a fresh PostgreSQL): every dataset, run, model, alias and audit row of the snapshot is
there, artifacts read back, and `conveyor models audit` passes with the anchor and keys put back."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
import yaml

import conveyor as cv
from conveyor.core.entities import AuditNote, Metric, ModelVersion, Run, new_id
from conveyor.core.errors import BadInputError
from conveyor.serve.predlog import PredictionLogger
from conveyor.store.prediction_segments import SegmentedPredictionStore, read_segment
from conveyor.store.predictions import PredictionBatch

WRITER = textwrap.dedent("""
    import pathlib, sys, time
    import conveyor as cv
    from conveyor.core.entities import AuditNote, Metric, ModelVersion, Run, new_id
    root, stop = sys.argv[1], pathlib.Path(sys.argv[2])
    with cv.Project.open(root) as project:
        stores = project.stores
        i = 0
        while not stop.exists() and i < 5000:
            run = stores.runs.create(Run(new_id(), f"load {i}", dataset="d"))
            stores.runs.log_metrics(run.id, [Metric("loss", 1.0 / (i + 1), i, time.time())])
            stores.runs.add_artifact(run.id, "note.txt", stores.artifacts.put_bytes(f"run {i}".encode()))
            stores.runs.end(run.id, "finished")
            if i % 10 == 0:
                artifact = stores.artifacts.put_bytes(f"model from load {i}".encode())
                stores.registry.create_version(ModelVersion("load", 0, artifact, "sklearn", run.id, None, {}),
                                               AuditNote("writer", "register", {"artifact": artifact}))
            if i == 2:
                print("started", flush=True)
            i += 1
    print(i, flush=True)
""")


def _conveyor(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, "-m", "conveyor", *args], cwd=cwd, env=env, capture_output=True,
                          text=True)
    assert done.returncode == 0, done.stderr + done.stdout
    return done


def _seed(root: Path, env: dict[str, str]) -> None:
    _conveyor("audit", "keygen", "--key-file", "keys/audit.key", "--signing-key-file", "keys/audit.pem",
              cwd=root, env=env)
    config = yaml.safe_load((root / "conveyor.yaml").read_text())
    config["security"] = {"audit": {"key_file": "keys/audit.key", "signing_key_file": "keys/audit.pem",
                                    "anchor": "audit/anchor.json"}}
    (root / "conveyor.yaml").write_text(yaml.safe_dump(config))
    (root / "contracts").mkdir()
    (root / "contracts" / "d.yaml").write_text("columns: {}\n")
    with cv.Project.open(root) as project:
        stores = project.stores
        data, _ = project.data.ingest(pd.DataFrame({"x": [1.0, 2.0, 3.0], "y": [0, 1, 0]}), "d")
        run = stores.runs.create(Run(new_id(), "seed", dataset=f"d@{data.version}"))
        stores.runs.log_metrics(run.id, [Metric("auc", 0.9, 0, time.time())])
        stores.runs.end(run.id, "finished")
        artifact = stores.artifacts.put_bytes(b"the seed model")
        version = stores.registry.create_version(
            ModelVersion("m", 0, artifact, "sklearn", run.id, f"d@{data.version}", {"task": "binary"}),
            AuditNote("tester", "register", {"artifact": artifact}))
        stores.registry.set_alias("m", "champion", version.version, AuditNote("tester", "promote"))


def _inventory(project: cv.Project) -> dict[str, object]:
    stores = project.stores
    return {"datasets": sorted((v.name, v.version) for v in stores.datasets.versions()),
            "runs": sorted((r.id, r.status, tuple(sorted(r.metrics.items()))) for r in stores.runs.search()),
            "models": sorted((m.name, m.version, m.artifact) for m in stores.registry.versions()),
            "aliases": {n: stores.registry.aliases(n) for n in stores.registry.names()},
            "audit": [(e.seq, e.hash) for e in stores.registry.audit_log()]}


@pytest.mark.slow
def test_backup_under_write_load_restores_everything(tmp_path, db_backend, request):
    env = {k: v for k, v in os.environ.items() if k != "CONVEYOR_ENCRYPTION_KEY"}
    root = tmp_path / "proj"
    cv.Project.init(root).close()
    _seed(root, env)
    stop = tmp_path / "stop"
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(root), str(stop)], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    try:
        assert writer.stdout is not None and writer.stdout.readline().strip() == "started"
        dest = tmp_path / "backup"
        manifest = json.loads(_conveyor("backup", str(dest), "--json", cwd=root, env=env).stdout)
        assert writer.poll() is None, "the writer stopped before the backup ended: the test proves nothing"
    finally:
        stop.touch()
        written, errors = writer.communicate(timeout=300)
    assert writer.returncode == 0, errors
    assert "audit.key" not in json.dumps(manifest["files"]) and not list(dest.rglob("*.pem"))
    assert manifest["keys"]["audit"]["keyed"] is True and manifest["keys"]["audit"]["public_key"]
    with cv.Project.open(root) as project:
        live = _inventory(project)

    restored = tmp_path / "restored"
    restore_env = dict(env)
    if db_backend == "postgresql":  # a second, fresh PostgreSQL database to restore into
        postgres_url = str(request.getfixturevalue("postgres_url"))
        name = f"restore_{uuid.uuid4().hex}"
        admin = sa.create_engine(postgres_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        restore_env["CONVEYOR_DB_URL"] = sa.engine.make_url(postgres_url).set(database=name).render_as_string(
            hide_password=False)
    result = json.loads(_conveyor("restore", str(dest), "--into", str(restored), "--json", cwd=tmp_path,
                                  env=restore_env).stdout)
    assert result["tables"]["runs"] == manifest["tables"]["runs"]
    shutil.copytree(root / "keys", restored / "keys")  # keys travel apart from backups
    assert (restored / "contracts" / "d.yaml").exists()
    _conveyor("models", "audit", cwd=restored, env=restore_env)

    os.environ.update({k: v for k, v in restore_env.items() if k == "CONVEYOR_DB_URL"})
    try:
        with cv.Project.open(restored) as project:
            back = _inventory(project)
            for version in project.stores.datasets.versions():
                assert len(project.data.load_frame(f"{version.name}@{version.version}")) == 3
            for model in project.stores.registry.versions():
                assert project.stores.artifacts.get_bytes(model.artifact)
            for run in project.stores.runs.search():
                for digest in run.artifacts.values():
                    assert project.stores.artifacts.get_bytes(digest).startswith(b"run ")
            # the store keeps working: a new run gets a fresh metric id, a new model the next number
            run = project.stores.runs.create(Run(new_id(), "after restore"))
            project.stores.runs.log_metrics(run.id, [Metric("loss", 0.1, 0, time.time())])
            project.stores.registry.create_version(
                ModelVersion("m", 0, project.stores.artifacts.put_bytes(b"next"), "sklearn", None, None, {}),
                AuditNote("tester", "register"))
            assert project.audit_trail.verify().rows == len(back["audit"]) + 1
    finally:
        if db_backend == "postgresql":
            os.environ["CONVEYOR_DB_URL"] = str(request.getfixturevalue("postgres_db_url"))
    # the snapshot: a prefix of what the live store holds now, never a torn state
    assert back["datasets"] == live["datasets"] and back["aliases"] == live["aliases"]
    assert back["audit"] == live["audit"][:len(back["audit"])] and len(back["audit"]) >= 4
    assert set(back["models"]) <= set(live["models"]) and ("m", 1) in {m[:2] for m in back["models"]}
    assert len(back["runs"]) == manifest["tables"]["runs"]
    assert {r for r in back["runs"] if r[1] == "finished"} <= set(live["runs"])  # a run caught mid-flight
    assert {r[0] for r in back["runs"]} <= {r[0] for r in live["runs"]}  # is in the snapshot as it was then
    assert len(live["runs"]) == 1 + int(written.split()[-1])
    assert len(back["runs"]) < len(live["runs"])  # the backup ran in the middle of the load


def test_restore_refuses_a_folder_with_a_project_and_a_non_backup(tmp_path, monkeypatch):
    monkeypatch.delenv("CONVEYOR_DB_URL", raising=False)
    root = tmp_path / "proj"
    with cv.Project.init(root) as project:
        project.data.ingest(pd.DataFrame({"x": [1]}), "d")
        project.operations.backup(tmp_path / "b")
        with pytest.raises(BadInputError, match="not empty"):
            project.operations.backup(tmp_path / "b")
    from conveyor.project.operations import restore_project

    with pytest.raises(BadInputError, match="already holds a project"):
        restore_project(tmp_path / "b", root)
    with pytest.raises(BadInputError, match="not a conveyor backup"):
        restore_project(tmp_path, tmp_path / "new")


def test_a_sqlite_project_moves_to_postgresql_through_backup_and_restore(tmp_path, monkeypatch, postgres_db_url):
    monkeypatch.delenv("CONVEYOR_DB_URL", raising=False)
    root = tmp_path / "proj"
    with cv.Project.init(root) as project:
        stores = project.stores
        data, _ = project.data.ingest(pd.DataFrame({"x": [1.0, 2.0, 3.0]}), "d")
        run = stores.runs.create(Run(new_id(), "r", dataset=f"d@{data.version}"))
        stores.runs.log_metrics(run.id, [Metric("auc", 0.8, step, time.time()) for step in range(3)])
        version = stores.registry.create_version(
            ModelVersion("m", 0, stores.artifacts.put_bytes(b"model"), "sklearn", run.id, f"d@{data.version}", {}),
            AuditNote("tester", "register"))
        stores.registry.set_alias("m", "champion", version.version, AuditNote("tester", "promote"))
        with stores.datasets.db.engine.begin() as conn:  # a plug-in's own table, with JSON and bytes
            conn.execute(sa.text("CREATE TABLE plugin_things (id INTEGER PRIMARY KEY, doc JSON, blob BLOB)"))
            conn.execute(sa.text("INSERT INTO plugin_things VALUES (1, :doc, :blob)"),
                         {"doc": json.dumps({"a": [1, 2]}), "blob": b"\x00\xffsecret"})
        before = _inventory(project)
        project.operations.backup(tmp_path / "b")
    monkeypatch.setenv("CONVEYOR_DB_URL", postgres_db_url)
    from conveyor.project.operations import restore_project

    restore_project(tmp_path / "b", tmp_path / "moved")
    with cv.Project.open(tmp_path / "moved") as project:
        assert project.stores.url.startswith("postgresql")
        assert _inventory(project) == before
        assert project.stores.runs.metric_history(run.id, "auc")[-1].step == 2
        assert project.audit_trail.verify().rows == 2
        with project.stores.datasets.db.engine.connect() as conn:
            row = conn.execute(sa.text("SELECT doc, blob FROM plugin_things")).one()
        doc = json.loads(row.doc) if isinstance(row.doc, str) else row.doc
        assert doc == {"a": [1, 2]}
        assert bytes(row.blob) == b"\x00\xffsecret"
        run2 = project.stores.runs.create(Run(new_id(), "after"))
        project.stores.runs.log_metrics(run2.id, [Metric("auc", 0.9, 0, time.time())])  # ids continue


def test_an_encrypted_project_backs_up_as_ciphertext_and_restores_with_its_key(tmp_path, monkeypatch):
    from conveyor.store.encryption import new_key

    monkeypatch.delenv("CONVEYOR_DB_URL", raising=False)
    key = new_key()
    monkeypatch.setenv("CONVEYOR_ENCRYPTION_KEY", key)
    with cv.Project.init(tmp_path / "p") as project:
        project.data.ingest(pd.DataFrame({"secret": ["PLAINTEXT-MARKER-1"] * 3}), "d")
        manifest = project.operations.backup(tmp_path / "b")
    assert manifest["keys"]["encryption"]["on"] and manifest["keys"]["encryption"]["key_ids"]
    assert key not in json.dumps(manifest)
    from conveyor.store.encryption import is_sealed

    objects = [p for p in (tmp_path / "b" / "artifacts").rglob("*") if p.is_file()]
    data = [p for p in objects if not p.name.endswith(".key")]
    assert data and len(objects) == 2 * len(data)  # each object with its wrapped data key
    assert all(is_sealed(p.read_bytes()) for p in data)  # still ciphertext in the backup
    from conveyor.project.operations import restore_project

    result = restore_project(tmp_path / "b", tmp_path / "r")
    assert any("encryption" in note for note in result["notes"])
    with cv.Project.open(tmp_path / "r") as project:
        assert project.data.load_frame("d")["secret"].tolist() == ["PLAINTEXT-MARKER-1"] * 3


def _logged_batch(rows: int) -> PredictionBatch:
    """One served request's rows as the serving path logs them: a float matrix (so they go to a segment)."""
    return PredictionBatch([new_id() for _ in range(rows)], "m:1", time.time(), 1.0, ["x"], None,
                           [0] * rows, ["0", "1"], [[0.75, 0.25]] * rows, request_id=new_id(),
                           matrix=np.arange(rows, dtype=np.float64).reshape(rows, 1))


def test_backup_holds_segments_pending_or_being_drained_and_restore_refuses_stray_ones(tmp_path, monkeypatch):
    monkeypatch.delenv("CONVEYOR_DB_URL", raising=False)
    monkeypatch.delenv("CONVEYOR_PREDICTIONS_URL", raising=False)
    root = tmp_path / "proj"
    with cv.Project.init(root) as project:
        log = project.stores.predictions
        assert isinstance(log, SegmentedPredictionStore)
        logger = PredictionLogger(log, flush_interval=3600)
        pending, in_flight, after = _logged_batch(3), _logged_batch(4), _logged_batch(2)
        logger.log(in_flight)
        assert logger.flush()
        [segment] = log.pending()
        # another reader (the server's monitoring, say) claims that segment and commits its rows a moment later
        other = SegmentedPredictionStore(log.inner, log.folder)
        claimed = other._claim(segment.name)
        assert claimed is not None

        def finish_drain() -> None:
            time.sleep(0.5)
            other.inner.log_batches(read_segment(claimed), skip_existing=True)
            claimed.unlink()

        drainer = threading.Thread(target=finish_drain)
        drainer.start()
        logger.log(pending)
        assert logger.flush()
        assert len(log.pending()) == 1
        manifest = project.operations.backup(tmp_path / "b")
        drainer.join()
        assert manifest["tables"]["predictions"] == 7
        logger.log(after)  # logged after the backup: the lost state's, not the backup's
        logger.close()
        assert log.pending()
    # the database is lost; its segment folder survives, and the project is restored into the same folder
    for name in ("conveyor.db", "conveyor.db-wal", "conveyor.db-shm"):
        (root / ".conveyor" / name).unlink(missing_ok=True)
    (root / "conveyor.yaml").unlink()
    from conveyor.project.operations import restore_project

    with pytest.raises(BadInputError, match="segments") as refused:
        restore_project(tmp_path / "b", root)
    assert refused.value.field == "CONVEYOR_DB_URL"
    assert not (root / "conveyor.yaml").exists()  # refused before anything was written: the same command can retry
    shutil.move(root / ".conveyor" / "conveyor.db-segments", tmp_path / "set-aside")
    restore_project(tmp_path / "b", root)
    with cv.Project.open(root) as project:
        restored = {record.id for record in project.stores.predictions.recent()}
    assert restored == set(pending.ids) | set(in_flight.ids)
