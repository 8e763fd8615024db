"""The CI/CD workflow of a user's repository, generated: `conveyor ci github` writes
``.github/workflows/conveyor.yml``, `conveyor ci gitlab` writes ``.gitlab-ci.yml``.

Both run `conveyor check` on every change (JUnit and a step summary), promote the newest version into the first
environment and on to staging when main moves, and into prod through a protected environment (GitHub: required
reviewers on the ``prod`` environment; GitLab: a manual job on a protected environment). The store is reached through
``CONVEYOR_DB_URL``/``CONVEYOR_ARTIFACTS`` (repository secrets), never written into the file.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

from conveyor._version import __version__
from conveyor.core.dependencies import DISTRIBUTION
from conveyor.core.errors import BadInputError, ConflictError, NotFoundError
from conveyor.core.refs import check_name

__all__ = ["CI_FILES", "github_workflow", "gitlab_pipeline", "write_ci"]

CI_FILES = {"github": Path(".github/workflows/conveyor.yml"), "gitlab": Path(".gitlab-ci.yml")}
INSTALL = f"{DISTRIBUTION}[train]=={__version__}"


def check_step(summary: str) -> str:
    return f'conveyor check --model "$CONVEYOR_MODEL" --junit conveyor-junit.xml --summary "{summary}"'


def _stages(environments: list[str]) -> list[tuple[str, str, str]]:
    """(environment, the ref promoted into it, the environment before it) in promotion order."""
    if not environments:
        return [("champion", "$CONVEYOR_MODEL", "")]
    stages, before = [], ""
    for env in environments:
        stages.append((env, f"$CONVEYOR_MODEL@{before}" if before else "$CONVEYOR_MODEL", before))
        before = env
    return stages


def _promote(env: str, ref: str, environments: list[str]) -> str:
    flag = f"--to {env}" if environments else f"--alias {env}"
    return f'conveyor models promote "{ref}" {flag} --reason "CI $CONVEYOR_REVISION"'


def github_workflow(model: str, environments: list[str], *, python: str = "3.11") -> dict[str, Any]:
    secrets = {"CONVEYOR_DB_URL": "${{ secrets.CONVEYOR_DB_URL }}",
               "CONVEYOR_ARTIFACTS": "${{ secrets.CONVEYOR_ARTIFACTS }}", "CONVEYOR_MODEL": model,
               "CONVEYOR_REVISION": "${{ github.sha }}", "CONVEYOR_INSTALL": "${{ vars.CONVEYOR_INSTALL || '"
               + INSTALL + "' }}"}
    setup = [{"uses": "actions/checkout@v4"},
             {"uses": "actions/setup-python@v5", "with": {"python-version": python}},
             {"name": "Install conveyor", "run": 'python -m pip install "$CONVEYOR_INSTALL"'}]
    jobs: dict[str, Any] = {"check": {
        "runs-on": "ubuntu-latest",
        "steps": [*copy.deepcopy(setup),
                  {"name": "conveyor check", "run": check_step("$GITHUB_STEP_SUMMARY")},
                  {"name": "Keep the JUnit report", "if": "always()", "uses": "actions/upload-artifact@v4",
                   "with": {"name": "conveyor-junit", "path": "conveyor-junit.xml"}}]}}
    previous = "check"
    for env, ref, _before in _stages(environments):
        job: dict[str, Any] = {
            "needs": previous, "runs-on": "ubuntu-latest",
            "if": "github.event_name == 'push' && github.ref == 'refs/heads/main'",
            "steps": [*copy.deepcopy(setup), {"name": f"Promote to {env}", "run": _promote(env, ref, environments)}]}
        if environments:
            job["environment"] = env  # protect prod in the repository's settings: required reviewers approve
        jobs[f"promote-{env}"] = job
        previous = f"promote-{env}"
    return {"name": "conveyor", "on": {"pull_request": {}, "push": {"branches": ["main"]}},
            "permissions": {"contents": "read"}, "env": secrets, "jobs": jobs}


def gitlab_pipeline(model: str, environments: list[str], *, python: str = "3.11") -> dict[str, Any]:
    stages = _stages(environments)
    pipeline: dict[str, Any] = {
        "stages": ["check", *[f"promote-{env}" for env, _, _ in stages]],
        "default": {"image": f"python:{python}-slim",
                    "before_script": ['python -m pip install "${CONVEYOR_INSTALL:-' + INSTALL + '}"']},
        "variables": {"CONVEYOR_MODEL": model, "CONVEYOR_REVISION": "$CI_COMMIT_SHA"},
        "conveyor-check": {"stage": "check", "script": [check_step("conveyor-summary.md")],
                           "artifacts": {"when": "always", "reports": {"junit": "conveyor-junit.xml"},
                                         "paths": ["conveyor-summary.md"]}},
    }
    last = stages[-1][0]
    for env, ref, _before in stages:
        job: dict[str, Any] = {"stage": f"promote-{env}", "script": [_promote(env, ref, environments)],
                               "rules": [{"if": "$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH",
                                          **({"when": "manual"} if env == last and len(stages) > 1 else {})}]}
        if environments:
            job["environment"] = {"name": env}  # protect it in the project's settings (approvals)
        pipeline[f"promote-{env}"] = job
    return pipeline


def write_ci(root: Path, kind: str, model: str, environments: list[str], *, force: bool = False) -> Path:
    """Write the workflow of ``kind`` (github or gitlab) under ``root``; an existing file needs ``force``."""
    if kind not in CI_FILES:
        raise NotFoundError.for_name("CI system", kind, CI_FILES)
    check_name(model, "model name")
    if any(c in model for c in "$\"'`\\ "):
        raise BadInputError(f"Invalid model name {model!r}.", field="model")
    path = root / CI_FILES[kind]
    if path.exists() and not force:
        raise ConflictError(f"{path} exists and may hold your edits.", field="ci",
                            hint="Pass --force to replace it.")
    build = github_workflow if kind == "github" else gitlab_pipeline
    path.parent.mkdir(parents=True, exist_ok=True)
    text = yaml.safe_dump(build(model, environments), sort_keys=False, width=120)
    path.write_text(f"# Generated by `conveyor ci {kind}` (conveyor {__version__}); edit freely.\n{text}")
    return path
