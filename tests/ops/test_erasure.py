"""`conveyor data forget`: the erased rows leave every dataset version, derived version, profile, prediction-log
row and database page under the project; the models trained on them are named; the audit stays verifiable and
holds no erased value. On SQLite and PostgreSQL, with and without encryption at rest."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa
import yaml

import conveyor as cv
from conveyor.core.entities import AuditNote, ModelVersion, PredictionRecord, new_id
from conveyor.core.errors import BadInputError, NotFoundError
from conveyor.store.encrypted_artifacts import EncryptedArtifactStore
from conveyor.store.encryption import new_key

MARKERS = (b"SECRET-MARKER-9b1c", b"erase-me-7f3a@example.org")


def _people(ids: range) -> pd.DataFrame:
    return pd.DataFrame({"customer_id": list(ids), "email": [f"user{i}@example.com" for i in ids],
                         "note": [f"note {i}" for i in ids], "x": [float(i % 7) - 3 for i in ids]})


def _with_person(frame: pd.DataFrame) -> pd.DataFrame:
    person = pd.DataFrame({"customer_id": [42], "email": [MARKERS[1].decode()], "note": [MARKERS[0].decode()],
                           "x": [2.5]})
    return pd.concat([frame, person], ignore_index=True)


def _readable(project: cv.Project) -> list[str]:
    """Where a marker can still be read: raw files under the project, every artifact decrypted and decoded,
    every row of every table of the metadata store."""
    found = []
    for path in project.root.rglob("*"):
        if path.is_file() and any(m in path.read_bytes() for m in MARKERS):
            found.append(f"file {path.relative_to(project.root)}")
    for digest in project.stores.artifacts.digests():
        data = project.stores.artifacts.get_bytes(digest)
        texts = [data]
        try:
            texts.append(pq.read_table(pa.BufferReader(data)).to_pandas().to_csv().encode())
        except Exception:
            pass
        if any(m in text for text in texts for m in MARKERS):
            found.append(f"artifact {digest[:12]}")
    engine = project.stores.datasets.db.engine
    with engine.connect() as conn:
        for table in sa.inspect(conn).get_table_names():
            for row in conn.execute(sa.text(f'SELECT * FROM "{table}"')):
                if any(m.decode() in repr(tuple(row)) for m in MARKERS):
                    found.append(f"table {table}")
    return found


@pytest.fixture(params=["plain", "encrypted"])
def encryption(request, monkeypatch) -> bool:
    if request.param == "encrypted":
        monkeypatch.setenv("CONVEYOR_ENCRYPTION_KEY", new_key())
    else:
        monkeypatch.delenv("CONVEYOR_ENCRYPTION_KEY", raising=False)
    return request.param == "encrypted"


def test_forget_leaves_no_readable_byte_of_the_rows(tmp_path, db_backend, encryption):
    root = tmp_path / "proj"
    cv.Project.init(root).close()
    config = yaml.safe_load((root / "conveyor.yaml").read_text())
    config["data"] = {"sensitive": ["email", "note"]}
    (root / "conveyor.yaml").write_text(yaml.safe_dump(config))
    with cv.Project.open(root) as project:
        stores = project.stores
        assert isinstance(stores.artifacts, EncryptedArtifactStore) is encryption
        before, _ = project.data.ingest(_people(range(1, 31)), "d")
        with_person, _ = project.data.ingest(_with_person(_people(range(1, 31))), "d")
        latest, _ = project.data.ingest(_with_person(_people(range(1, 41))), "d")
        train, test = project.data.split(f"d@{latest.version}", test_fraction=0.5)
        positive = project.data.filter(f"d@{latest.version}", "x > 0", "d.positive")
        untouched = project.data.filter(f"d@{latest.version}", "customer_id < 5", "d.few")
        trained = stores.registry.create_version(
            ModelVersion("m", 0, stores.artifacts.put_bytes(b"a model"), "sklearn", None, f"d@{latest.version}",
                         {"task": "regression"}), AuditNote("tester", "register"))
        clean = stores.registry.create_version(
            ModelVersion("m", 0, stores.artifacts.put_bytes(b"another model"), "sklearn", None,
                         f"d@{before.version}", {"task": "regression"}), AuditNote("tester", "register"))
        person_input = {"customer_id": 42, "note": MARKERS[0].decode(), "x": 2.5}
        stores.predictions.log([PredictionRecord(new_id(), "m:1", person_input, {"y": 1}),
                                PredictionRecord(new_id(), "m:1", {"customer_id": 7, "note": "n", "x": 1}, {"y": 0})])
        assert _readable(project)  # the scan finds the rows before the erasure

        report = project.operations.forget("d", where="customer_id == 42")

        assert _readable(project) == []
        assert report.rows == 1 and report.mode == ("data key destroyed" if encryption else "deleted")
        holder = next(v for v in (train, test) if v.ref in report.tombstoned)  # the split half holding the row
        other = test if holder is train else train
        assert {with_person.ref, latest.ref, positive.ref, holder.ref} <= set(report.tombstoned)
        assert other.ref not in report.tombstoned
        assert before.ref not in report.tombstoned and untouched.ref not in report.tombstoned
        newest = stores.datasets.get_version("d")
        assert newest.ref in report.new_versions and newest.parents == [f"d@{latest.version}"]
        frame = project.data.load_frame("d")
        assert len(frame) == 40 and 42 not in set(frame.customer_id)
        assert len(project.data.load_frame(f"d@{before.version}")) == 30  # a version without the rows stays
        with pytest.raises(NotFoundError):
            project.data.load_frame(f"d@{latest.version}")
        tomb = stores.datasets.get_version("d", latest.version).meta["tombstone"]
        assert tomb["erasure"] == report.id and tomb["replaced_by"] == f"d@{newest.version}"
        if encryption:
            assert not stores.artifacts.inner.exists(latest.artifact + ".key")
        assert report.models == [trained.ref] and clean.ref not in report.models
        assert report.predictions == 1 and [r.inputs["customer_id"] for r in stores.predictions.recent()] == [7]
        erase = stores.registry.audit_log()[-1]
        assert erase.action == "erase" and erase.details["matched_on"] == ["where"]
        assert project.audit_trail.verify().rows == len(stores.registry.audit_log())


def test_forget_by_a_personal_value_and_models_show_names_the_erasure(tmp_path, monkeypatch):
    monkeypatch.delenv("CONVEYOR_DB_URL", raising=False)
    monkeypatch.delenv("CONVEYOR_ENCRYPTION_KEY", raising=False)
    root = tmp_path / "proj"
    cv.Project.init(root).close()
    config = yaml.safe_load((root / "conveyor.yaml").read_text())
    config["data"] = {"sensitive": ["email"]}
    (root / "conveyor.yaml").write_text(yaml.safe_dump(config))
    with cv.Project.open(root) as project:
        version, _ = project.data.ingest(_with_person(_people(range(1, 11))), "d")
        project.stores.registry.create_version(
            ModelVersion("m", 0, project.stores.artifacts.put_bytes(b"a model"), "sklearn", None,
                         f"d@{version.version}", {"task": "regression"}), AuditNote("tester", "register"))
        with pytest.raises(BadInputError):
            project.operations.forget("d")  # nothing says which rows
    env = {k: v for k, v in os.environ.items() if k not in ("CONVEYOR_DB_URL", "CONVEYOR_ENCRYPTION_KEY")}

    def conveyor(*args: str) -> str:
        done = subprocess.run([sys.executable, "-m", "conveyor", *args], cwd=root, env=env, capture_output=True,
                              text=True)
        assert done.returncode == 0, done.stderr
        return done.stdout

    erased = json.loads(conveyor("data", "forget", "d", "--value", MARKERS[1].decode(), "--json"))
    assert erased["rows"] == 1 and erased["models_trained_on_erased_data"] == ["m:1"]
    shown = json.loads(conveyor("models", "show", "m:1", "--json"))
    assert shown["lineage"]["trained_on_erased_data"]["erasure"] == erased["erasure"]
    assert "trained on erased data" in conveyor("models", "show", "m:1")
    with cv.Project.open(root) as project:
        assert _readable(project) == []
        assert MARKERS[1].decode() not in json.dumps(project.stores.registry.audit_log()[-1].details)
        with pytest.raises(NotFoundError, match="was erased"):
            project.data.load_frame(f"d@{version.version}")


def test_when_the_rewrite_equals_an_older_version_latest_is_that_one(tmp_path, monkeypatch):
    monkeypatch.delenv("CONVEYOR_DB_URL", raising=False)
    monkeypatch.delenv("CONVEYOR_ENCRYPTION_KEY", raising=False)
    with cv.Project.init(tmp_path / "p") as project:
        before, _ = project.data.ingest(_people(range(1, 11)), "d")
        after, _ = project.data.ingest(_with_person(_people(range(1, 11))), "d")
        report = project.operations.forget("d", where="customer_id == 42")
        assert report.tombstoned == [after.ref] and report.new_versions == [before.ref]
        assert project.stores.datasets.get_version("d").version == before.version  # not the erased one
        assert len(project.data.load_frame("d")) == 10
