"""Registry: versions with lineage, aliases, promote/rollback, audit trail, imports of foreign model files."""

from __future__ import annotations

import pickle

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest
import xgboost as xgb
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression

from conveyor.core.errors import BadInputError, IntegrityError, NotFoundError, PermissionDeniedError
from conveyor.data.datasets import ingest_frame
from conveyor.registry.importing import import_model
from conveyor.registry.integrity import verify_registry
from conveyor.registry.models import load_model, promote, register_model, resolve_model, rollback


@pytest.fixture(scope="module")
def cancer():
    frame = load_breast_cancer(as_frame=True).frame
    return frame.drop(columns=["target"]), frame["target"]


def test_register_load_and_resolve(stores, cancer):
    X, y = cancer
    model = LogisticRegression(max_iter=5000).fit(X, y)
    v1 = register_model(stores, model, "cancer", input_example=X.head())
    v2 = register_model(stores, model, "cancer", input_example=X.head())
    assert (v1.version, v2.version) == (1, 2)
    assert v1.signature["task"] == "classification" and v1.signature["classes"] == [0, 1]
    assert [c["name"] for c in v1.signature["inputs"]] == list(X.columns)
    assert resolve_model(stores, "cancer").version == 2
    loaded = load_model(stores, "cancer:1")
    np.testing.assert_allclose(loaded.predict_proba(X.head(20)), model.predict_proba(X.head(20)))


def test_aliases_promote_and_rollback_are_audited(stores, cancer):
    X, y = cancer
    model = LogisticRegression(max_iter=5000).fit(X, y)
    for _ in range(3):
        register_model(stores, model, "m", input_example=X.head())
    promote(stores, "m:1", "champion")
    promote(stores, "m:2", "champion")
    promote(stores, "m:3", "champion")
    assert resolve_model(stores, "m@champion").version == 3
    assert rollback(stores, "m").version == 2
    assert rollback(stores, "m").version == 1  # a second rollback keeps walking back, it does not flip-flop
    with pytest.raises(BadInputError, match="no earlier version"):
        rollback(stores, "m")
    actions = [e.action for e in stores.registry.audit_log()]
    assert actions.count("promote") == 3 and actions.count("rollback") == 2 and actions.count("register") == 3
    assert stores.registry.verify_audit() == len(actions)


def test_unknown_names_say_what_exists(stores, cancer):
    X, y = cancer
    register_model(stores, LogisticRegression(max_iter=5000).fit(X, y), "cancer", input_example=X.head())
    with pytest.raises(NotFoundError, match="Did you mean 'cancer'"):
        resolve_model(stores, "cancre")
    with pytest.raises(NotFoundError, match="no alias 'champion'"):
        resolve_model(stores, "cancer@champion")
    with pytest.raises(NotFoundError, match="no version 9"):
        resolve_model(stores, "cancer:9")
    with pytest.raises(BadInputError, match="positive integer"):
        resolve_model(stores, "cancer:x")


def test_tampered_model_bytes_are_never_unpickled(stores, cancer, tmp_path):
    X, y = cancer
    version = register_model(stores, LogisticRegression(max_iter=5000).fit(X, y), "m", input_example=X.head())
    blob = tmp_path / "artifacts" / version.artifact[:2] / version.artifact[2:]
    blob.write_bytes(pickle.dumps({"evil": True}))
    with pytest.raises(IntegrityError, match="corrupt"):
        load_model(stores, "m:1")


def test_import_native_and_pickled_files_with_lineage(stores, cancer, tmp_path):
    X, y = cancer
    data, _ = ingest_frame(stores, pd.concat([X, y], axis=1), "cancer")
    booster = lgb.train({"objective": "binary", "verbose": -1}, lgb.Dataset(X, y), num_boost_round=20)
    booster.save_model(tmp_path / "model.txt")
    imported = import_model(stores, tmp_path / "model.txt", "lgb", data="cancer@latest")
    assert imported.flavor == "lightgbm" and imported.dataset == f"cancer@{data.version}"
    run = stores.runs.get(imported.run_id)
    assert run.dataset == imported.dataset and run.tags["kind"] == "import" and run.tags["source_blake3"]
    proba = load_model(stores, "lgb:1").predict_proba(X.head(10))[:, 1]
    np.testing.assert_allclose(proba, booster.predict(X.head(10)))

    xgb_model = xgb.XGBClassifier(n_estimators=10, max_depth=3).fit(X, y)
    xgb_model.get_booster().save_model(tmp_path / "model.json")
    imported_xgb = import_model(stores, tmp_path / "model.json", "xgb")
    predicted = load_model(stores, imported_xgb).predict_proba(X.head(10))[:, 1]
    np.testing.assert_allclose(predicted, xgb_model.predict_proba(X.head(10))[:, 1], rtol=1e-5)

    sk = LogisticRegression(max_iter=5000).fit(X, y)
    (tmp_path / "model.pkl").write_bytes(pickle.dumps(sk))
    untrusted = import_model(stores, tmp_path / "model.pkl", "sk")  # stored as it came, never unpickled
    with pytest.raises(PermissionDeniedError, match="conveyor models trust sk:1"):
        load_model(stores, untrusted)
    trusted = import_model(stores, tmp_path / "model.pkl", "sk", trust=True)
    assert trusted.flavor == "sklearn" and trusted.meta["source_blake3"]
    assert load_model(stores, trusted).predict(X.head(5)).tolist() == sk.predict(X.head(5)).tolist()


def test_import_rejects_garbage(stores, tmp_path):
    (tmp_path / "model.txt").write_text("this is not a booster")
    with pytest.raises(BadInputError, match="not a valid lightgbm model"):
        import_model(stores, tmp_path / "model.txt", "x")
    (tmp_path / "model.onnx").write_bytes(b"\x00")
    with pytest.raises(BadInputError, match="Unknown model file type"):
        import_model(stores, tmp_path / "model.onnx", "x")
    assert stores.registry.versions() == []


def test_registry_changes_made_around_conveyor_are_found(stores, cancer):
    X, y = cancer
    model = LogisticRegression(max_iter=5000).fit(X, y)
    register_model(stores, model, "m", input_example=X.head())
    register_model(stores, model, "m", input_example=X.head())
    promote(stores, "m:1", "champion")
    assert verify_registry(stores) == 3
    stores.registry.set_alias("m", "champion", 2)  # moved directly in the store: no audit row
    with pytest.raises(IntegrityError, match="m@champion points at version 2"):
        verify_registry(stores)
    stores.registry.set_alias("m", "champion", 1)
    assert verify_registry(stores) == 3
    stores.registry.create_version(resolve_model(stores, "m:1"))  # a version nobody registered
    with pytest.raises(IntegrityError, match="m:3 has no 'register' row"):
        verify_registry(stores)
