"""Running the server in a background thread: free ports, clean shutdown, startup failures reported."""

from __future__ import annotations

import re
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from fastapi import FastAPI

import conveyor.serve
from conveyor.core.errors import BadInputError, ConveyorError
from conveyor.serve import running_server


def test_the_public_surface_is_what_it_claims():
    assert conveyor.serve.__all__ == ["create_app", "running_server", "serve_forever"]
    assert all(callable(getattr(conveyor.serve, name)) for name in conveyor.serve.__all__)


def hello() -> FastAPI:
    app = FastAPI()

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    return app


def test_port_zero_picks_a_free_port_and_shutdown_frees_it():
    with running_server(hello()) as url:
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", url)
        assert httpx.get(f"{url}/health").json() == {"status": "ok"}
        port = int(url.rsplit(":", 1)[1])
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{url}/health")
    with running_server(hello(), port=port) as again:  # the port is free again
        assert again == url


def test_a_port_in_use_is_a_clear_error():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(BadInputError, match=f"127.0.0.1:{port}") as info, running_server(hello(), port=port):
            pass
    assert info.value.field == "port"


def test_an_app_that_fails_to_start_is_reported_promptly():
    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        raise RuntimeError("no model today")
        yield

    with pytest.raises(ConveyorError, match="stopped while starting"), running_server(FastAPI(lifespan=lifespan)):
        pass
