"""Who is acting: the authenticated identity, set once per command or request by the layer that authenticated it
(the CLI from ``CONVEYOR_TOKEN``, the platform server per request), read by everything that records an actor.

While nobody set one (authentication off: no identities exist) the recorded actor is the unauthenticated local
label (``CONVEYOR_USER``, else the OS login); once set, no environment variable can change it.
"""

from __future__ import annotations

import getpass
import os
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

__all__ = ["acting_as", "authenticated_actor", "current_actor", "set_actor"]

_ACTOR: ContextVar[str | None] = ContextVar("conveyor_actor", default=None)


def authenticated_actor() -> str | None:
    """The authenticated identity acting now, or None while authentication is off."""
    return _ACTOR.get()


def set_actor(name: str | None) -> None:
    """Act as ``name`` from now on in this context (a CLI process, a request's task)."""
    _ACTOR.set(name)


@contextmanager
def acting_as(name: str | None) -> Iterator[None]:
    """Act as ``name`` inside the block (a server request); the previous actor afterwards."""
    token = _ACTOR.set(name)
    try:
        yield
    finally:
        _ACTOR.reset(token)


def current_actor() -> str:
    """The authenticated identity; while authentication is off, the unauthenticated local label:
    ``CONVEYOR_USER``, else the OS login."""
    authenticated = authenticated_actor()
    if authenticated:
        return authenticated
    explicit = os.environ.get("CONVEYOR_USER")
    if explicit:
        return explicit
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"
