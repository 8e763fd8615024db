"""`conveyor checkout MODEL:N DIR`: everything that made a model version, for a colleague to rebuild it.

``DIR/data/`` holds the dataset version (its files for a file set, ``NAME.parquet`` for a table), ``DIR/code/`` the
code at the run's recorded commit (a detached git worktree of the project's repository), ``DIR/requirements.lock``
the run's full package lock (``pip install -r`` it), and ``DIR/checkout.json`` what was recorded: the run, its
params and seed, the dataset, the commit, Python and the model's digest.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from conveyor.core.errors import BadInputError, first_line

__all__ = ["checkout_model"]

GIT = ["git", "-c", "core.hooksPath=/dev/null", "-c", "core.fsmonitor=false"]


def _git(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*GIT, *args], cwd=cwd, capture_output=True, text=True, timeout=120)


def _lock(run: Any) -> str:
    tags = run.tags if run else {}
    if tags.get("packages.lock"):
        return str(tags["packages.lock"]) + "\n"
    return "".join(f"{k[4:]}=={v}\n" for k, v in sorted(tags.items()) if k.startswith("pkg."))


def checkout_model(project: Any, ref: str, dest: Path) -> dict[str, Any]:
    """Materialise ``ref`` into ``dest`` (a new or empty folder); returns what was written."""
    from conveyor.data import datasets, files

    version = project.models.get(ref)
    dest = Path(dest)
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise BadInputError(f"{dest} exists and is not an empty folder.", field="dir",
                            hint="Give a new or empty folder.")
    run = project.runs.get(version.run_id) if version.run_id else None
    dest.mkdir(parents=True, exist_ok=True)
    summary: dict[str, Any] = {"model_version": version.ref, "artifact": version.artifact,
                               "run": run.id if run else None, "dataset": version.dataset,
                               "params": dict(run.params) if run else {}, "seed": (run.params or {}).get("seed")
                               if run else None, "python": run.tags.get("python") if run else None,
                               "commit": run.tags.get("git.commit") if run else None, "data": None, "code": None}
    if version.dataset:
        data = project.data.get(version.dataset)
        folder = dest / "data"
        if data.meta.get("kind") == "files":
            files.checkout(project.stores, data, folder)
        else:
            folder.mkdir()
            datasets.load_frame(project.stores, data).to_parquet(folder / f"{data.name}.parquet", index=False)
        summary["data"] = str(folder)
    commit = summary["commit"]
    if commit:
        top = _git(["rev-parse", "--show-toplevel"], Path(project.root))
        if top.returncode == 0:
            added = _git(["worktree", "add", "--detach", str((dest / "code").resolve()), commit],
                         Path(top.stdout.strip()))
            if added.returncode != 0:
                raise BadInputError(f"Could not check out commit {commit[:12]}: {first_line(added.stderr)}",
                                    field="commit", hint="Fetch that commit into the project's repository.")
            summary["code"] = str(dest / "code")
    (dest / "requirements.lock").write_text(_lock(run))
    (dest / "checkout.json").write_text(json.dumps(summary, indent=2, default=str) + "\n")
    return summary
