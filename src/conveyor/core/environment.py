"""What a run needs to be reproduced: the code commit and the versions of the packages that made the model."""

from __future__ import annotations

import functools
import platform
import subprocess
from importlib import metadata
from pathlib import Path

from conveyor.core.git import run_git

PACKAGES = ("conveyor-mlops", "numpy", "pandas", "scikit-learn", "lightgbm", "xgboost", "optuna", "pyarrow")


def git_commit(folder: Path) -> tuple[str | None, bool]:
    """(commit sha, whether the working tree has uncommitted changes), or (None, False) outside git."""
    try:
        sha = run_git("rev-parse", "HEAD", cwd=folder).strip()
        dirty = run_git("status", "--porcelain", "--untracked-files=no", cwd=folder).strip()
    except (OSError, subprocess.SubprocessError):
        return None, False
    return sha or None, bool(dirty)


@functools.lru_cache(maxsize=1)
def package_versions() -> dict[str, str]:
    found = {}
    for name in PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return found


@functools.lru_cache(maxsize=1)
def package_lock() -> str:
    """Every installed distribution as ``name==version``, one a line, sorted: the run's full package lock (what
    `conveyor checkout` writes for a colleague to rebuild the environment)."""
    found: dict[str, str] = {}
    for dist in metadata.distributions():
        name = (dist.metadata["Name"] or "").strip()
        if name and name.lower() not in found:
            found[name.lower()] = f"{name}=={dist.version}"
    return "\n".join(found[key] for key in sorted(found))


def environment_tags(folder: Path) -> dict[str, str]:
    tags = {"python": platform.python_version(), "platform": platform.platform(terse=True),
            "packages.lock": package_lock()}
    tags.update({f"pkg.{k}": v for k, v in package_versions().items()})
    sha, dirty = git_commit(folder)
    if sha:
        tags["git.commit"] = sha
        tags["git.dirty"] = str(dirty).lower()
    return tags
