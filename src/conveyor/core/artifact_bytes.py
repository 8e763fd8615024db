"""What a tracked run's ``log_artifact`` stores, locally or through a server: one rule for both."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from conveyor.core.errors import BadInputError

__all__ = ["artifact_bytes"]


def artifact_bytes(data: bytes | str | Path | dict[str, Any]) -> bytes:
    """What ``log_artifact`` stores: a dict as indented JSON, a path's file contents, or the bytes themselves."""
    if isinstance(data, dict):
        return json.dumps(data, indent=2, sort_keys=True, default=str).encode()
    if isinstance(data, (str, Path)):
        path = Path(data)
        if not path.is_file():
            raise BadInputError(f"Artifact file not found: {path}.", field="artifact")
        return path.read_bytes()
    return bytes(data)
