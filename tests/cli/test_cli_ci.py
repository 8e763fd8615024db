"""`conveyor ci github|gitlab`: the generated workflows pass the official schemas (check-jsonschema's built-in
GitHub workflow and GitLab CI schemas), with and without environments."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

SCHEMAS = {"github": ("vendor.github-workflows", ".github/workflows/conveyor.yml"),
           "gitlab": ("vendor.gitlab-ci", ".gitlab-ci.yml")}


def conveyor(*args: str, cwd, code: int = 0) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, "-m", "conveyor", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300, env={**os.environ, "CONVEYOR_USER": "tester"})
    assert done.returncode == code, f"exit {done.returncode}\nstdout: {done.stdout}\nstderr: {done.stderr}"
    return done


def check_jsonschema(schema: str, path: Path) -> subprocess.CompletedProcess:
    tool = shutil.which("check-jsonschema") or str(Path(sys.executable).parent / "check-jsonschema")
    return subprocess.run([tool, "--builtin-schema", schema, str(path)], capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("environments", [True, False])
@pytest.mark.parametrize("kind", ["github", "gitlab"])
def test_the_workflow_passes_the_official_schema(tmp_path, kind, environments):
    conveyor("init", str(tmp_path), *(["--environments"] if environments else []), cwd=tmp_path)
    conveyor("ci", kind, "--model", "churn", cwd=tmp_path)
    schema, name = SCHEMAS[kind]
    path = tmp_path / name
    done = check_jsonschema(schema, path)
    assert done.returncode == 0, done.stdout + done.stderr
    text = path.read_text()
    assert "conveyor check --model" in text and "--junit conveyor-junit.xml" in text
    if environments:
        assert '--to prod' in text and '"$CONVEYOR_MODEL@staging" --to prod' in text
    else:
        assert "--alias champion" in text and "--to " not in text
    # the validator does reject a broken file (so the pass above means something)
    broken = yaml.safe_load(text)
    if kind == "github":
        del broken["jobs"]["check"]["runs-on"]
    else:
        broken["conveyor-check"]["script"] = 42
    path.write_text(yaml.safe_dump(broken))
    assert check_jsonschema(schema, path).returncode != 0
    again = conveyor("ci", kind, "--model", "churn", cwd=tmp_path, code=2)
    assert "exists and may hold your edits" in again.stderr


def test_github_prod_goes_through_a_protected_environment(tmp_path):
    conveyor("init", str(tmp_path), "--environments", cwd=tmp_path)
    conveyor("ci", "github", "--model", "churn", cwd=tmp_path)
    workflow = yaml.safe_load((tmp_path / ".github/workflows/conveyor.yml").read_text())
    jobs = workflow["jobs"]
    assert list(jobs) == ["check", "promote-dev", "promote-staging", "promote-prod"]
    assert jobs["promote-prod"]["environment"] == "prod" and jobs["promote-prod"]["needs"] == "promote-staging"
    assert set(workflow["on"]) == {"pull_request", "push"}
    assert all("main" in job["if"] for name, job in jobs.items() if name != "check")
