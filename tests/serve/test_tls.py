"""Encryption in transit: `conveyor serve --tls-cert/--tls-key` answers HTTPS to a client that verifies the
certificate, refuses plain HTTP, and a bad certificate or key is one line and exit 2 naming the flag."""

from __future__ import annotations

import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import time

import httpx
import pytest
from fastapi import FastAPI

from conveyor.core.errors import BadInputError
from conveyor.core.tls import tls_options
from conveyor.serve.runner import running_server
from conveyor.testing.tls import client_context, self_signed_certificate


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    return self_signed_certificate(tmp_path_factory.mktemp("tls"))


def test_running_server_speaks_https_to_a_verifying_client(certificate):
    cert, key = certificate
    app = FastAPI()
    app.get("/health")(lambda: {"ok": True})
    with running_server(app, tls=tls_options(cert, key)) as url:
        assert url.startswith("https://127.0.0.1:")
        with httpx.Client(verify=client_context(cert)) as client:
            assert client.get(f"{url}/health").json() == {"ok": True}
        with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):  # not trusted by default CAs
            httpx.get(f"{url}/health", verify=ssl.create_default_context())
        with pytest.raises(httpx.TransportError):  # plain HTTP to the TLS port gets no answer
            httpx.get(url.replace("https://", "http://") + "/health", timeout=3)


def test_bad_tls_settings_name_the_flag(tmp_path, certificate):
    cert, key = certificate
    other_cert, other_key = self_signed_certificate(tmp_path, name="other")
    (tmp_path / "junk.pem").write_text("not a certificate")
    cases = [((cert, None), "--tls-key", "without --tls-key"),
             ((None, key), "--tls-cert", "without --tls-cert"),
             ((tmp_path / "missing.crt", key), "--tls-cert", "No certificate file"),
             ((tmp_path / "junk.pem", key), "--tls-cert", "not a PEM certificate"),
             ((cert, other_key), "--tls-key", "cannot be used with the certificate"),
             ((cert, tmp_path / "junk.pem"), "--tls-key", "cannot be used with the certificate")]
    for (given_cert, given_key), field, message in cases:
        with pytest.raises(BadInputError, match=message) as caught:
            tls_options(given_cert, given_key)
        assert caught.value.field == field
    assert tls_options(None, None) is None
    assert tls_options(other_cert, other_key).uvicorn() == {"ssl_certfile": str(other_cert.resolve()),
                                                           "ssl_keyfile": str(other_key.resolve())}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def served_project(tmp_path_factory):
    import pandas as pd

    import conveyor as cv

    root = tmp_path_factory.mktemp("tlsproj")
    frame = pd.DataFrame({"a": [float(i % 7) for i in range(60)], "b": [float(i % 5) for i in range(60)],
                          "target": [i % 2 for i in range(60)]})
    with cv.Project.init(root) as project:
        result = project.training.train(project.data.ingest(frame, "tiny")[0], "target", max_trials=1, budget=30)
        project.models.promote(result.model_version.ref, "champion")
    return root


def test_conveyor_serve_over_https(served_project, certificate):
    cert, key = certificate
    port = _free_port()
    server = subprocess.Popen([sys.executable, "-m", "conveyor", "serve", "tiny@champion", "--port", str(port),
                               "--project", str(served_project), "--tls-cert", str(cert), "--tls-key", str(key),
                               "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    url = f"https://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        with httpx.Client(verify=client_context(cert), timeout=10) as client:
            while True:
                try:
                    health = client.get(f"{url}/health")
                    break
                except httpx.TransportError:
                    assert server.poll() is None and time.monotonic() < deadline, server.communicate()[1]
                    time.sleep(0.1)
            assert health.json()["model_version"] == "tiny:1"
            answer = client.post(f"{url}/invocations", json={"dataframe_records": [{"a": 1.0, "b": 2.0}]})
            assert answer.status_code == 200 and len(answer.json()["predictions"]) == 1
    finally:
        os.kill(server.pid, signal.SIGTERM)
        out, err = server.communicate(timeout=60)
    assert json.loads(out)["url"] == url
    assert "Traceback" not in err


def test_conveyor_serve_refuses_a_key_without_certificate(served_project, certificate):
    _cert, key = certificate
    done = subprocess.run([sys.executable, "-m", "conveyor", "serve", "tiny@champion", "--project",
                           str(served_project), "--tls-key", str(key)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "--tls-cert" in done.stderr and "Traceback" not in done.stderr


def test_conveyor_server_over_https_with_the_remote_client_trusting_the_ca_bundle(served_project, certificate,
                                                                                   monkeypatch):
    cert, key = certificate
    port = _free_port()
    server = subprocess.Popen([sys.executable, "-m", "conveyor", "server", "--port", str(port), "--project",
                               str(served_project), "--tls-cert", str(cert), "--tls-key", str(key), "--json"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    url = f"https://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        with httpx.Client(verify=client_context(cert), timeout=10) as client:
            while True:
                try:
                    health = client.get(f"{url}/api/v1/health")
                    break
                except httpx.TransportError:
                    assert server.poll() is None and time.monotonic() < deadline, server.communicate()[1]
                    time.sleep(0.1)
            assert health.status_code == 200
        with pytest.raises(httpx.TransportError), httpx.Client(timeout=5) as plain:  # plain HTTP gets no answer
            plain.get(f"http://127.0.0.1:{port}/api/v1/health")
        monkeypatch.setenv("CONVEYOR_CA_BUNDLE", str(cert))
        from conveyor.client import connect

        with connect(url) as remote:
            assert [v.ref for v in remote.models.list()] == ["tiny:1"]
    finally:
        os.kill(server.pid, signal.SIGTERM)
        out, err = server.communicate(timeout=60)
    assert json.loads(out)["url"] == url
    assert "Traceback" not in err
