"""Start a real `conveyor serve` process for tests and wait until it answers."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import httpx


def start_server(*args: str, cwd: Path | None = None, timeout: float = 60) -> subprocess.Popen:
    """Run ``python -m conveyor serve ARGS...`` and return once GET /health answers 200 on ``--port``.

    Raises RuntimeError with the server's stderr when it exits or does not answer within ``timeout`` seconds."""
    port = args[args.index("--port") + 1]
    server = subprocess.Popen([sys.executable, "-m", "conveyor", "serve", *args], cwd=cwd,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return server
        except httpx.TransportError:
            pass
        if server.poll() is not None or time.monotonic() > deadline:
            server.kill()
            raise RuntimeError(f"conveyor serve did not come up: {server.communicate()[1]}")
        time.sleep(0.1)
