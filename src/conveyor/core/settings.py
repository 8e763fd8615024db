"""Where a project keeps its state, from conveyor.yaml and environment variables (which win). The settings of
the project's work itself are the typed configuration of :mod:`conveyor.core.config`."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_FILE = "conveyor.yaml"
STATE_DIR = ".conveyor"


@dataclass(frozen=True)
class Settings:
    root: Path
    db_url: str
    artifacts_url: str
    executor: str = "inline"
    predictions_url: str | None = None  # the prediction log in a store of its own (default: beside the rest)

    @classmethod
    def for_project(cls, root: Path, *, executor: str = "inline") -> Settings:
        """The project's stores and executor; the environment wins over ``executor`` (train.executor)."""
        root = Path(root).resolve()
        state = root / STATE_DIR
        return cls(
            root=root,
            db_url=os.environ.get("CONVEYOR_DB_URL") or f"sqlite:///{state / 'conveyor.db'}",
            artifacts_url=os.environ.get("CONVEYOR_ARTIFACTS") or str(state / "artifacts"),
            executor=os.environ.get("CONVEYOR_EXECUTOR") or executor,
            predictions_url=os.environ.get("CONVEYOR_PREDICTIONS_URL") or None,
        )


def find_project_root(start: Path | None = None) -> Path:
    """The nearest folder upward holding conveyor.yaml, else ``start`` itself."""
    here = Path(start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / PROJECT_FILE).is_file():
            return folder
    return here
