"""Run an app with uvicorn: in the foreground (``conveyor serve``) or in a background thread for tests and demos.

``running_server`` binds the listening socket itself before starting uvicorn, so ``port=0`` gets a free port from
the kernel with no window for another process to take it, and the URL is known before the first request.
"""

from __future__ import annotations

import gc
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from conveyor.core.dependencies import available, extra_imports
from conveyor.core.errors import BadInputError, ConveyorError
from conveyor.core.tls import TlsOptions

with extra_imports("serve"):
    import uvicorn
    from fastapi import FastAPI

STARTUP_TIMEOUT_S = 20.0
SHUTDOWN_TIMEOUT_S = 30.0


def tune_gc() -> None:
    """For a server process, once its model is loaded: move everything alive now (modules, the model) out of the
    cyclic garbage collector's reach and collect less often. Each full collection walked the whole heap, pausing
    every request: on 32-row requests with the prediction log on, p99 fell from ~115 ms to ~41 ms with this."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 50, 1000)


def _tls(tls: TlsOptions | None) -> dict[str, Any]:
    return tls.uvicorn() if tls is not None else {}


def _http() -> dict[str, Any]:
    """uvicorn's HTTP protocol: httptools with the scoring routes answered off ASGI (:mod:`conveyor.serve.raw_http`)
    when httptools is there; uvicorn's own choice otherwise."""
    if not available("httptools"):
        return {}
    try:
        from conveyor.serve.raw_http import ScoringHttpProtocol, uvicorn_fits
    except ImportError:  # a uvicorn whose httptools module no longer has what the raw path builds on
        return {}
    return {"http": ScoringHttpProtocol} if uvicorn_fits() else {}


def serve_forever(app: FastAPI, host: str = "127.0.0.1", port: int = 5000, *, tls: TlsOptions | None = None,
                  on_listening: Callable[[int], None] | None = None) -> None:
    """Serve until interrupted (Ctrl-C / SIGTERM: in-flight requests finish and the prediction log is flushed);
    HTTPS with ``tls`` (:func:`conveyor.core.tls.tls_options`). ``on_listening`` gets the port bound (the free one
    the system chose for ``port=0``) before the first request can arrive."""
    tune_gc()
    sock = _bind(host, port)  # our own socket, for TCP_NODELAY (see _bind)
    if on_listening is not None:
        on_listening(sock.getsockname()[1])
    config = uvicorn.Config(app, log_level="warning", lifespan="on",
                            timeout_graceful_shutdown=int(SHUTDOWN_TIMEOUT_S), **_tls(tls), **_http())
    try:
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        sock.close()


def serve_workers(factory: str, host: str, port: int, workers: int, *, tls: TlsOptions | None = None,
                  on_listening: Callable[[int], None] | None = None) -> None:
    """Serve from ``workers`` processes sharing one socket; each calls ``factory`` ("module:function") to build
    its own app, so the model is loaded once per worker. SIGTERM stops them all gracefully. ``on_listening``: as
    for :func:`serve_forever`."""
    from uvicorn.supervisors import Multiprocess

    sock = _bind(host, port)
    if on_listening is not None:
        on_listening(sock.getsockname()[1])
    config = uvicorn.Config(factory, factory=True, log_level="warning", lifespan="on", workers=workers,
                            timeout_graceful_shutdown=int(SHUTDOWN_TIMEOUT_S), **_tls(tls), **_http())
    try:
        Multiprocess(config, sockets=[sock]).run()
    finally:
        sock.close()


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto=IPPROTO_TCP matters: asyncio only sets TCP_NODELAY on connections whose socket says TCP, and without it
    # Nagle's algorithm and delayed ACKs add ~40 ms to every small response.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        # listening from here on: a client told the URL (the announcement) waits in the backlog until uvicorn
        # accepts, instead of being refused while the server starts (2048: uvicorn's own backlog)
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        raise BadInputError(f"Cannot listen on {host}:{port}: {exc.strerror or exc}.", field="port",
                            hint="Choose another port, or 0 for any free one.") from None
    return sock


def _url(host: str, port: int, scheme: str = "http") -> str:
    if host in ("", "0.0.0.0"):  # a wildcard bind is reached through loopback
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    return f"{scheme}://[{host}]:{port}" if ":" in host else f"{scheme}://{host}:{port}"


def _run(server: uvicorn.Server, sock: socket.socket) -> None:
    try:
        server.run(sockets=[sock])
    except SystemExit:  # uvicorn exits when the app fails to start; _wait_until_answering reports it
        pass


def _wait_until_answering(url: str, thread: threading.Thread, timeout: float) -> None:
    import httpx  # only an in-process server (tests, `conveyor serve` in a notebook) waits with a client

    deadline = time.monotonic() + timeout
    # A liveness probe of our own server on loopback: no data is sent, so the certificate is not checked here.
    with httpx.Client(timeout=2.0, verify=False) as client:
        while time.monotonic() < deadline:
            if not thread.is_alive():
                raise ConveyorError(f"The server at {url} stopped while starting; the log above says why.")
            try:
                client.get(f"{url}/health")
                return  # any HTTP answer: the app is up
            except httpx.TransportError:
                time.sleep(0.02)
    raise ConveyorError(f"The server at {url} did not answer /health within {timeout:.0f} s.")


@contextmanager
def running_server(app: FastAPI, host: str = "127.0.0.1", port: int = 0, *,
                   startup_timeout: float = STARTUP_TIMEOUT_S, tls: TlsOptions | None = None) -> Iterator[str]:
    """Serve ``app`` from a background thread; yields the base URL (``"http://127.0.0.1:PORT"``, https with
    ``tls``) once ``/health`` answers, and on exit stops the server gracefully (in-flight requests finish, the app's
    shutdown runs)."""
    sock = _bind(host, port)
    url = _url(host, sock.getsockname()[1], "https" if tls is not None else "http")
    config = uvicorn.Config(app, log_level="warning", log_config=None, lifespan="on",
                            timeout_graceful_shutdown=int(SHUTDOWN_TIMEOUT_S), **_tls(tls), **_http())
    server = uvicorn.Server(config)
    thread = threading.Thread(target=_run, args=(server, sock), name=f"uvicorn {url}", daemon=True)
    thread.start()
    try:
        _wait_until_answering(url, thread, startup_timeout)
        yield url
    finally:
        server.should_exit = True
        thread.join(SHUTDOWN_TIMEOUT_S)
        if thread.is_alive():
            server.force_exit = True
            thread.join(5.0)
        sock.close()
