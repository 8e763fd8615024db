"""Safe model formats: scikit-learn models saved with skops and loaded under conveyor's own allow-list; imported
pickles stored untrusted until `models trust` records the digest of their exact bytes."""

from __future__ import annotations

import builtins
import os
import pickle
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from conveyor.core.errors import IntegrityError, PermissionDeniedError
from conveyor.project import Project
from conveyor.registry.flavors import get_flavor
from conveyor.registry.flavors.sklearn import SKOPS_MAGIC
from conveyor.registry.importing import import_model
from conveyor.registry.models import load_model, register_model
from conveyor.security import add_identity
from conveyor.store.hashing import digest_bytes

FRAME = pd.DataFrame({"a": np.linspace(-1, 1, 40), "b": np.linspace(3, 0, 40)})
LABELS = (FRAME.a > 0).astype(int)


class Planted:
    """A pickle that runs ``code`` (with eval) when it is loaded."""

    def __init__(self, code: str) -> None:
        self.code = code

    def __reduce__(self):
        return builtins.eval, (self.code,)


@pytest.fixture
def project(tmp_path: Path):
    with Project.init(tmp_path / "p") as opened:
        yield opened


def test_a_pipeline_is_stored_with_skops_and_loads_the_same(project: Project) -> None:
    model = Pipeline([("scale", StandardScaler()), ("m", LogisticRegression())]).fit(FRAME, LABELS)
    version = register_model(project.stores, model, "churn", input_example=FRAME)
    assert project.stores.artifacts.get_bytes(version.artifact)[:4] == SKOPS_MAGIC  # not a pickle
    loaded = load_model(project.stores, "churn:1")
    assert loaded.predict(FRAME).tolist() == model.predict(FRAME).tolist()


def test_a_skops_artifact_naming_a_function_off_the_allow_list_is_refused() -> None:
    import skops.io as sio

    evil = Pipeline([("f", FunctionTransformer(os.system)), ("m", LogisticRegression())])
    data = sio.dumps(evil)  # what an attacker with write access to the artifact store could plant
    with pytest.raises(IntegrityError, match=r"names .*system.*which conveyor does not load"):
        get_flavor("sklearn").load(data)


def test_an_imported_pickle_is_stored_untrusted_until_trusted(project: Project, tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    evil = tmp_path / "evil.pkl"
    evil.write_bytes(pickle.dumps(Planted(f"open({str(marker)!r}, 'w').write('pwned')")))
    planted = import_model(project.stores, evil, "evil")
    assert not marker.exists()  # stored as it came: never unpickled
    assert planted.meta["untrusted"] and planted.meta["source_blake3"] == digest_bytes(evil.read_bytes())
    with pytest.raises(PermissionDeniedError, match=r"conveyor models trust evil:1"):
        project.models.load("evil:1")
    assert not marker.exists()

    good = tmp_path / "good.pkl"
    good.write_bytes(pickle.dumps(LogisticRegression().fit(FRAME, LABELS)))
    import_model(project.stores, good, "good")
    details = project.models.trust("good:1", reason="ours, from the CI artifact")
    assert details["blake3"] == digest_bytes(good.read_bytes())
    row = project.models.audit()[-1]
    assert (row.action, row.subject, row.details["artifact"]) == ("trust", "good:1", details["artifact"])
    assert project.models.load("good:1").predict(FRAME).tolist() == LABELS.tolist()
    assert project.models.verify() == len(project.models.audit())
    # the trust row names these bytes: pointing the version at other bytes makes it unloadable again
    swapped = project.stores.artifacts.put_bytes(evil.read_bytes())
    with sa.create_engine(project.stores.url).begin() as conn:
        conn.execute(sa.text("UPDATE model_versions SET artifact = :a WHERE name = 'good'"), {"a": swapped})
    with pytest.raises(PermissionDeniedError, match="conveyor models trust good:1"):
        project.models.load("good:1")
    assert not marker.exists()


def test_trusting_needs_an_approver_once_authentication_is_on(project: Project, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    good = tmp_path / "good.pkl"
    good.write_bytes(pickle.dumps(LogisticRegression().fit(FRAME, LABELS)))
    import_model(project.stores, good, "good")
    add_identity(project.stores, "ana", "admin", actor="local:me")
    viewer = add_identity(project.stores, "vic", "scientist", actor="ana")
    approver = add_identity(project.stores, "ada", "approver", actor="ana")
    monkeypatch.setenv("CONVEYOR_TOKEN", viewer.secret)
    with pytest.raises(PermissionDeniedError, match=r"'vic' \(scientist\) may not do models.trust"):
        project.models.trust("good:1")
    monkeypatch.setenv("CONVEYOR_TOKEN", approver.secret)
    project.models.trust("good:1")
    assert project.models.audit()[-1].actor == "ada"


def test_the_recorded_digest_is_of_the_bytes_that_were_loaded(project: Project, tmp_path: Path) -> None:
    path = tmp_path / "shifty.pkl"
    # a pickle that, when loaded, rewrites its own file to something benign and returns a working model
    code = (f"(__import__('pathlib').Path({str(path)!r}).write_bytes(b'benign'), "
            "__import__('sklearn.dummy').dummy.DummyClassifier().fit([[0], [1]], [0, 1]))[1]")
    original = pickle.dumps(Planted(code))
    path.write_bytes(original)
    version = import_model(project.stores, path, "shifty", trust=True)
    assert path.read_bytes() == b"benign"  # it did rewrite itself ...
    assert version.meta["source_blake3"] == digest_bytes(original)  # ... but the hash is of what ran


def test_serve_refuses_an_untrusted_import_and_names_the_verb(tmp_path: Path) -> None:
    import socket
    import subprocess
    import sys

    def conveyor(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "conveyor", *args, "--project", str(tmp_path)],
                              capture_output=True, text=True, timeout=120)

    Project.init(tmp_path).close()
    (tmp_path / "m.pkl").write_bytes(pickle.dumps(LogisticRegression().fit(FRAME, LABELS)))
    imported = conveyor("models", "import", str(tmp_path / "m.pkl"), "--name", "m")
    assert imported.returncode == 0 and "conveyor models trust m:1" in imported.stdout
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    refused = conveyor("serve", "m:1", "--port", str(port))
    assert refused.returncode == 2, refused.stderr
    assert "conveyor models trust m:1" in refused.stderr and "Traceback" not in refused.stderr
    trusted = conveyor("models", "trust", "m:1", "--json")
    assert trusted.returncode == 0 and '"blake3"' in trusted.stdout
