"""Security signals of the platform server, counted in a sliding window and turned into monitoring samples.

The server tells :class:`SecuritySignals` what happens (``request``, ``auth_failure``, ``download``); ``samples(at)``
answers the current value of each signal as :class:`~conveyor.core.entities.Sample` rows of subject ``security``:

* ``security.auth_failures``: failed tokens in the window, from every address;
* ``security.token_addresses``: the most distinct client addresses one identity's token was used from;
* ``security.model_downloads``: model and dataset downloads in the window;
* ``security.requests``: requests in the window from the busiest single token or address (a flood).

:func:`security_rules` makes the ``security.anomalies`` thresholds into alert rules over those series, so the
existing alert machinery (deduplication, cooldown, notifiers, ``conveyor alerts ack``) handles them. Memory stays
bounded: events older than the window are dropped as new ones arrive, and at most ``MAX_EVENTS`` are kept per
signal."""

from __future__ import annotations

import threading
from collections import Counter, deque
from typing import Any

from conveyor.core.entities import Sample, now

__all__ = ["SIGNALS", "SUBJECT", "SecuritySignals", "security_rules"]

SUBJECT = "security"
SIGNALS = ("auth_failures", "token_addresses", "model_downloads", "requests")
MAX_EVENTS = 200_000


class SecuritySignals:
    def __init__(self, window: float = 300.0) -> None:
        self.window = window
        self._events: dict[str, deque[tuple[float, str, str]]] = {s: deque() for s in SIGNALS}
        self._lock = threading.Lock()

    def _add(self, signal: str, at: float | None, key: str = "", value: str = "") -> None:
        at = now() if at is None else at
        with self._lock:
            events = self._events[signal]
            events.append((at, key, value))
            if len(events) > MAX_EVENTS:
                events.popleft()
            self._trim(events, at)

    def _trim(self, events: deque[tuple[float, str, str]], at: float) -> None:
        while events and events[0][0] <= at - self.window:
            events.popleft()

    def request(self, source: str, identity: str | None = None, *, at: float | None = None) -> None:
        """One request from address ``source`` (with the token of ``identity``, when authenticated)."""
        self._add("requests", at, f"id:{identity}" if identity else f"ip:{source}")
        if identity:
            self._add("token_addresses", at, identity, source)

    def auth_failure(self, source: str, *, at: float | None = None) -> None:
        self._add("auth_failures", at, source)

    def download(self, what: str, identity: str | None, *, at: float | None = None) -> None:
        self._add("model_downloads", at, identity or "", what)

    def values(self, at: float | None = None) -> dict[str, float]:
        """Each signal's value over the window ending at ``at``."""
        at = now() if at is None else at
        with self._lock:
            for events in self._events.values():
                self._trim(events, at)
            busiest = Counter(key for _, key, _ in self._events["requests"]).most_common(1)
            spread: dict[str, set[str]] = {}
            for _, identity, source in self._events["token_addresses"]:
                spread.setdefault(identity, set()).add(source)
            return {"auth_failures": float(len(self._events["auth_failures"])),
                    "token_addresses": float(max((len(s) for s in spread.values()), default=0)),
                    "model_downloads": float(len(self._events["model_downloads"])),
                    "requests": float(busiest[0][1] if busiest else 0)}

    def samples(self, at: float | None = None) -> list[Sample]:
        at = now() if at is None else at
        return [Sample(SUBJECT, f"security.{name}", value, at) for name, value in self.values(at).items()]


def security_rules(anomalies: Any) -> list[dict[str, Any]]:
    """The ``security.anomalies`` thresholds as ``alerts:`` rules (dicts) over the ``security.*`` series of subject
    ``security``; a threshold of 0 makes no rule."""
    return [{"name": f"security.{name}", "signal": f"security.{name}", "threshold": float(limit), "op": ">=",
             "subject": SUBJECT, "cooldown": "10m", "notify": list(anomalies.notify)}
            for name in SIGNALS if (limit := getattr(anomalies, name))]
