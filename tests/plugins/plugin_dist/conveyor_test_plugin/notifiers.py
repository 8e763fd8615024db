"""A notifier a third party ships: each alert it receives is appended, as one JSON line, to ``alerts.capture.path``."""

from __future__ import annotations

import json
from pathlib import Path

from conveyor.monitor.notifiers import NotDelivered, Notifier


class CaptureNotifier(Notifier):
    def deliver(self, alert, settings):
        if not isinstance(settings, dict) or not settings.get("path"):
            raise NotDelivered("alerts.capture.path is not set")
        line = {"id": alert.id, "rule": alert.rule, "subject": alert.subject, "value": alert.value}
        with Path(settings["path"]).open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(line) + "\n")
