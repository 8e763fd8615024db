"""Every git call of conveyor goes through :func:`run_git`: a project folder may come from anyone, and plain
``git status`` in it would run its hooks and its ``core.fsmonitor`` command. Here hooks point at /dev/null, the
file-system monitor is off, and no pager, editor or credential prompt can start."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

__all__ = ["SAFE_CONFIG", "run_git"]

SAFE_CONFIG = ("-c", "core.hooksPath=/dev/null", "-c", "core.fsmonitor=false", "-c", "core.pager=cat",
               "-c", "core.sshCommand=false", "-c", "diff.external=", "-c", "protocol.allow=never")


def run_git(*args: str, cwd: Path, timeout: float = 5) -> str:
    """``git ARGS`` in ``cwd`` with hooks and fsmonitor disabled; its stdout. Raises ``OSError`` or
    ``subprocess.SubprocessError`` (``CalledProcessError`` on a non-zero exit) like :func:`subprocess.run`."""
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "GIT_OPTIONAL_LOCKS": "0", "GIT_PAGER": "cat",
           "GIT_EDITOR": "true"}
    done = subprocess.run(["git", *SAFE_CONFIG, *args], cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          check=True, env=env, stdin=subprocess.DEVNULL)
    return done.stdout
