"""One connection to a conveyor server: httpx with the token and CA bundle, and the server's error bodies turned
back into the error tree, so a remote verb fails with the same class, message, field and hint as a local one."""

from __future__ import annotations

import os
import ssl
from collections.abc import Iterator
from typing import Any

import httpx

from conveyor.core.errors import ConveyorError, StoreError

API = "/api/v1"
TIMEOUT_S = 60.0
PAGE = 500


def _error_classes() -> dict[str, type[ConveyorError]]:
    found: dict[str, type[ConveyorError]] = {}
    pending: list[type[ConveyorError]] = [ConveyorError]
    while pending:
        cls = pending.pop()
        found.setdefault(cls.code, cls)
        pending.extend(cls.__subclasses__())
    return found


def error_from(status: int, body: Any) -> ConveyorError:
    """The error tree's exception for a server's error body (a class of the same code, else of the same status)."""
    if not isinstance(body, dict) or "error" not in body:
        return ConveyorError(f"The server answered HTTP {status} without an error body.",
                             hint="Is CONVEYOR_SERVER the address of a conveyor server?")
    classes = _error_classes()
    by_status = {cls.http_status: cls for cls in reversed(list(classes.values()))}
    cls = classes.get(str(body["error"])) or by_status.get(status, ConveyorError)
    message, field, hint = str(body.get("message", "")), body.get("field"), body.get("hint")
    try:
        error = cls(message, field=field, hint=hint)
    except TypeError:  # a class with its own constructor (it carries more than a message): its nearest parent
        parent = next(c for c in cls.__mro__[1:] if issubclass(c, ConveyorError) and c.code in classes)
        error = parent(message, field=field, hint=hint)
        error.code = str(body["error"])
    return error


class Connection:
    """``Connection(url, token=None, ca_bundle=None)``: requests to ``url``/api/v1; ``close()`` when done."""

    def __init__(self, url: str, *, token: str | None = None, ca_bundle: str | None = None,
                 timeout: float = TIMEOUT_S) -> None:
        self.url = url.rstrip("/")
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        bundle = ca_bundle or os.environ.get("CONVEYOR_CA_BUNDLE")
        verify: Any = ssl.create_default_context(cafile=bundle) if bundle else True
        self.http = httpx.Client(base_url=self.url + API, headers=headers, timeout=timeout, verify=verify)

    def close(self) -> None:
        self.http.close()

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self.http.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            raise StoreError(f"Cannot reach the conveyor server at {self.url}: {type(exc).__name__}.",
                             field="server", hint="Check CONVEYOR_SERVER (or `conveyor login`) and that "
                                                  "`conveyor server` runs there.") from None
        if response.status_code >= 400:
            try:
                body = response.json()
            except ValueError:
                body = None
            raise error_from(response.status_code, body)
        return response

    def get(self, path: str, **params: Any) -> Any:
        return self.request("GET", path, params=_clean(params)).json()

    def post(self, path: str, body: dict[str, Any] | None = None) -> Any:
        return self.request("POST", path, json=body or {}).json()

    def content(self, path: str) -> bytes:
        return self.request("GET", path).content

    def items(self, path: str, limit: int | None = None, **params: Any) -> Iterator[Any]:
        """Every item of a paginated list (up to ``limit``), page after page."""
        cursor: str | None = None
        left = limit
        while True:
            size = PAGE if left is None else min(PAGE, left)
            if size <= 0:
                return
            page = self.get(path, **params, limit=size, cursor=cursor)
            yield from page["items"]
            if left is not None:
                left -= len(page["items"])
            cursor = page.get("next")
            if not cursor:
                return


def _clean(params: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in params.items() if v is not None}
