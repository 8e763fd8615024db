"""uvicorn's httptools protocol, with the two scoring routes answered straight from the parser's callbacks.

For ``POST /invocations`` and ``POST /v2/models/{name}[/versions/{n}]/infer`` with a declared ``Content-Length``,
:class:`ScoringHttpProtocol` keeps the headers httptools parsed and the body it accumulated, hands them to the app's
:class:`conveyor.serve.app.RawScoring`, and writes the answer with one ``transport.write``: no ASGI scope, no
receive/send messages, no middleware and no task per request. Keep-alive and pipelining work as in uvicorn (the
answers leave in request order: a request waits behind the one before it, whichever way that one goes).
Everything else (other paths and methods, chunked bodies, ``Expect: 100-continue``, upgrades, a body over the limit,
a token only the platform server can judge, ``limit_concurrency``) goes through uvicorn's own ASGI cycle unchanged.
An app without ``raw_scoring`` is served exactly as by uvicorn's protocol.
"""

from __future__ import annotations

import asyncio
import urllib.parse
from typing import Any

from conveyor.core.dependencies import extra_imports

with extra_imports("serve"):
    import httptools
    from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol


def raw_scoring_of(app: Any) -> Any:
    """The ``raw_scoring`` of ``app`` or of the app it wraps (uvicorn wraps it in its proxy-headers middleware)."""
    for _ in range(8):
        if app is None:
            return None
        found = getattr(app, "raw_scoring", None)
        if found is not None:
            return found
        app = getattr(app, "app", None)
    return None


# the parts of uvicorn's protocol the raw path overrides or calls: private API, so a uvicorn that lacks one of them
# gets its own protocol back (everything through ASGI, as before the raw path) instead of a broken server
_UVICORN_HOOKS = ("on_headers_complete", "on_body", "on_message_complete", "on_response_complete",
                  "_start_asgi_task")


def uvicorn_fits() -> bool:
    return all(callable(getattr(HttpToolsProtocol, name, None)) for name in _UVICORN_HOOKS)


class _NoEvent:
    """What uvicorn sets on a cycle's ``message_event`` when the connection goes; a raw cycle waits on nothing."""

    def set(self) -> None:
        pass


_NO_EVENT = _NoEvent()


class RawCycle:
    """One request answered by the raw path: the attributes uvicorn's protocol reads on its cycles, and the reply."""

    __slots__ = ("body", "disconnected", "headers", "keep_alive", "message_event", "protocol", "ready",
                 "response_complete", "route", "started")

    def __init__(self, protocol: ScoringHttpProtocol, route: Any, headers: list[tuple[bytes, bytes]],
                 keep_alive: bool) -> None:
        self.protocol = protocol
        self.route = route
        self.headers = headers
        self.keep_alive = keep_alive
        self.body: list[bytes] = []
        self.ready = False  # the whole body is here
        self.started = False  # no earlier request of the connection is still being answered
        self.response_complete = False
        self.disconnected = False
        self.message_event = _NO_EVENT

    def run_if_ready(self) -> None:
        if self.ready and self.started:
            self.protocol.raw.handle(self.route, self.headers, b"".join(self.body), self.reply)

    def reply(self, status: int, headers: list[bytes], body: bytes) -> None:
        if self.response_complete:
            return
        self.response_complete = True
        protocol = self.protocol
        transport = protocol.transport
        if self.disconnected or transport.is_closing():  # the client went away meanwhile
            return
        parts = [STATUS_LINE[status]]
        for name, value in protocol.server_state.default_headers:  # server, date: as uvicorn sends them
            parts += (name, b": ", value, b"\r\n")
        parts += headers
        if not self.keep_alive:
            parts.append(b"connection: close\r\n")
        parts += (b"content-length: %d\r\n\r\n" % len(body), body)
        transport.write(b"".join(parts))
        if not self.keep_alive:
            transport.close()
        protocol.on_response_complete()


class ScoringHttpProtocol(HttpToolsProtocol):
    """Pass as ``uvicorn.Config(http=ScoringHttpProtocol)`` (what :mod:`conveyor.serve.runner` does)."""

    def __init__(self, config: Any, server_state: Any, app_state: dict[str, Any],
                 _loop: asyncio.AbstractEventLoop | None = None) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.raw = raw_scoring_of(self.app)

    def on_headers_complete(self) -> None:
        parser = self.parser
        route = None
        if (self.raw is not None and parser.get_method() == b"POST" and not self.expect_100_continue
                and self.limit_concurrency is None and not parser.should_upgrade()):
            path = httptools.parse_url(self.url).path.decode("ascii")
            if "%" in path:
                path = urllib.parse.unquote(path)
            route = self.raw.accepts(self.root_path + path if self.root_path else path, self.headers)
        if route is None:
            super().on_headers_complete()
            return
        version = parser.get_http_version()
        cycle = RawCycle(self, route, self.headers, keep_alive=version != "1.0" and parser.should_keep_alive())
        existing = self.cycle
        self.cycle = cycle  # type: ignore[assignment]
        if existing is None or existing.response_complete:
            cycle.started = True
        else:  # pipelined behind a request still being answered: wait for it, as uvicorn does
            self.flow.pause_reading()
            self.pipeline.appendleft((cycle, None))  # type: ignore[arg-type]

    def on_body(self, body: bytes) -> None:
        cycle: Any = self.cycle
        if type(cycle) is RawCycle:
            cycle.body.append(body)
            return
        super().on_body(body)

    def on_message_complete(self) -> None:
        cycle: Any = self.cycle
        if type(cycle) is RawCycle:
            cycle.ready = True
            cycle.run_if_ready()
            return
        super().on_message_complete()

    def _start_asgi_task(self, cycle: Any, app: Any) -> None:
        if type(cycle) is RawCycle:  # its turn came (the request before it is answered)
            cycle.started = True
            # on the next loop turn, not inside the previous answer's call: a pipelined run of requests answered at
            # once (errors) would otherwise nest one call per request, and a long one overflow the stack
            self.loop.call_soon(cycle.run_if_ready)
            return
        super()._start_asgi_task(cycle, app)
