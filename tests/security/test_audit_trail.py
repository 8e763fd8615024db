"""An audit trail that cannot be rewritten quietly: the keyed chain, the signed anchor, the registry checked against
the trail, and `conveyor audit verify` naming the first bad row. Each attack is done as an attacker with write
access to the database (and the anchor file) would do it."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml

from conveyor.core.errors import BadInputError, IntegrityError
from conveyor.project import Project
from conveyor.store.audit import AuditSealing, chain_hash, write_keys


def sealed_project(root: Path, *, anchor: bool = True) -> Project:
    Project.init(root).close()
    write_keys(root / "keys" / "audit.key", root / "keys" / "signing.pem")
    audit = {"key_file": "keys/audit.key", "signing_key_file": "keys/signing.pem"}
    if anchor:
        audit["anchor"] = "anchor/head.json"
    config = yaml.safe_load((root / "conveyor.yaml").read_text())
    config["security"] = {"audit": audit}
    (root / "conveyor.yaml").write_text(yaml.safe_dump(config))
    project = Project.open(root)
    for n in range(1, 5):
        project.stores.registry.append_audit("ana", "settings.set", f"train.budget#{n}", {"value": n})
    return project


def db(project: Project) -> sa.Engine:
    return sa.create_engine(project.stores.url)


def rewrite_row(engine: sa.Engine, seq: int, details: dict, *, keyed: bool) -> None:
    """What an attacker without the key can do: edit a row and recompute its plain BLAKE3 hash."""
    with engine.begin() as conn:
        row = conn.execute(sa.text("SELECT * FROM audit WHERE seq = :s"), {"s": seq}).one()
        new = chain_hash(row.prev_hash, seq, row.at, row.actor, row.action, row.subject, details)
        conn.execute(sa.text("UPDATE audit SET details = :d, hash = :h, keyed = :k WHERE seq = :s"),
                     {"d": json.dumps(details), "h": new, "k": keyed, "s": seq})


def test_rows_are_keyed_and_anchored(tmp_path: Path) -> None:
    with sealed_project(tmp_path) as project:
        entries = project.audit_trail.entries()
        assert all(e.keyed for e in entries)
        verdict = project.audit_trail.verify()
        assert (verdict.rows, verdict.keyed, verdict.anchored) == (4, 4, 4)
        anchor = json.loads((tmp_path / "anchor" / "head.json").read_text())
        assert (anchor["seq"], anchor["hash"]) == (4, entries[-1].hash)
        # the keyed hash is not the plain one an attacker could recompute
        e = entries[0]
        assert e.hash != chain_hash(e.prev_hash, e.seq, e.at, e.actor, e.action, e.subject, e.details)


def test_a_row_recomputed_without_the_key_is_named(tmp_path: Path) -> None:
    with sealed_project(tmp_path, anchor=False) as project:
        rewrite_row(db(project), 4, {"value": 99}, keyed=True)  # pretends to be keyed: the HMAC does not match
        with pytest.raises(IntegrityError, match=r"Audit row 4 \(settings.set train.budget#4\) was altered"):
            project.audit_trail.verify()
        rewrite_row(db(project), 4, {"value": 99}, keyed=False)  # honest about it: it follows keyed rows
        with pytest.raises(IntegrityError, match=r"Audit row 4 .* has no keyed hash, but follows keyed rows"):
            project.audit_trail.verify()


def test_a_whole_chain_rewritten_without_the_key_fails_the_anchor(tmp_path: Path) -> None:
    with sealed_project(tmp_path) as project:
        engine = db(project)
        with engine.begin() as conn:
            rows = conn.execute(sa.text("SELECT * FROM audit ORDER BY seq")).all()
            prev = "0" * 64
            for row in rows:  # recompute the whole chain, unkeyed, from the start
                details = {"value": 0} if row.seq == 2 else json.loads(row.details)
                new = chain_hash(prev, row.seq, row.at, row.actor, row.action, row.subject, details)
                conn.execute(sa.text("UPDATE audit SET details = :d, prev_hash = :p, hash = :h, keyed = 0 "
                                     "WHERE seq = :s"), {"d": json.dumps(details), "p": prev, "h": new, "s": row.seq})
                prev = new
        with pytest.raises(IntegrityError, match=r"Audit row 4 .* does not match the signed anchor"):
            project.audit_trail.verify()


def test_truncation_and_a_forged_anchor_are_found(tmp_path: Path) -> None:
    with sealed_project(tmp_path) as project:
        with db(project).begin() as conn:
            conn.execute(sa.text("DELETE FROM audit WHERE seq >= 3"))
        with pytest.raises(IntegrityError, match="ends at row 2, but the signed anchor records row 4"):
            project.audit_trail.verify()
        # the attacker re-signs an anchor for the shorter trail with a key of their own
        write_keys(None, tmp_path / "mine.pem")
        forged = AuditSealing.from_files(signing_key_file=tmp_path / "mine.pem", anchor=tmp_path / "anchor/head.json")
        (tmp_path / "anchor" / "head.json").unlink()
        forged.seal(project.audit_trail.entries()[-1])
        with pytest.raises(IntegrityError, match="is not signed by the configured signing key"):
            project.audit_trail.verify()
        (tmp_path / "anchor" / "head.json").unlink()  # and deleting the anchor is no way out either
        with pytest.raises(IntegrityError, match=r"anchor .* is missing"):
            project.audit_trail.verify()


def test_a_version_pointed_at_another_artifact_is_named(tmp_path: Path) -> None:
    from sklearn.dummy import DummyClassifier

    with sealed_project(tmp_path) as project:
        model = DummyClassifier().fit([[0], [1]], [0, 1])
        from conveyor.registry.models import register_model

        version = register_model(project.stores, model, "churn")
        assert project.audit_trail.verify().rows == 5
        swapped = project.stores.artifacts.put_bytes(b"another model")
        with db(project).begin() as conn:
            conn.execute(sa.text("UPDATE model_versions SET artifact = :a"), {"a": swapped})
        with pytest.raises(IntegrityError, match=f"Model version {version.ref} has artifact '{swapped}', but audit "
                                                 "row 5 registered it with"):
            project.audit_trail.verify()


def test_audit_verify_names_a_corrupted_row_with_exit_1(tmp_path: Path) -> None:
    with sealed_project(tmp_path) as project, db(project).begin() as conn:
        conn.execute(sa.text("UPDATE audit SET details = '{not json' WHERE seq = 3"))
    env = {**os.environ}
    ok = subprocess.run([sys.executable, "-m", "conveyor", "audit", "verify", "--project", str(tmp_path)],
                        capture_output=True, text=True, timeout=120, env=env)
    assert ok.returncode == 1, ok.stderr
    assert "Audit check failed: Audit row 3 cannot be read" in ok.stderr
    assert "Traceback" not in ok.stderr and "internal error" not in ok.stderr.lower()
    listed = subprocess.run([sys.executable, "-m", "conveyor", "models", "audit", "--project", str(tmp_path)],
                            capture_output=True, text=True, timeout=120, env=env)
    assert listed.returncode == 1 and "Audit row 3 cannot be read" in listed.stderr, listed.stderr


def test_keys_are_private_and_never_overwritten(tmp_path: Path) -> None:
    key, pem = write_keys(tmp_path / "a.key", tmp_path / "s.pem")
    assert stat.S_IMODE(key.stat().st_mode) == 0o600 and stat.S_IMODE(pem.stat().st_mode) == 0o600
    before = key.read_bytes()
    with pytest.raises(BadInputError, match="never overwritten"):
        write_keys(key, None)
    assert key.read_bytes() == before and len(bytes.fromhex(before.decode())) == 32
    with pytest.raises(BadInputError, match=r"needs security\.audit\.signing_key_file"):
        AuditSealing.from_files(key_file=key, anchor=tmp_path / "anchor.json")
    (tmp_path / "weak.key").write_text("short")
    with pytest.raises(BadInputError, match="shorter than 32 bytes"):
        AuditSealing.from_files(key_file=tmp_path / "weak.key")
