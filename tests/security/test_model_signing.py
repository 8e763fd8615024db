"""Optional model signing (security.models): versions signed at registration, verified before load and promote."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml
from sklearn.dummy import DummyClassifier

from conveyor.core.errors import IntegrityError
from conveyor.project import Project
from conveyor.registry.models import register_model
from conveyor.store.audit import write_keys

MODEL = DummyClassifier(strategy="most_frequent").fit([[0], [1], [1]], [0, 1, 1])


def configure(root: Path, **models: str) -> Project:
    config = yaml.safe_load((root / "conveyor.yaml").read_text())
    config["security"] = {"models": models}
    (root / "conveyor.yaml").write_text(yaml.safe_dump(config))
    return Project.open(root)


def test_versions_are_signed_and_a_swapped_artifact_is_refused(tmp_path: Path) -> None:
    Project.init(tmp_path).close()
    write_keys(None, tmp_path / "model.pem")
    with configure(tmp_path, signing_key_file="model.pem") as project:
        first = register_model(project.stores, MODEL, "churn")
        other = register_model(project.stores, DummyClassifier(strategy="prior").fit([[0], [1]], [0, 1]), "other")
        assert set(first.meta["artifact_signature"]) == {"signature", "key"}
        assert project.models.load("churn:1").predict([[5]]).tolist() == [1]
        project.models.promote("churn:1", "champion")
        with sa.create_engine(project.stores.url).begin() as conn:  # valid bytes, but not the ones signed
            conn.execute(sa.text("UPDATE model_versions SET artifact = :a WHERE name = 'churn'"),
                         {"a": other.artifact})
        with pytest.raises(IntegrityError, match=r"churn:1's artifact signature does not verify"):
            project.models.load("churn:1")
        with pytest.raises(IntegrityError, match=r"churn:1's artifact signature does not verify"):
            project.models.promote("churn:1", "challenger")


def test_unsigned_or_foreign_signed_versions_are_refused_where_a_key_verifies(tmp_path: Path) -> None:
    Project.init(tmp_path).close()
    with Project.open(tmp_path) as project:
        register_model(project.stores, MODEL, "unsigned")
    write_keys(None, tmp_path / "theirs.pem")
    with configure(tmp_path, signing_key_file="theirs.pem") as project:
        register_model(project.stores, MODEL, "foreign")
    write_keys(None, tmp_path / "ours.pem")
    with configure(tmp_path, public_key_file="ours.pem") as project:
        with pytest.raises(IntegrityError, match="unsigned:1 carries no artifact signature"):
            project.models.load("unsigned:1")
        with pytest.raises(IntegrityError, match=r"foreign:1's artifact signature does not verify"):
            project.models.load("foreign:1")


def test_a_promotion_into_an_environment_verifies_the_signature_too(tmp_path: Path) -> None:
    Project.init(tmp_path).close()
    write_keys(None, tmp_path / "model.pem")
    config = yaml.safe_load((tmp_path / "conveyor.yaml").read_text())
    config["environments"] = {"dev": {}, "prod": {}}
    (tmp_path / "conveyor.yaml").write_text(yaml.safe_dump(config))
    with configure(tmp_path, signing_key_file="model.pem") as project:
        register_model(project.stores, MODEL, "churn")
        other = register_model(project.stores, DummyClassifier(strategy="prior").fit([[0], [1]], [0, 1]), "other")
        project.models.promote_to("churn:1", "dev")
        with sa.create_engine(project.stores.url).begin() as conn:
            conn.execute(sa.text("UPDATE model_versions SET artifact = :a WHERE name = 'churn'"),
                         {"a": other.artifact})
        with pytest.raises(IntegrityError, match=r"churn:1's artifact signature does not verify"):
            project.models.promote_to("churn:1", "prod")
        assert project.models.aliases("churn") == {"dev": 1}
