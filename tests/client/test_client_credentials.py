"""Which server and token the client uses (flags, then CONVEYOR_SERVER/CONVEYOR_TOKEN, then the credentials
file), and that the token reaches the server as `Authorization: Bearer` (a real HTTP server records it)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from conveyor.client import connect, resolve_target
from conveyor.client.credentials import credentials_file, read_credentials, write_credentials
from conveyor.core.errors import BadInputError


@pytest.fixture(autouse=True)
def own_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.delenv("CONVEYOR_SERVER", raising=False)
    monkeypatch.delenv("CONVEYOR_TOKEN", raising=False)


def test_no_server_anywhere_is_local() -> None:
    assert resolve_target() is None


def test_precedence_flags_then_environment_then_file(monkeypatch: pytest.MonkeyPatch) -> None:
    write_credentials("http://file:1", {"http://file:1": "file-token", "http://env:2": "env-file-token"})
    assert resolve_target() == resolve_target(None, None)
    assert (resolve_target().url, resolve_target().token) == ("http://file:1", "file-token")
    monkeypatch.setenv("CONVEYOR_SERVER", "http://env:2/")
    assert (resolve_target().url, resolve_target().token) == ("http://env:2", "env-file-token")
    monkeypatch.setenv("CONVEYOR_TOKEN", "env-token")
    assert resolve_target().token == "env-token"
    flagged = resolve_target("http://flag:3", "flag-token")
    assert (flagged.url, flagged.token) == ("http://flag:3", "flag-token")


def test_the_file_is_private_and_reads_back(tmp_path: Path) -> None:
    path = write_credentials("https://a.example", {"https://a.example": 'to"ken\\x'})
    assert path == credentials_file() and path.stat().st_mode & 0o777 == 0o600
    assert read_credentials() == ("https://a.example", {"https://a.example": 'to"ken\\x'})


def test_a_url_without_scheme_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONVEYOR_SERVER", "localhost:8765")
    with pytest.raises(BadInputError, match="http://"):
        resolve_target()


def test_the_token_is_sent_as_a_bearer_header() -> None:
    seen: list[str | None] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(self.headers.get("Authorization"))
            body = json.dumps({"actor": "user:ann", "authenticated": True}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: object) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        with connect(url, token="t0k3n") as remote:
            assert remote.whoami()["actor"] == "user:ann"
        with connect(url) as anonymous:
            anonymous.whoami()
    finally:
        server.shutdown()
        server.server_close()
    # each connection first asks /server-info (the version check), then /whoami
    assert seen == ["Bearer t0k3n", "Bearer t0k3n", None, None]
