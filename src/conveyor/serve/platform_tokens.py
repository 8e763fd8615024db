"""Platform tokens on a model server: when `conveyor serve` runs against a platform server, a request may carry the
token of any identity of that server (a user, a CI job, the agent) instead of the replica's own serve token.

:class:`PlatformTokens` asks the platform server who a token is (``GET /api/v1/whoami``) and remembers the answer
per token hash for ``ttl`` seconds (a refusal for ``negative_ttl``), so the hot path does not call the server for
every prediction. A token is accepted when the platform answers it authenticated with a role that may ``read``
(every role; the roles matrix decides). A server that cannot be reached refuses: nothing is accepted on a guess.
"""

from __future__ import annotations

import hashlib
import os
import ssl
import threading
import time
from collections.abc import Callable

import httpx

from conveyor.security.roles import allowed

__all__ = ["PlatformTokens"]

MAX_CACHED = 10_000


class PlatformTokens:
    def __init__(self, url: str, *, ttl: float = 30.0, negative_ttl: float = 5.0, timeout: float = 5.0,
                 verify: bool | ssl.SSLContext | None = None, action: str = "read",
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.url = url.rstrip("/")
        self.ttl, self.negative_ttl, self.timeout, self.action = ttl, negative_ttl, timeout, action
        bundle = os.environ.get("CONVEYOR_CA_BUNDLE")  # a private CA, as the remote client trusts it
        self.verify = verify if verify is not None else ssl.create_default_context(cafile=bundle) if bundle else True
        self._clock = clock
        self._answers: dict[str, tuple[bool, float]] = {}
        self._lock = threading.Lock()

    @staticmethod
    def _key(token: str) -> str:
        return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()

    def cached(self, token: str) -> bool | None:
        """The remembered answer for ``token``, or None when there is none (or it is stale)."""
        with self._lock:
            found = self._answers.get(self._key(token))
        if found is None or found[1] <= self._clock():
            return None
        return found[0]

    def check(self, token: str) -> bool:
        """Ask the platform server (blocking: call it off the event loop) and remember the answer."""
        ok = self._ask(token)
        with self._lock:
            if len(self._answers) >= MAX_CACHED:
                self._answers.clear()
            self._answers[self._key(token)] = (ok, self._clock() + (self.ttl if ok else self.negative_ttl))
        return ok

    def _ask(self, token: str) -> bool:
        try:
            answer = httpx.get(f"{self.url}/api/v1/whoami", headers={"Authorization": f"Bearer {token}"},
                               timeout=self.timeout, verify=self.verify)
            who = answer.json() if answer.status_code == 200 else {}
        except (httpx.HTTPError, ValueError):
            return False
        return bool(isinstance(who, dict) and who.get("authenticated") is True
                    and allowed(str(who.get("role", "")), self.action))
