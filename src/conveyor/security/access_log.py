"""The access log: auth failures, refusals and every mutating request of the platform server, as JSON lines.

It is not the hash-chained audit (that holds governance events: registry, approvals, users and grants, settings,
model downloads): writing one line per tracking call into a signed chain would make logging a metric expensive.
Entries are buffered and appended in batches (every ``batch`` entries or ``interval`` seconds, and on ``close``)
with one ``write`` of whole lines on a file opened for appending, so several server workers can share the file.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from conveyor.core.entities import now

__all__ = ["AccessLog"]


class AccessLog:
    def __init__(self, path: Path, *, batch: int = 200, interval: float = 2.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.path, self.batch, self.interval = Path(path), batch, interval
        self._clock = clock
        self._pending: list[str] = []
        self._last = clock()
        self._lock = threading.Lock()

    def record(self, event: str, **fields: Any) -> None:
        """Buffer one entry (``at`` and ``event`` first); written once the batch is full or old enough."""
        line = json.dumps({"at": round(now(), 3), "event": event, **fields}, default=str, separators=(",", ":"))
        with self._lock:
            self._pending.append(line)
            due = len(self._pending) >= self.batch or self._clock() - self._last >= self.interval
        if due:
            self.flush()

    def flush(self) -> None:
        with self._lock:
            lines, self._pending = self._pending, []
            self._last = self._clock()
        if not lines:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, ("\n".join(lines) + "\n").encode("utf-8"))
        finally:
            os.close(fd)

    def entries(self) -> list[dict[str, Any]]:
        """Every entry written so far (after a flush), oldest first."""
        self.flush()
        if not self.path.exists():
            return []
        return [json.loads(line) for line in self.path.read_text(encoding="utf-8").splitlines() if line.strip()]

    close = flush
