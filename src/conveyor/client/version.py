"""Which servers this client speaks to: it reads ``GET /api/v1/server-info`` once per connection and warns
(:class:`ServerVersionWarning`) on a server whose conveyor release or API it does not support."""

from __future__ import annotations

import warnings
from typing import Any

import httpx

from conveyor._version import __version__

__all__ = ["SUPPORTED_API", "ServerVersionWarning", "check_server", "version_problem"]

SUPPORTED_API = ("v1",)


class ServerVersionWarning(UserWarning):
    """The server runs a conveyor this client does not support."""


def _release(version: str) -> tuple[int, int] | None:
    try:
        major, minor = version.split(".")[:2]
        return int(major), int(minor)
    except ValueError:
        return None


def version_problem(info: dict[str, Any] | None, url: str) -> str | None:
    """Why this client may not work with the server that answered ``info`` (None: it supports it)."""
    if info is None:
        return (f"The server at {url} has no /api/v1/server-info: it runs a conveyor older than this client "
                f"({__version__}). Upgrade the server, or use a client of its version.")
    server, api = str(info.get("version", "?")), str(info.get("api", "?"))
    if api not in SUPPORTED_API:
        return (f"The server at {url} speaks API {api}; this client ({__version__}) speaks "
                f"{', '.join(SUPPORTED_API)}. Install the client of the server's version ({server}).")
    if _release(server) != _release(__version__):
        return (f"The server at {url} runs conveyor {server}; this client is {__version__} and supports servers "
                f"of the same release ({'.'.join(map(str, _release(__version__) or ()))}.x). Install "
                f"conveyor-mlops=={server} here, or upgrade the server.")
    return None


def check_server(connection: Any) -> str | None:
    """Ask the server its version; warn when this client does not support it. Returns the warning's text."""
    try:
        response = connection.http.get("/server-info")
    except httpx.HTTPError:  # unreachable: the verb itself reports that
        return None
    if response.status_code == 404:
        info = None
    elif response.status_code != 200:  # refused (a token it wants): the verb itself reports that
        return None
    else:
        try:
            info = response.json()
        except ValueError:
            return None
        if not isinstance(info, dict) or "version" not in info:  # not a server-info answer: nothing to judge
            return None
    problem = version_problem(info, connection.url)
    if problem:
        warnings.warn(problem, ServerVersionWarning, stacklevel=3)
    return problem
