"""A throwaway S3-compatible server for tests, and a throttling proxy in front of it.

``s3_server()`` runs moto's stand-alone server (``python -m moto.server``, the ``moto[server]`` test dependency that
``scripts/test.sh`` installs) as a subprocess on 127.0.0.1, waits until it answers and yields an :class:`S3Server`:
its endpoint, the environment a process needs to reach it (``AWS_ENDPOINT_URL`` and test credentials) and a helper
that makes a bucket. Nothing is mocked in process: s3fs/botocore speak HTTP to a real server. The server is killed
on exit; if it cannot start, the error says why instead of skipping.

``throttling_proxy(endpoint, throttle)`` forwards every request to ``endpoint`` except those ``throttle(n)`` picks
(``n`` counts requests from 1), which it answers ``503 SlowDown`` the way S3 does when a prefix is hot; it counts
both, so a test can show that a client retried and still got the right bytes.
"""

from __future__ import annotations

import http.client
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.request import urlopen

__all__ = ["S3Server", "ThrottlingProxy", "s3_server", "throttling_proxy"]

_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass(frozen=True)
class S3Server:
    endpoint: str  # http://127.0.0.1:PORT

    @property
    def env(self) -> dict[str, str]:
        """What a process needs in its environment to use this server through s3:// URLs."""
        return {**_CREDENTIALS, "AWS_ENDPOINT_URL": self.endpoint}

    def bucket(self, prefix: str = "conveyor") -> str:
        """Create a fresh bucket and return its name."""
        name = f"{prefix}-{uuid.uuid4().hex[:12]}"
        request = f"PUT /{name} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        host, port = self.endpoint.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=10) as sock:
            sock.sendall(request.encode())
            status = sock.recv(64).split(b" ", 2)[1]
        if status != b"200":
            raise RuntimeError(f"creating the bucket {name} on {self.endpoint} answered {status.decode()}")
        return name


def _stderr(process: subprocess.Popen[bytes]) -> str:
    return process.stderr.read().decode(errors="replace")[-2000:] if process.stderr is not None else ""


@contextmanager
def s3_server(timeout: float = 60) -> Iterator[S3Server]:
    """moto's S3-compatible server on a free port of 127.0.0.1, killed on exit."""
    port = _free_port()
    env = {**os.environ, **_CREDENTIALS}
    server = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    endpoint = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                with urlopen(f"{endpoint}/moto-api/", timeout=1):
                    break
            except OSError:
                pass
            if server.poll() is not None:
                raise RuntimeError(f"moto's S3 server exited at start (is moto[server] installed? scripts/test.sh "
                                   f"installs it): {_stderr(server)}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"moto's S3 server did not answer on {endpoint} within {timeout:.0f} s")
            time.sleep(0.1)
        yield S3Server(endpoint)
    finally:
        server.kill()
        server.wait()
        if server.stderr is not None:
            server.stderr.close()


_SLOW_DOWN = (b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>SlowDown</Code>'
              b"<Message>Please reduce your request rate.</Message></Error>")


@dataclass
class ThrottlingProxy:
    endpoint: str
    forwarded: int = 0
    throttled: int = 0
    methods: list[str] = field(default_factory=list)  # every request's method, in order (throttled ones too)


@contextmanager
def throttling_proxy(target: str, throttle: Callable[[int], bool]) -> Iterator[ThrottlingProxy]:
    """An HTTP proxy on 127.0.0.1 in front of ``target`` that answers ``503 SlowDown`` to request ``n`` when
    ``throttle(n)``; the rest are forwarded as they came (S3 signatures included: the server does not check the
    Host header the client signed against its own port)."""
    host, port = target.removeprefix("http://").split(":")
    lock = threading.Lock()
    counter = [0]
    state = ThrottlingProxy(endpoint="")

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            pass

        def _body(self) -> bytes:
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                parts: list[bytes] = []
                while True:
                    size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                    if size == 0:
                        while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                            pass
                        return b"".join(parts)
                    parts.append(self.rfile.read(size))
                    self.rfile.readline()
            return self.rfile.read(int(self.headers.get("Content-Length") or 0))

        def _handle(self) -> None:
            body = self._body()
            with lock:
                counter[0] += 1
                number = counter[0]
                state.methods.append(self.command)
                slow = throttle(number)
                if slow:
                    state.throttled += 1
                else:
                    state.forwarded += 1
            if slow:
                self.send_response(503, "Slow Down")
                self.send_header("Content-Type", "application/xml")
                self.send_header("Content-Length", str(len(_SLOW_DOWN)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(_SLOW_DOWN)
                return
            headers = {k: v for k, v in self.headers.items() if k.lower() not in ("transfer-encoding", "connection")}
            headers["Content-Length"] = str(len(body))
            upstream = http.client.HTTPConnection(host, int(port), timeout=60)
            try:
                upstream.request(self.command, self.path, body=body, headers=headers)
                answer = upstream.getresponse()
                payload = answer.read()
                self.send_response(answer.status, answer.reason)
                for key, value in answer.getheaders():
                    if key.lower() not in ("transfer-encoding", "connection", "content-length", "server", "date"):
                        self.send_header(key, value)
                length = answer.getheader("Content-Length") if self.command == "HEAD" else None
                self.send_header("Content-Length", length or str(len(payload)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(payload)
            finally:
                upstream.close()

        do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _handle

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state.endpoint = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)
